import { type Latin1Bytes, type PackedBatch, REASON_CODES, latin1Bytes } from './batch.js';
import * as limits from './limits.js';
import type { RejectionReason } from './limits.js';
import { USAGE_METRICS } from './tables.js';

/**
 * The fast path of `POST /api/v1/usage-events`: one pass over the request bytes that builds the
 * same batch as `checkUsageBatch(parseBatchEnvelope(body), nowMs)` (batch.ts) without JSON.parse,
 * without an object per event, and without a string per event: keys, customer ids and quantities
 * stay spans of the body (a PackedBatch), read out by the writer thread (`unpackBatch`).
 *
 * It only handles the shape real clients send, and answers `null` for everything else, so the
 * caller runs the general path (which also produces the envelope errors). Returning null is always
 * safe; a batch it returns, unpacked, is exactly (deep-equal) what the general path returns, which
 * scan.test.ts checks on a fuzzed corpus. The fast path is:
 *
 * - the body is `{"events":[ … ]}` with 1–500 elements, JSON whitespace between tokens only,
 *   `"events"` the one and only member;
 * - every element is an object whose members are among the six event fields, each at most once;
 * - the five scalar fields are strings, `dimensions` is an object of string members with distinct
 *   names (at most DIMENSION_MEMBER_CAP of them);
 * - every string, names included, holds only the bytes 0x20–0x7F other than `"` and `\`.
 *
 * The last rule is what makes bytes and JS values interchangeable: with no escapes and no
 * non-ASCII bytes, a string's value is its bytes read as latin1, its `.length` is its byte count,
 * UTF-16 order is byte order, and `JSON.stringify(s) === '"' + s + '"'`. The other rules make
 * JSON.parse's behaviours that a scanner would have to reproduce (last duplicate wins, numbers,
 * `__proto__`, nested values) impossible inside the fast path. Per event, the rules and their order
 * are those of `validateUsageEvent` (validate.ts); a change there must be mirrored here (the
 * equivalence test will say so).
 */

// Local copies: an imported binding can compile to a getter call (tsx, vitest), in the hot loop.
const MAX_DIMENSIONS = limits.MAX_DIMENSIONS;
const MAX_DIMENSION_KEY_LENGTH = limits.MAX_DIMENSION_KEY_LENGTH;
const MAX_DIMENSION_VALUE_LENGTH = limits.MAX_DIMENSION_VALUE_LENGTH;
const MAX_EVENTS_PER_BATCH = limits.MAX_EVENTS_PER_BATCH;
const MAX_EXTERNAL_ID_LENGTH = limits.MAX_EXTERNAL_ID_LENGTH;
const MAX_FUTURE_SKEW_MS = limits.MAX_FUTURE_SKEW_MS;
const MAX_IDEMPOTENCY_KEY_LENGTH = limits.MAX_IDEMPOTENCY_KEY_LENGTH;
const MAX_QUANTITY_DIGITS = limits.MAX_QUANTITY_DIGITS;

// ---------------------------------------------------------------------------------------------
// Bytes

const QUOTE = 0x22;
const COMMA = 0x2c;
const DASH = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const PLUS = 0x2b;
const UPPER_T = 0x54;
const UPPER_Z = 0x5a;

/** JSON whitespace: space, tab, line feed, carriage return. */
const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

/** Bytes a fast-path string may hold: printable ASCII and DEL, except `"` and `\`. */
const STR = new Uint8Array(256);
for (let c = 0x20; c <= 0x7f; c++) STR[c] = c === QUOTE || c === 0x5c ? 0 : 1;

const EVENTS = Buffer.from('events', 'latin1');

function skipWs(b: Uint8Array, p: number, n: number): number {
  while (p < n && WS[b[p]] === 1) p++;
  return p;
}

/** `p` is just after an opening quote: the index of the closing quote, or -1 (escape, control
 * byte, non-ASCII byte, or end of input — each means "not the fast path"). */
function stringEnd(b: Uint8Array, p: number, n: number): number {
  while (p < n && STR[b[p]] === 1) p++;
  return p < n && b[p] === QUOTE ? p : -1;
}

function bytesEqual(b: Uint8Array, s: number, e: number, expected: Uint8Array): boolean {
  if (e - s !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (b[s + i] !== expected[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Names

const ID_KEY = 0;
const EXTERNAL_ID = 1;
const METRIC = 2;
const QUANTITY = 3;
const OCCURRED_AT = 4;
const DIMENSIONS = 5;
const FIELD_BYTES = ['idempotencyKey', 'customerExternalId', 'metric', 'quantity', 'occurredAt', 'dimensions'].map((f) => Buffer.from(f, 'latin1'));

/** Field by the first byte of its name (the six names start with six different letters). */
const FIELD_BY_FIRST_BYTE = new Int8Array(256).fill(-1);
FIELD_BYTES.forEach((name, f) => {
  if (FIELD_BY_FIRST_BYTE[name[0]] !== -1) throw new Error('scan.ts: two event fields start with the same letter');
  FIELD_BY_FIRST_BYTE[name[0]] = f;
});

/**
 * `s` is just after the opening quote of a member name: the field whose name is there, closed by
 * a quote, or -1. Anything else (an unknown field, an escaped name) leaves the fast path, so one
 * comparison both reads and checks the name.
 */
function fieldAt(b: Uint8Array, s: number, n: number): number {
  if (s >= n) return -1;
  const f = FIELD_BY_FIRST_BYTE[b[s]];
  if (f < 0) return -1;
  const name = FIELD_BYTES[f];
  const e = s + name.length;
  if (e >= n || b[e] !== QUOTE) return -1;
  for (let i = 1; i < name.length; i++) if (b[s + i] !== name[i]) return -1;
  return f;
}

const METRIC_BYTES = USAGE_METRICS.map((m) => Buffer.from(m, 'latin1'));

/** METRIC_CODES code (position in USAGE_METRICS + 1, as batch.ts's metricCode), or 0. */
function metricCodeOf(b: Uint8Array, s: number, e: number): number {
  for (let i = 0; i < METRIC_BYTES.length; i++) if (bytesEqual(b, s, e, METRIC_BYTES[i])) return i + 1;
  return 0;
}

const code = (reason: RejectionReason) => REASON_CODES.indexOf(reason) + 1;
const INVALID_IDEMPOTENCY_KEY = code('invalid_idempotency_key');
const INVALID_EXTERNAL_ID = code('invalid_customer_external_id');
const INVALID_METRIC = code('invalid_metric');
const INVALID_QUANTITY = code('invalid_quantity');
const INVALID_OCCURRED_AT = code('invalid_occurred_at');
const INVALID_DIMENSIONS = code('invalid_dimensions');
const DIMENSIONS_TOO_LARGE = code('dimensions_too_large');
const OCCURRED_AT_IN_FUTURE = code('occurred_at_in_future');

// ---------------------------------------------------------------------------------------------
// One event's members, as byte spans (the scanner's scratch; scanning is synchronous)

/** Per field: start and end (exclusive) of the string's content; for dimensions, of `{…}`. -1: absent. */
const fieldStart = new Int32Array(6);
const fieldEnd = new Int32Array(6);

/**
 * More dimension members than this leaves the fast path. Far above MAX_DIMENSIONS (so "too many"
 * is still answered here), low enough that the duplicate check stays cheap on hostile input.
 */
const DIMENSION_MEMBER_CAP = 64;
/** Per dimension member: key start, key end, value start, value end. */
const dimSpans = new Int32Array(DIMENSION_MEMBER_CAP * 4);
let dimCount = 0;

/** `p` is at `{` of a dimensions object: the index after its `}`, or -1. Fills dimSpans. */
function scanDimensions(b: Uint8Array, p: number, n: number): number {
  dimCount = 0;
  p = skipWs(b, p + 1, n);
  if (p < n && b[p] === RBRACE) return p + 1;
  for (;;) {
    if (dimCount === DIMENSION_MEMBER_CAP || p >= n || b[p] !== QUOTE) return -1;
    const ks = p + 1;
    const ke = stringEnd(b, ks, n);
    if (ke < 0) return -1;
    p = skipWs(b, ke + 1, n);
    if (p >= n || b[p] !== COLON) return -1;
    p = skipWs(b, p + 1, n);
    if (p >= n || b[p] !== QUOTE) return -1; // a non-string value: invalid_dimensions, said by the general path
    const vs = p + 1;
    const ve = stringEnd(b, vs, n);
    if (ve < 0) return -1;
    const j = dimCount++ * 4;
    dimSpans[j] = ks;
    dimSpans[j + 1] = ke;
    dimSpans[j + 2] = vs;
    dimSpans[j + 3] = ve;
    p = skipWs(b, ve + 1, n);
    if (p >= n) return -1;
    if (b[p] === COMMA) p = skipWs(b, p + 1, n);
    else if (b[p] === RBRACE) return p + 1;
    else return -1;
  }
}

/** `p` is at `{` of an event: the index after its `}`, or -1. Fills fieldStart/fieldEnd. */
function scanEvent(b: Uint8Array, p: number, n: number): number {
  for (let f = 0; f < 6; f++) fieldStart[f] = -1;
  p = skipWs(b, p + 1, n);
  if (p < n && b[p] === RBRACE) return p + 1;
  for (;;) {
    if (p >= n || b[p] !== QUOTE) return -1;
    const f = fieldAt(b, p + 1, n);
    // Unknown field, or a repeated one (JSON.parse keeps the last; not worth reproducing).
    if (f < 0 || fieldStart[f] >= 0) return -1;
    p = skipWs(b, p + 2 + FIELD_BYTES[f].length, n);
    if (p >= n || b[p] !== COLON) return -1;
    p = skipWs(b, p + 1, n);
    if (p >= n) return -1;
    if (f === DIMENSIONS) {
      if (b[p] !== LBRACE) return -1;
      const end = scanDimensions(b, p, n);
      if (end < 0) return -1;
      fieldStart[f] = p;
      fieldEnd[f] = end;
      p = end;
    } else {
      if (b[p] !== QUOTE) return -1; // a number, null, …: the general path says which reason
      const ve = stringEnd(b, p + 1, n);
      if (ve < 0) return -1;
      fieldStart[f] = p + 1;
      fieldEnd[f] = ve;
      p = ve + 1;
    }
    p = skipWs(b, p, n);
    if (p >= n) return -1;
    if (b[p] === COMMA) p = skipWs(b, p + 1, n);
    else if (b[p] === RBRACE) return p + 1;
    else return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Field rules (validate.ts, on bytes)

function twoDigits(b: Uint8Array, i: number): number {
  const h = b[i] - ZERO;
  const l = b[i + 1] - ZERO;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= ZERO + 9;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `parseRfc3339` (validate.ts) on the bytes [s, e): the same grammar
 * `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, the same calendar checks, the same arithmetic.
 */
function parseOccurredAt(b: Uint8Array, s: number, e: number): number {
  if (e - s < 20) return NaN;
  const y1 = twoDigits(b, s);
  const y2 = twoDigits(b, s + 2);
  const month = twoDigits(b, s + 5);
  const day = twoDigits(b, s + 8);
  const hour = twoDigits(b, s + 11);
  const minute = twoDigits(b, s + 14);
  const second = twoDigits(b, s + 17);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return NaN;
  if (b[s + 4] !== DASH || b[s + 7] !== DASH || b[s + 10] !== UPPER_T || b[s + 13] !== COLON || b[s + 16] !== COLON) return NaN;
  let p = s + 19;
  let millis = 0;
  if (b[p] === DOT) {
    const fs = ++p;
    while (p < e && isDigit(b[p])) p++;
    const digits = p - fs;
    if (digits === 0 || digits > 9) return NaN;
    // Truncated to milliseconds, as +(fraction + '00').slice(0, 3).
    millis = (b[fs] - ZERO) * 100 + (digits > 1 ? (b[fs + 1] - ZERO) * 10 : 0) + (digits > 2 ? b[fs + 2] - ZERO : 0);
  }
  if (p >= e) return NaN;
  let offsetMinutes = 0;
  const zone = b[p];
  if (zone === UPPER_Z) {
    if (p + 1 !== e) return NaN;
  } else if (zone === PLUS || zone === DASH) {
    if (p + 6 !== e || b[p + 3] !== COLON) return NaN;
    const oh = twoDigits(b, p + 1);
    const om = twoDigits(b, p + 4);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return NaN;
    offsetMinutes = (oh * 60 + om) * (zone === DASH ? -1 : 1);
  } else {
    return NaN;
  }
  const year = y1 * 100 + y2;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  // Date.UTC(year, month - 1, day, hour, minute, second, millis), in arithmetic (a C++ call saved).
  const dayMs = daysFromCivil(year, month, day) * 86_400_000;
  return dayMs + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offsetMinutes * 60_000;
}

/** Days from 1970-01-01 to a proleptic Gregorian date, for years ≥ 1 (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** 1–MAX_QUANTITY_DIGITS ASCII digits. */
function isQuantity(b: Uint8Array, s: number, e: number): boolean {
  if (e === s || e - s > MAX_QUANTITY_DIGITS) return false;
  for (let i = s; i < e; i++) if (!isDigit(b[i])) return false;
  return true;
}

/** Where the quantity's canonical digits start: after its leading zeros ("007" → "7", "000" → "0"). */
function canonicalQuantityStart(b: Uint8Array, s: number, e: number): number {
  while (s < e - 1 && b[s] === ZERO) s++;
  return s;
}

/**
 * Canonical dimensions of text → its canonical JSON, or a reason code, or NOT_FAST_PATH (a repeated
 * key). The text fully determines the answer, and realistic traffic repeats a few hundred dimension
 * sets, so the sort and the string building run once per distinct text. The cache is looked up by
 * the bytes themselves — a hash, then a comparison with a copy of the text, both 4 bytes at a time
 * through DataViews — so a hit allocates nothing: slicing the text into a string to look it up in a
 * Map was ~9% of the HTTP thread in a loaded server. Open addressing, at most half full. Bounded:
 * cleared when full; larger texts are not cached (they are rare, and would make the cache heavy).
 */
const DIMENSIONS_CACHE_ENTRIES = 4096;
const DIMENSIONS_CACHE_SLOTS = DIMENSIONS_CACHE_ENTRIES * 2;
const SLOT_MASK = DIMENSIONS_CACHE_SLOTS - 1;
const DIMENSIONS_CACHE_MAX_TEXT = 1024;
/**
 * Slots a lookup visits at most; a text it cannot find or place by then is answered uncached. Half
 * full, honest traffic almost never gets this far, and texts made to share a hash (the hash is not
 * secret) then cost at most this many comparisons each: in the order of the general path's cost,
 * which any client can have us pay anyway (one escaped character is enough).
 */
const MAX_PROBES = 16;
const NOT_FAST_PATH = -1;

/** Per slot: its entry + 1 (0: free), and that entry's hash, checked before any byte. */
const slotEntry = new Int32Array(DIMENSIONS_CACHE_SLOTS);
const slotHash = new Int32Array(DIMENSIONS_CACHE_SLOTS);
/** Per entry: where the copy of its text lies in `arena`, and the answer for that text. */
const entryStart = new Int32Array(DIMENSIONS_CACHE_ENTRIES);
const entryLength = new Int32Array(DIMENSIONS_CACHE_ENTRIES);
const entryResult: (string | number)[] = new Array<string | number>(DIMENSIONS_CACHE_ENTRIES).fill(NOT_FAST_PATH);
/**
 * Per entry: the batch (`batchNumber`) in which it last got an index into dimensionSets, and that
 * index, so an event whose text was seen earlier in its batch costs no lookup at all. Float64: a
 * batch number must never wrap around to an old one.
 */
const entryBatch = new Float64Array(DIMENSIONS_CACHE_ENTRIES);
const entrySet = new Uint16Array(DIMENSIONS_CACHE_ENTRIES);
let entryCount = 0;
/** The cached texts back to back; grows by doubling, to at most ENTRIES × MAX_TEXT (4 MB). */
let arena = new Uint8Array(64 * 1024);
let arenaView = new DataView(arena.buffer);
let arenaUsed = 0;
/** The entry the last dimensionsOf answered from, or -1 when it cached nothing ('{}', large texts). */
let lastEntry = -1;
let batchNumber = 0;

const MURMUR = 0x5bd1e995;

/** MurmurHash2 (32 bits) of the bytes [s, e) of `view`. Exported for the tests (colliding texts). */
export function dimensionsTextHash(view: DataView, s: number, e: number): number {
  let h = (e - s) ^ 0x9747b28c;
  let i = s;
  for (; i + 4 <= e; i += 4) {
    let k = Math.imul(view.getInt32(i, true), MURMUR);
    k = Math.imul(k ^ (k >>> 24), MURMUR);
    h = Math.imul(h, MURMUR) ^ k;
  }
  if (i < e) {
    for (let shift = 0; i < e; i++, shift += 8) h ^= view.getUint8(i) << shift;
    h = Math.imul(h, MURMUR);
  }
  h = Math.imul(h ^ (h >>> 13), MURMUR);
  return h ^ (h >>> 15);
}

/** Whether the bytes from `s` of `view` are the entry's text (its length already matched). */
function cachedTextEquals(view: DataView, s: number, entry: number): boolean {
  const a = arenaView;
  const start = entryStart[entry];
  const len = entryLength[entry];
  let i = 0;
  for (; i + 4 <= len; i += 4) if (a.getInt32(start + i, true) !== view.getInt32(s + i, true)) return false;
  for (; i < len; i++) if (a.getUint8(start + i) !== view.getUint8(s + i)) return false;
  return true;
}

/**
 * The dimensions just scanned (dimSpans), as validate.ts's canonicalDimensions would answer; sets
 * lastEntry. `view` is the body's bytes, as `buf`.
 */
function dimensionsOf(buf: Latin1Bytes, view: DataView, s: number, e: number): string | number {
  lastEntry = -1;
  if (dimCount === 0) return '{}';
  const len = e - s;
  if (len > DIMENSIONS_CACHE_MAX_TEXT) return canonicalDimensions(buf);
  const h = dimensionsTextHash(view, s, e);
  let slot = h & SLOT_MASK;
  for (let probes = 0, found = slotEntry[slot]; found !== 0; found = slotEntry[slot]) {
    const entry = found - 1;
    if (slotHash[slot] === h && entryLength[entry] === len && cachedTextEquals(view, s, entry)) {
      lastEntry = entry;
      return entryResult[entry];
    }
    if (++probes === MAX_PROBES) return canonicalDimensions(buf);
    slot = (slot + 1) & SLOT_MASK;
  }
  const result = canonicalDimensions(buf);
  if (entryCount === DIMENSIONS_CACHE_ENTRIES) {
    slotEntry.fill(0);
    entryCount = 0;
    arenaUsed = 0;
    slot = h & SLOT_MASK;
  }
  if (arenaUsed + len > arena.length) {
    const grown = new Uint8Array(arena.length * 2);
    grown.set(arena.subarray(0, arenaUsed));
    arena = grown;
    arenaView = new DataView(arena.buffer);
  }
  const entry = entryCount++;
  arena.set(buf.subarray(s, e), arenaUsed);
  entryStart[entry] = arenaUsed;
  entryLength[entry] = len;
  arenaUsed += len;
  entryResult[entry] = result;
  entryBatch[entry] = 0;
  slotEntry[slot] = entry + 1;
  slotHash[slot] = h;
  lastEntry = entry;
  return result;
}

function canonicalDimensions(buf: Latin1Bytes): string | number {
  const keys: string[] = new Array(dimCount);
  const values: string[] = new Array(dimCount);
  let emptyKey = false;
  let tooLarge = dimCount > MAX_DIMENSIONS;
  for (let i = 0; i < dimCount; i++) {
    const j = i * 4;
    const klen = dimSpans[j + 1] - dimSpans[j];
    const vlen = dimSpans[j + 3] - dimSpans[j + 2];
    if (klen === 0) emptyKey = true;
    if (klen > MAX_DIMENSION_KEY_LENGTH || vlen > MAX_DIMENSION_VALUE_LENGTH) tooLarge = true;
    keys[i] = buf.latin1Slice(dimSpans[j], dimSpans[j + 1]);
    values[i] = buf.latin1Slice(dimSpans[j + 2], dimSpans[j + 3]);
  }
  const order = keys.map((_, i) => i).sort((x, y) => (keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : 0));
  // A repeated key: JSON.parse keeps the last value and counts the key once. Leave it to it.
  for (let i = 1; i < dimCount; i++) if (keys[order[i]] === keys[order[i - 1]]) return NOT_FAST_PATH;
  // canonicalDimensions looks at every member for an empty key before it decides "too large".
  if (emptyKey) return INVALID_DIMENSIONS;
  if (tooLarge) return DIMENSIONS_TOO_LARGE;
  let out = '{';
  for (let i = 0; i < dimCount; i++) {
    if (i > 0) out += ',';
    out += '"' + keys[order[i]] + '":"' + values[order[i]] + '"';
  }
  return out + '}';
}

// ---------------------------------------------------------------------------------------------
// The batch

// Per-event numeric columns, reused (scanning is synchronous); copied out at the end.
const reasonsScratch = new Uint8Array(MAX_EVENTS_PER_BATCH);
const metricsScratch = new Uint8Array(MAX_EVENTS_PER_BATCH);
const occurredScratch = new Float64Array(MAX_EVENTS_PER_BATCH);
const dimensionIndexScratch = new Uint16Array(MAX_EVENTS_PER_BATCH);
/** Per event: the six string offsets of PackedBatch.spans. */
const spansScratch = new Int32Array(MAX_EVENTS_PER_BATCH * 6);

interface Columns {
  dimensionSets: string[];
  /**
   * dimensionSets' index of each of its strings. Consulted once per cache entry and batch, and per
   * event only for '{}' and texts the cache does not hold.
   */
  setIndex: Map<string, number>;
  validCount: number;
}

/** The index of a canonical dimensions JSON in the batch's dimensionSets, added on first use. */
function setIndexOf(out: Columns, canonical: string): number {
  let d = out.setIndex.get(canonical);
  if (d === undefined) out.setIndex.set(canonical, (d = out.dimensionSets.push(canonical) - 1));
  return d;
}

/**
 * setIndexOf for the text of a cache entry. Several texts may share a canonical form (key order,
 * whitespace), hence the map on an entry's first use in a batch; afterwards the entry knows.
 */
function entrySetIndex(out: Columns, entry: number): number {
  if (entryBatch[entry] !== batchNumber) {
    entryBatch[entry] = batchNumber;
    entrySet[entry] = setIndexOf(out, entryResult[entry] as string);
  }
  return entrySet[entry];
}

/**
 * Applies validateUsageEvent's rules, in its order, to the event just scanned (fieldStart/End)
 * and appends its row as checkUsageBatch would. False: the event is outside the fast path after all.
 */
function checkEvent(buf: Latin1Bytes, view: DataView, i: number, nowMs: number, out: Columns): boolean {
  let reason = 0;
  let metric = 0;
  let occurredMs = NaN;
  let dimensions = '{}';
  let entry = -1;
  const ks = fieldStart[ID_KEY];
  const ke = fieldEnd[ID_KEY];
  const keyValid = !(ks < 0 || ke === ks || ke - ks > MAX_IDEMPOTENCY_KEY_LENGTH);
  if (!keyValid) reason = INVALID_IDEMPOTENCY_KEY;
  else {
    const cs = fieldStart[EXTERNAL_ID];
    const ce = fieldEnd[EXTERNAL_ID];
    if (cs < 0 || ce === cs || ce - cs > MAX_EXTERNAL_ID_LENGTH) reason = INVALID_EXTERNAL_ID;
    else if (fieldStart[METRIC] < 0 || (metric = metricCodeOf(buf, fieldStart[METRIC], fieldEnd[METRIC])) === 0) reason = INVALID_METRIC;
    else if (fieldStart[QUANTITY] < 0 || !isQuantity(buf, fieldStart[QUANTITY], fieldEnd[QUANTITY])) reason = INVALID_QUANTITY;
    else if (fieldStart[OCCURRED_AT] < 0 || Number.isNaN((occurredMs = parseOccurredAt(buf, fieldStart[OCCURRED_AT], fieldEnd[OCCURRED_AT])))) {
      reason = INVALID_OCCURRED_AT;
    } else {
      if (fieldStart[DIMENSIONS] >= 0) {
        // dimSpans holds this object's members: scanEvent scans at most one dimensions object.
        const d = dimensionsOf(buf, view, fieldStart[DIMENSIONS], fieldEnd[DIMENSIONS]);
        entry = lastEntry;
        if (d === NOT_FAST_PATH) return false;
        if (typeof d === 'number') reason = d;
        else dimensions = d;
      }
      // (unknown fields: impossible here, scanEvent leaves the fast path on them)
      if (reason === 0 && occurredMs > nowMs + MAX_FUTURE_SKEW_MS) reason = OCCURRED_AT_IN_FUTURE;
    }
  }
  reasonsScratch[i] = reason;
  const j = i * 6;
  // A refused event still reports a valid key (merchants match results to events by it).
  spansScratch[j] = keyValid ? ks : -1;
  spansScratch[j + 1] = keyValid ? ke : -1;
  if (reason !== 0) {
    metricsScratch[i] = 0;
    occurredScratch[i] = 0;
    dimensionIndexScratch[i] = 0;
    spansScratch[j + 2] = spansScratch[j + 3] = spansScratch[j + 4] = spansScratch[j + 5] = -1;
    return true;
  }
  out.validCount++;
  metricsScratch[i] = metric;
  occurredScratch[i] = occurredMs;
  spansScratch[j + 2] = fieldStart[EXTERNAL_ID];
  spansScratch[j + 3] = fieldEnd[EXTERNAL_ID];
  spansScratch[j + 4] = canonicalQuantityStart(buf, fieldStart[QUANTITY], fieldEnd[QUANTITY]);
  spansScratch[j + 5] = fieldEnd[QUANTITY];
  dimensionIndexScratch[i] = entry >= 0 ? entrySetIndex(out, entry) : setIndexOf(out, dimensions);
  return true;
}

/**
 * The batch of a request body, packed (its strings as spans of `body`, which it keeps as `text`):
 * `unpackBatch` of it is exactly what `checkUsageBatch(parseBatchEnvelope(body), nowMs)` builds.
 * Or null when the body is outside the fast path (see the module comment): then run that general
 * path, which also reports envelope errors. The caller must not change `body` afterwards.
 */
export function scanUsageBatch(body: Buffer | Uint8Array, nowMs: number): PackedBatch | null {
  const b = latin1Bytes(body);
  const n = b.length;
  // {"events":[
  let p = skipWs(b, 0, n);
  if (p >= n || b[p] !== LBRACE) return null;
  p = skipWs(b, p + 1, n);
  if (p >= n || b[p] !== QUOTE) return null;
  const ne = stringEnd(b, p + 1, n);
  if (ne < 0 || !bytesEqual(b, p + 1, ne, EVENTS)) return null;
  p = skipWs(b, ne + 1, n);
  if (p >= n || b[p] !== COLON) return null;
  p = skipWs(b, p + 1, n);
  if (p >= n || b[p] !== LBRACKET) return null;
  p = skipWs(b, p + 1, n);
  if (p < n && b[p] === RBRACKET) return null; // no events: invalid_batch

  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Columns = { dimensionSets: [], setIndex: new Map(), validCount: 0 };
  batchNumber++;
  let count = 0;
  for (;;) {
    if (count === MAX_EVENTS_PER_BATCH) return null; // batch_too_large
    if (p >= n || b[p] !== LBRACE) return null; // not an object (invalid_event), or not JSON
    p = scanEvent(b, p, n);
    if (p < 0) return null;
    if (!checkEvent(b, view, count, nowMs, out)) return null;
    count++;
    p = skipWs(b, p, n);
    if (p >= n) return null;
    if (b[p] === COMMA) p = skipWs(b, p + 1, n);
    else if (b[p] === RBRACKET) break;
    else return null;
  }
  // ]} and nothing but whitespace after it
  p = skipWs(b, p + 1, n);
  if (p >= n || b[p] !== RBRACE) return null;
  if (skipWs(b, p + 1, n) !== n) return null;

  return {
    count,
    validCount: out.validCount,
    reasons: reasonsScratch.slice(0, count),
    metrics: metricsScratch.slice(0, count),
    occurredMs: occurredScratch.slice(0, count),
    dimensionSets: out.dimensionSets,
    dimensionIndex: dimensionIndexScratch.slice(0, count),
    text: body,
    spans: spansScratch.slice(0, count * 6),
  };
}
