/**
 * The committed-events feed: the SQLite writer thread hands every event it commits to the usage
 * reader thread through shared memory, so the reader keeps the unindexed tail (tail-cache.ts)
 * without reading the rows back from SQLite.
 *
 * Why: the reader thread used to load every new event from the file at each read (~1.7–1.9 µs a
 * row in place: each read's new WAL snapshot re-reads freshly written pages). At full ingest
 * speed that is every event once — ~20% of a core on a 2-core machine, taken from the writer
 * thread, which is what set ingest latency (core/usage/README.md, "Reads that do not stall
 * ingestion"). Copying a row into shared memory costs the writer well under a tenth of that.
 *
 * The feed is a hint, never the source of truth: the reader takes a row from it only if its
 * `seq` is the one after the last it holds (seqs are dense and assigned in commit order on
 * SQLite), and whatever the feed does not give it — rows another process committed, rows of a
 * writer thread that died between COMMIT and publishing, rows with a quantity too long for a
 * slot, rows the writer left out because the ring was full (the writer never waits for the
 * reader) — it still loads from its snapshot with `seq > last held`, as before.
 * So a read is exact whatever the feed holds.
 *
 * Layout: one SharedArrayBuffer. A header of two Int32 counters, WRITTEN (rows published by the
 * writer) and READ (rows the reader is done with), then per slot five Float64 (seq, occurred
 * ms, customer ref, dimension-set ref, and the quantity when it is an integer of at most 15
 * digits — exact in a double, and what nearly every meter sends) and QUANTITY_BYTES bytes: the
 * metric, the quantity's length and, for other quantities, its ASCII text. A single-producer, single-consumer ring: the
 * writer writes only slots the reader is done with and publishes them with an atomic store of
 * WRITTEN after COMMIT; the reader reads only published slots and releases them with an atomic
 * store of READ — so no slot is ever read while written, on any CPU (the atomics order the
 * plain reads and writes around them). When the ring is full the writer does not wait: it
 * leaves the row out, and the reader finds the gap in the seqs and loads from SQLite. Counters
 * wrap at 2^32; positions are compared by difference.
 */

const HEADER_BYTES = 16;
const WRITTEN = 0;
const READ = 1;
const F64_PER_SLOT = 5;
const QUANTITY_BYTES = 32;
/** Longest quantity a slot holds as text (two bytes are the metric and the length). */
const MAX_QUANTITY = QUANTITY_BYTES - 2;
/** The length byte of a quantity carried as a number (a non-negative integer of at most 15 digits). */
const NUMERIC = 0xfe;
/** The default ring: ~2 s of events at 130,000 events/s between two reads; 16 MB. */
export const EVENT_FEED_SLOTS = 1 << 18;

export function createEventFeedBuffer(slots = EVENT_FEED_SLOTS): SharedArrayBuffer {
  if (slots < 2 || (slots & (slots - 1)) !== 0 || slots > 1 << 24) throw new Error('event feed: slots must be a power of two, at most 2^24');
  return new SharedArrayBuffer(HEADER_BYTES + slots * (F64_PER_SLOT * 8 + QUANTITY_BYTES));
}

function views(buffer: SharedArrayBuffer) {
  const slots = (buffer.byteLength - HEADER_BYTES) / (F64_PER_SLOT * 8 + QUANTITY_BYTES);
  return {
    slots,
    header: new Int32Array(buffer, 0, 2),
    f64: new Float64Array(buffer, HEADER_BYTES, slots * F64_PER_SLOT),
    bytes: new Uint8Array(buffer, HEADER_BYTES + slots * F64_PER_SLOT * 8, slots * QUANTITY_BYTES),
  };
}

/**
 * The writer's end. Rows are written as the transaction inserts them (`add`), taken back with a
 * savepoint's rollback (`mark`/`rewind`) or the transaction's (`discard`), and published only
 * once COMMIT returned (`publish`): the reader never sees a row that might not be committed.
 */
export class EventFeedWriter {
  private readonly v: ReturnType<typeof views>;
  private readonly mask: number;
  private start: number;
  private next: number;
  /** The reader's position as last read: slots up to it + slots are free. */
  private free: number;
  /** Rows left out because the ring was full (a diagnostic). */
  dropped = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.v = views(buffer);
    this.mask = this.v.slots - 1;
    // A restarted writer thread continues after what the last one published.
    this.start = this.next = Atomics.load(this.v.header, WRITTEN) >>> 0;
    this.free = (Atomics.load(this.v.header, READ) + this.v.slots) >>> 0;
  }

  /** Where the transaction's rows end so far, for `rewind`. */
  mark(): number {
    return this.next;
  }

  rewind(mark: number): void {
    this.next = mark;
  }

  add(seq: number, customer: number, occurredMs: number, metric: number, dimensions: number, quantity: string): void {
    const pos = this.next;
    if (pos === this.free) {
      this.free = (Atomics.load(this.v.header, READ) + this.v.slots) >>> 0;
      if (pos === this.free) {
        this.dropped++;
        return; // full: the reader loads this row from SQLite
      }
    }
    const n = quantity.length;
    if (n > MAX_QUANTITY) return; // not carried: the reader loads it from SQLite
    const slot = pos & this.mask;
    const b = slot * QUANTITY_BYTES;
    const f = slot * F64_PER_SLOT;
    const { f64, bytes } = this.v;
    // The canonical text of a non-negative integer ("0", or no leading zero) of ≤ 15 digits: a number.
    let value = 0;
    let digits = n <= 15 && (n === 1 || quantity.charCodeAt(0) !== 0x30);
    for (let i = 0; digits && i < n; i++) {
      const c = quantity.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) digits = false;
      else value = value * 10 + c;
    }
    if (digits) {
      f64[f + 4] = value;
      bytes[b + 1] = NUMERIC;
    } else {
      for (let i = 0; i < n; i++) {
        const c = quantity.charCodeAt(i);
        if (c > 0x7f) return; // not a canonical decimal; not carried
        bytes[b + 2 + i] = c;
      }
      bytes[b + 1] = n;
    }
    bytes[b] = metric;
    f64[f] = seq;
    f64[f + 1] = occurredMs;
    f64[f + 2] = customer;
    f64[f + 3] = dimensions;
    this.next = (pos + 1) >>> 0;
  }

  /** After COMMIT: the transaction's rows become visible to the reader. */
  publish(): void {
    if (this.next === this.start) return;
    Atomics.store(this.v.header, WRITTEN, this.next | 0);
    this.start = this.next;
  }

  /** After ROLLBACK: nothing of the transaction is published. */
  discard(): void {
    this.next = this.start;
  }
}

/**
 * A row as the feed carries it; return false to stop. `quantity`: the stored text, or the same
 * integer as a number when it has at most 15 digits (exact; `BigInt(quantity)` reads both).
 */
export type FeedRowVisitor = (seq: number, customer: number, occurredMs: number, metric: number, dimensions: number, quantity: string | number) => boolean;

/**
 * The reader's end: `take` visits, in order, the rows published since the last call, and
 * releases their slots; it stops early when the visitor returns false. Rows not visited are
 * not offered again (the caller loads them from SQLite). Starts at what is published now: older
 * rows are loaded from SQLite.
 */
export class EventFeedReader {
  private readonly v: ReturnType<typeof views>;
  private readonly mask: number;
  private position: number;

  constructor(buffer: SharedArrayBuffer) {
    this.v = views(buffer);
    this.mask = this.v.slots - 1;
    this.position = Atomics.load(this.v.header, WRITTEN) >>> 0;
    Atomics.store(this.v.header, READ, this.position | 0);
  }

  take(visit: FeedRowVisitor): number {
    const { header, f64, bytes } = this.v;
    const written = Atomics.load(header, WRITTEN) >>> 0;
    const count = (written - this.position) >>> 0;
    let taken = 0;
    for (; taken < count; taken++) {
      const slot = (this.position + taken) & this.mask;
      const f = slot * F64_PER_SLOT;
      const b = slot * QUANTITY_BYTES;
      const q = bytes[b + 1] === NUMERIC ? f64[f + 4] : this.quantityAt(b);
      if (!visit(f64[f], f64[f + 2], f64[f + 1], bytes[b], f64[f + 3], q)) break;
    }
    // Everything published is released, visited or not: what was not is loaded from SQLite.
    this.position = written;
    Atomics.store(header, READ, written | 0);
    return taken;
  }

  private quantityAt(b: number): string {
    return String.fromCharCode(...this.v.bytes.subarray(b + 2, b + 2 + this.v.bytes[b + 1]));
  }
}
