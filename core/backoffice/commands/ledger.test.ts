import { tamperBehindTriggers } from '../../testing/database.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postLedgerTransaction } from '../../ledger/index.js';
import { signup } from '../../merchants/accounts.js';
import type { CommandResult } from '../registry.js';
import { type Harness, openHarness } from '../testing/harness.js';

function dataOf(r: CommandResult<any>): any {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.data;
}

describe('ledger commands', () => {
  let h: Harness;
  let merchantId: string;
  beforeEach(async () => {
    h = await openHarness();
    merchantId = (await signup(h.ctx, { name: 'Ledger Co', email: 'ledger@merchant.test', password: 'merchant password' } as never)).id;
    for (const [i, amount] of ['2750', '1250'].entries()) {
      await postLedgerTransaction(h.ctx, {
        idempotencyKey: `inv-${i}`,
        kind: 'invoice.finalized',
        cause: { type: 'invoice', id: `inv_${i}` },
        environment: 'live',
        merchantId,
        description: 'test',
        entries: [
          { account: { type: 'receivable', merchantId, environment: 'live', currency: 'USD' }, side: 'debit', amountMinor: amount },
          { account: { type: 'merchant_payable', merchantId, environment: 'live', currency: 'USD' }, side: 'credit', amountMinor: amount },
        ],
      });
      h.clock.advance(60_000);
    }
  });
  afterEach(async () => h.close());

  it('lists accounts and balances (now and as of an instant), shows a transaction, verifies', async () => {
    const finance = await h.staff('finance');
    const accounts = await h.run(finance, 'ledger:accounts', { merchant: merchantId });
    expect(accounts).toMatchObject({ ok: true });
    expect(dataOf(accounts).items.map((a: { code: string }) => a.code)).toEqual([`merchant_payable:${merchantId}:live:USD`, `receivable:${merchantId}:live:USD`]);
    const now = await h.run(finance, 'ledger:balances', { account: `receivable:${merchantId}:live:USD` });
    expect(dataOf(now).items[0]).toMatchObject({ balanceMinor: '4000', debitsMinor: '4000', creditsMinor: '0' });
    const then = await h.run(finance, 'ledger:balances', { type: 'merchant_payable', at: '2026-05-01T09:00:30Z' });
    expect(dataOf(then).items[0]).toMatchObject({ balanceMinor: '2750' });
    const unknown = await h.run(finance, 'ledger:balances', { account: 'bank:platform:live:USD' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'ledger_account_not_found' } });
    const tx = await h.db.kysely.selectFrom('ledger_transactions').select('id').orderBy('posted_at').executeTakeFirstOrThrow();
    const shown = await h.run(finance, 'ledger:show', { tx: tx.id });
    expect(dataOf(shown)).toMatchObject({
      id: tx.id,
      kind: 'invoice.finalized',
      entries: [
        { side: 'debit', amountMinor: '2750' },
        { side: 'credit', amountMinor: '2750' },
      ],
    });
    expect(await h.run(finance, 'ledger:verify')).toMatchObject({ ok: true, data: { intact: true, entries: 4, transactions: 2, totals: { USD: { debitsMinor: '4000' } } } });
    const support = await h.staff('support');
    expect(await h.run(support, 'ledger:balances')).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
  });

  it('ledger:verify fails naming the tampered entry', async () => {
    await tamperBehindTriggers(h.dbFile, "UPDATE ledger_entries SET amount_minor = '2751' WHERE seq = 1");
    const admin = await h.staff('admin');
    const result = await h.run(admin, 'ledger:verify');
    expect(result).toMatchObject({ ok: false, error: { code: 'ledger_inconsistent', details: { firstInconsistency: { seq: 1 } } } });
    expect(result.ok === false && result.error.message).toMatch(/entry seq 1/);
  });
});
