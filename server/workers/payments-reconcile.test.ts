import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, ManualClock } from '../../core/context/index.js';
import type { ReconcileReport } from '../../core/payments/index.js';
import { finalizedInvoices } from '../../core/payments/testing.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { describeReconcileReport, startPaymentsReconcile } from './payments-reconcile.js';

describe('the payments reconcile worker', () => {
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  let server: TestServer;
  let invoiceId: string;
  let key: string;

  beforeAll(async () => {
    server = await startTestServer({ clock });
    const merchant = await signupMerchant(server);
    key = merchant.sandboxKey;
    [invoiceId] = await finalizedInvoices(server.ctx, clock, [{ merchantId: merchant.id, environment: 'sandbox', customer: 'rec_a' }]);
  });
  afterAll(async () => server?.stop());

  it('runs only while leading, and ends an expired order at the sandbox channel', async () => {
    const checkout = await server.call('POST', `/api/v1/invoices/${invoiceId}/checkout`, { headers: { authorization: `Bearer ${key}` }, body: { channel: 'wechat' } });
    expect(checkout.status, checkout.text).toBe(200);
    clock.advance(3 * HOUR);
    const reports: ReconcileReport[] = [];
    const leadership = { isLeader: false };
    const worker = startPaymentsReconcile(server.ctx, { intervalMs: 60_000, leadership, onReport: (r) => reports.push(r), onError: (e) => reports.push(e as never) });
    try {
      worker.wake();
      await until(() => worker.runs >= 1);
      expect(reports).toEqual([]);
      leadership.isLeader = true;
      worker.wake();
      await until(() => worker.runs >= 2);
      expect(reports).toHaveLength(1);
      expect(reports[0].differences).toMatchObject([{ subject: 'order', id: checkout.body.paymentOrderId, found: 'expired_open', channelState: 'open', did: 'expired' }]);
      expect(describeReconcileReport(reports[0])[0]).toContain('expired_open; channel says open; did expired');
      expect(server.sandboxPeers!.wechat.orders.get([...server.sandboxPeers!.wechat.orders.keys()][0])?.tradeState).toBe('CLOSED');
    } finally {
      await worker.stop();
    }
  });
});

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
}
