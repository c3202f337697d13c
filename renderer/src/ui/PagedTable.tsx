import type { BridgeError } from '../../../core/backoffice/bridge.js';
import { DataTable, type DataTableProps } from './DataTable';
import { ErrorNote, Loading } from './Feedback';
import type { AllPages } from './useAllPages';

/**
 * A list screen's body, as every paged list shows it: why loading stopped (or the screen's own
 * error), then the table once the first page is in — more pages keep arriving behind it — or
 * "Loading …" before.
 */
export function PagedTable<T>({
  list,
  error,
  className,
  loadingWhat,
  ...table
}: Omit<DataTableProps<T>, 'data' | 'loadingMore'> & {
  list: AllPages<T>;
  /** An error of the screen's own (a command that failed) shown instead of the list's. */
  error?: BridgeError;
  /** The wrapper's classes (table widths per screen). */
  className: string;
  /** What is loading, for "Loading …". */
  loadingWhat: string;
}) {
  return (
    <>
      <ErrorNote error={error ?? list.error} />
      {list.data ? (
        <div className={className}>
          <DataTable {...table} data={list.data.items} loadingMore={list.loading} />
        </div>
      ) : (
        <Loading what={loadingWhat} />
      )}
    </>
  );
}
