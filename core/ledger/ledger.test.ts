import fc from 'fast-check';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreContext, ManualClock } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { tamperBehindTriggers } from '../testing/database.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { type AccountRef, entryHash, ledgerBalances, listLedgerAccounts, postLedgerTransaction, reverseLedgerTransaction, verifyLedger } from './index.js';

let t: TestContext;
let dbFile: string;
let ctx: CoreContext;
let clock: ManualClock;

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock, dbFile } = t);
  await insertTestMerchant(ctx, 'mer_a');
  await insertTestMerchant(ctx, 'mer_b');
});

afterEach(async () => t.close());

const receivable = (merchantId = 'mer_a', currency = 'CNY'): AccountRef => ({ type: 'receivable', merchantId, environment: 'live', currency });
const payable = (merchantId = 'mer_a', currency = 'CNY'): AccountRef => ({ type: 'merchant_payable', merchantId, environment: 'live', currency });
const wechat: AccountRef = { type: 'channel_clearing', channel: 'wechat', environment: 'live', currency: 'CNY' };
const fee = (currency = 'CNY'): AccountRef => ({ type: 'platform_fee_revenue', environment: 'live', currency });

function invoicePosting(key: string, amount: string) {
  return {
    idempotencyKey: key,
    kind: 'invoice.finalized',
    cause: { type: 'invoice' as const, id: `inv_${key}` },
    environment: 'live' as const,
    merchantId: 'mer_a',
    description: 'Invoice finalized',
    entries: [
      { account: receivable(), side: 'debit' as const, amountMinor: amount },
      { account: payable(), side: 'credit' as const, amountMinor: amount },
    ],
  };
}

describe('posting', () => {
  it('posts a balanced transaction, creates its accounts once, and reports balances on the normal side', async () => {
    const { transaction, replayed } = await postLedgerTransaction(ctx, invoicePosting('k1', '19589'));
    expect(replayed).toBe(false);
    expect(transaction.entries.map((e) => [e.accountCode, e.side, e.amountMinor])).toEqual([
      ['receivable:mer_a:live:CNY', 'debit', '19589'],
      ['merchant_payable:mer_a:live:CNY', 'credit', '19589'],
    ]);
    clock.advance(60_000);
    await postLedgerTransaction(ctx, {
      idempotencyKey: 'pay1',
      kind: 'payment.captured',
      cause: { type: 'payment', id: 'pay_1' },
      environment: 'live',
      merchantId: 'mer_a',
      description: 'WeChat Pay',
      entries: [
        { account: wechat, side: 'debit', amountMinor: 19589n },
        { account: receivable(), side: 'credit', amountMinor: '19589' },
        { account: payable(), side: 'debit', amountMinor: '157' },
        { account: fee(), side: 'credit', amountMinor: '157' },
      ],
    });
    expect((await listLedgerAccounts(ctx)).map((a) => a.code)).toEqual([
      'channel_clearing:wechat:live:CNY',
      'merchant_payable:mer_a:live:CNY',
      'platform_fee_revenue:platform:live:CNY',
      'receivable:mer_a:live:CNY',
    ]);
    const balances = Object.fromEntries((await ledgerBalances(ctx)).map((b) => [b.code, b.balanceMinor]));
    expect(balances).toEqual({
      'channel_clearing:wechat:live:CNY': '19589',
      'merchant_payable:mer_a:live:CNY': '19432',
      'platform_fee_revenue:platform:live:CNY': '157',
      'receivable:mer_a:live:CNY': '0',
    });
    // As of a moment between the two postings.
    const earlier = await ledgerBalances(ctx, { account: 'receivable:mer_a:live:CNY', at: '2026-05-01T00:00:30.000Z' });
    expect(earlier[0].balanceMinor).toBe('19589');
    expect(await verifyLedger(ctx)).toMatchObject({ ok: true, entries: 6, transactions: 2, totals: { CNY: { debitsMinor: '39335', creditsMinor: '39335' } } });
  });

  it('refuses what does not balance, per currency, writing nothing', async () => {
    await expect(
      postLedgerTransaction(ctx, {
        ...invoicePosting('bad', '100'),
        entries: [
          { account: receivable(), side: 'debit', amountMinor: '100' },
          { account: payable(), side: 'credit', amountMinor: '99' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'ledger_unbalanced' });
    // Balanced in total but not per currency.
    await expect(
      postLedgerTransaction(ctx, {
        ...invoicePosting('bad2', '100'),
        entries: [
          { account: receivable('mer_a', 'CNY'), side: 'debit', amountMinor: '100' },
          { account: payable('mer_a', 'USD'), side: 'credit', amountMinor: '100' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'ledger_unbalanced' });
    expect(await ctx.db.kysely.selectFrom('ledger_transactions').select('id').execute()).toEqual([]);
    expect(await ctx.db.kysely.selectFrom('ledger_accounts').select('id').execute()).toEqual([]);
  });

  it.each([
    ['one entry', [{ account: receivable(), side: 'debit', amountMinor: '1' }]],
    [
      'a zero amount',
      [
        { account: receivable(), side: 'debit', amountMinor: '0' },
        { account: payable(), side: 'credit', amountMinor: '0' },
      ],
    ],
    [
      'a fractional amount',
      [
        { account: receivable(), side: 'debit', amountMinor: '1.5' },
        { account: payable(), side: 'credit', amountMinor: '1.5' },
      ],
    ],
    [
      'an amount over 2^63-1',
      [
        { account: receivable(), side: 'debit', amountMinor: '9223372036854775808' },
        { account: payable(), side: 'credit', amountMinor: '9223372036854775808' },
      ],
    ],
    [
      'another environment',
      [
        { account: { ...receivable(), environment: 'sandbox' }, side: 'debit', amountMinor: '1' },
        { account: payable(), side: 'credit', amountMinor: '1' },
      ],
    ],
    [
      "another merchant's account",
      [
        { account: receivable('mer_b'), side: 'debit', amountMinor: '1' },
        { account: payable(), side: 'credit', amountMinor: '1' },
      ],
    ],
  ])('refuses %s', async (_what, entries) => {
    await expect(postLedgerTransaction(ctx, { ...invoicePosting('x', '1'), entries: entries as never })).rejects.toMatchObject({
      code: 'ledger_posting_invalid',
    });
  });

  it('posts once per idempotency key: a retry replays, other content under the same key is a conflict', async () => {
    const first = await postLedgerTransaction(ctx, invoicePosting('inv-1', '500'));
    const again = await postLedgerTransaction(ctx, invoicePosting('inv-1', '500'));
    expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id } });
    await expect(postLedgerTransaction(ctx, invoicePosting('inv-1', '501'))).rejects.toMatchObject({ code: 'ledger_idempotency_conflict' });
    expect(await ctx.db.kysely.selectFrom('ledger_transactions').select('id').execute()).toHaveLength(1);
  });

  it('rolls back with the change it belongs to', async () => {
    await expect(
      inTransaction(ctx, async (tx) => {
        await postLedgerTransaction(tx, invoicePosting('rb', '10'));
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await ctx.db.kysely.selectFrom('ledger_entries').select('id').execute()).toEqual([]);
  });
});

describe('corrections', () => {
  it('reverses a transaction once, with every entry on the other side', async () => {
    const { transaction } = await postLedgerTransaction(ctx, invoicePosting('v1', '700'));
    const reversal = await reverseLedgerTransaction(ctx, transaction.id, { idempotencyKey: 'void-v1', reason: 'invoice voided', kind: 'invoice.voided' });
    expect(reversal.transaction.reversesTxId).toBe(transaction.id);
    expect(reversal.transaction.entries.map((e) => [e.accountCode, e.side, e.amountMinor])).toEqual([
      ['receivable:mer_a:live:CNY', 'credit', '700'],
      ['merchant_payable:mer_a:live:CNY', 'debit', '700'],
    ]);
    expect((await ledgerBalances(ctx)).map((b) => b.balanceMinor)).toEqual(['0', '0']);
    // The same request again replays; another reversal is refused; a reversal is not reversed.
    expect((await reverseLedgerTransaction(ctx, transaction.id, { idempotencyKey: 'void-v1', reason: 'invoice voided', kind: 'invoice.voided' })).replayed).toBe(true);
    await expect(reverseLedgerTransaction(ctx, transaction.id, { idempotencyKey: 'void-again', reason: 'twice' })).rejects.toMatchObject({
      code: 'ledger_already_reversed',
    });
    await expect(reverseLedgerTransaction(ctx, reversal.transaction.id, { idempotencyKey: 'r-r', reason: 'undo' })).rejects.toMatchObject({
      code: 'ledger_reversal_invalid',
    });
    expect(await verifyLedger(ctx)).toMatchObject({ ok: true, transactions: 2 });
  });
});

describe('append-only and tamper-evident', () => {
  it('the database refuses UPDATE and DELETE on every ledger table', async () => {
    await postLedgerTransaction(ctx, invoicePosting('t1', '100'));
    const k = ctx.db.kysely;
    await expect(k.updateTable('ledger_entries').set({ amount_minor: '1' }).execute()).rejects.toThrow(/append-only/);
    await expect(k.deleteFrom('ledger_entries').execute()).rejects.toThrow(/append-only/);
    await expect(k.updateTable('ledger_transactions').set({ description: 'x' }).execute()).rejects.toThrow(/append-only/);
    await expect(k.deleteFrom('ledger_transactions').execute()).rejects.toThrow(/append-only/);
    await expect(k.updateTable('ledger_accounts').set({ currency: 'USD' }).execute()).rejects.toThrow(/append-only/);
    await expect(k.deleteFrom('ledger_accounts').execute()).rejects.toThrow(/append-only/);
    await expect(sql`delete from ledger_entries where seq = 1`.execute(k)).rejects.toThrow(/append-only/);
    expect(await k.selectFrom('ledger_entries').select('seq').execute()).toHaveLength(2);
  });

  const tamper = (dml: string) => tamperBehindTriggers(dbFile, dml);

  it('ledger:verify names an entry altered behind the triggers', async () => {
    for (let i = 1; i <= 3; i++) await postLedgerTransaction(ctx, invoicePosting(`t${i}`, `${i}00`));
    expect(await verifyLedger(ctx)).toMatchObject({ ok: true, entries: 6 });
    await tamper("UPDATE ledger_entries SET amount_minor = '900' WHERE seq = 3");
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { seq: 3, reason: expect.stringMatching(/does not match its hash/) } });
  });

  it('names a transaction header altered, an entry removed, and a rewritten hash', async () => {
    for (let i = 1; i <= 3; i++) await postLedgerTransaction(ctx, invoicePosting(`t${i}`, `${i}00`));
    const second = await ctx.db.kysely.selectFrom('ledger_entries').select('tx_id').where('seq', '=', 3).executeTakeFirstOrThrow();
    await tamper(`UPDATE ledger_transactions SET merchant_id = 'mer_b' WHERE id = '${second.tx_id}'`);
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { seq: 3, txId: second.tx_id, reason: expect.stringMatching(/header/) } });
    await tamper(`UPDATE ledger_transactions SET merchant_id = 'mer_a' WHERE id = '${second.tx_id}'`);
    expect(await verifyLedger(ctx)).toMatchObject({ ok: true });

    await tamper('DELETE FROM ledger_entries WHERE seq = 6');
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { reason: expect.stringMatching(/does not balance/) } });
    await tamper('DELETE FROM ledger_entries WHERE seq = 5');
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { reason: expect.stringMatching(/no entries/) } });
    await tamper('DELETE FROM ledger_entries WHERE seq = 2');
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { seq: 3, reason: expect.stringMatching(/sequence gap/) } });
  });

  it('an altered entry whose own hash is recomputed still breaks the chain at the next entry', async () => {
    for (let i = 1; i <= 2; i++) await postLedgerTransaction(ctx, invoicePosting(`t${i}`, `${i}00`));
    const row = await ctx.db.kysely.selectFrom('ledger_entries').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
    const header = await ctx.db.kysely.selectFrom('ledger_transactions').select('header_hash').where('id', '=', row.tx_id).executeTakeFirstOrThrow();
    const { hash: _old, ...fields } = { ...row, effective_at: '2025-01-01T00:00:00.000Z' };
    const forged = entryHash(fields, header.header_hash);
    await tamper(`UPDATE ledger_entries SET effective_at = '2025-01-01T00:00:00.000Z', hash = '${forged}' WHERE seq = 2`);
    expect(await verifyLedger(ctx)).toMatchObject({ ok: false, firstInconsistency: { seq: 3, reason: expect.stringMatching(/prev_hash/) } });
  });
});

describe('every transaction balances (property)', () => {
  const currencies = ['CNY', 'USD', 'USDC'] as const;
  const types = ['receivable', 'merchant_payable', 'channel_clearing', 'platform_fee_revenue', 'fx_gain_loss', 'payout_clearing', 'bank'] as const;
  const leg = fc.record({
    type: fc.constantFrom(...types),
    currency: fc.constantFrom(...currencies),
    side: fc.constantFrom('debit' as const, 'credit' as const),
    amount: fc.bigInt({ min: 1n, max: 10n ** 15n }),
  });

  function refFor(type: (typeof types)[number], currency: string): AccountRef {
    if (type === 'receivable' || type === 'merchant_payable') return { type, currency, environment: 'live', merchantId: 'mer_a' };
    if (type === 'channel_clearing') return { type, currency, environment: 'live', channel: 'alipay' };
    return { type, currency, environment: 'live' };
  }

  it('accepts exactly the postings that balance in every currency, and the ledger stays verifiable', async () => {
    let n = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(leg, { minLength: 1, maxLength: 6 }), fc.boolean(), async (legs, balance) => {
        n++;
        const entries = legs.map((l) => ({ account: refFor(l.type, l.currency), side: l.side, amountMinor: l.amount }));
        if (balance) {
          // Add one balancing leg per currency that is off.
          const sums = new Map<string, bigint>();
          for (const l of legs) sums.set(l.currency, (sums.get(l.currency) ?? 0n) + (l.side === 'debit' ? l.amount : -l.amount));
          for (const [currency, s] of sums) {
            if (s !== 0n) entries.push({ account: refFor('bank', currency), side: s > 0n ? 'credit' : 'debit', amountMinor: s > 0n ? s : -s });
          }
        }
        const sums = new Map<string, bigint>();
        for (const e of entries) sums.set(e.account.currency, (sums.get(e.account.currency) ?? 0n) + (e.side === 'debit' ? e.amountMinor : -e.amountMinor));
        const balanced = entries.length >= 2 && [...sums.values()].every((s) => s === 0n);
        const attempt = postLedgerTransaction(ctx, {
          idempotencyKey: `prop-${n}`,
          kind: 'adjustment.test',
          cause: { type: 'adjustment', id: `adj_${n}` },
          environment: 'live',
          description: 'property test',
          entries,
        });
        if (balanced) {
          await attempt;
          accepted++;
        } else {
          await expect(attempt).rejects.toMatchObject({ code: expect.stringMatching(/^ledger_(unbalanced|posting_invalid)$/) });
        }
      }),
      { numRuns: 150, seed: 20261201 },
    );
    expect(accepted).toBeGreaterThan(20);
    const verified = await verifyLedger(ctx);
    expect(verified.ok).toBe(true);
    // Every account's debits minus credits, summed per currency, is zero.
    const perCurrency = new Map<string, bigint>();
    for (const b of await ledgerBalances(ctx)) perCurrency.set(b.currency, (perCurrency.get(b.currency) ?? 0n) + BigInt(b.debitsMinor) - BigInt(b.creditsMinor));
    for (const total of perCurrency.values()) expect(total).toBe(0n);
  });
});
