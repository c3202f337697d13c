/**
 * Where a channel peer (wechat/peer.ts, alipay/peer.ts) keeps its orders and refunds when they
 * must outlive the process and be shared: the product's sandbox runs one peer per server replica
 * (and one in the CLI), all over one database, so an order created through one replica is queried,
 * paid or refunded through another (setup/sandbox-peer-store.ts).
 *
 * The peers keep working on their Maps; `PeerStateSync.run` loads the records an operation
 * touches from the store into the Maps first and writes back what it changed afterwards, with a
 * compare-and-set on each record's version: when another peer changed one meanwhile, nothing is
 * written and the operation fails (the peer answers a retryable system error), so a trade is never
 * paid twice by two replicas. Without a store a peer keeps its Maps only (tests).
 */

export type PeerRecordKind = 'order' | 'refund';

export interface StoredPeerRecord {
  key: string;
  data: string;
  version: number;
}

export interface PeerRecordWrite {
  kind: PeerRecordKind;
  key: string;
  /** A second key to find the record by (the channel's transaction id). */
  ref: string | null;
  /** The record's status, to list records in one (refunds still processing). */
  state: string;
  data: string;
  /** The version read: 0 for a record that did not exist. */
  expectedVersion: number;
}

export interface PeerStateStore {
  load(kind: PeerRecordKind, keys: readonly string[]): Promise<StoredPeerRecord[]>;
  keyByRef(kind: PeerRecordKind, ref: string): Promise<string | undefined>;
  keysInState(kind: PeerRecordKind, state: string): Promise<string[]>;
  /** Writes all or nothing: false when a record's version is no longer the one read. */
  save(writes: readonly PeerRecordWrite[]): Promise<boolean>;
}

/** JSON that keeps the peers' bigints and Maps. */
export function encodePeerRecord(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key) {
    const raw = this[key];
    if (typeof raw === 'bigint') return { $bigint: raw.toString() };
    if (raw instanceof Map) return { $map: [...raw.entries()] };
    return raw;
  });
}

export function decodePeerRecord<T>(text: string): T {
  return JSON.parse(text, (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === '$bigint' && typeof value.$bigint === 'string') return BigInt(value.$bigint);
      if (keys.length === 1 && keys[0] === '$map' && Array.isArray(value.$map)) return new Map(value.$map);
    }
    return value;
  }) as T;
}

export class PeerStateConflict extends Error {
  constructor() {
    super('another peer changed this record meanwhile; try again');
  }
}

export interface PeerKind<T> {
  map: Map<string, T>;
  ref?: (record: T) => string | undefined;
  state: (record: T) => string;
}

export interface PeerTouch {
  order?: readonly (string | undefined)[];
  refund?: readonly (string | undefined)[];
  /** An order named by its channel transaction id. */
  orderRef?: string;
}

export class PeerStateSync<O, R = never> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: PeerStateStore | undefined,
    private readonly kinds: { order: PeerKind<O>; refund?: PeerKind<R> },
  ) {}

  get durable(): boolean {
    return this.store !== undefined;
  }

  /**
   * Runs `work` (which reads and changes the Maps) on fresh copies of the records it touches, one
   * operation at a time in this process, and stores what it changed before resolving. A `work`
   * that throws writes nothing.
   */
  run<T>(touch: PeerTouch, work: () => T | Promise<T>): Promise<T> {
    const next = this.queue.then(() => this.runNow(touch, work));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The keys of records in a state (the store's when there is one). */
  async keysInState(kind: PeerRecordKind, state: string): Promise<string[]> {
    if (this.store) return this.store.keysInState(kind, state);
    const k = this.kind(kind);
    return [...k.map.entries()].filter(([, r]) => k.state(r) === state).map(([key]) => key);
  }

  private kind(kind: PeerRecordKind): PeerKind<unknown> {
    const k = kind === 'order' ? this.kinds.order : this.kinds.refund;
    if (!k) throw new Error(`this peer keeps no ${kind}s`);
    return k as PeerKind<unknown>;
  }

  private async runNow<T>(touch: PeerTouch, work: () => T | Promise<T>): Promise<T> {
    const store = this.store;
    if (!store) return work();
    const orderKeys = (touch.order ?? []).filter((k): k is string => !!k);
    if (touch.orderRef) {
      const key = await store.keyByRef('order', touch.orderRef);
      if (key) orderKeys.push(key);
    }
    const wanted: Array<[PeerRecordKind, string[]]> = [
      ['order', [...new Set(orderKeys)]],
      ['refund', [...new Set((touch.refund ?? []).filter((k): k is string => !!k))]],
    ];
    const read = new Map<string, { kind: PeerRecordKind; key: string; data: string | null; version: number }>();
    for (const [kind, keys] of wanted) {
      if (keys.length === 0) continue;
      const { map } = this.kind(kind);
      const stored = new Map((await store.load(kind, keys)).map((r) => [r.key, r]));
      for (const key of keys) {
        const r = stored.get(key);
        read.set(`${kind}:${key}`, { kind, key, data: r?.data ?? null, version: r?.version ?? 0 });
        if (r) map.set(key, decodePeerRecord(r.data));
        else map.delete(key);
      }
    }
    const result = await work();
    const writes: PeerRecordWrite[] = [];
    for (const { kind, key, data, version } of read.values()) {
      const k = this.kind(kind);
      const current = k.map.get(key);
      if (current === undefined) continue;
      const text = encodePeerRecord(current);
      if (text === data) continue;
      writes.push({ kind, key, ref: k.ref?.(current) ?? null, state: k.state(current), data: text, expectedVersion: version });
    }
    if (writes.length > 0 && !(await store.save(writes))) {
      // What the Maps hold now was never stored: forget it (the next operation reads the store).
      for (const w of writes) this.kind(w.kind).map.delete(w.key);
      throw new PeerStateConflict();
    }
    return result;
  }
}
