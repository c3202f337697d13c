import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkUsageBatch, parseBatchEnvelope, reasonOf, type CheckedBatch, unpackBatch } from './batch.js';
import { dimensionsTextHash, scanUsageBatch } from './scan.js';
import { parseRfc3339 } from './validate.js';

const NOW = Date.parse('2026-05-25T12:00:00Z');

/** The general path's answer, or the error it throws. */
function general(body: Buffer, now: number): CheckedBatch | Error {
  try {
    return checkUsageBatch(parseBatchEnvelope(body), now);
  } catch (err) {
    return err as Error;
  }
}

/** The scanner's batch with its strings read out (what the writer works on), or null. */
function scanned(body: Buffer | Uint8Array, now: number): CheckedBatch | null {
  const packed = scanUsageBatch(body, now);
  return packed && unpackBatch(packed);
}

/**
 * Both paths on one body: a batch from the scanner must equal the general path's exactly. That
 * includes dimensionIndex of refused events, meaningless to consumers: both producers leave it 0,
 * so the whole batch compares as is.
 */
function compare(text: string | Buffer, now = NOW): { fast: boolean; slow: CheckedBatch | Error } {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const slow = general(body, now);
  const fast = scanned(body, now);
  if (slow instanceof Error) {
    if (fast !== null) expect.fail(`the general path throws ${slow.message} but the scanner answered, body: ${body.toString('utf8').slice(0, 2000)}`);
  } else if (fast !== null && !isDeepStrictEqual(fast, slow)) {
    expect(fast, `body: ${body.toString('utf8').slice(0, 2000)}`).toStrictEqual(slow);
  }
  return { fast: fast !== null, slow };
}

// ---------------------------------------------------------------------------------------------
// A seeded generator of request bodies that knows whether each is inside the fast path

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METRICS = ['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb'];
const BAD_METRICS = ['', 'tokens_inpu', 'tokens_inputs', 'TOKENS_INPUT', 'storage', 'agent_run ', 'image_generatio', 'tokens_outpuT', 'x'];
const QUANTITIES = [
  ...['0', '000', '007', '123456', '1', '9'.repeat(78), '0'.repeat(78), '1' + '0'.repeat(77), '00' + '5'.repeat(76)],
  // Around 2^53, where digits stop being exact as a double: 15, 16 and 17 significant digits.
  ...['999999999999999', '0999999999999999', '9007199254740993', '9007199254740992', '12345678901234567', '000000000000000000001'],
];
const BAD_QUANTITIES = ['', '9'.repeat(79), '0'.repeat(79), '-1', '1.5', '1e3', ' 1', '+1', '0x10', '12a', '1 '];
const SAFE_CHARS = 'abcdefXYZ0189_-.:/{}[],~ \x7f@#';
/** Characters that take a string out of the fast path (escaped or non-ASCII in the body). */
const UNSAFE_CHARS = ['"', '\\', 'é', '\n', '\t', '\u2028', '😀', '\u0000', '中'];
const DIMENSION_KEYS = [
  'model',
  'region',
  'feature',
  'api_key_id',
  'a',
  'b',
  'B',
  '1',
  '10',
  '01',
  '2',
  '__proto__',
  'constructor',
  'toString',
  'a b',
  '~',
  '{}',
  'k'.repeat(64),
  'k'.repeat(65),
  '',
];
const DIMENSION_VALUES = ['gpt-5', 'gpt-5-mini', 'claude-sonnet-4', 'us-east-1', 'us-east-2', 'chat', 'ak_1', 'ak_17', ''];
const NON_STRINGS = ['5', '0', '-1.5e3', 'null', 'true', 'false', '{}', '[]', '["a"]', '{"a":"b"}', '[{}]'];

interface Ctx {
  /** Whether the body is inside the fast path: the scanner must answer iff this holds (but see repeatedDimension). */
  fast: boolean;
  /** Whether this body may hold constructs outside the fast path at all. */
  dirty: boolean;
  /** A dimensions object repeats a key: the scanner may or may not fall back (see genDimensions). */
  repeatedDimension: boolean;
}

class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Unusual constructs only in dirty bodies; any of them leaves the fast path. */
  dirt(ctx: Ctx, p: number): boolean {
    if (!ctx.dirty || !this.chance(p)) return false;
    ctx.fast = false;
    return true;
  }
  ws(ctx: Ctx): string {
    if (this.dirt(ctx, 0.003)) return this.pick(['\f', '\v', '\u00a0', '\ufeff']); // not JSON whitespace
    const r = this.next();
    if (r < 0.75) return '';
    if (r < 0.9) return ' ';
    return this.pick(['\n', '\t', '\r\n  ', '  ', '\n\t\t', '\r']);
  }
  text(length: number, ctx: Ctx): string {
    let s = '';
    for (let i = 0; i < length; i++) s += SAFE_CHARS[this.int(SAFE_CHARS.length)];
    if (length > 0 && this.dirt(ctx, 0.01)) {
      const i = this.int(length);
      s = s.slice(0, i) + this.pick(UNSAFE_CHARS) + s.slice(i + 1);
    }
    return s;
  }
  /** A JSON string literal of `value`: raw when the fast path allows it, sometimes needlessly escaped. */
  lit(value: string, ctx: Ctx): string {
    if (!/^[\x20-\x7f]*$/.test(value) || /["\\]/.test(value)) {
      ctx.fast = false;
      return JSON.stringify(value);
    }
    if (value.length > 0 && this.dirt(ctx, 0.01)) {
      const i = this.int(value.length);
      const esc = this.chance(0.5) && value[i] === '/' ? '\\/' : '\\u' + value.charCodeAt(i).toString(16).padStart(4, '0');
      return '"' + value.slice(0, i) + esc + value.slice(i + 1) + '"';
    }
    return '"' + value + '"';
  }
  length(common: number, limit: number): number {
    const r = this.next();
    if (r < 0.8) return common;
    return this.pick([0, 1, 2, limit - 1, limit, limit + 1]);
  }
}

const two = (n: number) => String(n).padStart(2, '0');

/** occurredAt values: realistic ones around the clock's edges, and grammar/calendar probes. */
function genDate(g: Gen, now: number): string {
  const r = g.next();
  if (r < 0.55) {
    // An instant near `now`, written with a random offset and 0–10 fraction digits.
    const ms = g.chance(0.3) ? now + g.pick([300_000, 300_001, 299_999, 300_999, 301_000, 0, -1, 1]) : now - g.int(10 * 86_400_000) + g.int(20 * 60_000);
    const offset = g.chance(0.6) ? 0 : (g.chance(0.5) ? -1 : 1) * g.int(24 * 60);
    const local = new Date(ms + offset * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = g.pick([0, 0, 3, 3, 1, 2, 4, 6, 9, 10]);
    let fraction = local.slice(20, 23) + String(g.int(1e9)).padStart(9, '0');
    fraction = fraction.slice(0, digits);
    const zone =
      offset === 0 && g.chance(0.8) ? 'Z' : (offset < 0 || (offset === 0 && g.chance(0.5)) ? '-' : '+') + two(Math.floor(Math.abs(offset) / 60)) + ':' + two(Math.abs(offset) % 60);
    return local.slice(0, 19) + (digits > 0 ? '.' + fraction : '') + zone;
  }
  if (r < 0.9) {
    const year = g.pick(['1969', '1970', '1999', '2000', '2024', '2025', '2026', '2100', '1900', '9999', '0000', '99999', '202']);
    const month = two(g.pick([1, 2, 2, 2, 4, 6, 9, 11, 12, 0, 13]));
    const day = two(g.pick([1, 28, 29, 29, 30, 30, 31, 31, 0, 32]));
    const time = [two(g.pick([0, 12, 23, 24])), two(g.pick([0, 30, 59, 60])), two(g.pick([0, 30, 59, 59, 60, 61]))].join(':');
    const fraction = g.pick(['', '', '.5', '.05', '.123', '.123456789', '.1234567890', '.', '.12a']);
    const zone = g.pick(['Z', 'Z', '+00:00', '-00:00', '+23:59', '-23:59', '+24:00', '+05:60', '+05:30', 'z', '+0530', '+05:30:00', '', '+5:30']);
    const sep = g.chance(0.95) ? 'T' : g.pick(['t', ' ', '_']);
    return `${year}-${month}-${day}${sep}${time}${fraction}${zone}`;
  }
  // Mangled: a valid date-time with one character dropped, inserted or replaced.
  const base = '2026-05-25T10:00:00.123+08:00';
  const i = g.int(base.length);
  const c = g.pick(['0', '9', '-', ':', 'T', 'Z', '.', '+', 'x', ' ']);
  const how = g.int(3);
  return how === 0 ? base.slice(0, i) + base.slice(i + 1) : how === 1 ? base.slice(0, i) + c + base.slice(i) : base.slice(0, i) + c + base.slice(i + 1);
}

function genDimensions(g: Gen, ctx: Ctx): string {
  const w = () => g.ws(ctx);
  if (g.chance(0.1)) return g.pick(['{}', '{ }', '{\n}', '{\t\r\n}']);
  if (g.chance(0.4)) {
    // A handful of sets that differ in one character here and there: the scanner's cache, keyed
    // by the object's text, must never confuse them.
    const members = [`"model":"${g.pick(['gpt-5', 'gpt-6'])}"`, `"region":"${g.pick(['us-east-1', 'us-east-2'])}"`, `"ak":"${g.pick(['a', 'b', ''])}"`];
    if (g.chance(0.5)) members.reverse();
    return '{' + members.slice(g.int(2)).join(',') + w() + '}';
  }
  const count = g.chance(0.85) ? g.int(5) : g.pick([15, 16, 16, 17, 20]);
  const seen = new Set<string>();
  const members: string[] = [];
  for (let i = 0; i < count; i++) {
    let key = count > 5 ? `k${String(i).padStart(2, '0')}` : g.chance(0.7) ? g.pick(DIMENSION_KEYS.slice(0, 4)) : g.pick(DIMENSION_KEYS);
    if (count > 5 && g.chance(0.05)) key = g.pick(DIMENSION_KEYS);
    if (seen.has(key)) {
      // A repeated key (JSON.parse keeps the last): the scanner falls back when it gets to look at
      // the dimensions, which it does not when an earlier field already refuses the event.
      if (!ctx.dirty || g.chance(0.5)) continue;
      ctx.repeatedDimension = true;
    }
    seen.add(key);
    // Mostly a few common values, so sets repeat and share prefixes (as real traffic does, and as
    // the scanner's cache must tell apart); sometimes random ones of any length.
    const text = g.chance(0.7) ? g.pick(DIMENSION_VALUES) : g.text(g.length(g.int(12), 256), ctx);
    const value = g.dirt(ctx, 0.01) ? g.pick(NON_STRINGS) : g.lit(text, ctx);
    members.push(w() + g.lit(key, ctx) + w() + ':' + w() + value + w());
  }
  return '{' + members.join(',') + '}';
}

const FIELDS = ['idempotencyKey', 'customerExternalId', 'metric', 'quantity', 'occurredAt', 'dimensions'] as const;

function genEvent(g: Gen, ctx: Ctx, now: number): string {
  const w = () => g.ws(ctx);
  if (g.dirt(ctx, 0.01)) return g.pick(['1', '"x"', 'null', '[]', 'true', '[{}]', '{"a":{}}']);
  const members: Array<[string, string]> = [];
  for (const f of FIELDS) {
    if (g.chance(f === 'dimensions' ? 0.15 : 0.02)) continue; // missing
    let value: string;
    if (g.dirt(ctx, 0.01)) value = g.pick(NON_STRINGS);
    else if (f === 'idempotencyKey') value = g.lit(g.text(g.length(26, 255), ctx), ctx);
    else if (f === 'customerExternalId') value = g.lit(g.text(g.length(8, 255), ctx), ctx);
    else if (f === 'metric') value = g.lit(g.chance(0.9) ? g.pick(METRICS) : g.pick(BAD_METRICS), ctx);
    else if (f === 'quantity') value = g.lit(g.chance(0.9) ? g.pick(QUANTITIES) : g.pick(BAD_QUANTITIES), ctx);
    else if (f === 'occurredAt') value = g.lit(genDate(g, now), ctx);
    else value = genDimensions(g, ctx);
    members.push([f, value]);
  }
  if (g.dirt(ctx, 0.02))
    members.push([
      g.pick(['extra', '__proto__', 'Metric', 'idempotencykey', 'constructor', '', 'dimension', 'metrics', 'quantity_', 'occurredAtZ']),
      g.pick(NON_STRINGS.concat('"v"')),
    ]);
  if (members.length > 0 && g.dirt(ctx, 0.01)) members.push([g.pick(members)[0], g.lit(g.text(3, ctx), ctx)]); // repeated member
  if (g.chance(0.3)) {
    for (let i = members.length - 1; i > 0; i--) {
      const j = g.int(i + 1);
      [members[i], members[j]] = [members[j], members[i]];
    }
  }
  return '{' + members.map(([k, v]) => w() + g.lit(k, ctx) + w() + ':' + w() + v + w()).join(',') + '}';
}

function genBody(g: Gen, now: number): { text: string; ctx: Ctx } {
  const ctx: Ctx = { fast: true, dirty: g.chance(0.4), repeatedDimension: false };
  const w = () => g.ws(ctx);
  const count = g.chance(0.97) ? 1 + g.int(12) : g.pick([0, 60, 499, 500, 501]);
  if (count === 0 || count > 500) ctx.fast = false;
  const events: string[] = [];
  for (let i = 0; i < count; i++) events.push(w() + genEvent(g, ctx, now) + w());
  let text = w() + '{' + w() + g.lit('events', ctx) + w() + ':' + w() + '[' + events.join(',') + ']' + w() + '}' + w();
  if (g.dirt(ctx, 0.03)) {
    const close = text.lastIndexOf('}');
    text = g.pick([
      () => text.slice(0, g.int(close)), // truncated
      () => text + g.pick(['x', ',', '}', '{}', '0']), // trailing garbage
      () => '[' + text + ']',
      () => '{"x":1,' + text.slice(text.indexOf('{') + 1),
      () => text.slice(0, close) + ',"events":[]}',
      () => text.slice(0, close) + ',"other":null}',
      () => '\ufeff' + text,
      () => text.replace('[', '{"0":').replace(/\]([^\]]*)$/, '}$1'), // events not an array
    ])();
  }
  return { text, ctx };
}

// ---------------------------------------------------------------------------------------------

describe('scanUsageBatch', () => {
  it('agrees with JSON.parse + checkUsageBatch on a fuzzed corpus, and takes the fast path exactly when it should', () => {
    const g = new Gen(20260525);
    const BODIES = 3000;
    let fastBodies = 0;
    let fastRefused = 0;
    let eligible = 0;
    const reasonsSeen = new Set<number>();
    for (let i = 0; i < BODIES; i++) {
      const now = NOW + g.int(1000);
      const { text, ctx } = genBody(g, now);
      const { fast, slow } = compare(text, now);
      const shouldAnswer = ctx.fast && ctx.repeatedDimension ? fast : ctx.fast;
      if (shouldAnswer) eligible++;
      if (fast !== shouldAnswer) expect.fail(`body #${i}: scanner ${fast ? 'answered' : 'fell back'}, expected the opposite: ${text.slice(0, 2000)}`);
      if (fast && !(slow instanceof Error)) {
        fastBodies++;
        for (const r of slow.reasons) reasonsSeen.add(r);
        if (slow.validCount < slow.count) fastRefused++;
      }
    }
    expect(fastBodies).toBe(eligible);
    expect(fastBodies).toBeGreaterThan(BODIES * 0.5);
    expect(fastRefused).toBeGreaterThan(BODIES * 0.3);
    // Every per-event reason the fast path can give (all but invalid_event/unknown_field and the
    // database ones), and valid events (0), came out of the fast path.
    const expected = [
      'invalid_idempotency_key',
      'invalid_customer_external_id',
      'invalid_metric',
      'invalid_quantity',
      'invalid_occurred_at',
      'occurred_at_in_future',
      'invalid_dimensions',
      'dimensions_too_large',
    ];
    const seen = [...reasonsSeen].map((r) => (r === 0 ? 'ok' : reasonOf(r))).sort();
    expect(seen).toEqual([...expected, 'ok'].sort());
  });

  it('reads occurredAt exactly as parseRfc3339 does (500 dates per body)', () => {
    const g = new Gen(7);
    for (let b = 0; b < 30; b++) {
      const events: string[] = [];
      for (let i = 0; i < 500; i++) {
        const date = genDate(g, NOW);
        events.push(`{"idempotencyKey":"k${i}","customerExternalId":"c","metric":"agent_run","quantity":"1","occurredAt":${JSON.stringify(date)}}`);
      }
      const text = `{"events":[${events.join(',')}]}`;
      const ascii = /^[\x20-\x7e]*$/.test(text) && !text.includes('\\');
      expect(compare(text).fast).toBe(ascii);
    }
  });

  it('computes occurredAt exactly as parseRfc3339 for every day of a 400-year cycle, and of 9999', () => {
    const dates: string[] = [];
    const add = (from: number, to: number) => {
      for (let ms = from, k = 0; ms < to; ms += 86_400_000, k++) {
        const seconds = (k * 7919) % 86_400;
        const time = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
        const fraction = ['', '.5', '.25', '.125', '.0625', '.999999999'][k % 6];
        const zone = ['Z', '+00:00', '-23:59', '+23:59', '+05:30', '-00:00', '+14:00'][k % 7];
        dates.push(`${new Date(ms).toISOString().slice(0, 10)}T${time}${fraction}${zone}`);
      }
    };
    add(Date.UTC(1970, 0, 1), Date.UTC(2370, 0, 1));
    add(Date.UTC(9999, 0, 1), Date.UTC(10_000, 0, 1));
    const now = Date.UTC(10_001, 0, 1);
    for (let start = 0; start < dates.length; start += 500) {
      const chunk = dates.slice(start, start + 500);
      const events = chunk.map((d, i) => `{"idempotencyKey":"k${i}","customerExternalId":"c","metric":"agent_run","quantity":"1","occurredAt":"${d}"}`);
      const batch = scanned(Buffer.from(`{"events":[${events.join(',')}]}`), now);
      expect(batch).not.toBeNull();
      for (let i = 0; i < chunk.length; i++) {
        const expected = parseRfc3339(chunk[i]);
        if (batch!.reasons[i] !== 0 || batch!.occurredMs[i] !== expected) expect([chunk[i], batch!.occurredMs[i]]).toEqual([chunk[i], expected]);
      }
    }
  });

  it('falls back on anything outside the fast path', () => {
    const ev = '{"idempotencyKey":"k","customerExternalId":"c","metric":"agent_run","quantity":"1","occurredAt":"2026-05-25T10:00:00Z"}';
    const many = (n: number) => `{"events":[${Array.from({ length: n }, () => ev).join(',')}]}`;
    const cases = [
      '',
      ' ',
      '[]',
      '{}',
      'null',
      '{"events":[]}',
      '{"events":{}}',
      '{"events":null}',
      many(501),
      '{"events":[],"x":1}',
      `{"events":[${ev}],"x":1}`,
      `{"x":1,"events":[${ev}]}`,
      `{"events":[${ev}],"events":[${ev}]}`,
      `{"events":[${ev}]}x`,
      `{"events":[${ev}]}}`,
      `{"events":[${ev}],}`,
      `{"events":[${ev},]}`,
      `{"events":[${ev}]`,
      `{"events":[${ev}`,
      `{"events":[${ev.slice(0, 40)}`,
      '{"events":[1]}',
      `{"events":[${ev},1]}`,
      `{"events":[${ev},null]}`,
      `{"events":[${ev},"x"]}`,
      `{"events":[[${ev}]]}`,
      `{"event\\u0073":[${ev}]}`,
      `\ufeff{"events":[${ev}]}`,
      `{"events":[${ev}]}\f`,
      `{"events":[${ev.replace('"k"', '"k\\u00e9"')}]}`,
      `{"events":[${ev.replace('"k"', '"ké"')}]}`,
      `{"events":[${ev.replace('"k"', '"k\\""')}]}`,
      `{"events":[${ev.replace('"1"', '1')}]}`,
      `{"events":[${ev.replace('"1"', '"1","quantity":"2"')}]}`,
      `{"events":[${ev.replace('}', ',"extra":"x"}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":{"a":{"b":"c"}}}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":{"a":"b","a":"c"}}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":{"a":null}}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":[]}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":null}')}]}`,
      `{"events":[${ev.replace('}', ',"dimensions":"x"}')}]}`,
      // Member names that start like a field's
      `{"events":[${ev.replace('"metric"', '"metric_"')}]}`,
      `{"events":[${ev.replace('"metric"', '"metricX')}]}`, // not JSON: the name's quote is missing
      `{"events":[${ev.replace('"metric"', '"metri"')}]}`,
      `{"events":[${ev.replace('"metric"', '"Metric"')}]}`,
      `{"events":[${ev.replace('"metric"', '"metr\\u0069c"')}]}`,
      `{"eventsX":[${ev}]}`,
      `{"event":[${ev}]}`,
      // More dimension members than the scanner keeps track of (65 distinct keys)
      `{"events":[${ev.replace('}', `,"dimensions":{${Array.from({ length: 65 }, (_, i) => `"k${i}":"v"`).join(',')}}}`)}]}`,
    ];
    for (const text of cases) expect(compare(text).fast, text.slice(0, 200)).toBe(false);
  });

  it('takes the fast path for ordinary bodies, whatever their layout', () => {
    const fields = [
      '"idempotencyKey":"01JZ8Q0000000000000000000A"',
      '"customerExternalId":"cust_123"',
      '"metric":"tokens_output"',
      '"quantity":"000123456"',
      '"occurredAt":"2026-05-25T10:00:00.123456+08:00"',
      '"dimensions":{"region":"ap-southeast-1","model":"claude-sonnet-4"}',
    ];
    const cases = [
      `{"events":[{${fields.join(',')}}]}`,
      `\r\n {\n\t"events" :\n [\n  {\n   ${fields.join(',\n   ').replaceAll('":', '" : ')}\n  }\n ]\n}\n\n`,
      `{"events":[{${[...fields].reverse().join(',')}}]}`,
      `{"events":[{${fields.slice(0, 5).join(',')}}]}`,
      `{"events":[{${fields.slice(0, 5).join(',')},"dimensions":{}}]}`,
      `{"events":[{${fields.slice(0, 5).join(',')},"dimensions":{ \n }}]}`,
      `{"events":[{}]}`,
      `{"events":[{},{${fields.join(',')}},{"metric":"x"}]}`,
      `{"events":[{${fields.slice(0, 5).join(',')},"dimensions":{${Array.from({ length: 64 }, (_, i) => `"k${i}":"v"`).join(',')}}}]}`,
      `{"events":[${Array.from({ length: 500 }, (_, i) => `{${fields.join(',').replace('000A', String(i).padStart(4, '0'))}}`).join(',')}]}`,
    ];
    for (const text of cases) expect(compare(text).fast, text.slice(0, 200)).toBe(true);
    const batch = scanned(Buffer.from(cases[0]), NOW)!;
    expect(batch.validCount).toBe(1);
    expect(batch.quantities[0]).toBe('123456');
    expect(batch.occurredMs[0]).toBe(Date.parse('2026-05-25T02:00:00.123Z'));
    expect(batch.dimensionSets).toEqual(['{"model":"claude-sonnet-4","region":"ap-southeast-1"}']);
    expect(batch.dimensionIndex).toEqual(new Uint16Array([0]));
    // A Uint8Array that is not a Buffer, at an offset into a larger ArrayBuffer.
    const bytes = Buffer.from('xx' + cases[1]);
    expect(scanned(new Uint8Array(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2), NOW)).toStrictEqual(general(Buffer.from(cases[1]), NOW));
  });

  it('keeps keys, customer ids and quantities as spans of the body (packed), read out by unpackBatch', () => {
    const text =
      '{"events":[' +
      '{"idempotencyKey":"k-1","customerExternalId":"c-1","metric":"agent_run","quantity":"000120","occurredAt":"2026-05-25T02:00:00Z"},' +
      '{"idempotencyKey":"k-2","customerExternalId":"c-2","metric":"nope","quantity":"1","occurredAt":"2026-05-25T02:00:00Z"},' +
      '{"idempotencyKey":"","customerExternalId":"c-3","metric":"agent_run","quantity":"1","occurredAt":"2026-05-25T02:00:00Z"},' +
      '{"idempotencyKey":"k-4","customerExternalId":"c-4","metric":"agent_run","quantity":"0000","occurredAt":"2026-05-25T02:00:00Z"}]}';
    const body = Buffer.from(text);
    const packed = scanUsageBatch(body, NOW)!;
    expect(packed.text).toBe(body); // no copy on the HTTP thread
    const span = (i: number, f: number) => (packed.spans[i * 6 + f * 2] < 0 ? null : text.slice(packed.spans[i * 6 + f * 2], packed.spans[i * 6 + f * 2 + 1]));
    expect([span(0, 0), span(0, 1), span(0, 2)]).toEqual(['k-1', 'c-1', '120']);
    // A refused event keeps its valid key, nothing else; an invalid key is no key at all.
    expect([span(1, 0), span(1, 1), span(1, 2)]).toEqual(['k-2', null, null]);
    expect([span(2, 0), span(2, 1), span(2, 2)]).toEqual([null, null, null]);
    expect(span(3, 2)).toBe('0');
    const batch = unpackBatch(packed);
    expect(batch.keys).toEqual(['k-1', 'k-2', null, 'k-4']);
    expect(batch.externalIds).toEqual(['c-1', '', '', 'c-4']);
    expect(batch.quantities).toEqual(['120', '', '', '0']);
    // What crosses to the writer thread is a copy of the text: unpacking that gives the same batch.
    expect(unpackBatch({ ...packed, text: new Uint8Array(body) })).toStrictEqual(batch);
    expect(batch).toStrictEqual(general(body, NOW));
  });

  it('lists the distinct dimension sets of the valid events once each, in order of first appearance', () => {
    const ev = (key: string, dims: string | null, metric = 'agent_run', occurredAt = '2026-05-25T10:00:00Z') =>
      `{"idempotencyKey":"${key}","customerExternalId":"c","metric":"${metric}","quantity":"1","occurredAt":"${occurredAt}"${dims === null ? '' : `,"dimensions":${dims}`}}`;
    // Texts over the scanner's cache limit (1,024 bytes): one the same set as a cached text, one not.
    const padded = '{"model":"m",' + ' '.repeat(1100) + '"region":"eu"}';
    const large = '{' + ['k4', 'k0', 'k3', 'k1', 'k2'].map((k) => `"${k}":"${'v'.repeat(250)}"`).join(',') + '}';
    const largeCanonical = '{' + ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => `"${k}":"${'v'.repeat(250)}"`).join(',') + '}';
    const events = [
      ev('a', '{"region":"eu","model":"m"}', 'agent_run', '2026-05-25T12:05:01Z'), // refused after its dimensions were read
      ev('b', '{"model":"x"}', 'nope'), // refused before
      ev('c', null),
      ev('d', '{ "model" : "m", "region":"eu" }'),
      ev('e', '{"region":"eu","model":"m"}'),
      ev('f', '{}'),
      ev('g', '{"model":"x"}'),
      ev('h', '{"":"x"}'), // invalid_dimensions
      ev('i', padded),
      ev('j', large),
      ev('k', '{"model":"x"}'),
      ev('l', large),
    ];
    const { fast, slow } = compare(`{"events":[${events.join(',')}]}`);
    expect(fast).toBe(true);
    const batch = slow as CheckedBatch;
    expect([...batch.reasons].map((r) => (r === 0 ? 'ok' : reasonOf(r)))).toEqual([
      'occurred_at_in_future',
      'invalid_metric',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'invalid_dimensions',
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect(batch.dimensionSets).toEqual(['{}', '{"model":"m","region":"eu"}', '{"model":"x"}', largeCanonical]);
    expect([...batch.dimensionIndex]).toEqual([0, 0, 0, 1, 1, 0, 2, 0, 1, 3, 2, 3]);
  });

  it('agrees with the general path on far more distinct dimension texts than its cache holds', () => {
    const g = new Gen(4096);
    const bodies: string[] = [];
    const sets = new Set<string>();
    const texts = new Set<string>();
    for (let b = 0; b < 30; b++) {
      const events: string[] = [];
      for (let i = 0; i < 500; i++) {
        // 400 sets per batch, each written in either key order: repeats within a batch, two texts
        // per set, and far more texts in all than the cache's 4,096 entries (it empties itself,
        // mid-batch). And 10 sets common to all batches, whose entries go to others after a clear.
        const n = g.chance(0.3) ? -1 - g.int(10) : b * 400 + g.int(400);
        const members = [`"api_key_id":"key_${n}"`, `"model":"${g.pick(['gpt-5', 'claude-sonnet-4'])}"`, `"region":"r${n % 7}"`];
        if (g.chance(0.5)) members.reverse();
        const occurredAt = g.chance(0.05) ? '2026-05-25T13:00:00Z' : '2026-05-25T10:00:00Z';
        sets.add([...members].sort().join());
        texts.add(members.join());
        events.push(`{"idempotencyKey":"k${i}","customerExternalId":"c","metric":"agent_run","quantity":"1","occurredAt":"${occurredAt}","dimensions":{${members.join(',')}}}`);
      }
      bodies.push(`{"events":[${events.join(',')}]}`);
    }
    expect(sets.size).toBeGreaterThan(5000);
    expect(texts.size).toBeGreaterThan(2 * 4096);
    // Twice over: the second pass meets texts the cache has dropped and texts it still holds.
    for (let pass = 0; pass < 2; pass++) {
      for (const body of bodies) expect(compare(body).fast).toBe(true);
    }
  });

  it('tells apart dimension texts of the same length and the same hash', () => {
    const [x, y] = ['{"model":"sykbaa"}', '{"model":"6cbeaa"}'];
    const hash = (text: string) => {
      const bytes = Buffer.from(text);
      return dimensionsTextHash(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length);
    };
    // If the hash function changes, find another pair (any two equal-length texts with one hash).
    expect(hash(x)).toBe(hash(y));
    const body = (order: string[]) =>
      `{"events":[${order.map((d, i) => `{"idempotencyKey":"k${i}","customerExternalId":"c","metric":"agent_run","quantity":"1","occurredAt":"2026-05-25T10:00:00Z","dimensions":${d}}`).join(',')}]}`;
    for (const order of [[x, y, x, y, y], [y, x, x, y], [x, x], [y]]) {
      const { fast, slow } = compare(body(order));
      expect(fast).toBe(true);
      const sets = [...new Set(order)];
      expect((slow as CheckedBatch).dimensionSets).toEqual(sets);
      expect([...(slow as CheckedBatch).dimensionIndex]).toEqual(order.map((d) => sets.indexOf(d)));
    }
  });

  // Its speed on these bodies is a figure, not an assertion: `npm run bench:scan`.
  it('takes the fast path on benchmark-shaped bodies, with the general path’s result', () => {
    const g = new Gen(1);
    const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const MODELS = ['gpt-5', 'gpt-5-mini', 'claude-opus-4', 'claude-sonnet-4', 'llama-4-70b', 'qwen3-235b'];
    const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'cn-shanghai'];
    const BENCH_METRICS = ['tokens_input', 'tokens_input', 'tokens_output', 'tokens_output', 'agent_run', 'image_generation'];
    const bodies: Buffer[] = [];
    for (let b = 0; b < 5; b++) {
      const events = [];
      for (let i = 0; i < 500; i++) {
        let key = '';
        for (let k = 0; k < 26; k++) key += CROCKFORD[g.int(32)];
        events.push({
          customerExternalId: `cust_${g.int(1000)}`,
          idempotencyKey: key,
          metric: g.pick(BENCH_METRICS),
          quantity: String(1 + g.int(200_000)),
          occurredAt: new Date(NOW - 60_000 + b * 5 + (i % 5)).toISOString(),
          dimensions: { model: g.pick(MODELS), region: g.pick(REGIONS), feature: g.pick(['chat', 'batch', 'agent']), api_key_id: `ak_${g.int(50)}` },
        });
      }
      bodies.push(Buffer.from(JSON.stringify({ events })));
    }
    for (const body of bodies) expect(compare(body).fast).toBe(true);
  });
});
