import type { CoreContext, MerchantScope } from '../context/index.js';
import { compiledQuery } from '../db/compiled.js';
import type { CustomersTable } from './tables.js';

/** The customer a merchant knows by `externalId`, in one environment, or undefined. */
export async function findCustomerByExternalId(ctx: CoreContext, scope: MerchantScope, externalId: string): Promise<CustomersTable | undefined> {
  return ctx.db.kysely
    .selectFrom('customers')
    .selectAll()
    .where('merchant_id', '=', scope.merchantId)
    .where('environment', '=', scope.environment)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

// Runs once per invoice: compiled once per connection.
const lockUpdate = compiledQuery(
  (k, until: string, now: string, customerId: string) =>
    k
      .updateTable('customers')
      .set({ usage_locked_until: until, updated_at: now })
      .where('id', '=', customerId)
      .where((eb) => eb.or([eb('usage_locked_until', 'is', null), eb('usage_locked_until', '<', until)])),
  ['$until', '$now', '$customerId'] as [string, string, string],
);

/**
 * Marks usage before `until` as belonging to an invoiced period: later events that fall there
 * are refused instead of silently changing an issued invoice. Only ever moves forward.
 */
export async function lockCustomerUsageUntil(ctx: CoreContext, customerId: string, until: Date): Promise<void> {
  await lockUpdate(ctx.db.kysely, until.toISOString(), ctx.clock.now().toISOString(), customerId);
}
