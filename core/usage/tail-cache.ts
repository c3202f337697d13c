import type BetterSqlite3 from 'better-sqlite3';
import type { CoreContext } from '../context/index.js';
import { compiledQuery } from '../db/compiled.js';
import type { TailRow, UnindexedTailSource } from './aggregate.js';
import type { EventFeedReader } from './event-feed.js';

/**
 * The unindexed tail of usage_events kept in memory, grouped by customer — for the usage reader
 * thread (reader-thread.ts), which serves every HTTP usage read of the process.
 *
 * Why: during a burst the usage indexer defers (core/usage/README.md), and the tail grows to
 * ~1–2 million events; scanning it costs ~65 ms per million rows *per read*, so 20 reads a
 * second would need more than a core. Here each read first loads the events committed since the
 * previous read (`seq` > the last one seen: at 100,000 events/s and 20 reads/s, ~5,000 rows),
 * drops those the index has taken over (`seq` ≤ the cursor), and answers from the customer's
 * own entries.
 *
 * Exact, by the same argument as the scan: it runs on the read's snapshot, after the cursor was
 * read on it. `seq` is assigned in commit order (one writer; a rolled-back insert never becomes
 * visible), so every event with `seq` ≤ the last one seen was loaded by an earlier snapshot, and
 * the events after it are exactly those this snapshot adds. The entries kept are those with
 * `seq` > cursor — the tail — and the customer's are filtered by the window like the scan's.
 *
 * Memory: the tail's events (~60–100 bytes each), bounded by the indexer, which indexes under
 * load once the backlog passes its threshold. A process that starts with a large backlog pays
 * one load of it on its first read.
 */
export function createTailCache(feed?: EventFeedReader): UnindexedTailSource & { readonly entries: number; readonly fromFeed: number } {
  interface Bucket {
    start: number;
    seq: number[];
    at: number[];
    metric: number[];
    dimensions: number[];
    quantity: Array<string | number>;
  }
  const buckets = new Map<number, Bucket>();
  let seen = 0; // the highest seq loaded
  let prunedTo = 0; // entries with seq ≤ this are gone
  let entries = 0;
  let fromFeed = 0;

  const prune = (cursor: number) => {
    for (const b of buckets.values()) {
      let i = b.start;
      while (i < b.seq.length && b.seq[i] <= cursor) i++;
      entries -= i - b.start;
      b.start = i;
      if (b.start > 1024 && b.start * 2 > b.seq.length) {
        for (const col of [b.seq, b.at, b.metric, b.dimensions, b.quantity] as unknown[][]) col.splice(0, b.start);
        b.start = 0;
      }
    }
    prunedTo = cursor;
  };

  const source = async (tx: CoreContext, lastSeq: number, customerRef: number, fromMs: number, toMs: number): Promise<TailRow[]> => {
    if (seen < lastSeq || lastSeq < prunedTo) {
      // The index passed everything loaded (or nothing was loaded yet): start from its cursor.
      // (A cursor that went back — a rebuilt index — starts over the same way.)
      buckets.clear();
      entries = 0;
      seen = prunedTo = lastSeq;
    }
    const add = (seq: number, customer: number, at: number, metric: number, dimensions: number, quantity: string | number) => {
      let b = buckets.get(customer);
      if (!b) buckets.set(customer, (b = { start: 0, seq: [], at: [], metric: [], dimensions: [], quantity: [] }));
      b.seq.push(seq);
      b.at.push(at);
      b.metric.push(metric);
      b.dimensions.push(dimensions);
      b.quantity.push(quantity);
      seen = seq;
      entries++;
    };
    if (feed) {
      // What the writer thread published since the last read, as long as it follows on from the
      // last row held (seqs are dense): at full speed nearly every row comes this way. A gap —
      // rows the feed left out, or committed elsewhere — stops it; the load below fills it from
      // this read's snapshot, and later rows come from SQLite at the next read. Rows published
      // after this snapshot began are committed too: holding them early changes no total (each
      // row is counted once, from the index at or below the cursor or from here above it).
      feed.take((seq, customer, at, metric, dimensions, quantity) => {
        if (seq <= seen) return true;
        if (seq !== seen + 1) return false;
        add(seq, customer, at, metric, dimensions, quantity);
        fromFeed++;
        return true;
      });
    }
    const raw = tx.db.inTransactionConnection;
    if (raw) {
      // The reader thread: rows as arrays from a prepared statement (inside readSnapshot's
      // transaction, which holds the connection). Every read of the process loads the rows
      // committed since the previous one — at full ingest speed, every event once — so this is
      // the reader thread's main cost: ~1.1 µs a row this way against ~2–2.8 µs with row objects.
      // In chunks (`all` is cheaper per row than `iterate`; a chunk bounds memory when a large
      // backlog is loaded at once, e.g. on the first read after a restart).
      let statement = rawNewEvents.get(raw);
      if (!statement) rawNewEvents.set(raw, (statement = raw.prepare(NEW_EVENTS_SQL).raw(true)));
      for (;;) {
        const rows = statement.all(seen, RAW_CHUNK) as Array<[number, number, number, number, number, string]>;
        for (const r of rows) add(r[0], r[1], r[2], r[3], r[4], r[5]);
        if (rows.length < RAW_CHUNK) break;
      }
    } else {
      for (const r of await newEvents(tx.db.kysely, seen)) add(Number(r.seq), Number(r.customer), Number(r.occurred_at), r.metric, Number(r.dimensions), r.quantity);
    }
    if (lastSeq > prunedTo) prune(lastSeq);
    const b = buckets.get(customerRef);
    const out: TailRow[] = [];
    if (b) {
      for (let i = b.start; i < b.seq.length; i++) {
        if (b.at[i] >= fromMs && b.at[i] < toMs) out.push({ metric: b.metric[i], dimensions: b.dimensions[i], quantity: b.quantity[i] });
      }
    }
    return out;
  };
  Object.defineProperty(source, 'fromFeed', { get: () => fromFeed });
  return Object.defineProperty(source, 'entries', { get: () => entries }) as UnindexedTailSource & { readonly entries: number; readonly fromFeed: number };
}

const NEW_EVENTS_SQL = 'SELECT seq, customer, occurred_at, metric, dimensions, quantity FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?';
const RAW_CHUNK = 50_000;
const rawNewEvents = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();
const newEvents = compiledQuery(
  (k, after: number) => k.selectFrom('usage_events').select(['seq', 'customer', 'occurred_at', 'metric', 'quantity', 'dimensions']).where('seq', '>', after).orderBy('seq'),
  [-1] as [number],
);
