import { Router } from 'express';
import { sql } from 'kysely';
import type { CoreContext } from '../../core/context/index.js';
import { DomainError } from '../../core/errors/index.js';
import { usageIngestFor } from '../../core/usage/index.js';
import { migrations } from '../../migrations/index.js';
import { methodNotAllowed } from './route.js';

/** What /readyz checks, by the names a 503 reports. */
export type ReadinessCheck = 'database' | 'migrations' | 'ingestWriter';

/** A database check slower than this counts as failing: a probe must answer, not hang. */
const CHECK_TIMEOUT_MS = 2_000;

const EXPECTED_MIGRATIONS = Object.keys(migrations).sort().join('\n');

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The failing checks (none: ready). Never throws; says nothing about why (no data on the wire). */
export async function failingReadinessChecks(ctx: CoreContext): Promise<ReadinessCheck[]> {
  const database = withTimeout(sql`select 1 as one`.execute(ctx.db.kysely)).then(
    () => true,
    () => false,
  );
  // Current = exactly the static list applied: one missing (not migrated) or unknown (a newer
  // version migrated this database) means this process should not serve it.
  const migrationsCurrent = withTimeout(sql<{ name: string }>`select name from kysely_migration`.execute(ctx.db.kysely)).then(
    (r) =>
      r.rows
        .map((row) => row.name)
        .sort()
        .join('\n') === EXPECTED_MIGRATIONS,
    () => false,
  );
  let writerAlive: boolean;
  try {
    writerAlive = usageIngestFor(ctx).writerHealth().alive;
  } catch {
    writerAlive = false;
  }
  const failing: ReadinessCheck[] = [];
  if (!(await database)) failing.push('database');
  if (!(await migrationsCurrent)) failing.push('migrations');
  if (!writerAlive) failing.push('ingestWriter');
  return failing;
}

/**
 * Probes for load balancers and orchestrators, unauthenticated and mounted before everything
 * else. They answer small fixed JSON: no version, no counts, no error text.
 * - GET /healthz: the process serves HTTP (liveness) — 200 `{ ok: true }`, touches nothing.
 * - GET /readyz: the database answers, its migrations are exactly this build's, the usage-event
 *   writer is alive — 200 `{ ok: true, checks: {…: 'ok'} }`, else 503 `not_ready` naming the
 *   failing checks in `failing`.
 */
export function healthRouter(ctx: CoreContext): Router {
  const router = Router();
  const alive = JSON.stringify({ ok: true });
  const ready = JSON.stringify({ ok: true, checks: { database: 'ok', migrations: 'ok', ingestWriter: 'ok' } });
  router.get('/healthz', (_req, res) => {
    res.type('application/json').send(alive);
  });
  router.get('/readyz', async (_req, res, next) => {
    const failing = await failingReadinessChecks(ctx);
    if (failing.length === 0) {
      res.type('application/json').send(ready);
      return;
    }
    next(new DomainError('unavailable', 'not_ready', `Not ready: ${failing.join(', ')}`, { details: { failing } }));
  });
  router.use(
    methodNotAllowed([
      { method: 'get', path: '/healthz' },
      { method: 'get', path: '/readyz' },
    ]),
  );
  return router;
}
