import {
  type Column,
  type ColumnDef,
  type FilterFn,
  type Row,
  type RowData,
  type SortingState,
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getSortedRowModel,
  useReactTable,
} from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useDeferredValue, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { cellText, csvFileName, downloadCsv, toCsv } from './csv';
import './table.css';

declare module '@tanstack/react-table' {
  interface ColumnMeta<TData extends RowData, TValue> {
    /** Right-aligned, tabular figures (amounts, counts). */
    numeric?: boolean;
    /**
     * The column's text in CSV exports and for the filter box. Default: the accessor's value as text
     * (objects as JSON). Money columns give the exact decimal: `csv: (r) => minorToDecimal(r.amountMinor, r.currency)`.
     * `false` leaves the column out of exports (action buttons); columns without an accessor are left out anyway.
     */
    csv?: ((row: TData) => string) | false;
    /** The CSV header when the column's header is not plain text. */
    csvHeader?: string;
    /** false: the filter box does not look in this column. */
    filterable?: boolean;
    /** Exported to CSV but not shown (e.g. each amount's currency code beside its exact decimal). */
    exportOnly?: boolean;
  }
}

/** Tables longer than this render only the rows in view (TanStack Virtual); shorter ones render every row. */
export const VIRTUALIZE_ABOVE = 200;
/** Fixed row height of virtualised tables, in CSS pixels (table.css keeps each row at exactly this). */
export const ROW_HEIGHT = 30;

const CANONICAL_INTEGER = /^-?(0|[1-9]\d*)$/;

/**
 * Compares integer minor-unit strings exactly, never through floats, for sorting amount columns.
 * Canonical integers compare by sign, length, then digits (100,000 rows sort in tens of ms);
 * anything else goes through BigInt.
 */
export function compareMinor(a: unknown, b: unknown): number {
  const x = String(a ?? '0');
  const y = String(b ?? '0');
  if (CANONICAL_INTEGER.test(x) && CANONICAL_INTEGER.test(y)) {
    const xNeg = x[0] === '-';
    const yNeg = y[0] === '-';
    if (xNeg !== yNeg) return xNeg ? -1 : 1;
    const magnitude = x.length !== y.length ? (x.length < y.length ? -1 : 1) : x < y ? -1 : x > y ? 1 : 0;
    return xNeg ? -magnitude : magnitude;
  }
  const bx = BigInt(x);
  const by = BigInt(y);
  return bx < by ? -1 : bx > by ? 1 : 0;
}

export interface DataTableProps<T> {
  data: readonly T[];
  // biome-ignore lint/suspicious/noExplicitAny: column value types differ per column (TanStack's own signature)
  columns: ColumnDef<T, any>[];
  rowId: (row: T) => string;
  onRowClick?: (row: T) => void;
  empty: string;
  label: string;
  /** The filter box over every text column (default on). */
  filter?: boolean;
  /** The "Download CSV" button: the filtered and sorted rows, all of them (default on). */
  exportCsv?: boolean;
  /** More rows are still arriving (useAllPages): the count says so and export waits for them. */
  loadingMore?: boolean;
}

/** Column texts the filter box searches and the CSV holds, in column order. */
// biome-ignore lint/suspicious/noExplicitAny: any column value type
function exportableColumns<T>(columns: Column<T, any>[]) {
  return columns.filter((c) => {
    const csv = c.columnDef.meta?.csv;
    return csv !== false && (typeof csv === 'function' || c.accessorFn !== undefined);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: any column value type
function columnText<T>(column: Column<T, any>, row: Row<T>): string {
  const csv = column.columnDef.meta?.csv;
  return typeof csv === 'function' ? csv(row.original) : cellText(row.getValue(column.id));
}

/**
 * Every table in the back office: TanStack Table, dense, sortable by clicking a header, filtered by
 * one box over all text columns, exported to CSV exactly as filtered and sorted. Long tables
 * (100,000 invoices) render only the rows in view, in a scroll box with a sticky header; the
 * <table> stays semantic (aria-rowcount, aria-rowindex) so screen readers and tests see real rows.
 */
export function DataTable<T>({ data, columns, rowId, onRowClick, empty, label, filter = true, exportCsv = true, loadingMore = false }: DataTableProps<T>) {
  const { t, i18n } = useTranslation('ui');
  const [sorting, setSorting] = useState<SortingState>([]);
  const [filterText, setFilterText] = useState('');
  // Typing stays responsive while 100,000 rows are filtered behind it.
  const globalFilter = useDeferredValue(filterText.trim());

  // The filter looks at one text per row (every filterable column joined, lower-cased), built once
  // per row object; so TanStack's global filter is carried by one column (the first with an
  // accessor) rather than asked once per column per row.
  const searchable = useRef<{ columns: Column<T, unknown>[]; carrier?: string }>({ columns: [] });
  // biome-ignore lint/correctness/useExhaustiveDependencies: new columns, new texts: the cache starts over
  const search = useMemo(() => {
    const haystacks = new WeakMap<object, string>();
    const fn: FilterFn<T> = (row, _columnId, needle: string) => {
      const key = row.original as object;
      let haystack = haystacks.get(key);
      if (haystack === undefined) {
        haystack = searchable.current.columns
          .map((c) => columnText(c, row))
          .join('\u0000')
          .toLowerCase();
        haystacks.set(key, haystack);
      }
      return haystack.includes(needle);
    };
    fn.resolveFilterValue = (value: unknown) => String(value).toLowerCase();
    return fn;
  }, [columns]);

  const columnVisibility = useMemo(
    () => Object.fromEntries(columns.filter((c) => c.meta?.exportOnly).map((c) => [c.id ?? (c as { accessorKey?: string }).accessorKey ?? '', false])),
    [columns],
  );
  const table = useReactTable({
    data: data as T[],
    columns,
    state: { sorting, globalFilter, columnVisibility },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getSortedRowModel: getSortedRowModel(),
    globalFilterFn: search,
    getColumnCanGlobalFilter: (column) => column.id === searchable.current.carrier,
    getRowId: (row) => rowId(row),
  });
  const allColumns = table.getAllLeafColumns();
  searchable.current = {
    columns: exportableColumns(allColumns).filter((c) => c.columnDef.meta?.filterable !== false),
    carrier: allColumns.find((c) => c.accessorFn !== undefined)?.id,
  };
  const rows = table.getRowModel().rows;
  const leafColumns = table.getVisibleLeafColumns();

  const virtual = data.length > VIRTUALIZE_ABOVE;
  const scrollRef = useRef<HTMLDivElement>(null);
  const headRef = useRef<HTMLTableSectionElement>(null);
  const [headHeight, setHeadHeight] = useState(ROW_HEIGHT);
  // table.css sets every row to ROW_HEIGHT; the first rows rendered say what the browser made of it.
  const [rowHeight, setRowHeight] = useState(ROW_HEIGHT);
  const virtualizer = useVirtualizer({
    count: virtual ? rows.length : 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    paddingStart: headHeight,
    overscan: 10,
    // React batches the range change into its next frame instead of rendering inside the scroll
    // event: bench:desktop's steady-scroll p95 went from 33 ms to 16.8 ms (quiet 2-core machine).
    useFlushSync: false,
  });

  // Column widths are measured once from the first rows (auto layout), then fixed: otherwise the
  // columns would resize to the content of whichever rows are in view, on every scroll.
  const [widths, setWidths] = useState<{ key: string; px: number[] }>();
  const columnsKey = leafColumns.map((c) => c.id).join('\u0000');
  const frozen = virtual && widths?.key === columnsKey ? widths.px : undefined;
  // As shares of the width: the box may lose a scrollbar's width after measuring.
  const frozenTotal = frozen ? frozen.reduce((a, b) => a + b, 0) || 1 : 1;
  const items = virtual ? virtualizer.getVirtualItems() : [];
  // Measured once rows are on screen (the first render has no scroll box yet, so no rows), once per set of columns.
  const needsMeasuring = virtual && items.length > 0 && frozen === undefined;
  useLayoutEffect(() => {
    const head = headRef.current;
    if (!head || !needsMeasuring) return;
    setHeadHeight(head.offsetHeight || ROW_HEIGHT);
    const firstRow = head.parentElement?.querySelector('tbody tr[aria-rowindex]');
    if (firstRow) setRowHeight(firstRow.getBoundingClientRect().height || ROW_HEIGHT);
    const ths = [...head.querySelectorAll('tr:last-child > th')] as HTMLElement[];
    setWidths({ key: columnsKey, px: ths.map((th) => th.getBoundingClientRect().width) });
  }, [needsMeasuring, columnsKey]);

  const number = useMemo(() => new Intl.NumberFormat(i18n.language === 'zh' ? 'zh-CN' : 'en-US'), [i18n.language]);
  const filtered = globalFilter !== '';
  const count = filtered
    ? t('table.filteredCount', { shown: number.format(rows.length), total: number.format(data.length) })
    : data.length === 1
      ? t('table.oneRow')
      : t('table.rowCount', { n: number.format(data.length) });

  const download = () => {
    const cols = exportableColumns(allColumns);
    const header = cols.map((c) => {
      const h = c.columnDef.meta?.csvHeader ?? c.columnDef.header;
      return typeof h === 'string' ? h : c.id;
    });
    downloadCsv(
      csvFileName(label, new Date()),
      toCsv(
        header,
        rows.map((row) => cols.map((c) => columnText(c, row))),
      ),
    );
  };

  // The click handler through a ref: screens pass a new arrow each render, and a row that stays in
  // view must not re-render for that (memoised rows: a scroll frame renders only the rows it adds).
  const onRowClickRef = useRef(onRowClick);
  onRowClickRef.current = onRowClick;
  const clickRow = useCallback((row: T) => onRowClickRef.current?.(row), []);
  const renderRow = (row: Row<T>, position: number) => (
    <DataRow key={row.id} row={row} position={position} columns={leafColumns} clickable={onRowClick !== undefined} onClick={clickRow} />
  );

  const padTop = items.length > 0 ? items[0].start - headHeight : 0;
  const padBottom = items.length > 0 ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
  const spacer = (height: number, key: string) =>
    height > 0 ? (
      // biome-ignore lint/a11y/noAriaHiddenOnFocusable: an empty spacer row (not focusable); hidden so only real rows count as rows
      <tr key={key} aria-hidden="true" className="dt-spacer">
        <td colSpan={leafColumns.length} style={{ height }} />
      </tr>
    ) : null;

  return (
    <div className="dt">
      {(filter || exportCsv) && (
        <div className="dt-bar">
          {filter && (
            <input
              type="search"
              className="dt-filter"
              aria-label={t('table.filterLabel', { label })}
              placeholder={t('table.filterPlaceholder')}
              value={filterText}
              onChange={(e) => setFilterText(e.target.value)}
            />
          )}
          <span className="dt-count muted" data-testid="row-count">
            {count}
            {loadingMore && ` · ${t('table.loadingMore')}`}
          </span>
          {exportCsv && (
            <button type="button" className="dt-export" onClick={download} disabled={loadingMore || rows.length === 0} title={loadingMore ? t('table.exportWaits') : undefined}>
              {t('table.export')}
            </button>
          )}
        </div>
      )}
      <div className={virtual ? 'table-wrap dt-scroll' : 'table-wrap'} ref={scrollRef}>
        <table aria-label={label} aria-rowcount={rows.length + 1} className={frozen ? 'dt-virtual dt-fixed' : virtual ? 'dt-virtual' : undefined}>
          <thead ref={headRef}>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id} aria-rowindex={1}>
                {group.headers.map((header, i) => {
                  const sorted = header.column.getIsSorted();
                  return (
                    <th
                      key={header.id}
                      className={header.column.columnDef.meta?.numeric ? 'num' : undefined}
                      style={frozen ? { width: `${(100 * frozen[i]) / frozenTotal}%` } : undefined}
                      aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}
                    >
                      {header.isPlaceholder ? null : header.column.getCanSort() ? (
                        <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                          {flexRender(header.column.columnDef.header, header.getContext())}
                          <span className="sort-mark">{sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}</span>
                        </button>
                      ) : (
                        flexRender(header.column.columnDef.header, header.getContext())
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td className="empty" colSpan={leafColumns.length}>
                  {filtered && data.length > 0 ? t('table.noMatch', { filter: globalFilter }) : empty}
                </td>
              </tr>
            ) : virtual ? (
              <>
                {spacer(padTop, 'pad-top')}
                {items.map((item) => renderRow(rows[item.index], item.index))}
                {spacer(padBottom, 'pad-bottom')}
              </>
            ) : (
              rows.map((row, i) => renderRow(row, i))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

interface DataRowProps<T> {
  row: Row<T>;
  position: number;
  /** The visible columns: a new array when they change (language, columns), so the row renders anew. */
  columns: readonly unknown[];
  clickable: boolean;
  onClick: (row: T) => void;
}

/**
 * One body row, memoised: TanStack keeps a row object while the row model stands, so while
 * scrolling only the rows that come into view render (bench:desktop measures the frames).
 */
const DataRow = memo(function DataRow<T>({ row, position, clickable, onClick }: DataRowProps<T>) {
  return (
    <tr
      data-row-id={row.id}
      aria-rowindex={position + 2}
      className={clickable ? 'clickable' : undefined}
      onClick={clickable ? () => onClick(row.original) : undefined}
      onKeyDown={clickable ? (e) => e.key === 'Enter' && onClick(row.original) : undefined}
      tabIndex={clickable ? 0 : undefined}
    >
      {row.getVisibleCells().map((cell) => (
        <td key={cell.id} className={cell.column.columnDef.meta?.numeric ? 'num' : undefined}>
          {flexRender(cell.column.columnDef.cell, cell.getContext())}
        </td>
      ))}
    </tr>
  );
}) as <T>(props: DataRowProps<T>) => React.ReactElement;
