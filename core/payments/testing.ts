/**
 * Test support (tests only, not exported from index.ts): finalized invoices to collect, and a
 * fake in-memory payment channel that behaves like WeChat Pay / Alipay as far as the payments
 * core can tell (idempotent on out-trade and out-refund numbers, closes, queries, notifications).
 */
import { createProduct } from '../catalog/products.js';
import { createRateCard, publishRateCard } from '../catalog/rate-cards.js';
import type { CoreContext, Environment, ManualClock } from '../context/index.js';
import { createContract } from '../contracts/contracts.js';
import { createCustomer } from '../customers/customers.js';
import { FxRateInput, setFxRate } from '../fx/index.js';
import { generateInvoices } from '../invoices/index.js';
import { insertUsageRowForTest } from '../usage/testing.js';
import {
  ChannelError,
  type ChannelName,
  type ChannelOrderState,
  type ChannelRefundInput,
  type ChannelRefundResult,
  type ChannelReply,
  type CreateChannelOrderInput,
  type CreatedChannelOrder,
  type PaymentChannel,
  type VerifiedNotification,
} from './channels/types.js';
import type { ChannelRegistry } from './shared.js';

export interface InvoiceSpec {
  merchantId: string;
  environment?: Environment;
  customer: string;
  /** agent_run at 10 USD cents; 1,000 runs = 10,000 cents = 71,234 fen at 7.1234. */
  runs?: string;
  settlementCurrency?: string;
}

/**
 * Finalized invoices for May 2026, one per spec (USD pricing, collected in CNY at 7.1234); the
 * clock is left at 2026-06-02T00:00Z. Merchants must exist. Returns invoice ids in spec order.
 */
export async function finalizedInvoices(ctx: CoreContext, clock: ManualClock, specs: InvoiceSpec[]): Promise<string[]> {
  await setFxRate(ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1234', effectiveAt: '2026-01-01T00:00:00Z', source: 'test' }), null);
  const byContract = new Map<string, number>();
  for (const [i, spec] of specs.entries()) {
    const scope = { merchantId: spec.merchantId, environment: spec.environment ?? ('live' as const) };
    const product = await createProduct(ctx, scope, { key: `p_${spec.customer}`, name: 'P' } as never);
    const card = await createRateCard(ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] } as never);
    await publishRateCard(ctx, scope, card.id);
    await createCustomer(ctx, scope, { externalId: spec.customer, name: spec.customer } as never);
    const contract = await createContract(ctx, scope, {
      customerExternalId: spec.customer,
      rateCardId: card.id,
      billingCycle: 'monthly_calendar',
      startsAt: '2026-05-01T00:00:00Z',
      settlementCurrency: spec.settlementCurrency,
    } as never);
    await insertUsageRowForTest(ctx.db, {
      ...scope,
      customerId: contract.customerId,
      idempotencyKey: `pay-test-${spec.merchantId}-${spec.customer}`,
      metric: 'agent_run',
      quantity: spec.runs ?? '1000',
      occurredAt: '2026-05-10T00:00:00.000Z',
      dimensions: '{}',
    });
    byContract.set(contract.id, i);
  }
  clock.set('2026-06-02T00:00:00.000Z');
  const report = await generateInvoices(ctx);
  if (report.failed.length > 0) throw new Error(`invoice generation failed: ${JSON.stringify(report.failed)}`);
  const ids: string[] = [];
  for (const c of report.created) ids[byContract.get(c.contractId)!] = c.invoiceId;
  return ids;
}

type FakeMethod = 'createOrder' | 'queryOrder' | 'closeOrder' | 'refund' | 'queryRefund';

interface FakeOrder {
  input: CreateChannelOrderInput;
  codeUrl: string;
  state: 'open' | 'paid' | 'closed';
  transactionId?: string;
  paidFen?: bigint;
  paidAt?: string;
}

/**
 * An in-memory channel. `failures` makes the next call of a method throw, either before it acts
 * (`before`: the request never arrived) or after (`after`: it acted, the answer was lost).
 */
export class FakeChannel implements PaymentChannel {
  readonly orders = new Map<string, FakeOrder>();
  readonly refunds = new Map<string, { outTradeNo: string; refundId: string; refundFen: bigint; state: 'succeeded' | 'pending' }>();
  readonly calls: Array<{ method: FakeMethod; key: string }> = [];
  /** How refunds answer: at once, pending until `settleRefund`, or refused. */
  refundMode: 'succeeded' | 'pending' | 'failed' = 'succeeded';
  private failures: Array<{ method: FakeMethod; when: 'before' | 'after'; retryable: boolean }> = [];
  private seq = 0;

  constructor(readonly name: ChannelName) {}

  failNext(method: FakeMethod, when: 'before' | 'after' = 'before', retryable = true): void {
    this.failures.push({ method, when, retryable });
  }

  private async step<T>(method: FakeMethod, key: string, act: () => T): Promise<T> {
    this.calls.push({ method, key });
    await new Promise((r) => setImmediate(r));
    const i = this.failures.findIndex((f) => f.method === method);
    const failure = i >= 0 ? this.failures.splice(i, 1)[0] : undefined;
    const fail = () => new ChannelError(this.name, failure!.retryable ? 'network' : 'PARAM_ERROR', `${method} failed (fake)`, failure!.retryable);
    if (failure?.when === 'before') throw fail();
    const result = act();
    if (failure?.when === 'after') throw fail();
    return result;
  }

  callsOf(method: FakeMethod): string[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.key);
  }

  createOrder(input: CreateChannelOrderInput): Promise<CreatedChannelOrder> {
    return this.step('createOrder', input.outTradeNo, () => {
      const prior = this.orders.get(input.outTradeNo);
      if (prior) return { codeUrl: prior.codeUrl };
      const codeUrl = `weixin://wxpay/bizpayurl?pr=${input.outTradeNo}`;
      this.orders.set(input.outTradeNo, { input, codeUrl, state: 'open' });
      return { codeUrl };
    });
  }

  queryOrder(outTradeNo: string): Promise<ChannelOrderState> {
    return this.step('queryOrder', outTradeNo, (): ChannelOrderState => {
      const o = this.orders.get(outTradeNo);
      if (!o) return { state: 'not_found' };
      if (o.state === 'paid') return { state: 'paid', transactionId: o.transactionId!, amountFen: o.paidFen!, paidAt: o.paidAt! };
      return { state: o.state };
    });
  }

  closeOrder(outTradeNo: string): Promise<void> {
    return this.step('closeOrder', outTradeNo, () => {
      const o = this.orders.get(outTradeNo);
      if (o?.state === 'paid') throw new ChannelError(this.name, 'ORDERPAID', 'already paid', false);
      if (o) o.state = 'closed';
    });
  }

  /** The payer pays (at the channel); returns the notification the channel would send. */
  pay(outTradeNo: string, opts: { amountFen?: bigint; transactionId?: string; at?: string } = {}): Extract<VerifiedNotification, { kind: 'payment' }> {
    const o = this.orders.get(outTradeNo);
    const amountFen = opts.amountFen ?? o?.input.amountFen ?? 1n;
    const transactionId = opts.transactionId ?? `4200${++this.seq}${outTradeNo.slice(-6)}`;
    const paidAt = opts.at ?? '2026-06-02T00:05:00.000Z';
    if (o) Object.assign(o, { state: 'paid', transactionId, paidAt, paidFen: amountFen });
    return { kind: 'payment', channel: this.name, outTradeNo, transactionId, amountFen, paid: true, tradeState: 'SUCCESS', paidAt };
  }

  refund(input: ChannelRefundInput): Promise<ChannelRefundResult> {
    return this.step('refund', input.outRefundNo, (): ChannelRefundResult => {
      if (this.refundMode === 'failed') return { state: 'failed', reason: 'NOT_ENOUGH (fake)' };
      const prior = this.refunds.get(input.outRefundNo);
      if (prior)
        return prior.state === 'succeeded'
          ? { state: 'succeeded', refundId: prior.refundId, refundFen: prior.refundFen }
          : { state: 'pending', refundId: prior.refundId, refundFen: prior.refundFen };
      const r = { outTradeNo: input.outTradeNo, refundId: `5030${++this.seq}`, refundFen: input.refundFen, state: this.refundMode as 'succeeded' | 'pending' };
      this.refunds.set(input.outRefundNo, r);
      return r.state === 'succeeded' ? { state: 'succeeded', refundId: r.refundId, refundFen: r.refundFen } : { state: 'pending', refundId: r.refundId, refundFen: r.refundFen };
    });
  }

  /** A pending refund completes; returns its notification. */
  settleRefund(outRefundNo: string): VerifiedNotification {
    const r = this.refunds.get(outRefundNo)!;
    r.state = 'succeeded';
    return {
      kind: 'refund',
      channel: this.name,
      outTradeNo: r.outTradeNo,
      outRefundNo,
      refundId: r.refundId,
      refundFen: r.refundFen,
      state: 'succeeded',
      channelStatus: 'SUCCESS',
    };
  }

  queryRefund(_outTradeNo: string, outRefundNo: string): Promise<ChannelRefundResult | { state: 'not_found' }> {
    return this.step('queryRefund', outRefundNo, () => {
      const r = this.refunds.get(outRefundNo);
      if (!r) return { state: 'not_found' as const };
      return r.state === 'succeeded'
        ? { state: 'succeeded' as const, refundId: r.refundId, refundFen: r.refundFen }
        : { state: 'pending' as const, refundId: r.refundId, refundFen: r.refundFen };
    });
  }

  /** Total refunded at the channel for an order. */
  refundedFen(outTradeNo: string): bigint {
    return [...this.refunds.values()].filter((r) => r.outTradeNo === outTradeNo && r.state === 'succeeded').reduce((s, r) => s + r.refundFen, 0n);
  }

  verifyNotification(): VerifiedNotification {
    throw new Error('FakeChannel: notifications are made with pay() / settleRefund()');
  }

  acknowledge(): ChannelReply {
    return { status: 204 };
  }

  refuse(message: string, status = 500): ChannelReply {
    return { status, body: message };
  }
}

export function fakeChannels(): { wechat: FakeChannel; alipay: FakeChannel; registry: ChannelRegistry } {
  const wechat = new FakeChannel('wechat');
  const alipay = new FakeChannel('alipay');
  return { wechat, alipay, registry: (name) => (name === 'wechat' ? wechat : alipay) };
}
