import { UsageSummary, UsageSummaryQuery, summariseCustomerUsage } from '../../core/contracts/index.js';
import { CustomerParams } from '../../core/customers/index.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import type { ServerDeps } from '../deps.js';
import { merchantScope } from './catalog.js';

export function usageSummaryRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/customers/:externalId/usage',
      operationId: 'getCustomerUsage',
      summary: "A customer's usage in a window and what it costs so far",
      description:
        "Totals per metric and dimensions over [from, to) (default: the active contract's current billing period, else the current UTC calendar month), priced on the contract in force with the same rating invoicing uses: one line per matched price, each rounded once half-up to whole minor units. Usage no price matches is listed with amountMinor null. storage_gb counts its peak reading, other metrics their sum. Each event is priced on the contract in force whose rate card prices its metric (contracts of one customer never price the same metric at the same time), so a customer with several contracts needs no contractId: each line names its contract, and `contracts` sums per contract. contractId restricts the summary to one contract.",
      tags: ['Usage'],
      auth: { jwt: true, apiKey: true, scope: 'usage:read' },
      params: CustomerParams,
      query: UsageSummaryQuery,
      responses: { 200: { description: 'Usage summary', schema: UsageSummary } },
      errors: [400, 401, 403, 404],
      handler: async ({ ctx, auth, params, query }) => ({ status: 200, body: await summariseCustomerUsage(ctx, merchantScope(auth), params.externalId, query) }),
    }),
  ];
}
