import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UsageIngest } from '../../core/usage/ingest.js';
import { startUsageIndexer } from './usage-indexer.js';

/**
 * An ingest service stand-in: a backlog counter, a batch counter the test advances, a log of
 * slices. Time is vitest's fake clock: every tick of the indexer happens exactly when the test
 * moves time, so the assertions count slices exactly instead of polling.
 */
function fakeIngest(backlog: number) {
  const slices: number[] = [];
  const state = { backlog, submitted: 0, pending: 0, writerAlive: true };
  const ingest = {
    get submittedBatches() {
      return state.submitted;
    },
    get pendingBatches() {
      return state.pending;
    },
    writerHealth: () => ({ alive: state.writerAlive, restarts: 0 }),
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

/** Batches keep arriving: one more every `everyMs` of fake time. */
function keepIngesting(state: { submitted: number }, everyMs: number) {
  const timer = setInterval(() => state.submitted++, everyMs);
  return () => clearInterval(timer);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('usage indexer', () => {
  it('waits one interval, then catches up in full slices, back to back, while ingestion is idle', async () => {
    const { ingest, slices, state } = fakeIngest(12_345);
    const worker = startUsageIndexer(ingest, { intervalMs: 250, batchRows: 5_000 });
    await vi.advanceTimersByTimeAsync(249);
    expect(slices).toEqual([]);
    await vi.advanceTimersByTimeAsync(5); // first look: idle, so a slice; the next ones follow at once (0 ms timers)
    expect(slices).toEqual([5_000, 5_000, 2_345]);
    expect(state.backlog).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000); // nothing left: no further slices
    expect(slices).toEqual([5_000, 5_000, 2_345]);
    await worker.stop();
  });

  it('leaves a backlog under the threshold alone while batches keep arriving, and indexes once they stop', async () => {
    const { ingest, slices, state } = fakeIngest(50_000);
    const stopIngesting = keepIngesting(state, 100);
    const worker = startUsageIndexer(ingest, { intervalMs: 250, maxBacklogRows: 100_000, batchRows: 50_000 });
    await vi.advanceTimersByTimeAsync(10_000); // 40 looks, each saw new batches
    expect(slices).toEqual([]);
    expect(state.backlog).toBe(50_000);
    stopIngesting();
    await vi.advanceTimersByTimeAsync(500); // one look to notice the lull, one to find it idle
    expect(slices).toEqual([50_000]);
    await worker.stop();
  });

  it('counts batches still waiting for the writer as load', async () => {
    const { ingest, slices, state } = fakeIngest(1_000);
    state.pending = 1;
    const worker = startUsageIndexer(ingest, { intervalMs: 250 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(slices).toEqual([]);
    state.pending = 0;
    await vi.advanceTimersByTimeAsync(250);
    expect(slices).toEqual([1_000]);
    await worker.stop();
  });

  it('indexes under load in small slices once the backlog passes the threshold, down to the threshold', async () => {
    const { ingest, slices, state } = fakeIngest(106_500);
    const stopIngesting = keepIngesting(state, 10);
    // Under load batches also arrive while a slice holds the writer.
    const index = ingest.indexCustomerUsage;
    (ingest as { indexCustomerUsage: typeof index }).indexCustomerUsage = async (n) => {
      state.submitted++;
      return index(n);
    };
    const worker = startUsageIndexer(ingest, { intervalMs: 250, maxBacklogRows: 100_000, loadSliceRows: 2_000, batchRows: 5_000 });
    await vi.advanceTimersByTimeAsync(255);
    // Busy (batches arrived since the start), backlog over the threshold: full small slices,
    // back to back, until it is at or below the threshold.
    expect(slices).toEqual([2_000, 2_000, 2_000, 2_000]);
    expect(state.backlog).toBe(98_500);
    await vi.advanceTimersByTimeAsync(5_000); // still busy, now under the threshold: nothing more
    expect(slices).toHaveLength(4);
    stopIngesting();
    await worker.stop();
  });

  it('pauses while the writer thread is down and resumes when it is back', async () => {
    const { ingest, slices, state } = fakeIngest(1_000);
    state.writerAlive = false;
    const worker = startUsageIndexer(ingest, { intervalMs: 250 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(slices).toEqual([]);
    state.writerAlive = true;
    await vi.advanceTimersByTimeAsync(250);
    expect(slices).toEqual([1_000]);
    await worker.stop();
  });

  it('reports failures and keeps going at the next interval', async () => {
    const { ingest, slices, state } = fakeIngest(1_000);
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
    const worker = startUsageIndexer(ingest, { intervalMs: 250, onError: (e) => errors.push(e) });
    await vi.advanceTimersByTimeAsync(250);
    expect(errors).toHaveLength(1);
    expect(state.backlog).toBe(1_000);
    await vi.advanceTimersByTimeAsync(250);
    expect(slices).toEqual([1_000]);
    expect(state.backlog).toBe(0);
    await worker.stop();
  });

  it('stops: no slice after stop() resolved', async () => {
    const { ingest, slices } = fakeIngest(1_000);
    const worker = startUsageIndexer(ingest, { intervalMs: 250 });
    await worker.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(slices).toEqual([]);
  });
});
