import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors/index.js';

export type { RateLimitTables, RateLimitWindowTable } from './tables.js';

/**
 * Fixed-window rate limits (login, signup, staff sign-in), behind one store port with two
 * implementations chosen by capability:
 *
 * - several machines on one database (`sharedByMachines`, PostgreSQL): the counters live in the
 *   database (`rate_limit_windows`), so attempts spread over replicas count against one limit;
 * - one machine (SQLite): in this process's memory — the one process serving the file sees every
 *   attempt, and a login need not write to the database to be counted.
 *
 * Both keep the same semantics: a client's window opens with its first attempt and lasts
 * `windowMs`; every attempt counts (refused or not); past `limit`, attempts are refused until the
 * window ends (Retry-After = what is left of it).
 */
export interface RateLimitStore {
  /** Counts one attempt of `clientKey` against `limiter` at `nowMs`; the window as it now stands. */
  hit(limiter: string, clientKey: string, windowMs: number, nowMs: number): Promise<{ count: number; windowEndsAt: number }>;
}

export interface RateLimitRule {
  /** The limiter's name: part of the counter's key, and of the refusal's message ("Too many login attempts"). */
  name: string;
  limit: number;
  windowMs: number;
}

/** The store for this database: shared in it when several machines use it, else in memory. */
export function rateLimitStoreFor(db: Pick<Db, 'capabilities' | 'kysely'>): RateLimitStore {
  return db.capabilities.sharedByMachines ? createDatabaseRateLimitStore(db) : createMemoryRateLimitStore();
}

/**
 * Counts one attempt; throws 429 `rate_limited` (with `retryAfterSeconds`) past the limit — the
 * same refusal whichever store counts.
 */
export async function countAttempt(store: RateLimitStore, rule: RateLimitRule, clientKey: string, nowMs: number): Promise<void> {
  const { count, windowEndsAt } = await store.hit(rule.name, clientKey, rule.windowMs, nowMs);
  if (count <= rule.limit) return;
  const retryAfter = Math.max(1, Math.ceil((windowEndsAt - nowMs) / 1000));
  throw new DomainError('rate_limited', 'rate_limited', `Too many ${rule.name} attempts; try again in ${retryAfter} seconds.`, {
    retryAfterSeconds: retryAfter,
  });
}

export function createMemoryRateLimitStore(): RateLimitStore {
  const windows = new Map<string, { start: number; endsAt: number; count: number }>();
  let lastSweep = 0;
  return {
    async hit(limiter, clientKey, windowMs, nowMs) {
      // Counters are dropped once their window has passed (at most one sweep per window).
      if (nowMs - lastSweep > windowMs) {
        for (const [k, w] of windows) if (nowMs >= w.endsAt) windows.delete(k);
        lastSweep = nowMs;
      }
      const key = `${limiter}\u0000${clientKey}`;
      let w = windows.get(key);
      if (!w || nowMs >= w.endsAt) {
        w = { start: nowMs, endsAt: nowMs + windowMs, count: 0 };
        windows.set(key, w);
      }
      w.count++;
      return { count: w.count, windowEndsAt: w.endsAt };
    },
  };
}

export interface DatabaseRateLimitStoreOptions {
  /** How often this process deletes expired windows (default: once a minute at most). */
  purgeEveryMs?: number;
  onPurgeError?: (e: unknown) => void;
}

/**
 * Counters in `rate_limit_windows`. One attempt is one statement, outside any transaction, so it
 * never waits for the global write lock (core/db/postgres.ts) — a login flood must not queue
 * behind invoice runs, nor hold up ledger postings. It is atomic on its own: the conflicting row
 * is locked by the upsert, so concurrent attempts from several replicas get distinct counts, and
 * an expired window is restarted by the same statement.
 */
export function createDatabaseRateLimitStore(db: Pick<Db, 'kysely'>, options: DatabaseRateLimitStoreOptions = {}): RateLimitStore {
  const purgeEveryMs = options.purgeEveryMs ?? 60_000;
  let lastPurge = 0;
  return {
    async hit(limiter, clientKey, windowMs, nowMs) {
      if (nowMs - lastPurge >= purgeEveryMs) {
        lastPurge = nowMs;
        // Not awaited: the purge is housekeeping, never part of an attempt's answer.
        sql`delete from rate_limit_windows where expires_at <= ${nowMs}`.execute(db.kysely).catch((e) => options.onPurgeError?.(e));
      }
      const { rows } = await sql<{ count: number | string; expires_at: number | string }>`
        insert into rate_limit_windows (limiter, client_key, window_start, expires_at, count)
        values (${limiter}, ${clientKey}, ${nowMs}, ${nowMs + windowMs}, 1)
        on conflict (limiter, client_key) do update set
          count = case when rate_limit_windows.expires_at <= excluded.window_start then 1 else rate_limit_windows.count + 1 end,
          window_start = case when rate_limit_windows.expires_at <= excluded.window_start then excluded.window_start else rate_limit_windows.window_start end,
          expires_at = case when rate_limit_windows.expires_at <= excluded.window_start then excluded.expires_at else rate_limit_windows.expires_at end
        returning count, expires_at`.execute(db.kysely);
      return { count: Number(rows[0].count), windowEndsAt: Number(rows[0].expires_at) };
    },
  };
}
