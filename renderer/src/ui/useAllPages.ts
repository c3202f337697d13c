import { useCallback, useEffect, useState } from 'react';
import type { BackOfficeCommandName, BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { useSession } from '../api';

/** Registry commands that list a page at a time: `{ cursor?, limit? } → { items, nextCursor }`. */
export type PagedCommandName = {
  [N in BackOfficeCommandName]: CommandOutput<N> extends { items: unknown[]; nextCursor: string | null }
    ? CommandInput<N> extends { cursor?: string; limit?: unknown }
      ? N
      : never
    : never;
}[BackOfficeCommandName];

export type PagedItem<N extends PagedCommandName> = CommandOutput<N>['items'][number];
/** The filters of a paged command: everything but the paging itself, which the hook drives. */
export type PagedFilters<N extends PagedCommandName> = Omit<CommandInput<N>, 'cursor' | 'limit'>;

export interface AllPages<T> {
  /** Every row loaded so far (grows page by page; the same array while nothing new arrived). */
  rows: readonly T[];
  /** `{ items: rows }` once the first page is in, undefined before: a drop-in for `useCommand(…).data`. */
  data: { items: T[] } | undefined;
  /** A page is on its way (the first one, or more in the background). */
  loading: boolean;
  /** Every page is in: sorting, filtering and export now cover the whole list. */
  done: boolean;
  loadedCount: number;
  /** Why loading stopped (rows loaded before it stay). */
  error: BridgeError | undefined;
  /** Starts again from the first page. */
  reload: () => void;
}

/**
 * Page sizes, from bench/desktop.ts against 100,000 invoices (loopback HTTP, headless Chromium,
 * 2 CPUs shared with other work, so noisy). The server dominates: a page costs ~20 ms fixed
 * (HTTP, session check, zod) plus ~50–90 µs a row (SQLite read of 13 columns + customer join, zod
 * output validation, JSON.stringify); in the page, body + JSON.parse is ~1.5 µs a row (5,000 rows:
 * 2 MB, JSON.parse ~8 ms). Pages of 100 would spend ~2.5× longer in total than pages of 2,000–5,000;
 * above that the per-row cost is all that is left. React/TanStack then rebuild the row model over
 * every loaded row on each update (~0.1–0.3 s at 100,000 rows under load), so updates are shown
 * on a doubling schedule (below), not per page. The first page is small (500 rows, ~50 ms) so the
 * first paint does not wait for 5,000.
 */
export const FIRST_PAGE_SIZE = 500;
export const PAGE_SIZE = 5000;

/**
 * Loads a whole cursor-paginated list: the first page is shown at once, the rest is appended in the
 * background. New filters (compared by their JSON) or `reload()` start over; a page that fails
 * stops the loading and keeps what came before.
 *
 *   const list = useAllPages('invoices:list', filters);
 *   <DataTable data={list.rows} loadingMore={!list.done} … />
 */
export function useAllPages<N extends PagedCommandName>(name: N, filters: PagedFilters<N>, options: { firstPageSize?: number; pageSize?: number } = {}): AllPages<PagedItem<N>> {
  type T = PagedItem<N>;
  const { run } = useSession();
  const key = JSON.stringify(filters);
  const firstPageSize = options.firstPageSize ?? FIRST_PAGE_SIZE;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const [generation, setGeneration] = useState(0);
  const [state, setState] = useState<{ rows: T[]; started: boolean; loading: boolean; done: boolean; error?: BridgeError }>({
    rows: [],
    started: false,
    loading: true,
    done: false,
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: the filters are compared by their JSON (key); generation restarts on purpose
  useEffect(() => {
    let live = true;
    setState({ rows: [], started: false, loading: true, done: false });
    (async () => {
      let rows: T[] = [];
      let cursor: string | undefined;
      let shown = 0;
      for (let page = 0; live; page++) {
        const input = { ...JSON.parse(key), limit: page === 0 ? firstPageSize : pageSize, ...(cursor ? { cursor } : {}) } as CommandInput<N>;
        const result = await run(name, input);
        if (!live) return;
        if (!result.ok) {
          setState({ rows, started: page > 0, loading: false, done: false, error: result.error });
          return;
        }
        const out = result.data as { items: T[]; nextCursor: string | null };
        rows = page === 0 ? out.items : rows.concat(out.items);
        cursor = out.nextCursor ?? undefined;
        const done = out.nextCursor === null;
        // Shown when the loaded rows have doubled since last shown (and on the first and last page):
        // each showing rebuilds the table's row model over every loaded row, so a geometric
        // schedule keeps the total work near 2× the final list rather than pages × rows.
        if (done || page === 0 || rows.length >= 2 * shown) {
          shown = rows.length;
          setState({ rows, started: true, loading: !done, done });
        }
        if (done) return;
      }
    })();
    return () => {
      live = false;
    };
  }, [name, key, generation, firstPageSize, pageSize]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const { rows, started, loading, done, error } = state;
  return { rows, data: started ? { items: rows } : undefined, loading, done, loadedCount: rows.length, error, reload };
}
