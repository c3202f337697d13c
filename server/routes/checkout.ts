import { z } from 'zod';
import { DomainError } from '../../core/errors/index.js';
import { InvoiceParams } from '../../core/invoices/index.js';
import { CHANNEL_NAMES, type CheckoutView, createCheckout, paymentChannelsFor } from '../../core/payments/index.js';
import type { ServerDeps } from '../deps.js';
import { IDEMPOTENCY_DESCRIPTION, withIdempotencyKey } from '../http/idempotency.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import type { PaymentChannelSetup } from '../payments/index.js';
import { merchantScope } from './catalog.js';

export const CheckoutInput = z.strictObject({
  channel: z.enum(CHANNEL_NAMES).default('wechat').meta({ description: 'The channel the payer pays through (default `wechat`).' }),
});

export const CheckoutResponse = z
  .strictObject({
    paymentOrderId: z.string(),
    channel: z.enum(CHANNEL_NAMES),
    status: z.enum(['creating', 'open', 'paid', 'closed', 'expired', 'failed']).meta({ description: 'The payment order: `open` while it takes payment, `paid` once paid.' }),
    amountMinor: z
      .string()
      .regex(/^[0-9]+$/)
      .meta({ description: "The amount to pay in CNY fen (the invoice's collectionAmountMinor), a decimal string." }),
    currency: z.literal('CNY'),
    expiresAt: z.iso.datetime().meta({ description: 'When the order stops taking payment (2 hours after it was made).' }),
    checkout: z.strictObject({
      codeUrl: z.string().nullable().meta({ description: 'What the payer scans: WeChat Pay `code_url` (weixin://…) or Alipay `qr_code` (https://qr.alipay.com/…).' }),
      qr: z.string().nullable().meta({ description: 'The same as an SVG image, `data:image/svg+xml;base64,…`, ready for an <img src>.' }),
      url: z.string().meta({ description: 'The hosted checkout page of this order (`<public URL>/pay/<token>`): show it or redirect the payer there.' }),
    }),
  })
  .meta({ id: 'CheckoutResponse', description: 'A payment order of an invoice and what the payer needs to pay it.' });

/** The API view of a payment order (the seed's CheckoutResponse). */
export function checkoutResponse(view: CheckoutView): z.infer<typeof CheckoutResponse> {
  return {
    paymentOrderId: view.paymentOrderId,
    channel: view.channel,
    status: view.status,
    amountMinor: view.amountMinor,
    currency: 'CNY',
    expiresAt: view.expiresAt,
    checkout: { codeUrl: view.checkout.codeUrl, qr: view.checkout.qr, url: view.checkout.url },
  };
}

/** The payment setup of the server, or 503 `channel_not_configured` for apps built without one. */
export function paymentsOf(deps: ServerDeps): PaymentChannelSetup {
  if (!deps.payments) throw new DomainError('unavailable', 'channel_not_configured', 'This server has no payment channels');
  return deps.payments;
}

export const INVOICE_STATE_CONFLICTS = ['invoice_already_paid', 'invoice_void', 'invoice_refunded', 'invoice_not_payable'];

export function checkoutRoutes(deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/invoices/:invoiceId/checkout',
      operationId: 'createCheckout',
      summary: 'Create or reuse a payment order for an invoice',
      description: `The open, unexpired payment order of the invoice for the channel, or a new one (the invoice moves \`finalized\` → \`payment_pending\`). 200 either way, with the QR payload (\`checkout.codeUrl\`, as an SVG data URL in \`checkout.qr\`) and the hosted checkout page (\`checkout.url\`). An order takes payment for 2 hours; after that a checkout makes a new one. After payment the channel calls back, the invoice turns \`paid\` and \`invoice.paid\` is sent to your webhook.

Errors: 404 \`invoice_not_found\` (also another merchant's or environment's invoice); 409 \`invoice_already_paid\`, \`invoice_void\`, \`invoice_refunded\`, \`invoice_not_payable\` (a draft, or nothing to collect), each with the invoice's \`status\`; 503 \`channel_unavailable\` (the channel did not answer or refused; \`channel\`, \`channelCode\`, \`retryable\`), \`channel_not_configured\` (live collection through that channel is not set up), \`checkout_busy\` (a concurrent checkout changed the order: retry).

${IDEMPOTENCY_DESCRIPTION}`,
      tags: ['Checkout'],
      auth: { apiKey: true, jwt: true, scope: 'checkout:write' },
      params: InvoiceParams,
      body: CheckoutInput,
      responses: {
        200: {
          description: 'The payment order (new or reused)',
          schema: CheckoutResponse,
          headers: { 'Idempotent-Replayed': 'true when this is the stored response of an earlier request with the same Idempotency-Key' },
        },
      },
      errors: [400, 401, 403, 404, 409, 503],
      errorCodes: {
        400: ['idempotency_key_invalid', 'channel_invalid'],
        404: ['invoice_not_found'],
        409: [...INVOICE_STATE_CONFLICTS, 'idempotency_key_reused', 'idempotency_key_in_use'],
        503: ['channel_unavailable', 'channel_not_configured', 'checkout_busy'],
      },
      handler: async ({ ctx, auth, params, body, req }) => {
        const scope = merchantScope(auth);
        return withIdempotencyKey(ctx, { scope, key: req.headers['idempotency-key'], operation: `POST /invoices/${params.invoiceId}/checkout`, request: body }, async () => {
          const payments = paymentsOf(deps);
          const view = await createCheckout(ctx, paymentChannelsFor(ctx), {
            merchantId: scope.merchantId,
            environment: scope.environment,
            invoiceId: params.invoiceId,
            channel: body.channel,
            notifyUrl: payments.notifyUrl,
            hostedUrl: payments.hostedUrl,
          });
          return { status: 200, body: checkoutResponse(view) };
        });
      },
    }),
  ];
}
