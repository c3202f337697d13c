export * from './limits.js';
export * from './schemas.js';
export * from './validate.js';
export * from './ingest.js';
export * from './idempotency.js';
export { USAGE_METRICS, type UsageMetric } from './tables.js';
export type * from './tables.js';
export type { UsageEventWriter, IngestJob, JobOutcome } from './writer.js';
