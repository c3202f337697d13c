import type { z } from 'zod';
import { requireProduct } from '../catalog/products.js';
import { rateCardPrices, requireRateCard } from '../catalog/rate-cards.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { requireCustomer } from '../customers/customers.js';
import { findCustomerByExternalId } from '../customers/lookup.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, invalidInput, notFound } from '../errors/index.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { periodContaining } from './periods.js';
import type { ContractView, CreateContractInput, EndContractInput } from './schemas.js';
import type { ContractsTable } from './tables.js';

/**
 * Contracts bind a customer to a published rate-card version of one product, with a billing
 * cycle, a start and an optional end. At most one contract per customer and product may cover
 * any instant (archived ones don't count). Terms never change (the database refuses
 * repointing); to move a customer to a new version, end the contract and start another.
 */

export type ContractRow = ContractsTable & {
  customer_external_id: string;
  product_key: string;
  rate_card_version: number;
  rate_card_currency: string;
};

function selectContracts(ctx: CoreContext, scope: MerchantScope) {
  return ctx.db.kysely
    .selectFrom('contracts')
    .innerJoin('customers', 'customers.id', 'contracts.customer_id')
    .innerJoin('products', 'products.id', 'contracts.product_id')
    .innerJoin('rate_cards', 'rate_cards.id', 'contracts.rate_card_id')
    .selectAll('contracts')
    .select([
      'customers.external_id as customer_external_id',
      'products.key as product_key',
      'rate_cards.version as rate_card_version',
      'rate_cards.currency as rate_card_currency',
    ])
    .where('contracts.merchant_id', '=', scope.merchantId)
    .where('contracts.environment', '=', scope.environment);
}

export function contractStatus(c: Pick<ContractsTable, 'status' | 'ends_at'>, now: Date): ContractView['status'] {
  if (c.status === 'archived') return 'archived';
  if (c.status === 'ended' || (c.ends_at !== null && c.ends_at <= now.toISOString())) return 'ended';
  return 'active';
}

export function contractSchedule(c: Pick<ContractsTable, 'billing_cycle' | 'starts_at' | 'ends_at'>) {
  return { billingCycle: c.billing_cycle, startsAt: new Date(c.starts_at), endsAt: c.ends_at ? new Date(c.ends_at) : null };
}

export function contractView(c: ContractRow, now: Date): ContractView {
  const period = c.status === 'archived' ? null : periodContaining(contractSchedule(c), now);
  return {
    id: c.id,
    customerId: c.customer_id,
    customerExternalId: c.customer_external_id,
    productId: c.product_id,
    productKey: c.product_key,
    rateCardId: c.rate_card_id,
    rateCardVersion: Number(c.rate_card_version),
    pricingCurrency: c.rate_card_currency,
    settlementCurrency: c.settlement_currency,
    billingCycle: c.billing_cycle,
    startsAt: c.starts_at,
    endsAt: c.ends_at,
    status: contractStatus(c, now),
    currentPeriod: period ? { start: period.start.toISOString(), end: period.end.toISOString() } : null,
    createdAt: c.created_at,
    updatedAt: c.updated_at,
    archivedAt: c.archived_at,
  };
}

export async function requireContract(ctx: CoreContext, scope: MerchantScope, contractId: string): Promise<ContractRow> {
  const c = await selectContracts(ctx, scope).where('contracts.id', '=', contractId).executeTakeFirst();
  if (!c) throw notFound('contract_not_found', `No contract ${contractId}`);
  return c;
}

/** Another non-archived contract of the customer for the product overlapping [startsAt, endsAt). */
async function findOverlap(ctx: CoreContext, customerId: string, productId: string, startsAt: string, endsAt: string | null, exceptId?: string) {
  let q = ctx.db.kysely
    .selectFrom('contracts')
    .select(['id', 'starts_at', 'ends_at'])
    .where('customer_id', '=', customerId)
    .where('product_id', '=', productId)
    .where('status', '!=', 'archived')
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', startsAt)]));
  if (endsAt !== null) q = q.where('starts_at', '<', endsAt);
  if (exceptId) q = q.where('id', '!=', exceptId);
  return q.executeTakeFirst();
}

/**
 * Another non-archived contract of the customer, for any product, overlapping [startsAt, endsAt)
 * whose rate card prices one of `metrics`. Events name no product: each is billed on the
 * contract in force at its time whose card prices its metric, so two such contracts at once
 * would make the routing ambiguous.
 */
async function findMetricOverlap(ctx: CoreContext, customerId: string, metrics: ReadonlySet<string>, startsAt: string, endsAt: string | null, exceptId?: string) {
  let q = ctx.db.kysely
    .selectFrom('contracts')
    .innerJoin('rate_cards', 'rate_cards.id', 'contracts.rate_card_id')
    .select(['contracts.id', 'contracts.starts_at', 'contracts.ends_at', 'rate_cards.prices'])
    .where('contracts.customer_id', '=', customerId)
    .where('contracts.status', '!=', 'archived')
    .where((eb) => eb.or([eb('contracts.ends_at', 'is', null), eb('contracts.ends_at', '>', startsAt)]));
  if (endsAt !== null) q = q.where('contracts.starts_at', '<', endsAt);
  if (exceptId) q = q.where('contracts.id', '!=', exceptId);
  for (const other of await q.execute()) {
    const shared = [...new Set(rateCardPrices(other).map((p) => p.metric))].filter((m) => metrics.has(m)).sort();
    if (shared.length > 0) return { ...other, shared };
  }
  return undefined;
}

const metricOverlapError = (other: { id: string; starts_at: string; ends_at: string | null; shared: string[] }) =>
  conflict(
    'contract_metric_overlap',
    `Contract ${other.id} (${other.starts_at} – ${other.ends_at ?? 'open-ended'}) already prices ${other.shared.join(', ')} for this customer in part of this period; an event must bill on exactly one contract`,
    { contractId: other.id, metrics: other.shared },
  );

const overlapError = (other: { id: string; starts_at: string; ends_at: string | null }) =>
  conflict(
    'contract_overlap',
    `Contract ${other.id} (${other.starts_at} – ${other.ends_at ?? 'open-ended'}) already covers part of this period for this customer and product; end it first`,
    { contractId: other.id },
  );

function assertNotInvoiced(customer: { usage_locked_until: string | null }, instant: string, what: string) {
  if (customer.usage_locked_until && instant < customer.usage_locked_until) {
    throw conflict('period_invoiced', `${what} ${instant} falls in a period already invoiced (up to ${customer.usage_locked_until})`, {
      invoicedUntil: customer.usage_locked_until,
    });
  }
}

/**
 * Takes the customer's row lock for the rest of the transaction (a no-op write), so two
 * contract changes for one customer run one after the other on PostgreSQL too and the overlap
 * check cannot be raced. SQLite transactions are serialised already.
 */
async function lockCustomer(ctx: CoreContext, customerId: string): Promise<void> {
  await ctx.db.kysely
    .updateTable('customers')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', customerId)
    .execute();
}

export async function createContract(ctx: CoreContext, scope: MerchantScope, input: z.infer<typeof CreateContractInput>): Promise<ContractView> {
  return inTransaction(ctx, async (tx) => {
    const customer = await requireCustomer(tx, scope, input.customerExternalId);
    if (customer.status === 'archived') throw conflict('customer_archived', 'This customer is archived; it takes no new contracts');
    const rateCard = await requireRateCard(tx, scope, input.rateCardId);
    if (rateCard.status !== 'published') {
      throw conflict('rate_card_not_published', `Rate card ${rateCard.id} is ${rateCard.status}; contracts need a published version`, { status: rateCard.status });
    }
    const product = await requireProduct(tx, scope, rateCard.product_id);
    if (product.status === 'archived') throw conflict('product_archived', 'This product is archived; it takes no new contracts');
    const endsAt = input.endsAt ?? null;
    if (endsAt !== null && endsAt <= input.startsAt) throw invalidInput('contract_period_invalid', 'endsAt must be after startsAt');
    assertNotInvoiced(customer, input.startsAt, 'startsAt');

    await lockCustomer(tx, customer.id);
    const other = await findOverlap(tx, customer.id, product.id, input.startsAt, endsAt);
    if (other) throw overlapError(other);
    const pricing = await findMetricOverlap(tx, customer.id, new Set(rateCardPrices(rateCard).map((p) => p.metric)), input.startsAt, endsAt);
    if (pricing) throw metricOverlapError(pricing);

    let settlementCurrency = input.settlementCurrency;
    if (!settlementCurrency) {
      const merchant = await tx.db.kysely.selectFrom('merchants').select('settlement_currency').where('id', '=', scope.merchantId).executeTakeFirst();
      settlementCurrency = merchant?.settlement_currency ?? rateCard.currency;
    }
    const now = tx.clock.now();
    const row: ContractsTable = {
      id: tx.ids.next('ctr'),
      merchant_id: scope.merchantId,
      environment: scope.environment,
      customer_id: customer.id,
      product_id: product.id,
      rate_card_id: rateCard.id,
      billing_cycle: input.billingCycle,
      starts_at: input.startsAt,
      ends_at: endsAt,
      settlement_currency: settlementCurrency,
      status: 'active',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      archived_at: null,
    };
    await tx.db.kysely.insertInto('contracts').values(row).execute();
    return contractView(
      { ...row, customer_external_id: customer.external_id, product_key: product.key, rate_card_version: rateCard.version, rate_card_currency: rateCard.currency },
      now,
    );
  });
}

export async function getContract(ctx: CoreContext, scope: MerchantScope, contractId: string): Promise<ContractView> {
  return contractView(await requireContract(ctx, scope, contractId), ctx.clock.now());
}

export async function listContracts(
  ctx: CoreContext,
  scope: MerchantScope,
  page: PageRequest & { customerExternalId?: string; productId?: string; status?: ContractView['status'] },
): Promise<Page<ContractView>> {
  const after = decodeCursor(page.cursor, 'ctr');
  const now = ctx.clock.now();
  let q = selectContracts(ctx, scope);
  if (page.customerExternalId !== undefined) {
    const customer = await findCustomerByExternalId(ctx, scope, page.customerExternalId);
    if (!customer) return { data: [], nextCursor: null };
    q = q.where('contracts.customer_id', '=', customer.id);
  }
  if (page.productId) q = q.where('contracts.product_id', '=', page.productId);
  const nowIso = now.toISOString();
  if (page.status === 'archived') q = q.where('contracts.status', '=', 'archived');
  if (page.status === 'ended') {
    q = q.where('contracts.status', '!=', 'archived').where((eb) => eb.or([eb('contracts.status', '=', 'ended'), eb('contracts.ends_at', '<=', nowIso)]));
  }
  if (page.status === 'active') {
    q = q.where('contracts.status', '=', 'active').where((eb) => eb.or([eb('contracts.ends_at', 'is', null), eb('contracts.ends_at', '>', nowIso)]));
  }
  if (after) q = q.where('contracts.id', '>', after);
  const rows = await q
    .orderBy('contracts.id')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => contractView(r, now));
}

/**
 * Sets (or moves) a contract's end. Ending in the past is allowed for migrations and
 * corrections, but never inside an invoiced period; moving the end later must not run into the
 * customer's next contract for the product.
 */
export async function endContract(ctx: CoreContext, scope: MerchantScope, contractId: string, input: z.infer<typeof EndContractInput>): Promise<ContractView> {
  return inTransaction(ctx, async (tx) => {
    const c = await requireContract(tx, scope, contractId);
    if (c.status === 'archived') throw conflict('contract_archived', 'This contract is archived');
    const now = tx.clock.now();
    const endsAt = input.endsAt ?? now.toISOString();
    if (endsAt <= c.starts_at) throw invalidInput('contract_period_invalid', `endsAt must be after startsAt (${c.starts_at})`);
    const customer = await tx.db.kysely.selectFrom('customers').selectAll().where('id', '=', c.customer_id).executeTakeFirstOrThrow();
    assertNotInvoiced(customer, endsAt, 'endsAt');
    if (c.ends_at !== null) assertNotInvoiced(customer, c.ends_at, 'The current end');
    await lockCustomer(tx, c.customer_id);
    const other = await findOverlap(tx, c.customer_id, c.product_id, c.starts_at, endsAt, c.id);
    if (other) throw overlapError(other);
    const card = await tx.db.kysely.selectFrom('rate_cards').select('prices').where('id', '=', c.rate_card_id).executeTakeFirstOrThrow();
    const pricing = await findMetricOverlap(tx, c.customer_id, new Set(rateCardPrices(card).map((p) => p.metric)), c.starts_at, endsAt, c.id);
    if (pricing) throw metricOverlapError(pricing);
    const set = { ends_at: endsAt, status: (endsAt <= now.toISOString() ? 'ended' : 'active') as ContractsTable['status'], updated_at: now.toISOString() };
    await tx.db.kysely.updateTable('contracts').set(set).where('id', '=', c.id).execute();
    return contractView({ ...c, ...set }, now);
  });
}

/**
 * Withdraws a contract that is not running: one that has ended, or one that has not started yet
 * (a mistaken or cancelled contract). The row stays for invoices that reference it. A running
 * contract must be ended first. Archiving twice is harmless.
 */
export async function archiveContract(ctx: CoreContext, scope: MerchantScope, contractId: string): Promise<ContractView> {
  return inTransaction(ctx, async (tx) => {
    const c = await requireContract(tx, scope, contractId);
    const now = tx.clock.now();
    if (c.status === 'archived') return contractView(c, now);
    const nowIso = now.toISOString();
    if (contractStatus(c, now) === 'active' && c.starts_at <= nowIso) {
      throw conflict('contract_running', 'This contract is running; end it before archiving it');
    }
    const set = { status: 'archived' as const, archived_at: nowIso, updated_at: nowIso };
    await tx.db.kysely.updateTable('contracts').set(set).where('id', '=', c.id).execute();
    return contractView({ ...c, ...set }, now);
  });
}

/**
 * The customer's non-archived contracts covering `at` (one per product at most). The usage
 * summary prices with these; invoicing will look contracts up per period instead.
 */
export async function contractsInForce(ctx: CoreContext, scope: MerchantScope, customerId: string, at: Date): Promise<ContractRow[]> {
  const iso = at.toISOString();
  return selectContracts(ctx, scope)
    .where('contracts.customer_id', '=', customerId)
    .where('contracts.status', '!=', 'archived')
    .where('contracts.starts_at', '<=', iso)
    .where((eb) => eb.or([eb('contracts.ends_at', 'is', null), eb('contracts.ends_at', '>', iso)]))
    .orderBy('contracts.id')
    .execute();
}
