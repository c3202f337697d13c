import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A query built and compiled once per Kysely instance; each call only binds new parameters.
 * Kysely rebuilds its immutable operation tree and recompiles the SQL on every call, which costs
 * far more than running an indexed lookup from the statement cache — a real cost on paths that
 * run per request (API-key authentication).
 *
 * `build` receives `placeholders` (distinct values, e.g. '$keyId'); each call's `parameters`
 * take their places wherever they were bound in the compiled SQL, whatever the order. Values
 * the query binds itself (constants in `build`) are kept.
 */
export function compiledQuery<R, P extends readonly unknown[]>(
  build: (kysely: Kysely<Database>, ...placeholders: P) => { compile(): CompiledQuery<R> },
  placeholders: P,
): (kysely: Kysely<Database>, ...parameters: P) => Promise<R[]> {
  if (new Set(placeholders).size !== placeholders.length) throw new Error('compiledQuery: placeholders must be distinct');
  const compiledBy = new WeakMap<Kysely<Database>, { query: CompiledQuery<R>; slots: number[] }>();
  return async (kysely, ...parameters) => {
    let entry = compiledBy.get(kysely);
    if (entry === undefined) {
      const query = build(kysely, ...placeholders).compile();
      // For each bound value of the SQL: which placeholder it is (-1: a constant of the query).
      const slots = query.parameters.map((v) => placeholders.indexOf(v));
      for (let i = 0; i < placeholders.length; i++) {
        if (!slots.includes(i)) throw new Error(`compiledQuery: placeholder ${String(placeholders[i])} is not bound by the query`);
      }
      compiledBy.set(kysely, (entry = { query, slots }));
    }
    const { query, slots } = entry;
    const bound = slots.map((slot, j) => (slot < 0 ? query.parameters[j] : parameters[slot]));
    return (await kysely.executeQuery<R>({ ...query, parameters: bound })).rows;
  };
}

/**
 * An INSERT of one row into `table`, compiled once per Kysely instance (see compiledQuery): for
 * rows written many times per second or per run (ledger entries, invoices).
 */
export function compiledInsert<T extends keyof Database & string>(
  table: T,
  columns: ReadonlyArray<keyof Database[T] & string>,
): (kysely: Kysely<Database>, row: { [C in keyof Database[T]]?: unknown }) => Promise<unknown[]> {
  const placeholders = columns.map((c) => `$${c}`);
  const insert = compiledQuery(
    // biome-ignore lint/suspicious/noExplicitAny: the placeholders stand for values of every column type
    (kysely, ...values: string[]) => kysely.insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, values[i]])) as any),
    placeholders,
  );
  return (kysely, row) => insert(kysely, ...columns.map((c) => (row as Record<string, unknown>)[c] as string));
}
