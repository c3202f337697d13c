import { describe, expect, it } from 'vitest';
import type { UsageIngest } from '../../core/usage/ingest.js';
import { startUsageIndexer } from './usage-indexer.js';

/** An ingest service stand-in: a backlog counter, a batch counter the test advances, a log of slices. */
function fakeIngest(backlog: number) {
  const slices: number[] = [];
  const state = { backlog, submitted: 0, pending: 0 };
  const ingest = {
    get submittedBatches() {
      return state.submitted;
    },
    get pendingBatches() {
      return state.pending;
    },
    unindexedCount: async () => state.backlog,
    indexCustomerUsage: async (maxRows: number) => {
      const copied = Math.min(maxRows, state.backlog);
      state.backlog -= copied;
      slices.push(copied);
      return copied;
    },
  } as unknown as UsageIngest;
  return { ingest, slices, state };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls until `done` holds (bounded), so a slow CI machine does not fail a correct indexer. */
async function until(done: () => boolean, timeoutMs = 5_000) {
  const start = Date.now();
  while (!done() && Date.now() - start < timeoutMs) await sleep(5);
}

describe('usage indexer', () => {
  it('catches up in full slices, back to back, while ingestion is idle', async () => {
    const { ingest, slices, state } = fakeIngest(12_345);
    const worker = startUsageIndexer(ingest, { intervalMs: 10, batchRows: 5_000 });
    await until(() => state.backlog === 0);
    await worker.stop();
    expect(state.backlog).toBe(0);
    expect(slices).toEqual([5_000, 5_000, 2_345]);
  });

  it('leaves a backlog under the threshold alone while batches keep arriving', async () => {
    const { ingest, slices, state } = fakeIngest(50_000);
    const busy = setInterval(() => state.submitted++, 2);
    const worker = startUsageIndexer(ingest, { intervalMs: 10, maxBacklogRows: 100_000 });
    await sleep(150);
    await worker.stop();
    clearInterval(busy);
    expect(slices).toEqual([]);
    expect(state.backlog).toBe(50_000);
  });

  it('indexes under load in small slices once the backlog passes the threshold, down to the threshold', async () => {
    const { ingest, slices, state } = fakeIngest(106_500);
    const busy = setInterval(() => state.submitted++, 1);
    const worker = startUsageIndexer(ingest, { intervalMs: 10, maxBacklogRows: 100_000, loadSliceRows: 2_000, batchRows: 5_000 });
    await until(() => state.backlog <= 100_000);
    await sleep(50); // and no further slice follows
    await worker.stop();
    clearInterval(busy);
    expect(slices.length).toBe(4);
    expect(slices.every((n) => n === 2_000)).toBe(true);
    // It stops once the backlog is at or below the threshold.
    expect(state.backlog).toBeLessThanOrEqual(100_000);
    expect(state.backlog).toBeGreaterThan(100_000 - 2_000);
  });

  it('reports failures and keeps going', async () => {
    const { ingest, state } = fakeIngest(1_000);
    let fail = true;
    const errors: unknown[] = [];
    const original = ingest.indexCustomerUsage;
    (ingest as { indexCustomerUsage: typeof original }).indexCustomerUsage = async (n) => {
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
      return original(n);
    };
    const worker = startUsageIndexer(ingest, { intervalMs: 10, onError: (e) => errors.push(e) });
    await until(() => state.backlog === 0);
    await worker.stop();
    expect(errors).toHaveLength(1);
    expect(state.backlog).toBe(0);
  });
});
