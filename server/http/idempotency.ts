import { createHash } from 'node:crypto';
import type { CoreContext, MerchantScope } from '../../core/context/index.js';
import { inTransaction } from '../../core/db/transaction.js';
import { DomainError, conflict, invalidInput, isDomainError } from '../../core/errors/index.js';
import { IDEMPOTENCY_TTL_MS } from '../../core/usage/index.js';
import { errorResponse } from './errors.js';
import type { RouteResult } from './route.js';

/** A record still `in_progress` this long after it was taken belongs to a request that died (a crash): it is taken over. */
const ABANDONED_AFTER_MS = 2 * 60_000;

export const IDEMPOTENCY_DESCRIPTION = `Idempotency-Key header (optional, 1–255 characters): the response (status and body) is stored for ${IDEMPOTENCY_TTL_MS / 3_600_000} h per merchant and environment; a retry with the same key and the same request gets it again with \`Idempotent-Replayed: true\`, the same key with another request is 409 \`idempotency_key_reused\`, and a retry while the first is still running is 409 \`idempotency_key_in_use\` — never a second execution. Refusals before execution (400, 401, 403, 415) and temporary failures (503, 500) are not stored: retry them with the same key.`;

/**
 * The Idempotency-Key header for JSON routes whose work cannot sit in one transaction with the
 * stored response (a checkout calls the channel between two transactions). Same table and rules
 * as usage events (core/usage: idempotency_records, 24 h per merchant and environment): the key
 * is claimed `in_progress` in one transaction, the route runs, and its response is stored in
 * another. `operation` + the parsed request make the fingerprint, so one key cannot serve two
 * different requests (or endpoints). Domain refusals (404, 409) are stored and replayed like
 * successes; a 503 or an unexpected error releases the key so a retry runs again.
 */
export async function withIdempotencyKey(
  ctx: CoreContext,
  input: { scope: MerchantScope; key: string | string[] | undefined; operation: string; request: unknown },
  run: () => Promise<RouteResult>,
): Promise<RouteResult> {
  if (input.key === undefined) return run();
  const key = Array.isArray(input.key) ? input.key[0] : input.key;
  if (Array.isArray(input.key) || key.length < 1 || key.length > 255) throw invalidInput('idempotency_key_invalid', 'Idempotency-Key must be one header of 1–255 characters');
  const hash = createHash('sha256')
    .update(`${input.operation}\n${JSON.stringify(input.request)}`)
    .digest('hex');
  const { merchantId, environment } = input.scope;

  const claimed = await inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const now = tx.clock.now();
    const row = await k
      .selectFrom('idempotency_records')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', environment)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (row && Date.parse(row.expires_at) > now.getTime()) {
      if (row.request_hash !== hash) throw conflict('idempotency_key_reused', 'This Idempotency-Key was used for a different request');
      if (row.state === 'completed') return { replay: row };
      if (now.getTime() - Date.parse(row.created_at) < ABANDONED_AFTER_MS) {
        throw new DomainError('conflict', 'idempotency_key_in_use', 'A request with this Idempotency-Key is still running; retry shortly', { retryAfterSeconds: 1 });
      }
    }
    if (row) {
      await k.deleteFrom('idempotency_records').where('merchant_id', '=', merchantId).where('environment', '=', environment).where('idempotency_key', '=', key).execute();
    }
    await k
      .insertInto('idempotency_records')
      .values({
        merchant_id: merchantId,
        environment,
        idempotency_key: key,
        request_hash: hash,
        state: 'in_progress',
        response_status: null,
        response_body: null,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
      })
      .execute();
    return { replay: null };
  });
  if (claimed.replay) {
    return { status: claimed.replay.response_status ?? 200, rawJson: claimed.replay.response_body ?? 'null', headers: { 'Idempotent-Replayed': 'true' } };
  }

  const release = () =>
    ctx.db.kysely
      .deleteFrom('idempotency_records')
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', environment)
      .where('idempotency_key', '=', key)
      .where('request_hash', '=', hash)
      .where('state', '=', 'in_progress')
      .execute();
  const store = (status: number, json: string) =>
    ctx.db.kysely
      .updateTable('idempotency_records')
      .set({ state: 'completed', response_status: status, response_body: json })
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', environment)
      .where('idempotency_key', '=', key)
      .where('request_hash', '=', hash)
      .execute();

  let result: RouteResult;
  try {
    result = await run();
  } catch (e) {
    if (isDomainError(e) && e.kind !== 'unavailable' && e.kind !== 'internal' && e.kind !== 'rate_limited') {
      const { status, body } = errorResponse(e);
      await store(status, JSON.stringify(body));
    } else {
      await release().catch(() => {});
    }
    throw e;
  }
  const json = result.rawJson ?? JSON.stringify(result.body ?? null);
  await store(result.status, json);
  return { ...result, rawJson: json, body: undefined };
}
