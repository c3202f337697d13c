import { tamperBehindTriggers } from '../testing/database.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { verifyAuditChain } from '../audit/index.js';
import { createProduct } from '../catalog/products.js';
import { createRateCard, publishRateCard } from '../catalog/rate-cards.js';
import { createContract } from '../contracts/contracts.js';
import { createCustomer } from '../customers/customers.js';
import { FxRateInput, setFxRate } from '../fx/index.js';
import { generateInvoices } from '../invoices/index.js';
import { postLedgerTransaction } from '../ledger/index.js';
import { signup } from '../merchants/accounts.js';
import { applyChannelNotification, createCheckout, installPaymentChannels, installRefundNotifyUrl, installSandboxPayer } from '../payments/index.js';
import { fakeChannels } from '../payments/testing.js';
import { insertUsageRowForTest } from '../usage/testing.js';
import { submitKyb } from '../merchants/kyb.js';
import { approveSettlementBatch, closeSettlementBatch } from '../settlement/index.js';
import { setBankAccountForTest } from '../settlement/testing.js';
import { createWebhookEndpoint, sendTestEvent } from '../webhooks/index.js';
import { seedChainCursorForTest, seedUnmatchedRegistrationForTest } from '../chain/testing.js';
import type { StaffRole } from '../staff/tables.js';
import { backOffice, backOfficeCommands } from './index.js';
import { CommandRegistry, defineCommand } from './registry.js';
import { type Harness, PDF_BYTES, type TestStaff, openHarness } from './testing/harness.js';

/**
 * The permission policy, pinned. Changing who may do what is a deliberate edit here as well as
 * in the command's file.
 */
const POLICY: Record<string, { roles: StaffRole[]; stepUp: boolean; mutates: boolean; auditsAccess?: true }> = {
  'kyb:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  // Personal data: who looked at whose KYB documents is audited although nothing changes.
  'kyb:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false, auditsAccess: true },
  'kyb:export-document': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false, auditsAccess: true },
  'kyb:approve': { roles: ['admin'], stepUp: true, mutates: true },
  'kyb:reject': { roles: ['admin'], stepUp: true, mutates: true },
  'kyb:request-info': { roles: ['admin'], stepUp: false, mutates: true },
  'merchants:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'merchants:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'merchants:suspend': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:reactivate': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:set-fee': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:destination-history': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'staff:me': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'staff:list': { roles: ['admin'], stepUp: false, mutates: false },
  'staff:add': { roles: ['admin'], stepUp: true, mutates: true },
  'staff:disable': { roles: ['admin'], stepUp: true, mutates: true },
  'audit:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'audit:verify': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:accounts': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:balances': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:show': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:transactions': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:verify': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'fx:set': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'fx:import': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'fx:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'invoices:generate': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'invoices:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'invoices:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'invoices:void': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'invoices:unbilled': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  // Every role: support gets the attention counts only (no money series), see commands/reports.ts.
  'reports:overview': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  // Payments (commands/payments.ts): support reads; refunding sends money back out, so step-up.
  'payments:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'payments:exceptions': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'payments:resolve-exception': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'refunds:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'refunds:create': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'refunds:retry': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'payments:reconcile': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'sandbox:pay': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  // Settlement (commands/settlement.ts): finance closes, two admins approve with step-up.
  'settlement:preview': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:close': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:show': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:approve': { roles: ['admin'], stepUp: true, mutates: true },
  'settlement:reject': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:export': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:complete': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'webhooks:endpoints': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:deliveries': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:resend': { roles: ['admin'], stepUp: false, mutates: true },
  'chain:status': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'chain:unmatched': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'chain:review': { roles: ['admin'], stepUp: false, mutates: true },
};
const ROLES: StaffRole[] = ['admin', 'finance', 'support'];

/** An April invoice for the merchant's sandbox customer, and a posting to show. */
async function invoiceAndPosting(h: Harness, merchantId: string) {
  const scope = { merchantId, environment: 'sandbox' as const };
  await setFxRate(h.ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1', effectiveAt: '2026-01-01T00:00:00Z' }), null);
  const product = await createProduct(h.ctx, scope, { key: 'chat', name: 'Chat' } as never);
  const card = await createRateCard(h.ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' }] } as never);
  await publishRateCard(h.ctx, scope, card.id);
  await createCustomer(h.ctx, scope, { externalId: 'c1', name: 'C1' } as never);
  await createContract(h.ctx, scope, { customerExternalId: 'c1', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-04-01T00:00:00Z' } as never);
  const report = await generateInvoices(h.ctx);
  const { transaction } = await postLedgerTransaction(h.ctx, {
    idempotencyKey: 'registry-test',
    kind: 'adjustment.test',
    cause: { type: 'adjustment', id: 'adj_1' },
    environment: 'sandbox',
    description: 'test posting',
    entries: [
      { account: { type: 'bank', environment: 'sandbox', currency: 'USD' }, side: 'debit', amountMinor: '100' },
      { account: { type: 'fx_gain_loss', environment: 'sandbox', currency: 'USD' }, side: 'credit', amountMinor: '100' },
    ],
  });
  return { invoiceId: report.created[0].invoiceId, ledgerTxId: transaction.id };
}

/**
 * What the payment commands act on: a fake channel installed, an April invoice paid through it
 * (live), an open sandbox order, and a payment exception. Call after `invoiceAndPosting` (its rate).
 */
async function paymentsWorld(h: Harness, merchantId: string) {
  const fake = fakeChannels();
  installPaymentChannels(h.ctx, fake.registry);
  installRefundNotifyUrl(h.ctx, (c) => `https://pay.example/api/webhooks/${c}/refunds`);
  installSandboxPayer(h.ctx, async (order) => {
    await applyChannelNotification(h.ctx, fake.wechat.pay(order.outTradeNo), { environment: 'sandbox' });
    return { callbackStatus: 204 };
  });
  const invoices: Record<string, string> = {};
  for (const environment of ['live', 'sandbox'] as const) {
    const scope = { merchantId, environment };
    const product = await createProduct(h.ctx, scope, { key: 'pay', name: 'Pay' } as never);
    const card = await createRateCard(h.ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' }] } as never);
    await publishRateCard(h.ctx, scope, card.id);
    await createCustomer(h.ctx, scope, { externalId: 'payer', name: 'Payer' } as never);
    const contract = await createContract(h.ctx, scope, {
      customerExternalId: 'payer',
      rateCardId: card.id,
      billingCycle: 'monthly_calendar',
      startsAt: '2026-04-01T00:00:00Z',
      endsAt: '2026-05-01T00:00:00Z',
    } as never);
    await insertUsageRowForTest(h.db, {
      ...scope,
      customerId: contract.customerId,
      idempotencyKey: `pay-${environment}`,
      metric: 'agent_run',
      quantity: '100',
      occurredAt: '2026-04-10T00:00:00.000Z',
      dimensions: '{}',
    });
  }
  const report = await generateInvoices(h.ctx, { merchantId });
  const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (t: string) => `https://pay.example/checkout/${t}` };
  let sandboxOrder = '';
  for (const c of report.created) {
    const { environment } = await h.db.kysely.selectFrom('invoices').select('environment').where('id', '=', c.invoiceId).executeTakeFirstOrThrow();
    invoices[environment] = c.invoiceId;
    const order = await createCheckout(h.ctx, fake.registry, { merchantId, environment, invoiceId: c.invoiceId, channel: 'wechat', ...urls });
    if (environment === 'sandbox') sandboxOrder = order.paymentOrderId;
    else {
      const row = await h.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
      await applyChannelNotification(h.ctx, fake.wechat.pay(row.out_trade_no));
    }
  }
  const exception = await applyChannelNotification(h.ctx, fake.wechat.pay('nobody-ordered-this', { amountFen: 500n }));
  // Refunds stay pending at the channel, so the one created can be asked about again.
  fake.wechat.refundMode = 'pending';
  return { paidInvoice: invoices.live, sandboxOrder, exceptionId: exception.exceptionId! };
}

/**
 * What the settlement commands act on: a merchant with a USD bank account and two April invoices
 * paid through the fake channel (call after `paymentsWorld`). The first is in a batch closed by
 * finance and approved once by another admin; the second waits for settlement:close.
 */
async function settlementWorld(h: Harness, merchantId: string, finance: TestStaff, otherAdmin: TestStaff) {
  const fake = fakeChannels();
  await setBankAccountForTest(h.ctx, merchantId, { holderName: 'Settle Co', accountNumber: '12345678', bankName: 'DBS', swiftBic: 'DBSSSGSG', currency: 'USD' });
  await setFxRate(h.ctx, FxRateInput.parse({ from: 'CNY', to: 'USD', rate: '0.1408', effectiveAt: '2026-01-01T00:00:00Z' }), null);
  const scope = { merchantId, environment: 'live' as const };
  const product = await createProduct(h.ctx, scope, { key: 'settle', name: 'Settle' } as never);
  const card = await createRateCard(h.ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' }] } as never);
  await publishRateCard(h.ctx, scope, card.id);
  const pay = async (n: number) => {
    await createCustomer(h.ctx, scope, { externalId: `settle${n}`, name: `Settle ${n}` } as never);
    const contract = await createContract(h.ctx, scope, {
      customerExternalId: `settle${n}`,
      rateCardId: card.id,
      billingCycle: 'monthly_calendar',
      startsAt: '2026-04-01T00:00:00Z',
      endsAt: '2026-05-01T00:00:00Z',
    } as never);
    await insertUsageRowForTest(h.db, {
      ...scope,
      customerId: contract.customerId,
      idempotencyKey: `settle-${n}`,
      metric: 'agent_run',
      quantity: '100',
      occurredAt: '2026-04-10T00:00:00.000Z',
      dimensions: '{}',
    });
    const report = await generateInvoices(h.ctx, { merchantId });
    const invoiceId = report.created[0].invoiceId;
    const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (t: string) => `https://pay.example/checkout/${t}` };
    const order = await createCheckout(h.ctx, fake.registry, { ...scope, invoiceId, channel: 'alipay', ...urls });
    const row = await h.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
    await applyChannelNotification(h.ctx, fake.alipay.pay(row.out_trade_no, { at: '2026-04-20T00:00:00.000Z' }));
  };
  await pay(1);
  const batch = await closeSettlementBatch(h.ctx, { id: finance.id, role: 'finance' }, { environment: 'live', month: '2026-04', currency: 'USD' });
  await approveSettlementBatch(h.ctx, { id: otherAdmin.id, role: 'admin' }, batch.id);
  await pay(2);
  return { approvedOnce: batch.id };
}

async function merchantWithKyb(h: Harness, n: number, submit = true) {
  const m = await signup(h.ctx, { name: `Merchant ${n}`, email: `m${n}@merchant.test`, password: 'merchant password' } as never);
  if (submit) {
    await submitKyb(h.ctx, m.id, { companyName: `Company ${n}`, registrationNumber: `REG-${n}`, country: 'SG' }, [
      { kind: 'companyRegistration', originalName: 'registration.pdf', content: PDF_BYTES },
      { kind: 'ownerId', originalName: 'owner.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`owner ${n}`)]) },
      { kind: 'bankProof', originalName: 'bank.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`bank ${n}`)]) },
    ]);
  }
  h.clock.advance(1000);
  return m.id;
}

const auditRows = (h: Harness) => h.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq').execute();

describe('back-office command registry', () => {
  let h: Harness;
  let staff: Record<StaffRole, TestStaff>;
  beforeEach(async () => {
    h = await openHarness();
    staff = { admin: await h.staff('admin'), finance: await h.staff('finance'), support: await h.staff('support') };
  });
  afterEach(async () => h.close());

  it('declares every command with the pinned roles, step-up and audit policy', () => {
    const declared = Object.fromEntries(
      backOffice.list().map((c) => [c.name, { roles: [...c.roles].sort(), stepUp: c.stepUp, mutates: c.mutates, ...(c.auditsAccess ? { auditsAccess: c.auditsAccess } : {}) }]),
    );
    const expected = Object.fromEntries(Object.entries(POLICY).map(([k, v]) => [k, { ...v, roles: [...v.roles].sort() }]));
    expect(declared).toEqual(expected);
    // sensitive commands named by the issue need step-up
    for (const name of ['kyb:approve', 'kyb:reject', 'merchants:set-fee', 'staff:disable', 'refunds:create']) expect(backOffice.get(name)?.stepUp).toBe(true);
    // Every mutating command is admin-only, except finance's own desk (FX rates, invoice runs and
    // voids, refunds, payment exceptions, reconciliation, sandbox payments), which finance runs
    // too; support never changes anything.
    const financeDesk = new Set([
      'fx:set',
      'fx:import',
      'invoices:generate',
      'invoices:void',
      'payments:resolve-exception',
      'refunds:create',
      'refunds:retry',
      'payments:reconcile',
      'sandbox:pay',
      'settlement:close',
      'settlement:reject',
      'settlement:export',
      'settlement:complete',
    ]);
    for (const c of backOffice.list().filter((c) => c.mutates)) expect([...c.roles].sort()).toEqual(financeDesk.has(c.name) ? ['admin', 'finance'] : ['admin']);
  });

  describe.each(Object.keys(POLICY))('%s', (name) => {
    it.each(ROLES)('as %s: allowed or refused as declared', async (role) => {
      const result = await h.run(staff[role], name, {});
      const allowed = POLICY[name].roles.includes(role);
      if (allowed) {
        if (!result.ok) expect(result.error.code).not.toBe('role_forbidden');
      } else {
        expect(result).toMatchObject({ ok: false, error: { code: 'role_forbidden', kind: 'forbidden' } });
      }
    });
  });

  it('refuses without a valid session, and names unknown commands', async () => {
    expect(await h.run(undefined, 'kyb:list')).toMatchObject({ ok: false, error: { code: 'session_required', kind: 'unauthenticated' } });
    expect(await h.run('bmst_forged', 'kyb:list')).toMatchObject({ ok: false, error: { code: 'session_invalid' } });
    expect(await h.run(staff.admin, 'kyb:nope')).toMatchObject({ ok: false, error: { code: 'command_unknown' } });
  });

  it('validates input and returns the problem as data', async () => {
    const r = await h.run(staff.admin, 'merchants:set-fee', { merchant: 'mer_x', bps: 'lots' }, staff.admin.nextOtp());
    expect(r).toMatchObject({ ok: false, error: { code: 'validation_failed', kind: 'invalid_input' } });
    if (!r.ok) expect(r.error.message).toMatch(/bps/);
    // CLI-style strings become numbers; a bare flag does not become 1 bps
    const m = await merchantWithKyb(h, 1, false);
    expect(await h.run(staff.admin, 'merchants:set-fee', { merchant: m, bps: true }, staff.admin.nextOtp())).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await h.run(staff.admin, 'merchants:set-fee', { merchant: m, bps: '120' }, staff.admin.nextOtp())).toMatchObject({
      ok: true,
      data: { merchantId: m, serviceFeeBps: 120, previousServiceFeeBps: 80 },
    });
  });

  it('requires a fresh TOTP code for step-up commands and refuses a replayed one', async () => {
    const m1 = await merchantWithKyb(h, 1);
    const m2 = await merchantWithKyb(h, 2);
    expect(await h.run(staff.admin, 'kyb:approve', { merchant: m1 })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    const otp = staff.admin.nextOtp();
    expect(await h.run(staff.admin, 'kyb:approve', { merchant: m1 }, otp)).toMatchObject({ ok: true, data: { status: 'approved' } });
    // the same code again, even for another command or merchant, is refused
    expect(await h.run(staff.admin, 'kyb:approve', { merchant: m2 }, otp)).toMatchObject({ ok: false, error: { code: 'otp_invalid' } });
    expect(await h.run(staff.admin, 'merchants:suspend', { merchant: m2 }, otp)).toMatchObject({ ok: false, error: { code: 'otp_invalid' } });
    // an older code too
    const earlier = staff.admin;
    expect(await h.run(earlier, 'kyb:reject', { merchant: m2, reason: 'documents unreadable' }, '000000')).toMatchObject({ ok: false, error: { code: 'otp_invalid' } });
    expect((await h.db.kysely.selectFrom('merchants').select('kyb_status').where('id', '=', m2).executeTakeFirstOrThrow()).kyb_status).toBe('pending_review');
    // a fresh one works
    expect(await h.run(staff.admin, 'kyb:reject', { merchant: m2, reason: 'documents unreadable' }, staff.admin.nextOtp())).toMatchObject({
      ok: true,
      data: { status: 'rejected' },
    });
  });

  it('ends a disabled staff member’s sessions at once', async () => {
    expect((await h.run(staff.finance, 'kyb:list')).ok).toBe(true);
    expect(await h.run(staff.admin, 'staff:disable', { staff: staff.admin.email }, staff.admin.nextOtp())).toMatchObject({
      ok: false,
      error: { code: 'staff_cannot_disable_self' },
    });
    const r = await h.run(staff.admin, 'staff:disable', { staff: staff.finance.email }, staff.admin.nextOtp());
    expect(r).toMatchObject({ ok: true, data: { status: 'disabled', sessionsEnded: 1 } });
    expect(await h.run(staff.finance, 'kyb:list')).toMatchObject({ ok: false, error: { code: 'session_invalid' } });
  });

  it('writes one audit entry per mutation and per look at KYB data, none for other reads, and the chain verifies', async () => {
    const [m1, m2, m3] = [await merchantWithKyb(h, 1), await merchantWithKyb(h, 2), await merchantWithKyb(h, 3)];
    const money = await invoiceAndPosting(h, m1);
    const pay = await paymentsWorld(h, m3);
    const settle = await settlementWorld(h, await merchantWithKyb(h, 4, false), staff.finance, await h.staff('admin'));
    // A webhook delivery to show, then (finished) to resend.
    const hook = await createWebhookEndpoint(h.ctx, { merchantId: m1, environment: 'live' }, { url: 'https://93.184.216.34/hooks' });
    const delivery = await sendTestEvent(h.ctx, { merchantId: m1, environment: 'live' }, hook.id);
    await h.db.kysely.updateTable('webhook_deliveries').set({ status: 'failed', due_at: '9999-12-31T23:59:59.999Z' }).where('id', '=', delivery.id).execute();
    // What the chain listener leaves behind: a cursor and a registration it could not match.
    const contract = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
    await seedChainCursorForTest(h.ctx, { chainId: 31337, contract, nextBlock: 12, head: 15, safe: 13 });
    const unmatchedLog = await seedUnmatchedRegistrationForTest(h.ctx, { chainId: 31337, contract, onChainMerchantId: '7', blockNumber: 9 });
    const before = (await auditRows(h)).length;

    // every plain read command, successfully: nothing audited
    const reads: Array<[string, unknown]> = [
      ['kyb:list', {}],
      ['merchants:list', { search: 'merchant 2' }],
      ['merchants:show', { merchant: m1 }],
      ['merchants:destination-history', { merchant: m1 }],
      ['staff:me', {}],
      ['staff:list', {}],
      ['audit:list', { limit: '5' }],
      ['audit:verify', {}],
      ['ledger:accounts', {}],
      ['ledger:balances', { merchant: m1 }],
      ['ledger:show', { tx: money.ledgerTxId }],
      ['ledger:verify', {}],
      ['fx:list', { at: '2026-05-01T00:00:00Z' }],
      ['invoices:list', { merchant: m1 }],
      ['invoices:show', { invoice: money.invoiceId }],
      ['invoices:unbilled', { merchant: m1, period: '2026-04', environment: 'sandbox' }],
      ['ledger:transactions', { cause: money.invoiceId }],
      ['reports:overview', { environment: 'sandbox' }],
      ['payments:list', { merchant: m1 }],
      ['payments:exceptions', { status: 'open' }],
      ['refunds:list', { invoice: money.invoiceId }],
      ['settlement:preview', { month: '2026-04', currency: 'USD' }],
      ['settlement:list', {}],
      ['settlement:show', { batch: settle.approvedOnce }],
      ['webhooks:endpoints', { merchant: m1 }],
      ['webhooks:deliveries', { merchant: m1, failing: true }],
      ['webhooks:show', { delivery: delivery.id }],
      ['chain:status', { offline: true }],
      ['chain:unmatched', { state: 'open' }],
    ];
    expect(reads.map(([n]) => n).sort()).toEqual(
      Object.keys(POLICY)
        .filter((n) => !POLICY[n].mutates && !POLICY[n].auditsAccess)
        .sort(),
    );
    for (const [name, input] of reads) {
      const r = await h.run(staff.admin, name, input);
      expect(r, name).toMatchObject({ ok: true });
    }
    expect((await auditRows(h)).length).toBe(before);

    // reads of personal data: one entry each, naming the merchant (and the document kind), never the content
    const accessReads: Array<[string, Record<string, unknown>]> = [
      ['kyb:show', { merchant: m1 }],
      ['kyb:export-document', { merchant: m1, kind: 'ownerId' }],
    ];
    expect(accessReads.map(([n]) => n).sort()).toEqual(
      Object.keys(POLICY)
        .filter((n) => POLICY[n].auditsAccess)
        .sort(),
    );
    for (const [name, input] of accessReads) {
      const r = await h.run(staff.support, name, input);
      expect(r, name).toMatchObject({ ok: true });
      const last = (await auditRows(h)).at(-1)!;
      expect(last, name).toMatchObject({ command: name, actor_staff_id: staff.support.id, actor_email: staff.support.email, outcome: 'ok', at: h.clock.now().toISOString() });
      expect(JSON.parse(last.input), name).toEqual(input);
      expect(JSON.parse(last.touched), name).toContain(m1);
      expect(last.input).not.toContain('contentBase64');
    }
    const exported = await h.run(staff.support, 'kyb:export-document', { merchant: m1, kind: 'ownerId' });
    const exportEntry = (await auditRows(h)).at(-1)!;
    expect(exported.ok && JSON.stringify(exportEntry)).not.toContain(exported.ok ? exported.data.contentBase64 : '?');
    // a refused look is a fact too
    expect(await h.run(staff.support, 'kyb:export-document', { merchant: m1, kind: 'nope' })).toMatchObject({ ok: false });
    expect((await auditRows(h)).at(-1)).toMatchObject({ command: 'kyb:export-document', outcome: 'error', error_code: 'validation_failed' });
    const afterAccess = (await auditRows(h)).length;
    expect(afterAccess).toBe(before + accessReads.length + 2);
    expect(await h.run(staff.finance, 'audit:verify')).toMatchObject({ ok: true, data: { intact: true } });

    // every mutating command, successfully
    const a = staff.admin;
    const mutations: Array<[string, Record<string, unknown>, string[]]> = [
      ['kyb:approve', { merchant: m1 }, [m1]],
      ['kyb:reject', { merchant: m2, reason: 'company registration expired' }, [m2]],
      ['kyb:request-info', { merchant: m3, message: 'please send a clearer bank proof' }, [m3]],
      ['merchants:set-fee', { merchant: m1, bps: 65 }, [m1]],
      ['merchants:suspend', { merchant: m2, reason: 'chargebacks' }, [m2]],
      ['merchants:reactivate', { merchant: m2 }, [m2]],
      ['staff:add', { email: 'new.finance@buffmoney.test', role: 'finance', password: 'a very secret pw' }, []],
      ['staff:disable', { staff: staff.support.id }, [staff.support.id]],
      ['fx:set', { from: 'EUR', to: 'CNY', rate: '7.8' }, []],
      ['fx:import', { csv: 'from,to,rate\nJPY,CNY,0.048\n' }, []],
      ['invoices:generate', {}, []],
      ['invoices:void', { invoice: money.invoiceId, reason: 'issued in error' }, [money.invoiceId, m1]],
      ['payments:resolve-exception', { exception: pay.exceptionId, resolution: 'refunded at the channel' }, [pay.exceptionId]],
      ['refunds:create', { invoice: pay.paidInvoice, amount: '100', reason: 'customer asked' }, [pay.paidInvoice]],
      ['refunds:retry', { refund: '' }, [pay.paidInvoice]],
      ['payments:reconcile', {}, []],
      ['sandbox:pay', { order: pay.sandboxOrder }, [pay.sandboxOrder, m3]],
      ['settlement:close', { month: '2026-04', currency: 'USD' }, []],
      ['settlement:reject', { batch: '', reason: 'closed too early' }, []],
      ['settlement:approve', { batch: settle.approvedOnce }, [settle.approvedOnce]],
      ['settlement:export', { batch: settle.approvedOnce, format: 'pain001' }, [settle.approvedOnce]],
      ['settlement:complete', { batch: settle.approvedOnce, reference: 'DBS-20260502-001' }, [settle.approvedOnce]],
      ['webhooks:resend', { delivery: delivery.id }, [delivery.id, hook.id, m1]],
      ['chain:review', { log: unmatchedLog, resolution: 'matched', merchant: m1, note: 'merchant 1 registered from a second wallet' }, [unmatchedLog, m1]],
    ];
    expect(mutations.map(([n]) => n).sort()).toEqual(
      Object.keys(POLICY)
        .filter((n) => POLICY[n].mutates)
        .sort(),
    );
    for (const [name, input, touched] of mutations) {
      // the refund to ask about again is the one refunds:create just made
      if (name === 'refunds:retry') input.refund = (await h.db.kysely.selectFrom('refunds').select('id').executeTakeFirstOrThrow()).id;
      // the batch to reject is the one settlement:close just made
      if (name === 'settlement:reject')
        input.batch = (await h.db.kysely.selectFrom('settlement_batches').select('id').where('status', '=', 'closed').orderBy('id', 'desc').executeTakeFirstOrThrow()).id;
      const r = await h.run(a, name, input, POLICY[name].stepUp ? a.nextOtp() : undefined);
      expect(r, name).toMatchObject({ ok: true });
      const rows = await auditRows(h);
      const last = rows[rows.length - 1];
      expect(rows.length, name).toBe(afterAccess + mutations.findIndex(([n]) => n === name) + 1);
      expect(last).toMatchObject({ command: name, actor_staff_id: a.id, actor_email: a.email, outcome: 'ok', error_code: null, at: h.clock.now().toISOString() });
      for (const id of touched) expect(JSON.parse(last.touched), name).toContain(id);
    }
    const addEntry = (await auditRows(h)).find((r) => r.command === 'staff:add')!;
    expect(JSON.parse(addEntry.input)).toEqual({ email: 'new.finance@buffmoney.test', role: 'finance', password: '[redacted]' });
    const newStaff = await h.db.kysely.selectFrom('staff').select('id').where('email', '=', 'new.finance@buffmoney.test').executeTakeFirstOrThrow();
    expect(JSON.parse(addEntry.touched)).toEqual([newStaff.id]);
    // the otp is never part of the logged input
    expect((await auditRows(h)).some((r) => r.input.includes('otp'))).toBe(false);

    expect(await h.run(a, 'audit:verify')).toMatchObject({ ok: true, data: { intact: true } });
  });

  it('audits a failed mutation with its error code and leaves nothing changed', async () => {
    const m = await merchantWithKyb(h, 1, false);
    const r = await h.run(staff.admin, 'kyb:approve', { merchant: m }, staff.admin.nextOtp());
    expect(r).toMatchObject({ ok: false, error: { code: 'kyb_not_pending', kind: 'conflict' } });
    const last = (await auditRows(h)).at(-1)!;
    expect(last).toMatchObject({ command: 'kyb:approve', outcome: 'error', error_code: 'kyb_not_pending', actor_staff_id: staff.admin.id });
    expect(JSON.parse(last.touched)).toEqual([m]);
    // refused attempts are recorded too
    await h.run(staff.support, 'merchants:suspend', { merchant: m });
    expect((await auditRows(h)).at(-1)).toMatchObject({ command: 'merchants:suspend', outcome: 'error', error_code: 'role_forbidden', actor_staff_id: staff.support.id });
  });

  it('rolls a failing handler’s writes back together with its audit entry, then audits the failure', async () => {
    const boom = defineCommand({
      name: 'test:boom',
      summary: 'writes, then fails',
      input: z.object({ merchant: z.string() }),
      output: z.object({}),
      roles: ['admin'],
      stepUp: false,
      mutates: true,
      async handler(ctx, input) {
        ctx.touch(input.merchant);
        await ctx.db.kysely.updateTable('merchants').set({ service_fee_bps: 1 }).where('id', '=', input.merchant).execute();
        throw new Error('disk on fire');
      },
    });
    const badOutput = defineCommand({ ...boom, name: 'test:bad-output', handler: async () => ({ surprise: 1 }) as never, output: z.object({ needed: z.string() }) });
    const registry = new CommandRegistry([...backOfficeCommands, boom, badOutput]);
    const m = await merchantWithKyb(h, 1, false);
    const seen: unknown[] = [];
    const r = await registry.execute(h.ctx, { session: staff.admin.session, name: 'test:boom', input: { merchant: m } }, { onUnexpectedError: (e) => seen.push(e) });
    expect(r).toEqual({ ok: false, error: { code: 'internal_error', message: 'Internal error', kind: 'internal' } });
    expect(seen).toHaveLength(1);
    expect((await h.db.kysely.selectFrom('merchants').select('service_fee_bps').where('id', '=', m).executeTakeFirstOrThrow()).service_fee_bps).toBe(80);
    const rows = await auditRows(h);
    expect(rows.filter((x) => x.command === 'test:boom').map((x) => [x.outcome, x.error_code])).toEqual([['error', 'internal_error']]);
    expect(await registry.execute(h.ctx, { session: staff.admin.session, name: 'test:bad-output', input: { merchant: m } })).toMatchObject({
      ok: false,
      error: { code: 'output_invalid' },
    });
    expect((await verifyAuditChain(h.ctx)).ok).toBe(true);
  });

  it('lists KYB pending first, oldest first, and exports documents as base64', async () => {
    const m1 = await merchantWithKyb(h, 1);
    const m2 = await merchantWithKyb(h, 2);
    const m3 = await merchantWithKyb(h, 3);
    await h.run(staff.admin, 'kyb:reject', { merchant: m1, reason: 'wrong company' }, staff.admin.nextOtp());
    const list = await h.run(staff.support, 'kyb:list');
    expect(list.ok && list.data.items.map((i: { merchantId: string }) => i.merchantId)).toEqual([m2, m3, m1]);
    const pendingOnly = await h.run(staff.support, 'kyb:list', { status: 'pending_review' });
    expect(pendingOnly.ok && pendingOnly.data.items).toHaveLength(2);

    const show = await h.run(staff.finance, 'kyb:show', { merchant: m1 });
    expect(show).toMatchObject({ ok: true, data: { kyb: { status: 'rejected', rejectionReason: 'wrong company' }, reviewedBy: staff.admin.email } });
    expect(show.ok && show.data.documents.map((d: { kind: string }) => d.kind).sort()).toEqual(['bankProof', 'companyRegistration', 'ownerId']);
    const doc = await h.run(staff.support, 'kyb:export-document', { merchant: m2, kind: 'bankProof' });
    expect(doc.ok && Buffer.from(doc.data.contentBase64, 'base64').toString()).toBe(`${PDF_BYTES.toString()}bank 2`);
    // outputs are plain JSON: they survive a round trip unchanged
    expect(JSON.parse(JSON.stringify(show))).toEqual(show);
  });

  it('searches and filters merchants', async () => {
    const m1 = await merchantWithKyb(h, 11, false);
    await merchantWithKyb(h, 12, false);
    await h.run(staff.admin, 'merchants:suspend', { merchant: m1 }, staff.admin.nextOtp());
    const suspended = await h.run(staff.support, 'merchants:list', { status: 'suspended' });
    expect(suspended.ok && suspended.data.items.map((i: { id: string }) => i.id)).toEqual([m1]);
    const search = await h.run(staff.support, 'merchants:list', { search: 'M12@merchant' });
    expect(search.ok && search.data.items.map((i: { email: string }) => i.email)).toEqual(['m12@merchant.test']);
    expect(await h.run(staff.admin, 'merchants:suspend', { merchant: m1 }, staff.admin.nextOtp())).toMatchObject({ ok: false, error: { code: 'merchant_already_suspended' } });
  });

  it('audit:verify reports an entry altered directly in the database file', async () => {
    const m = await merchantWithKyb(h, 1);
    await h.run(staff.admin, 'kyb:approve', { merchant: m }, staff.admin.nextOtp());
    await h.run(staff.admin, 'merchants:set-fee', { merchant: m, bps: 50 }, staff.admin.nextOtp());
    expect(await h.run(staff.finance, 'audit:verify')).toMatchObject({ ok: true, data: { intact: true } });
    const target = (await auditRows(h)).find((r) => r.command === 'merchants:set-fee')!;
    await tamperBehindTriggers(h.dbFile, `UPDATE audit_log SET input = '${target.input.replace('50', '5').replaceAll("'", "''")}' WHERE seq = ${target.seq}`);
    const r = await h.run(staff.finance, 'audit:verify');
    expect(r).toMatchObject({ ok: false, error: { code: 'audit_chain_broken', details: { firstBroken: { seq: Number(target.seq), id: target.id } } } });
    if (!r.ok) expect(r.error.message).toContain(`seq ${target.seq} (${target.id})`);
  });
});
