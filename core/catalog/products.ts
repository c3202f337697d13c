import type { z } from 'zod';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../errors/index.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { isUniqueViolation } from '../db/errors.js';
import type { CreateProductInput, ProductView, UpdateProductInput } from './schemas.js';
import type { ProductsTable } from './tables.js';

export function productView(p: ProductsTable): ProductView {
  return {
    id: p.id,
    key: p.key,
    name: p.name,
    description: p.description,
    status: p.status,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
    archivedAt: p.archived_at,
  };
}

const keyTaken = (key: string) => conflict('product_key_taken', `A product with key ${JSON.stringify(key)} already exists`, { key });

/** The product, or 404 product_not_found (also for another merchant's or environment's product). */
export async function requireProduct(ctx: CoreContext, scope: MerchantScope, productId: string): Promise<ProductsTable> {
  const p = await ctx.db.kysely
    .selectFrom('products')
    .selectAll()
    .where('id', '=', productId)
    .where('merchant_id', '=', scope.merchantId)
    .where('environment', '=', scope.environment)
    .executeTakeFirst();
  if (!p) throw notFound('product_not_found', `No product ${productId}`);
  return p;
}

export async function createProduct(ctx: CoreContext, scope: MerchantScope, input: z.infer<typeof CreateProductInput>): Promise<ProductView> {
  try {
    return await inTransaction(ctx, async (tx) => {
      const existing = await tx.db.kysely
        .selectFrom('products')
        .select('id')
        .where('merchant_id', '=', scope.merchantId)
        .where('environment', '=', scope.environment)
        .where('key', '=', input.key)
        .executeTakeFirst();
      if (existing) throw keyTaken(input.key);
      const now = tx.clock.now().toISOString();
      const row: ProductsTable = {
        id: tx.ids.next('prd'),
        merchant_id: scope.merchantId,
        environment: scope.environment,
        key: input.key,
        name: input.name,
        description: input.description ?? null,
        status: 'active',
        created_at: now,
        updated_at: now,
        archived_at: null,
      };
      await tx.db.kysely.insertInto('products').values(row).execute();
      return productView(row);
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw keyTaken(input.key);
    throw e;
  }
}

export async function getProduct(ctx: CoreContext, scope: MerchantScope, productId: string): Promise<ProductView> {
  return productView(await requireProduct(ctx, scope, productId));
}

export async function listProducts(ctx: CoreContext, scope: MerchantScope, page: PageRequest & { status?: 'active' | 'archived'; key?: string }): Promise<Page<ProductView>> {
  const after = decodeCursor(page.cursor, 'prd');
  let q = ctx.db.kysely.selectFrom('products').selectAll().where('merchant_id', '=', scope.merchantId).where('environment', '=', scope.environment);
  if (after) q = q.where('id', '>', after);
  if (page.status) q = q.where('status', '=', page.status);
  if (page.key) q = q.where('key', '=', page.key);
  return toPage(
    await q
      .orderBy('id')
      .limit(page.limit + 1)
      .execute(),
    page.limit,
    productView,
  );
}

export async function updateProduct(ctx: CoreContext, scope: MerchantScope, productId: string, patch: z.infer<typeof UpdateProductInput>): Promise<ProductView> {
  return inTransaction(ctx, async (tx) => {
    const p = await requireProduct(tx, scope, productId);
    if (p.status === 'archived') throw conflict('product_archived', 'This product is archived and can no longer change');
    const set: Partial<ProductsTable> = { updated_at: tx.clock.now().toISOString() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    await tx.db.kysely.updateTable('products').set(set).where('id', '=', p.id).execute();
    return productView({ ...p, ...set });
  });
}

/**
 * Archives a product: it and its rate cards stay (contracts and invoices reference them) and
 * running contracts keep billing, but no new rate card or contract can use it. Its key stays
 * taken. Archiving twice is harmless.
 */
export async function archiveProduct(ctx: CoreContext, scope: MerchantScope, productId: string): Promise<ProductView> {
  return inTransaction(ctx, async (tx) => {
    const p = await requireProduct(tx, scope, productId);
    if (p.status === 'archived') return productView(p);
    const now = tx.clock.now().toISOString();
    const set = { status: 'archived' as const, archived_at: now, updated_at: now };
    await tx.db.kysely.updateTable('products').set(set).where('id', '=', p.id).execute();
    return productView({ ...p, ...set });
  });
}
