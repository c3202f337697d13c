import { describe, expect, it } from 'vitest';
import { UsageEventBatch, UsageEventInput } from './schemas.js';
import { parseRfc3339, validateUsageEvent } from './validate.js';

const NOW = Date.parse('2026-05-25T12:00:00Z');
const base = {
  customerExternalId: 'user_42',
  idempotencyKey: 'evt_abc_1234',
  metric: 'tokens_input',
  quantity: '12500',
  occurredAt: '2026-05-25T10:00:00Z',
  dimensions: { model: 'gpt-5', region: 'us-east-1' },
};
const without = (k: keyof typeof base) => {
  const copy: Record<string, unknown> = { ...base };
  delete copy[k];
  return copy;
};

/** Events the two validators must agree on, with the reason the hand validator gives. */
const corpus: Array<[unknown, string | null]> = [
  [base, null],
  [without('dimensions'), null],
  [{ ...base, dimensions: {} }, null],
  [{ ...base, quantity: '0' }, null],
  [{ ...base, quantity: '007' }, null],
  [{ ...base, quantity: '9'.repeat(78) }, null],
  [{ ...base, idempotencyKey: 'k'.repeat(255), customerExternalId: 'c'.repeat(255) }, null],
  [{ ...base, occurredAt: '2026-05-25T10:00:00.123456789+08:00' }, null],
  [{ ...base, occurredAt: '2024-02-29T23:59:59.9Z' }, null],
  [{ ...base, occurredAt: '1970-01-01T00:00:00Z' }, null],
  [{ ...base, dimensions: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, ''])) }, null],
  [{ ...base, dimensions: { ['k'.repeat(64)]: 'v'.repeat(256) } }, null],
  [{ ...base, metric: 'storage_gb' }, null],
  ['string', 'invalid_event'],
  [null, 'invalid_event'],
  [[base], 'invalid_event'],
  [42, 'invalid_event'],
  [{ ...base, extra: 1 }, 'unknown_field'],
  [{ ...base, __proto__x: 1 }, 'unknown_field'],
  [without('idempotencyKey'), 'invalid_idempotency_key'],
  [{ ...base, idempotencyKey: '' }, 'invalid_idempotency_key'],
  [{ ...base, idempotencyKey: 'k'.repeat(256) }, 'invalid_idempotency_key'],
  [{ ...base, idempotencyKey: 7 }, 'invalid_idempotency_key'],
  [{ ...base, idempotencyKey: null }, 'invalid_idempotency_key'],
  [without('customerExternalId'), 'invalid_customer_external_id'],
  [{ ...base, customerExternalId: '' }, 'invalid_customer_external_id'],
  [{ ...base, customerExternalId: 'c'.repeat(256) }, 'invalid_customer_external_id'],
  [{ ...base, customerExternalId: 42 }, 'invalid_customer_external_id'],
  [without('metric'), 'invalid_metric'],
  [{ ...base, metric: 'TOKENS_INPUT' }, 'invalid_metric'],
  [{ ...base, metric: 'toString' }, 'invalid_metric'],
  [without('quantity'), 'invalid_quantity'],
  [{ ...base, quantity: 12500 }, 'invalid_quantity'],
  [{ ...base, quantity: '' }, 'invalid_quantity'],
  [{ ...base, quantity: '-1' }, 'invalid_quantity'],
  [{ ...base, quantity: '+1' }, 'invalid_quantity'],
  [{ ...base, quantity: '1.0' }, 'invalid_quantity'],
  [{ ...base, quantity: '1e5' }, 'invalid_quantity'],
  [{ ...base, quantity: ' 1' }, 'invalid_quantity'],
  [{ ...base, quantity: '1\n' }, 'invalid_quantity'],
  [{ ...base, quantity: '٣' }, 'invalid_quantity'],
  [{ ...base, quantity: '9'.repeat(79) }, 'invalid_quantity'],
  [without('occurredAt'), 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00:00' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25 10:00:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25t10:00:00z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-02-29T00:00:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-04-31T00:00:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-13-01T00:00:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T24:00:00Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T23:59:60Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00:00+24:00' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00:00+0800' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00:00.Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '2026-05-25T10:00:00.1234567890Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: '1969-12-31T23:59:59Z' }, 'invalid_occurred_at'],
  [{ ...base, occurredAt: 1779703200000 }, 'invalid_occurred_at'],
  [{ ...base, dimensions: null }, 'invalid_dimensions'],
  [{ ...base, dimensions: [] }, 'invalid_dimensions'],
  [{ ...base, dimensions: 'model=gpt-5' }, 'invalid_dimensions'],
  [{ ...base, dimensions: { a: 1 } }, 'invalid_dimensions'],
  [{ ...base, dimensions: { a: null } }, 'invalid_dimensions'],
  [{ ...base, dimensions: { a: { b: 'c' } } }, 'invalid_dimensions'],
  [{ ...base, dimensions: { a: ['x'] } }, 'invalid_dimensions'],
  [{ ...base, dimensions: { '': 'x' } }, 'invalid_dimensions'],
  [{ ...base, dimensions: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'dimensions_too_large'],
  [{ ...base, dimensions: { ['k'.repeat(65)]: 'v' } }, 'dimensions_too_large'],
  [{ ...base, dimensions: { k: 'v'.repeat(257) } }, 'dimensions_too_large'],
];

describe('the hand-written event validator', () => {
  it('accepts exactly what the documented zod schema accepts', () => {
    for (const [input, reason] of corpus) {
      const viaZod = UsageEventInput.safeParse(input).success;
      const checked = validateUsageEvent(input, NOW);
      const viaHand = typeof checked !== 'string';
      expect({ input, viaHand }).toEqual({ input, viaHand: viaZod });
      expect({ input, reason: viaHand ? null : checked }).toEqual({ input, reason });
    }
  });

  it('agrees with zod on JSON-parsed inputs with a __proto__ key', () => {
    const input = JSON.parse('{"customerExternalId":"u","idempotencyKey":"k","metric":"agent_run","quantity":"1","occurredAt":"2026-05-25T10:00:00Z","__proto__":{"x":"y"}}');
    expect(validateUsageEvent(input, NOW)).toBe('unknown_field');
    expect(UsageEventInput.safeParse(input).success).toBe(false);
    const dims = JSON.parse('{"__proto__":"v","a":"b"}');
    const ok = validateUsageEvent({ ...base, dimensions: dims }, NOW);
    expect(typeof ok === 'string' ? ok : ok.dimensions).toBe('{"__proto__":"v","a":"b"}');
  });

  it('agrees with zod on a random corpus of mutated events', () => {
    const values: unknown[] = ['', 'x', '0', '12', '-3', '1.5', 42, null, true, [], {}, { a: 'b' }, '2026-05-25T10:00:00Z', '2026-02-30T00:00:00Z', 'agent_run', 'k'.repeat(300)];
    const fields = ['customerExternalId', 'idempotencyKey', 'metric', 'quantity', 'occurredAt', 'dimensions', 'other'];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const e: Record<string, unknown> = { ...base };
      const mutations = 1 + rnd(3);
      for (let j = 0; j < mutations; j++) {
        const f = fields[rnd(fields.length)];
        if (rnd(4) === 0) delete e[f];
        else e[f] = values[rnd(values.length)];
      }
      const viaZod = UsageEventInput.safeParse(e).success;
      const viaHand = typeof validateUsageEvent(e, NOW) !== 'string';
      expect({ e, viaHand }).toEqual({ e, viaHand: viaZod });
    }
  });

  it('canonicalises what it stores', () => {
    const v = validateUsageEvent({ ...base, quantity: '000', occurredAt: '2026-05-25T18:30:00.5+08:30', dimensions: { z: '1', a: '2', M: '3' } }, NOW);
    expect(v).toEqual({
      idempotencyKey: 'evt_abc_1234',
      customerExternalId: 'user_42',
      metric: 'tokens_input',
      quantity: '0',
      occurredAt: '2026-05-25T10:00:00.500Z',
      dimensions: '{"M":"3","a":"2","z":"1"}',
    });
  });

  it('refuses occurredAt more than 5 minutes ahead of the clock, and allows up to 5 minutes', () => {
    const at = (ms: number) => validateUsageEvent({ ...base, occurredAt: new Date(NOW + ms).toISOString() }, NOW);
    expect(typeof at(5 * 60_000)).toBe('object');
    expect(at(5 * 60_000 + 1)).toBe('occurred_at_in_future');
    expect(UsageEventInput.safeParse({ ...base, occurredAt: new Date(NOW + 3_600_000).toISOString() }).success).toBe(true); // zod has no clock
  });

  it('parses RFC 3339 offsets and fractions exactly', () => {
    expect(parseRfc3339('2026-05-25T10:00:00Z')).toBe(Date.UTC(2026, 4, 25, 10));
    expect(parseRfc3339('2026-05-25T10:00:00-05:30')).toBe(Date.UTC(2026, 4, 25, 15, 30));
    expect(parseRfc3339('2026-05-25T10:00:00.0009Z')).toBe(Date.UTC(2026, 4, 25, 10));
    expect(parseRfc3339('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseRfc3339('2100-02-29T00:00:00Z')).toBeNaN();
  });

  it('documents the batch limits in the batch schema', () => {
    expect(UsageEventBatch.safeParse({ events: [] }).success).toBe(false);
    expect(UsageEventBatch.safeParse({ events: Array(500).fill(base) }).success).toBe(true);
    expect(UsageEventBatch.safeParse({ events: Array(501).fill(base) }).success).toBe(false);
  });
});
