import { describe, expect, it } from 'vitest';
import { EventFeedReader, EventFeedWriter, createEventFeedBuffer } from './event-feed.js';

type Row = [seq: number, customer: number, occurredMs: number, metric: number, dimensions: number, quantity: string | number];

function drain(reader: EventFeedReader, stopAt?: number): Row[] {
  const rows: Row[] = [];
  reader.take((seq, customer, occurredMs, metric, dimensions, quantity) => {
    if (seq === stopAt) return false;
    rows.push([seq, customer, occurredMs, metric, dimensions, quantity]);
    return true;
  });
  return rows;
}

describe('committed-events feed', () => {
  it('shows a transaction’s rows only once published (after COMMIT), and never those of a rolled-back savepoint or transaction', () => {
    const buffer = createEventFeedBuffer(64);
    const writer = new EventFeedWriter(buffer);
    const reader = new EventFeedReader(buffer);
    writer.add(1, 10, 1_000, 4, 7, '5');
    const mark = writer.mark();
    writer.add(2, 11, 1_001, 4, 7, '6'); // its savepoint rolls back: seq 2 is given again below
    writer.rewind(mark);
    writer.add(2, 12, 1_002, 1, 8, '7');
    expect(drain(reader)).toEqual([]); // not committed yet
    writer.publish();
    expect(drain(reader)).toEqual([
      [1, 10, 1_000, 4, 7, 5],
      [2, 12, 1_002, 1, 8, 7],
    ]);
    writer.add(3, 10, 1_003, 4, 7, '9');
    writer.discard(); // the transaction rolled back
    writer.publish();
    expect(drain(reader)).toEqual([]);
    writer.add(3, 13, 1_004, 4, 7, '1');
    writer.publish();
    expect(drain(reader)).toEqual([[3, 13, 1_004, 4, 7, 1]]);
    expect(drain(reader)).toEqual([]); // taken once
  });

  it('carries integers of up to 15 digits as numbers and other quantities as text, and leaves out what a slot cannot hold', () => {
    const buffer = createEventFeedBuffer(64);
    const writer = new EventFeedWriter(buffer);
    const reader = new EventFeedReader(buffer);
    const quantities = ['0', '7', '999999999999999', '1000000000000000', '012', '-3', '1.5', '9'.repeat(30), '9'.repeat(31), '١٢'];
    for (const [i, q] of quantities.entries()) writer.add(i + 1, 1, 0, 1, 1, q);
    writer.publish();
    expect(drain(reader).map((r) => [r[0], r[5]])).toEqual([
      [1, 0],
      [2, 7],
      [3, 999_999_999_999_999],
      [4, '1000000000000000'], // 16 digits: past what a double holds exactly for every value
      [5, '012'],
      [6, '-3'],
      [7, '1.5'],
      [8, '9'.repeat(30)],
      // seq 9 (31 characters) and seq 10 (not ASCII) are left out: the reader finds the gap
    ]);
  });

  it('never overwrites a row the reader has not taken: a full ring leaves rows out, and takes them again once read', () => {
    const buffer = createEventFeedBuffer(4);
    const writer = new EventFeedWriter(buffer);
    const reader = new EventFeedReader(buffer);
    for (let seq = 1; seq <= 6; seq++) writer.add(seq, 1, 0, 1, 1, String(seq));
    writer.publish();
    expect(writer.dropped).toBe(2);
    expect(drain(reader).map((r) => r[0])).toEqual([1, 2, 3, 4]);
    for (let seq = 7; seq <= 9; seq++) writer.add(seq, 1, 0, 1, 1, String(seq));
    writer.publish();
    // A reader that stops (a gap in the seqs) still releases everything published.
    expect(drain(reader, 8).map((r) => r[0])).toEqual([7]);
    for (let seq = 10; seq <= 13; seq++) writer.add(seq, 1, 0, 1, 1, String(seq));
    writer.publish();
    expect(writer.dropped).toBe(2);
    expect(drain(reader).map((r) => r[0])).toEqual([10, 11, 12, 13]);
  });

  it('goes on across the counters’ wrap at 2^32, and a restarted writer continues after what was published', () => {
    const buffer = createEventFeedBuffer(8);
    const header = new Int32Array(buffer, 0, 2);
    header[0] = -3; // published: 2^32 − 3
    header[1] = -3; // read
    const reader = new EventFeedReader(buffer);
    let writer = new EventFeedWriter(buffer);
    const seen: number[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      writer.add(seq, 1, 0, 1, 1, String(seq));
      if (seq % 3 === 0) writer.publish();
      if (seq % 5 === 0) seen.push(...drain(reader).map((r) => r[0]));
      if (seq === 20) {
        writer.publish();
        writer = new EventFeedWriter(buffer); // a new writer thread
      }
    }
    writer.publish();
    seen.push(...drain(reader).map((r) => r[0]));
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(writer.dropped).toBe(0);
  });
});
