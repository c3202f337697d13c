import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../audit/index.js';
import { type Harness, openHarness } from '../testing/harness.js';

describe('FX commands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => h.close());

  it('fx:set needs a fresh code, records who entered the rate, and is audited; fx:list shows the rate in force', async () => {
    const finance = await h.staff('finance');
    expect(await h.run(finance, 'fx:set', { from: 'USD', to: 'CNY', rate: '7.1234' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    const set = await h.run(finance, 'fx:set', { from: 'usd', to: 'CNY', rate: '7.12340', effective: '2026-05-01T00:00:00Z', source: 'PBoC' }, finance.nextOtp());
    expect(set).toMatchObject({ ok: true, data: { pair: 'USD/CNY', rate: '7.1234', source: 'PBoC', enteredBy: finance.id, effectiveAt: '2026-05-01T00:00:00.000Z' } });
    const bad = await h.run(finance, 'fx:set', { from: 'USD', to: 'CNY', rate: '7.1e3' }, finance.nextOtp());
    expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    const entries = await listAudit(h.ctx, { command: 'fx:set', limit: 10 });
    expect(entries.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['error', 'validation_failed'],
      ['ok', null],
      ['error', 'step_up_required'],
    ]);
    const listed = await h.run(finance, 'fx:list', { pair: 'USD/CNY', at: '2026-05-02T00:00:00Z' });
    expect(listed).toMatchObject({ ok: true, data: { items: [{ rate: '7.1234' }] } });
    expect(await h.run(finance, 'fx:list', { pair: 'USD/CNY', at: '2026-04-01T00:00:00Z' })).toMatchObject({ ok: false, error: { code: 'fx_rate_missing' } });
    const support = await h.staff('support');
    expect(await h.run(support, 'fx:list')).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
  });

  it('fx:import is all or nothing', async () => {
    const admin = await h.staff('admin');
    const bad = await h.run(admin, 'fx:import', { csv: 'from,to,rate\nUSD,CNY,7.1\nEUR,CNY,abc\n' }, admin.nextOtp());
    expect(bad).toMatchObject({ ok: false, error: { code: 'fx_import_invalid', message: expect.stringMatching(/^Line 3/), details: { line: 3 } } });
    expect(await h.db.kysely.selectFrom('fx_rates').select('id').execute()).toEqual([]);
    const good = await h.run(admin, 'fx:import', { csv: 'from,to,rate\nUSD,CNY,7.1\nEUR,CNY,7.8\n', source: 'ECB' }, admin.nextOtp());
    expect(good).toMatchObject({ ok: true, data: { imported: 2, pairs: ['EUR/CNY', 'USD/CNY'] } });
  });
});
