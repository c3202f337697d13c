import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db } from './index.js';

/**
 * Leader election for singleton workers (the invoice scheduler; later one chain listener per
 * chain): of all processes on one database, at most one leads a given name at a time.
 *
 * Where the database supports advisory locks (PostgreSQL), the leader is the process holding the
 * session-level `pg_try_advisory_lock(key)` derived from the name, on a connection of its own
 * (`db.openSessionConnection`, never a pool connection: the lock lives exactly as long as that
 * connection). Standbys try again every `retryMs`. When the leader's process dies its connection
 * closes and PostgreSQL releases the lock, so a standby takes over on its next try; a leader that
 * loses its connection (error, end, or a heartbeat that fails) stops being leader at once — it
 * can no longer prove it holds the lock. The connection's `application_name` names the process,
 * so `pg_locks` joined with `pg_stat_activity` shows who leads what.
 *
 * Without advisory locks (SQLite: one machine, one server process per file) this process is
 * always the leader.
 *
 * Leading is an optimisation of work, not its only safeguard: two leaders can overlap for an
 * instant after a network partition (PostgreSQL drops the old session before the old leader's
 * heartbeat notices), so what a leader does must stay safe to do twice (e.g. invoices are
 * unique per contract and period in the database).
 */
export interface Leadership {
  readonly name: string;
  readonly isLeader: boolean;
  /** Releases the lock (if held) and stops trying. */
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** What is led: `invoice-scheduler`, `chain-listener:<chainId>`. */
  name: string;
  /** Shown in pg_stat_activity, e.g. `buffmoney:server:<pid>`. */
  applicationName: string;
  /** How often a standby tries for the lock, and a leader checks its connection (default 2 s). */
  retryMs?: number;
  /**
   * How long a query on the lock connection may take before the connection is given up (default
   * 10 s). A closed connection is noticed at once (its 'end'/'error' events); this catches one
   * that hangs (a network partition), without dropping the lead over a merely busy database.
   */
  timeoutMs?: number;
  /** Called on every change of role (true: now leading). */
  onChange?: (leader: boolean) => void;
  /** Connection failures while trying (the database down, say); the election keeps trying. */
  onError?: (e: unknown) => void;
}

/** The advisory-lock key of a name: the first 8 bytes of its SHA-256, as a signed 64-bit decimal. */
export function leaderLockKey(name: string): string {
  return createHash('sha256').update(`buffmoney:leader:${name}`).digest().readBigInt64BE(0).toString();
}

export function startLeaderElection(db: Pick<Db, 'capabilities' | 'openSessionConnection'>, options: LeaderElectionOptions): Leadership {
  if (!db.capabilities.supportsAdvisoryLocks || !db.openSessionConnection) {
    // One machine: nobody to elect against.
    return { name: options.name, isLeader: true, stop: async () => {} };
  }
  const open = db.openSessionConnection.bind(db);
  const retryMs = options.retryMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const key = leaderLockKey(options.name);
  let client: pg.Client | undefined;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;

  const setLeader = (value: boolean) => {
    if (leader === value) return;
    leader = value;
    options.onChange?.(value);
  };
  // The connection is gone (or no longer trusted): no longer leader, this very moment.
  const drop = (c: pg.Client) => {
    if (client !== c) return;
    client = undefined;
    setLeader(false);
    c.end().catch(() => {});
  };

  const withTimeout = <T>(work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`leader election: no answer within ${timeoutMs} ms`)), timeoutMs);
      work.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });

  const tryOnce = async () => {
    let c = client;
    try {
      if (!c) {
        // pg's own connect timeout bounds this (set where the connection is made).
        c = await open(options.applicationName);
        if (stopped) {
          await c.end();
          return;
        }
        const mine = c;
        client = mine;
        mine.on('error', () => drop(mine));
        mine.on('end', () => drop(mine));
      }
      if (leader) {
        // A heartbeat: a leader whose connection no longer answers must not go on leading.
        await withTimeout(c.query('select 1'));
        return;
      }
      const { rows } = await withTimeout(c.query<{ got: boolean }>('select pg_try_advisory_lock($1::bigint) as got', [key]));
      if (rows[0]?.got && client === c && !stopped) setLeader(true);
    } catch (e) {
      if (c) drop(c);
      options.onError?.(e);
    }
  };

  const loop = () => {
    attempt = tryOnce().finally(() => {
      attempt = undefined;
      if (!stopped) timer = setTimeout(loop, retryMs);
    });
  };
  loop();

  return {
    name: options.name,
    get isLeader() {
      return leader;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await attempt;
      const c = client;
      client = undefined;
      setLeader(false);
      // Ending the session releases the lock; a standby takes over on its next try.
      await c?.end().catch(() => {});
    },
  };
}
