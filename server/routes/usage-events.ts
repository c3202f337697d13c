import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { DomainError } from '../../core/errors/index.js';
import {
  type IngestOutcome,
  IDEMPOTENCY_TTL_MS,
  MAX_BODY_BYTES,
  MAX_EVENTS_PER_BATCH,
  REJECTION_REASONS,
  UsageEventBatch,
  UsageEventIngestResult,
  UsageEventsAllRejected,
  usageIngestFor,
} from '../../core/usage/index.js';
import type { ServerDeps } from '../deps.js';
import { ErrorSchema } from '../http/openapi.js';
import { type RouteSpec, defineLeanRoute } from '../http/route.js';

const tooLarge = () => new DomainError('payload_too_large', 'payload_too_large', `Request body is larger than ${MAX_BODY_BYTES} bytes`);

/** The request body as received: its bytes are hashed for Idempotency-Key and parsed once. */
function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(new DomainError('unsupported_media_type', 'unsupported_encoding', 'Send the batch uncompressed (Content-Encoding: identity)'));
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(tooLarge()); // the rest is read and discarded so the 413 can be sent
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!refused) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

const ALL_REJECTED_MESSAGE = JSON.stringify('Every event in the batch was rejected; see results[].reason');

/**
 * The one place an ingest outcome becomes HTTP: 200 with the counts and results, or 422
 * `all_events_rejected` with the same fields behind the error envelope. Written as text around
 * the results core hands over as JSON text (a 500-event response is ~40 KB; no object tree is
 * built or serialised again). A replay renders its stored outcome with this same function, so
 * it answers the first response's exact bytes — a change here changes the answer to replays of
 * records written before it, as it does for every new request (pinned by the route's tests).
 */
export function renderIngestOutcome(o: IngestOutcome): { status: number; json: string } {
  const fields = `"accepted":${o.counts.accepted},"duplicates":${o.counts.duplicates},"rejected":${o.counts.rejected},"results":${o.resultsJson}}`;
  if (o.kind === 'all_rejected') return { status: 422, json: `{"ok":false,"error":"all_events_rejected","message":${ALL_REJECTED_MESSAGE},${fields}` };
  return { status: 200, json: `{${fields}` };
}

const reasons = Object.entries(REJECTION_REASONS)
  .map(([code, text]) => `- \`${code}\`: ${text}`)
  .join('\n');

const DESCRIPTION = `Ingests a batch of 1–${MAX_EVENTS_PER_BATCH} usage events (more → 413 \`batch_too_large\`).

Each event gets a result, in input order: \`accepted\` (stored; \`eventId\` is its new id), \`duplicate\` (an event with the same \`idempotencyKey\` is already stored for this merchant and environment — also earlier in the same batch; \`eventId\` is the stored event's id) or \`rejected\` with a machine-readable \`reason\`:
${reasons}

200 when at least one event was accepted or a duplicate; 422 \`all_events_rejected\` (same counts and results, plus \`ok\`, \`error\`, \`message\`) when every event was rejected; 422 \`malformed_json\` / \`invalid_batch\` when the body is not \`{ "events": [ … ] }\`. Sandbox and live are separate: keys, customers and events of one are invisible to the other. A 200 means the accepted events are durably committed.

Idempotency-Key header (optional, 1–255 characters): the whole response (status and exact bytes) is stored for ${IDEMPOTENCY_TTL_MS / 3_600_000} h per merchant and environment, in the same transaction as the events. A retry with a byte-identical body (compared by SHA-256 of the raw body) gets the stored response with \`Idempotent-Replayed: true\`; the same key with a different body is 409 \`idempotency_key_reused\`; a retry while the first request is still running is 409 \`idempotency_key_in_use\` — never a second execution. Requests refused before execution (401, 403, 413, malformed JSON) store nothing.

503 \`ingest_unavailable\` (with \`Retry-After\`): the usage writer stopped and is being restarted. The batch was not acknowledged; if it was in flight when the writer stopped it may have been stored. Retry it unchanged (same events, same Idempotency-Key) after Retry-After seconds: stored events come back as \`duplicate\` (or the stored response is replayed), so nothing is counted twice.`;

export function usageEventRoutes(deps: ServerDeps): RouteSpec[] {
  const service = usageIngestFor(deps.ctx);
  return [
    // The hot path: served before Express (defineLeanRoute).
    defineLeanRoute({
      method: 'post',
      path: '/usage-events',
      operationId: 'ingestUsageEvents',
      summary: 'Ingest usage events',
      description: DESCRIPTION,
      tags: ['Usage'],
      auth: { apiKey: true, jwt: true, scope: 'usage:write' },
      body: UsageEventBatch,
      invalidInputKind: 'unprocessable',
      responses: {
        200: {
          description: 'Batch processed (mixed accepted / duplicate / rejected possible).',
          schema: UsageEventIngestResult,
          headers: { 'Idempotent-Replayed': 'true when this is the stored response of an earlier request with the same Idempotency-Key' },
        },
        422: {
          description: 'Every event was rejected (`all_events_rejected`, with per-event results), or the body is malformed (`malformed_json`, `invalid_batch`).',
          schema: z.union([UsageEventsAllRejected, ErrorSchema]),
        },
      },
      errors: [401, 403, 409, 413, 415, 503],
      errorCodes: { 409: ['idempotency_key_reused', 'idempotency_key_in_use'], 413: ['batch_too_large', 'payload_too_large'], 503: ['ingest_unavailable'] },
      handler: async ({ auth, req }) => {
        const body = await readRawBody(req, MAX_BODY_BYTES);
        const header = req.headers['idempotency-key'];
        const outcome = await service.ingest({
          scope: { merchantId: auth!.merchantId, environment: auth!.environment },
          body,
          idempotencyKey: typeof header === 'string' ? header : undefined,
        });
        const { status, json } = renderIngestOutcome(outcome);
        return { status, rawJson: json, headers: outcome.replayed ? { 'Idempotent-Replayed': 'true' } : undefined };
      },
    }),
  ];
}
