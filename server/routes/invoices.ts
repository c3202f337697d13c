import { InvoiceList, InvoiceListQuery, InvoiceParams, InvoiceSchema, listInvoices, loadInvoiceView } from '../../core/invoices/index.js';
import type { ServerDeps } from '../deps.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import { merchantScope } from './catalog.js';

const read = { jwt: true, apiKey: true, scope: 'invoice:read' } as const;

export function invoiceRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/invoices',
      operationId: 'listInvoices',
      summary: 'List invoices',
      description:
        'Newest first, cursor-paginated; filters: `status`, `customerExternalId`, `period` (YYYY-MM: periods starting in that UTC month). One invoice per contract per billing period, generated after each period ends plus a grace window for late events (default 1 hour). Amounts are decimal strings of minor units: `subtotalMinor` in the pricing currency, `collectionAmountMinor` in CNY, `platformFeeMinor` and `netSettlementMinor` in the settlement currency. Collection: `paidAt` (null until paid), `refundedAt` (null until refunds reach the amount paid, status `refunded`) and `refundedMinor` (CNY fen refunded so far; a partial refund leaves the invoice `paid`).',
      tags: ['Invoices'],
      auth: read,
      query: InvoiceListQuery,
      responses: { 200: { description: 'A page of invoices', schema: InvoiceList } },
      errors: [400, 401, 403],
      errorCodes: { 400: ['invalid_cursor', 'validation_failed'] },
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listInvoices(ctx, merchantScope(auth), query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/invoices/:invoiceId',
      operationId: 'getInvoice',
      summary: 'An invoice with its lines and FX snapshot',
      description: 'The lines (metric, matched dimensions, quantity, the price applied, amounts) and the FX rates the invoice locked (by id) never change after generation.',
      tags: ['Invoices'],
      auth: read,
      params: InvoiceParams,
      responses: { 200: { description: 'The invoice', schema: InvoiceSchema } },
      errors: [400, 401, 403, 404],
      errorCodes: { 404: ['invoice_not_found'] },
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await loadInvoiceView(ctx, merchantScope(auth), params.invoiceId) }),
    }),
  ];
}
