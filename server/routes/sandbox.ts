import { z } from 'zod';
import { DomainError, conflict, forbidden, notFound } from '../../core/errors/index.js';
import { loadPaymentOrder, sandboxPayerFor } from '../../core/payments/index.js';
import type { ServerDeps } from '../deps.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import { merchantScope } from './catalog.js';
import { CheckoutResponse, checkoutResponse, paymentsOf } from './checkout.js';

const PaymentOrderParams = z.object({ paymentOrderId: z.string().min(1).max(64) });

export function sandboxRoutes(deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/sandbox/payment-orders/:paymentOrderId/pay',
      operationId: 'paySandboxPaymentOrder',
      summary: 'Sandbox: pay a payment order as a payer would',
      description:
        "Sandbox only (a sandbox API key, or a dashboard session in sandbox; live → 403 `sandbox_only`). The sandbox channel takes the payment of an `open` order as if a payer scanned its code and paid, and sends this server the notification the real channel would send (signed with the sandbox channel keys, over HTTP to the callback URL); the answer is the order after that notification was applied (`status: paid`, the invoice `paid`, `invoice.paid` sent to your webhook). 404 `payment_order_not_found` for another merchant's order; 409 `payment_order_not_open` (with its `status`) or `payment_order_expired`; 409 `sandbox_payment_refused` when the sandbox channel refuses; 503 `sandbox_callback_failed` when its notification was not acknowledged, `sandbox_channels_unavailable` when this server runs no sandbox channels (BUFFMONEY_SANDBOX_CHANNELS=0).",
      tags: ['Sandbox'],
      auth: { apiKey: true, jwt: true, scope: 'checkout:write' },
      params: PaymentOrderParams,
      responses: { 200: { description: 'The order, paid', schema: CheckoutResponse } },
      errors: [401, 403, 404, 409, 503],
      errorCodes: {
        403: ['sandbox_only'],
        404: ['payment_order_not_found'],
        409: ['payment_order_not_open', 'payment_order_expired', 'sandbox_payment_refused'],
        503: ['sandbox_callback_failed', 'sandbox_channels_unavailable', 'channel_unavailable'],
      },
      handler: async ({ ctx, auth, params }) => {
        const scope = merchantScope(auth);
        if (scope.environment !== 'sandbox') throw forbidden('sandbox_only', 'Only sandbox payment orders can be paid this way; use a sandbox API key');
        const payments = paymentsOf(deps);
        const order = await ctx.db.kysely
          .selectFrom('payment_orders')
          .select(['id', 'channel', 'out_trade_no', 'status', 'expires_at'])
          .where('id', '=', params.paymentOrderId)
          .where('merchant_id', '=', scope.merchantId)
          .where('environment', '=', 'sandbox')
          .executeTakeFirst();
        if (!order) throw notFound('payment_order_not_found', `No payment order ${params.paymentOrderId}`);
        if (order.status !== 'open')
          throw conflict('payment_order_not_open', `Payment order ${order.id} is ${order.status}; only an open order can be paid`, { status: order.status });
        if (Date.parse(order.expires_at) <= ctx.clock.now().getTime())
          throw conflict('payment_order_expired', `Payment order ${order.id} expired at ${order.expires_at}; create a new checkout`);
        const { callbackStatus } = await sandboxPayerFor(ctx)({ channel: order.channel, outTradeNo: order.out_trade_no });
        if (callbackStatus < 200 || callbackStatus > 299) {
          throw new DomainError(
            'unavailable',
            'sandbox_callback_failed',
            `The ${order.channel} notification to ${payments.notifyUrl(order.channel)} was answered ${callbackStatus}; the channel would retry it`,
            {
              retryAfterSeconds: 5,
            },
          );
        }
        return { status: 200, body: checkoutResponse(await loadPaymentOrder(ctx, scope, order.id, payments.hostedUrl)) };
      },
    }),
  ];
}
