import type { z } from 'zod';
import { isUniqueViolation } from '../db/errors.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { conflict, notFound } from '../errors/index.js';
import { inTransaction } from '../db/transaction.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { findCustomerByExternalId } from './lookup.js';
import type { CreateCustomerInput, CustomerView, UpdateCustomerInput } from './schemas.js';
import type { CustomersTable } from './tables.js';

/** One row per end customer of a merchant, addressed by the merchant's own `externalId`. */

function parseMetadata(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function customerView(c: CustomersTable): CustomerView {
  return {
    id: c.id,
    externalId: c.external_id,
    name: c.name,
    email: c.email,
    metadata: parseMetadata(c.metadata),
    status: c.status,
    autoCreated: Number(c.auto_created) === 1,
    createdAt: c.created_at,
    updatedAt: c.updated_at,
  };
}

const customerExists = (externalId: string) => conflict('customer_exists', `A customer with externalId ${JSON.stringify(externalId)} already exists`, { externalId });

/** The customer, or 404 customer_not_found. */
export async function requireCustomer(ctx: CoreContext, scope: MerchantScope, externalId: string): Promise<CustomersTable> {
  const c = await findCustomerByExternalId(ctx, scope, externalId);
  if (!c) throw notFound('customer_not_found', `No customer with externalId ${JSON.stringify(externalId)}`);
  return c;
}

export async function createCustomer(ctx: CoreContext, scope: MerchantScope, input: z.infer<typeof CreateCustomerInput>): Promise<CustomerView> {
  try {
    return await inTransaction(ctx, async (tx) => {
      if (await findCustomerByExternalId(tx, scope, input.externalId)) throw customerExists(input.externalId);
      const now = tx.clock.now().toISOString();
      const row: CustomersTable = {
        id: tx.ids.next('cus'),
        merchant_id: scope.merchantId,
        environment: scope.environment,
        external_id: input.externalId,
        name: input.name,
        email: input.email ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
        status: 'active',
        usage_locked_until: null,
        auto_created: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.db.kysely.insertInto('customers').values(row).execute();
      return customerView(row);
    });
  } catch (e) {
    // Lost a race with another create (or with ingestion's auto-create): same answer.
    if (isUniqueViolation(e)) throw customerExists(input.externalId);
    throw e;
  }
}

export async function getCustomer(ctx: CoreContext, scope: MerchantScope, externalId: string): Promise<CustomerView> {
  return customerView(await requireCustomer(ctx, scope, externalId));
}

export async function listCustomers(ctx: CoreContext, scope: MerchantScope, page: PageRequest & { status?: 'active' | 'archived' }): Promise<Page<CustomerView>> {
  const after = decodeCursor(page.cursor, 'cus');
  let q = ctx.db.kysely.selectFrom('customers').selectAll().where('merchant_id', '=', scope.merchantId).where('environment', '=', scope.environment);
  if (after) q = q.where('id', '>', after);
  if (page.status) q = q.where('status', '=', page.status);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, customerView);
}

export async function updateCustomer(ctx: CoreContext, scope: MerchantScope, externalId: string, patch: z.infer<typeof UpdateCustomerInput>): Promise<CustomerView> {
  return inTransaction(ctx, async (tx) => {
    const c = await requireCustomer(tx, scope, externalId);
    if (c.status === 'archived') throw conflict('customer_archived', 'This customer is archived and can no longer change');
    const set: Partial<CustomersTable> = { updated_at: tx.clock.now().toISOString() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.metadata !== undefined) set.metadata = JSON.stringify(patch.metadata);
    await tx.db.kysely.updateTable('customers').set(set).where('id', '=', c.id).execute();
    return customerView({ ...c, ...set });
  });
}

/**
 * Archives a customer: it stays (invoices reference it), is hidden from `status=active` lists
 * and can no longer change or get contracts. Refused while a contract is still running.
 * Archiving twice is harmless.
 */
export async function archiveCustomer(ctx: CoreContext, scope: MerchantScope, externalId: string): Promise<CustomerView> {
  return inTransaction(ctx, async (tx) => {
    const c = await requireCustomer(tx, scope, externalId);
    if (c.status === 'archived') return customerView(c);
    const now = tx.clock.now().toISOString();
    const running = await tx.db.kysely
      .selectFrom('contracts')
      .select('id')
      .where('customer_id', '=', c.id)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
      .executeTakeFirst();
    if (running) {
      throw conflict(
        'customer_has_active_contract',
        `Contract ${running.id} is running or scheduled; end it (or archive it if it has not started) before archiving this customer`,
        { contractId: running.id },
      );
    }
    const set = { status: 'archived' as const, updated_at: now };
    await tx.db.kysely.updateTable('customers').set(set).where('id', '=', c.id).execute();
    return customerView({ ...c, ...set });
  });
}
