import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreContext, ManualClock } from '../context/index.js';
import { type TestContext, openTestContext } from '../testing/index.js';
import { FxRateInput, convertMinor, fxRateAt, importFxRates, listFxRates, setFxRate } from './index.js';

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;

beforeEach(async () => {
  t = await openTestContext('2026-06-01T00:00:00.000Z');
  ({ ctx, clock } = t);
});
afterEach(async () => t.close());

const rate = (from: string, to: string, r: string, effectiveAt?: string, source = 'test') => FxRateInput.parse({ from, to, rate: r, effectiveAt, source });

describe('converting minor units', () => {
  it.each([
    // amount, from, to, rate, expected — computed by hand
    ['2750', 'USD', 'CNY', '7.1234', '19589'], // 27.50 × 7.1234 = 195.8935 → 195.89
    ['2750', 'USD', 'USD', '1', '2750'],
    ['100', 'USD', 'JPY', '151.235', '151'], // 1.00 USD → 151.235 JPY → 151 (exponent 0)
    ['150', 'USD', 'JPY', '151.5', '227'], // 1.50 × 151.5 = 227.25 → 227
    ['1', 'USD', 'CNY', '7.25', '7'], // 0.0725 CNY … 7.25 fen → 7
    ['2', 'USD', 'CNY', '7.25', '15'], // 14.5 fen → 15 (half up)
    ['19589', 'CNY', 'USDC', '0.1404', '27502956'], // 195.89 × 0.1404 = 27.503 → 27.502956 USDC (6 decimals)
    ['1000', 'JPY', 'USD', '0.0066', '660'], // 1000 yen → 6.60 USD
    ['1000000000000000000000000000000', 'USD', 'CNY', '7.1234', '7123400000000000000000000000000'],
  ])('%s %s → %s at %s = %s', (amount, from, to, r, expected) => {
    expect(convertMinor(amount, from, to, r)).toBe(expected);
  });
});

describe('rates', () => {
  it('validates and normalises rates: decimal strings only, never floats or exponents', () => {
    expect(rate('usd', 'cny', '7.12340').rate).toBe('7.1234');
    for (const bad of ['0', '-7.1', '7,1', '7.1e3', '1e-3', 'NaN', '', '7.1234567890123', '.5']) {
      expect(FxRateInput.safeParse({ from: 'USD', to: 'CNY', rate: bad }).success, bad).toBe(false);
    }
    expect(FxRateInput.safeParse({ from: 'USD', to: 'USD', rate: '1' }).success).toBe(false);
    expect(FxRateInput.safeParse({ from: 'USD', to: 'XYZ', rate: '1' }).success).toBe(false);
  });

  it('uses the rate in force at an instant; a later entry supersedes, nothing is edited', async () => {
    const a = await setFxRate(ctx, rate('USD', 'CNY', '7.10', '2026-05-01T00:00:00Z'), 'stf_1');
    clock.advance(1000);
    const b = await setFxRate(ctx, rate('USD', 'CNY', '7.20', '2026-05-15T00:00:00Z'), 'stf_1');
    clock.advance(1000);
    // A correction for the same effective time: entered later, so it wins from then on.
    const c = await setFxRate(ctx, rate('USD', 'CNY', '7.21', '2026-05-15T00:00:00Z', 'corrected'), 'stf_2');
    expect((await fxRateAt(ctx, 'USD', 'CNY', '2026-05-10T00:00:00Z')).id).toBe(a.id);
    expect((await fxRateAt(ctx, 'USD', 'CNY', '2026-05-15T00:00:00Z')).id).toBe(c.id);
    expect((await fxRateAt(ctx, 'USD', 'CNY', '2026-06-30T00:00:00Z')).rate).toBe('7.21');
    expect((await listFxRates(ctx, { pair: 'USD/CNY', limit: 10 })).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    await expect(ctx.db.kysely.updateTable('fx_rates').set({ rate: '1' }).execute()).rejects.toThrow(/append-only/);
    await expect(ctx.db.kysely.deleteFrom('fx_rates').execute()).rejects.toThrow(/append-only/);
  });

  it('a missing rate is an error, never 1.0, and a pair is never silently inverted', async () => {
    await setFxRate(ctx, rate('USD', 'CNY', '7.1', '2026-05-01T00:00:00Z'), null);
    await expect(fxRateAt(ctx, 'USD', 'CNY', '2026-04-30T23:59:59Z')).rejects.toMatchObject({ code: 'fx_rate_missing', details: { pair: 'USD/CNY' } });
    await expect(fxRateAt(ctx, 'CNY', 'USD', '2026-05-02T00:00:00Z')).rejects.toMatchObject({ code: 'fx_rate_missing' });
  });

  it('lists the rate in force per pair at an instant', async () => {
    await setFxRate(ctx, rate('USD', 'CNY', '7.1', '2026-05-01T00:00:00Z'), null);
    await setFxRate(ctx, rate('EUR', 'CNY', '7.8', '2026-05-20T00:00:00Z'), null);
    expect((await listFxRates(ctx, { at: '2026-05-10T00:00:00Z', limit: 10 })).map((r) => r.pair)).toEqual(['USD/CNY']);
    expect((await listFxRates(ctx, { at: '2026-05-21T00:00:00Z', limit: 10 })).map((r) => `${r.pair} ${r.rate}`)).toEqual(['EUR/CNY 7.8', 'USD/CNY 7.1']);
    await expect(listFxRates(ctx, { pair: 'EUR/CNY', at: '2026-05-10T00:00:00Z', limit: 10 })).rejects.toMatchObject({ code: 'fx_rate_missing' });
  });
});

describe('CSV import', () => {
  it('imports every row of a good file under one batch', async () => {
    const csv = 'from,to,rate,effectiveAt,source\nUSD,CNY,7.1234,2026-05-01T00:00:00Z,"PBoC, central parity"\nEUR,CNY,7.8,,\n';
    const { batch, imported } = await importFxRates(ctx, csv, 'stf_1');
    expect(imported.map((r) => [r.pair, r.rate, r.source, r.importBatch])).toEqual([
      ['USD/CNY', '7.1234', 'PBoC, central parity', batch],
      ['EUR/CNY', '7.8', 'CSV import', batch],
    ]);
    expect(imported[1].effectiveAt).toBe('2026-06-01T00:00:00.000Z');
  });

  it.each([
    ['from,to,rate\nUSD,CNY,7.1\nUSD,CNY,7.1.1\n', /^Line 3: rate:/],
    ['from,to,rate\nUSD,CNY,7.1\n\nUSD,XXX,7\n', /^Line 4: to: unsupported currency XXX/],
    ['from,to\nUSD,CNY\n', /^Line 1: .*missing rate/],
    ['from,to,rate,colour\nUSD,CNY,7,red\n', /^Line 1: unknown column colour/],
    ['from,to,rate,effectiveAt\nUSD,CNY,7,yesterday\n', /^Line 2: effectiveAt:/],
    ['from,to,rate\n', /no rates/],
    ['from,to,rate,source\nUSD,CNY,7.1,"two\nlines"\n\n  \nUSD,CNY,-1,x\n', /^Line 6: rate:/],
  ])('refuses the whole file naming the bad line (%#)', async (csv, message) => {
    await expect(importFxRates(ctx, csv, 'stf_1')).rejects.toMatchObject({ code: 'fx_import_invalid', message: expect.stringMatching(message) });
    expect(await ctx.db.kysely.selectFrom('fx_rates').select('id').execute()).toEqual([]);
  });
});
