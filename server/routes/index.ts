import type { ServerDeps } from '../deps.js';
import type { RouteSpec } from '../http/route.js';
import { catalogRoutes } from './catalog.js';
import { checkoutRoutes } from './checkout.js';
import { contractRoutes } from './contracts.js';
import { customerRoutes } from './customers.js';
import { invoiceRoutes } from './invoices.js';
import { merchantRoutes } from './merchants.js';
import { registerIntentRoutes } from './register-intent.js';
import { payoutRoutes } from './payouts.js';
import { sandboxRoutes } from './sandbox.js';
import { usageEventRoutes } from './usage-events.js';
import { usageSummaryRoutes } from './usage-summary.js';
import { webhookEndpointRoutes } from './webhook-endpoints.js';

/** Every public API route; the router and the OpenAPI document are both built from this list. */
export function allRoutes(deps: ServerDeps): RouteSpec[] {
  return [
    ...merchantRoutes(deps),
    ...registerIntentRoutes(deps),
    ...catalogRoutes(deps),
    ...customerRoutes(deps),
    ...contractRoutes(deps),
    ...usageSummaryRoutes(deps),
    ...invoiceRoutes(deps),
    ...payoutRoutes(deps),
    ...checkoutRoutes(deps),
    ...sandboxRoutes(deps),
    ...usageEventRoutes(deps),
    ...webhookEndpointRoutes(deps),
  ];
}
