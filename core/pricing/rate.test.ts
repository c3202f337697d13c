import { describe, expect, it } from 'vitest';
import { findPriceConflicts } from './match.js';
import { priceQuantity, rateUsage } from './rate.js';
import { Price } from './schemas.js';

const parse = (p: unknown) => Price.parse(p);

const tiers = [
  { upTo: '1000', unitPriceMinor: '1', flatMinor: '100' },
  { upTo: '5000', unitPriceMinor: '0.5' },
  { upTo: null, unitPriceMinor: '0.1', flatMinor: '50' },
];

describe('per_unit pricing', () => {
  const price = parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00015' });

  it('multiplies quantity by a fractional unit price and rounds the line once, half-up', () => {
    expect(priceQuantity(price, '12500')).toEqual({ amountExact: '1.875', amountMinor: '2' });
  });

  it('rounds exactly .5 up, not to even', () => {
    const tenth = parse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '0.1' });
    expect(priceQuantity(tenth, '5')).toEqual({ amountExact: '0.5', amountMinor: '1' });
    expect(priceQuantity(tenth, '25')).toEqual({ amountExact: '2.5', amountMinor: '3' });
    expect(priceQuantity(tenth, '24')).toEqual({ amountExact: '2.4', amountMinor: '2' });
    const justBelow = parse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '0.4999999999' });
    expect(priceQuantity(justBelow, '1').amountMinor).toBe('0');
  });

  it('rates zero usage at zero', () => {
    expect(priceQuantity(price, '0')).toEqual({ amountExact: '0', amountMinor: '0' });
  });
});

describe('package pricing', () => {
  const price = parse({ metric: 'tokens_output', model: 'package', packageSize: '1000000', packagePriceMinor: '150' });

  it('charges a started package as a whole one', () => {
    expect(priceQuantity(price, '2500001').amountMinor).toBe('450');
    expect(priceQuantity(price, '1').amountMinor).toBe('150');
  });

  it('charges exact multiples without an extra package, and nothing for zero', () => {
    expect(priceQuantity(price, '2000000').amountMinor).toBe('300');
    expect(priceQuantity(price, '0').amountMinor).toBe('0');
  });
});

describe('graduated pricing', () => {
  const price = parse({ metric: 'tokens_input', model: 'graduated', tiers });

  it('prices each slice in its own tier and adds the flat fee of every tier reached', () => {
    // 1000×1 + 100  +  4000×0.5  +  1000×0.1 + 50  = 1100 + 2000 + 150
    expect(priceQuantity(price, '6000')).toEqual({ amountExact: '3250', amountMinor: '3250' });
  });

  it('does not touch a tier until usage passes the previous bound', () => {
    expect(priceQuantity(price, '1000').amountMinor).toBe('1100');
    expect(priceQuantity(price, '1001')).toEqual({ amountExact: '1100.5', amountMinor: '1101' });
    expect(priceQuantity(price, '1').amountMinor).toBe('101');
    expect(priceQuantity(price, '0').amountMinor).toBe('0');
  });
});

describe('volume pricing', () => {
  const price = parse({ metric: 'tokens_input', model: 'volume', tiers });

  it("prices the whole quantity at the tier it lands in, plus that tier's flat fee", () => {
    expect(priceQuantity(price, '6000').amountMinor).toBe('650'); // 6000×0.1 + 50
    expect(priceQuantity(price, '1000').amountMinor).toBe('1100'); // 1000×1 + 100 (upTo is inclusive)
    expect(priceQuantity(price, '1001')).toEqual({ amountExact: '500.5', amountMinor: '501' });
    expect(priceQuantity(price, '5000').amountMinor).toBe('2500');
    expect(priceQuantity(price, '0').amountMinor).toBe('0');
  });
});

describe('tier validation', () => {
  it('requires ascending bounds and an unbounded last tier', () => {
    expect(Price.safeParse({ metric: 'agent_run', model: 'graduated', tiers: [{ upTo: '10', unitPriceMinor: '1' }] }).success).toBe(false);
    expect(
      Price.safeParse({
        metric: 'agent_run',
        model: 'volume',
        tiers: [
          { upTo: '10', unitPriceMinor: '1' },
          { upTo: '10', unitPriceMinor: '1' },
          { upTo: null, unitPriceMinor: '1' },
        ],
      }).success,
    ).toBe(false);
    expect(
      Price.safeParse({
        metric: 'agent_run',
        model: 'volume',
        tiers: [
          { upTo: null, unitPriceMinor: '1' },
          { upTo: null, unitPriceMinor: '1' },
        ],
      }).success,
    ).toBe(false);
    expect(
      Price.safeParse({
        metric: 'agent_run',
        model: 'volume',
        tiers: [
          { upTo: '10', unitPriceMinor: '-1' },
          { upTo: null, unitPriceMinor: '1' },
        ],
      }).success,
    ).toBe(false);
    expect(Price.safeParse({ metric: 'agent_run', model: 'volume', tiers }).success).toBe(true);
  });

  it('refuses numbers, signs, exponents and fractional package prices', () => {
    expect(Price.safeParse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: 0.5 }).success).toBe(false);
    expect(Price.safeParse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1e-4' }).success).toBe(false);
    expect(Price.safeParse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '-1' }).success).toBe(false);
    expect(Price.safeParse({ metric: 'agent_run', model: 'package', packageSize: '0', packagePriceMinor: '1' }).success).toBe(false);
    expect(Price.safeParse({ metric: 'agent_run', model: 'package', packageSize: '10', packagePriceMinor: '1.5' }).success).toBe(false);
    expect(Price.safeParse({ metric: 'bananas', model: 'per_unit', unitPriceMinor: '1' }).success).toBe(false);
  });
});

describe('dimension matching', () => {
  const prices = [
    parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' }),
    parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.001', dimensions: { model: 'gpt-5' } }),
    parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.002', dimensions: { model: 'gpt-5', region: 'eu' } }),
    parse({ metric: 'tokens_output', model: 'per_unit', unitPriceMinor: '0.003', dimensions: { model: 'gpt-5' } }),
  ];

  it('uses the most specific matching price and the fallback for everything else', () => {
    const result = rateUsage(prices, [
      { metric: 'tokens_input', dimensions: { model: 'gpt-5', region: 'us' }, quantity: '1000' },
      { metric: 'tokens_input', dimensions: { model: 'gpt-5', region: 'eu' }, quantity: '1000' },
      { metric: 'tokens_input', dimensions: { model: 'gpt-4o-mini' }, quantity: '1000' },
      { metric: 'tokens_input', dimensions: {}, quantity: '5000' },
    ]);
    expect(result.lines.map((l) => [l.priceIndex, l.dimensions, l.quantity, l.amountExact, l.amountMinor])).toEqual([
      [0, {}, '6000', '1.2', '1'], // gpt-4o-mini and undimensioned usage share the fallback line
      [1, { model: 'gpt-5' }, '1000', '1', '1'],
      [2, { model: 'gpt-5', region: 'eu' }, '1000', '2', '2'],
    ]);
    expect(result.lines[0].usage).toHaveLength(2);
    expect(result.totalMinor).toBe('4');
    expect(result.unpriced).toEqual([]);
  });

  it('reports usage no price matches as unpriced instead of charging zero', () => {
    const result = rateUsage(prices, [
      { metric: 'tokens_output', dimensions: { model: 'gpt-4o-mini' }, quantity: '10' },
      { metric: 'storage_gb', dimensions: {}, quantity: '3' },
      { metric: 'tokens_output', dimensions: { model: 'gpt-5' }, quantity: '1000' },
    ]);
    expect(result.unpriced).toEqual([
      { metric: 'tokens_output', dimensions: { model: 'gpt-4o-mini' }, quantity: '10' },
      { metric: 'storage_gb', dimensions: {}, quantity: '3' },
    ]);
    expect(result.lines).toHaveLength(1);
    expect(result.totalMinor).toBe('3');
  });

  it('applies tiers to the combined quantity of all usage on one price', () => {
    const volume = [parse({ metric: 'agent_run', model: 'volume', tiers })];
    const result = rateUsage(volume, [
      { metric: 'agent_run', dimensions: { region: 'us' }, quantity: '3000' },
      { metric: 'agent_run', dimensions: { region: 'eu' }, quantity: '3000' },
    ]);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({ quantity: '6000', amountMinor: '650' });
  });

  it('finds duplicate and ambiguous prices, and accepts a tie settled by a more specific price', () => {
    const a = parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '1', dimensions: { model: 'gpt-5' } });
    const b = parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '2', dimensions: { region: 'eu' } });
    const both = parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '3', dimensions: { model: 'gpt-5', region: 'eu' } });
    const other = parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '4', dimensions: { model: 'gpt-4o-mini' } });
    expect(findPriceConflicts([a, a]).map((c) => c.reason)).toEqual(['duplicate']);
    expect(findPriceConflicts([a, b]).map((c) => c.reason)).toEqual(['ambiguous']);
    expect(findPriceConflicts([a, b, both])).toEqual([]);
    expect(findPriceConflicts([a, other])).toEqual([]); // disjoint: no event matches both
    expect(findPriceConflicts([a, { ...b, metric: 'tokens_output' }])).toEqual([]);
  });
});

describe('huge quantities', () => {
  it('sums and prices 10^30-scale quantities exactly', () => {
    const prices = [parse({ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00015' })];
    const result = rateUsage(prices, [
      { metric: 'tokens_input', dimensions: { model: 'a' }, quantity: '1000000000000000000000000000000' },
      { metric: 'tokens_input', dimensions: { model: 'b' }, quantity: '1000000000000000000000000000001' },
    ]);
    expect(result.lines[0].quantity).toBe('2000000000000000000000000000001');
    expect(result.lines[0].amountExact).toBe('300000000000000000000000000.00015');
    expect(result.lines[0].amountMinor).toBe('300000000000000000000000000');
    expect(result.totalMinor).toBe('300000000000000000000000000');
  });

  it('prices far beyond 10^30 in every model without losing a unit', () => {
    const q = `1${'0'.repeat(60)}1`; // 10^61 + 1
    const graduated = parse({ metric: 'agent_run', model: 'graduated', tiers });
    // 1100 + 2000 + (q − 5000) × 0.1 + 50 = 10^60 + 2650.1
    expect(priceQuantity(graduated, q).amountExact).toBe(`${10n ** 60n + 2650n}.1`);
    const pkg = parse({ metric: 'agent_run', model: 'package', packageSize: '1000000', packagePriceMinor: '150' });
    expect(priceQuantity(pkg, q).amountMinor).toBe(((10n ** 55n + 1n) * 150n).toString()); // ceil → 10^55 + 1 packages
    const unit = parse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '0.5' });
    expect(priceQuantity(unit, q).amountMinor).toBe((5n * 10n ** 60n + 1n).toString()); // 5×10^60 + 0.5 rounds up
  });

  it('refuses quantities that are not integer decimal strings', () => {
    const prices = [parse({ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' })];
    expect(() => rateUsage(prices, [{ metric: 'agent_run', dimensions: {}, quantity: '1.5' }])).toThrow();
    expect(() => rateUsage(prices, [{ metric: 'agent_run', dimensions: {}, quantity: '1e30' }])).toThrow();
  });
});
