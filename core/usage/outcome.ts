import { type IngestBatch, reasonOf, unpackBatch } from './batch.js';
import type { RejectionReason } from './limits.js';
import type { BatchOutcome, IngestCounts } from './writer.js';

/**
 * Outcomes of ingested batches, and their stored form under an Idempotency-Key.
 *
 * Core decides outcomes; transports render them (the server: status 200 / 422 and the JSON
 * envelope, server/routes/usage-events.ts). What an Idempotency-Key record keeps is the
 * outcome — `{"accepted":…,"duplicates":…,"rejected":…,"results":[…]}` in `response_body`,
 * `response_status` NULL — written in the same transaction as the events; a replay renders it
 * again with the same renderer, so it answers the same bytes.
 */

export function outcomeOf(counts: IngestCounts, resultsJson: string): BatchOutcome {
  return { kind: counts.accepted + counts.duplicates === 0 ? 'all_rejected' : 'processed', counts, resultsJson };
}

/** The stored form of an outcome. */
export function storedOutcomeText(o: BatchOutcome): string {
  return `{"accepted":${o.counts.accepted},"duplicates":${o.counts.duplicates},"rejected":${o.counts.rejected},"results":${o.resultsJson}}`;
}

/**
 * Records written before outcomes moved out of core hold the rendered HTTP body: a 200 body is
 * exactly the stored form; a 422 body has this envelope in front of it.
 */
const LEGACY_ALL_REJECTED_PREFIX = '{"ok":false,"error":"all_events_rejected","message":"Every event in the batch was rejected; see results[].reason",';
const STORED_HEAD = /^\{"accepted":(\d+),"duplicates":(\d+),"rejected":(\d+),"results":/;

/** An outcome read back from its stored form (or from a record of the earlier, rendered form). */
export function readStoredOutcome(text: string): BatchOutcome {
  const body = text.startsWith(LEGACY_ALL_REJECTED_PREFIX) ? `{${text.slice(LEGACY_ALL_REJECTED_PREFIX.length)}` : text;
  const head = STORED_HEAD.exec(body);
  if (head === null || !body.endsWith(']}')) throw new Error('unreadable Idempotency-Key record');
  const counts = { accepted: Number(head[1]), duplicates: Number(head[2]), rejected: Number(head[3]) };
  return outcomeOf(counts, body.slice(head[0].length, -1));
}

export function rejectedResult(key: string | null, reason: RejectionReason): string {
  return key === null ? `{"status":"rejected","reason":"${reason}"}` : `{"idempotencyKey":${JSON.stringify(key)},"status":"rejected","reason":"${reason}"}`;
}

/** The outcome of a batch whose events were all refused before the database. */
export function allRejectedOutcome(packed: IngestBatch): BatchOutcome {
  const batch = unpackBatch(packed);
  let out = '';
  for (let i = 0; i < batch.count; i++) {
    if (batch.reasons[i] === 0) throw new Error('allRejectedOutcome: batch has a valid event');
    out += (i > 0 ? ',' : '') + rejectedResult(batch.keys[i], reasonOf(batch.reasons[i]));
  }
  return outcomeOf({ accepted: 0, duplicates: 0, rejected: batch.count }, `[${out}]`);
}
