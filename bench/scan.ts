/**
 * `npm run bench:scan` — the single-pass scanner against the general path (JSON.parse +
 * checkUsageBatch) on benchmark-shaped 500-event bodies (ULID-like keys, four dimensions), and
 * what rendering an ingest outcome as HTTP costs the HTTP thread (server/routes/usage-events.ts
 * `renderIngestOutcome`) next to encoding the same bytes already rendered.
 *
 * Environment: BENCH_SCAN_RUNS (2000 scanner runs; the general path runs 3% of that).
 * Prints µs per event (scanner, general path) and µs per batch (rendering). Not part of
 * `npm test`: timings are figures to compare, never assertions.
 */
import os from 'node:os';
import { checkUsageBatch, parseBatchEnvelope } from '../core/usage/batch.js';
import { scanUsageBatch } from '../core/usage/scan.js';
import { seededRandom } from './random.js';
import { renderIngestOutcome } from '../server/routes/usage-events.js';

const RUNS = Number(process.env.BENCH_SCAN_RUNS ?? 2000);
const NOW = Date.parse('2026-05-25T12:00:00Z');
const EVENTS = 500;

// The same bodies on every run.
const { int, pick } = seededRandom(1);

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MODELS = ['gpt-5', 'gpt-5-mini', 'claude-opus-4', 'claude-sonnet-4', 'llama-4-70b', 'qwen3-235b'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'cn-shanghai'];
const METRICS = ['tokens_input', 'tokens_input', 'tokens_output', 'tokens_output', 'agent_run', 'image_generation'];

const bodies: Buffer[] = [];
for (let b = 0; b < 30; b++) {
  const events = [];
  for (let i = 0; i < EVENTS; i++) {
    let key = '';
    for (let k = 0; k < 26; k++) key += CROCKFORD[int(32)];
    events.push({
      customerExternalId: `cust_${int(1000)}`,
      idempotencyKey: key,
      metric: pick(METRICS),
      quantity: String(1 + int(200_000)),
      occurredAt: new Date(NOW - 60_000 + b * 5 + (i % 5)).toISOString(),
      dimensions: { model: pick(MODELS), region: pick(REGIONS), feature: pick(['chat', 'batch', 'agent']), api_key_id: `ak_${int(50)}` },
    });
  }
  bodies.push(Buffer.from(JSON.stringify({ events })));
}
for (const body of bodies) if (scanUsageBatch(body, NOW) === null) throw new Error('a benchmark body left the scanner’s fast path');

function time(runs: number, f: (i: number) => unknown): number {
  for (let i = 0; i < 20; i++) f(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) f(i);
  return Number(process.hrtime.bigint() - start) / 1000 / runs; // µs per call
}

console.log(
  `bench:scan — ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
);
const scan = time(RUNS, (i) => scanUsageBatch(bodies[i % bodies.length], NOW)) / EVENTS;
const general = time(Math.max(10, Math.round(RUNS * 0.03)), (i) => checkUsageBatch(parseBatchEnvelope(bodies[i % bodies.length]), NOW)) / EVENTS;
console.log(
  `usage-events, ${bodies[0].length} bytes per ${EVENTS}-event body: scanUsageBatch ${scan.toFixed(2)} µs/event, JSON.parse + checkUsageBatch ${general.toFixed(2)} µs/event (${(general / scan).toFixed(1)}×)`,
);

// Rendering: what the HTTP thread does with an outcome (results as JSON text, as they arrive
// from the writer thread), measured to the bytes on the wire (Buffer.byteLength + the copy
// res.end makes), against sending an already-rendered string the same way.
const outcomes = bodies.map((_, b) => {
  let results = '';
  for (let i = 0; i < EVENTS; i++) {
    let id = 'evt_';
    for (let k = 0; k < 26; k++) id += CROCKFORD[int(32)].toLowerCase();
    let key = '';
    for (let k = 0; k < 26; k++) key += CROCKFORD[int(32)];
    results += `${i > 0 ? ',' : ''}{"idempotencyKey":"${key}","status":"${i % 10 === b % 10 ? 'duplicate' : 'accepted'}","eventId":"${id}"}`;
  }
  // Flat, as a string arriving from another thread is.
  const resultsJson = Buffer.from(`[${results}]`).toString();
  return { kind: 'processed' as const, counts: { accepted: 450, duplicates: 50, rejected: 0 }, resultsJson, replayed: false };
});
const rendered = outcomes.map((o) => Buffer.from(renderIngestOutcome(o).json).toString());
const send = (json: string) => Buffer.from(json, 'utf8').length;
// Alternating rounds, the fastest of each: on a busy machine the difference is a few µs in a
// few hundred, so one long run of each would mostly measure the neighbours.
let render = Infinity;
let stored = Infinity;
for (let round = 0; round < 7; round++) {
  render = Math.min(
    render,
    time(RUNS, (i) => send(renderIngestOutcome(outcomes[i % outcomes.length]).json)),
  );
  stored = Math.min(
    stored,
    time(RUNS, (i) => send(rendered[i % rendered.length])),
  );
}
console.log(
  `rendering a ${EVENTS}-event outcome (${rendered[0].length} bytes) and encoding it: ${render.toFixed(1)} µs per batch, against ${stored.toFixed(1)} µs for the same bytes pre-rendered (${render >= stored ? '+' : ''}${(render - stored).toFixed(1)} µs per batch; at 250 batches/s, ${(((render - stored) * 250) / 10_000).toFixed(2)}% of a core)`,
);
