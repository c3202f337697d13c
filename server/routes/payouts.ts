import { PayoutList, PayoutListQuery } from '../../core/settlement/schemas.js';
import { listMerchantPayouts } from '../../core/settlement/index.js';
import type { ServerDeps } from '../deps.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import { merchantScope } from './catalog.js';

/**
 * A merchant's payouts. Read with the `invoice:read` scope: a payout is the settlement of the
 * merchant's invoices (it lists them), and every key that can read invoices can see what they paid.
 */
const read = { jwt: true, apiKey: true, scope: 'invoice:read' } as const;

export function payoutRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/payouts',
      operationId: 'listPayouts',
      summary: 'List payouts',
      description:
        'Newest first, cursor-paginated. One payout per monthly settlement batch the merchant was in, once two BuffMoney admins approved it (`processing`), then `paid` with the bank reference or transaction hash. Each lists the invoices it covered with their gross, fees, refunds and net. Amounts are decimal strings of minor units of the payout currency.',
      tags: ['Payouts'],
      auth: read,
      query: PayoutListQuery,
      responses: { 200: { description: 'A page of payouts', schema: PayoutList } },
      errors: [400, 401, 403],
      errorCodes: { 400: ['invalid_cursor', 'validation_failed'] },
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listMerchantPayouts(ctx, merchantScope(auth), query) }),
    }),
  ];
}
