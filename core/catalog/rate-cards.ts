import type { z } from 'zod';
import { sha256Hex } from '../auth/encoding.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../errors/index.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { assertPricesUnambiguous } from '../pricing/validate.js';
import type { Price } from '../pricing/schemas.js';
import { canonicalJson } from '../json/index.js';
import { isUniqueViolation } from '../db/errors.js';
import { requireProduct } from './products.js';
import type { CreateRateCardInput, RateCardView, UpdateRateCardInput } from './schemas.js';
import type { RateCardsTable } from './tables.js';

/**
 * Rate cards are versioned per product: each create makes the next version as a draft, a draft
 * may be edited, publishing freezes it forever (the database refuses later changes) and only a
 * published version can back a contract. To change prices, create the next version, publish it,
 * and move contracts to it (end the old contract, start a new one).
 */

type RateCardRow = RateCardsTable & { product_key: string };

/** Stored form of prices: zod-validated, `dimensions` dropped when empty. */
function normalisePrices(prices: readonly Price[]): Price[] {
  return prices.map((p) => {
    const { dimensions, ...rest } = p;
    return (dimensions && Object.keys(dimensions).length > 0 ? { ...rest, dimensions } : rest) as Price;
  });
}

export function rateCardContentHash(currency: string, prices: readonly Price[]): string {
  return sha256Hex(canonicalJson({ currency, prices }));
}

export function rateCardView(r: RateCardRow): RateCardView {
  return {
    id: r.id,
    productId: r.product_id,
    productKey: r.product_key,
    version: Number(r.version),
    currency: r.currency,
    status: r.status,
    prices: JSON.parse(r.prices) as Price[],
    contentHash: r.content_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    publishedAt: r.published_at,
    archivedAt: r.archived_at,
  };
}

function selectRateCards(ctx: CoreContext, scope: MerchantScope) {
  return ctx.db.kysely
    .selectFrom('rate_cards')
    .innerJoin('products', 'products.id', 'rate_cards.product_id')
    .selectAll('rate_cards')
    .select('products.key as product_key')
    .where('rate_cards.merchant_id', '=', scope.merchantId)
    .where('rate_cards.environment', '=', scope.environment);
}

/** The rate card, or 404 rate_card_not_found (also for another merchant's or environment's). */
export async function requireRateCard(ctx: CoreContext, scope: MerchantScope, rateCardId: string): Promise<RateCardRow> {
  const r = await selectRateCards(ctx, scope).where('rate_cards.id', '=', rateCardId).executeTakeFirst();
  if (!r) throw notFound('rate_card_not_found', `No rate card ${rateCardId}`);
  return r;
}

/** A rate card's prices as the rating function takes them. */
export function rateCardPrices(r: Pick<RateCardsTable, 'prices'>): Price[] {
  return JSON.parse(r.prices) as Price[];
}

export async function createRateCard(ctx: CoreContext, scope: MerchantScope, productId: string, input: z.infer<typeof CreateRateCardInput>): Promise<RateCardView> {
  const prices = normalisePrices(input.prices);
  assertPricesUnambiguous(prices);
  // Two drafts created at once may pick the same version; the unique index stops the second,
  // which simply tries again with the next number.
  for (let attempt = 0; ; attempt++) {
    try {
      return await inTransaction(ctx, async (tx) => {
        const product = await requireProduct(tx, scope, productId);
        if (product.status === 'archived') throw conflict('product_archived', 'This product is archived; it takes no new rate cards');
        const last = await tx.db.kysely
          .selectFrom('rate_cards')
          .select((eb) => eb.fn.max('version').as('max'))
          .where('product_id', '=', product.id)
          .executeTakeFirst();
        const now = tx.clock.now().toISOString();
        const row: RateCardsTable = {
          id: tx.ids.next('rc'),
          merchant_id: scope.merchantId,
          environment: scope.environment,
          product_id: product.id,
          version: Number(last?.max ?? 0) + 1,
          currency: input.currency,
          status: 'draft',
          prices: JSON.stringify(prices),
          content_hash: rateCardContentHash(input.currency, prices),
          created_at: now,
          updated_at: now,
          published_at: null,
          archived_at: null,
        };
        await tx.db.kysely.insertInto('rate_cards').values(row).execute();
        return rateCardView({ ...row, product_key: product.key });
      });
    } catch (e) {
      if (isUniqueViolation(e) && attempt < 5) continue;
      throw e;
    }
  }
}

export async function getRateCard(ctx: CoreContext, scope: MerchantScope, rateCardId: string): Promise<RateCardView> {
  return rateCardView(await requireRateCard(ctx, scope, rateCardId));
}

export async function listRateCards(
  ctx: CoreContext,
  scope: MerchantScope,
  productId: string,
  page: PageRequest & { status?: RateCardsTable['status'] },
): Promise<Page<RateCardView>> {
  await requireProduct(ctx, scope, productId);
  const after = decodeCursor(page.cursor, 'rc');
  let q = selectRateCards(ctx, scope).where('rate_cards.product_id', '=', productId);
  if (after) q = q.where('rate_cards.id', '>', after);
  if (page.status) q = q.where('rate_cards.status', '=', page.status);
  return toPage(
    await q
      .orderBy('rate_cards.id')
      .limit(page.limit + 1)
      .execute(),
    page.limit,
    rateCardView,
  );
}

const notDraft = (r: RateCardsTable) =>
  conflict('rate_card_not_draft', `Rate card ${r.id} (version ${r.version}) is ${r.status}; published versions are frozen — create the next version instead`, {
    status: r.status,
  });

export async function updateRateCard(ctx: CoreContext, scope: MerchantScope, rateCardId: string, patch: z.infer<typeof UpdateRateCardInput>): Promise<RateCardView> {
  return inTransaction(ctx, async (tx) => {
    const r = await requireRateCard(tx, scope, rateCardId);
    if (r.status !== 'draft') throw notDraft(r);
    const currency = patch.currency ?? r.currency;
    const prices = patch.prices ? normalisePrices(patch.prices) : rateCardPrices(r);
    assertPricesUnambiguous(prices);
    const set = {
      currency,
      prices: JSON.stringify(prices),
      content_hash: rateCardContentHash(currency, prices),
      updated_at: tx.clock.now().toISOString(),
    };
    const res = await tx.db.kysely.updateTable('rate_cards').set(set).where('id', '=', r.id).where('status', '=', 'draft').executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw notDraft({ ...r, status: 'published' });
    return rateCardView({ ...r, ...set });
  });
}

/** Freezes a draft forever. Publishing twice is a 409: the first publish is the one that counts. */
export async function publishRateCard(ctx: CoreContext, scope: MerchantScope, rateCardId: string): Promise<RateCardView> {
  return inTransaction(ctx, async (tx) => {
    const r = await requireRateCard(tx, scope, rateCardId);
    if (r.status !== 'draft') throw notDraft(r);
    const product = await requireProduct(tx, scope, r.product_id);
    if (product.status === 'archived') throw conflict('product_archived', 'This product is archived; its drafts cannot be published');
    assertPricesUnambiguous(rateCardPrices(r));
    const now = tx.clock.now().toISOString();
    const set = { status: 'published' as const, published_at: now, updated_at: now };
    const res = await tx.db.kysely.updateTable('rate_cards').set(set).where('id', '=', r.id).where('status', '=', 'draft').executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw notDraft({ ...r, status: 'published' });
    return rateCardView({ ...r, ...set });
  });
}

/**
 * Archives a version: contracts already on it keep billing with it, new contracts cannot use
 * it. A draft can be archived to abandon it. Archiving twice is harmless.
 */
export async function archiveRateCard(ctx: CoreContext, scope: MerchantScope, rateCardId: string): Promise<RateCardView> {
  return inTransaction(ctx, async (tx) => {
    const r = await requireRateCard(tx, scope, rateCardId);
    if (r.status === 'archived') return rateCardView(r);
    const now = tx.clock.now().toISOString();
    const set = { status: 'archived' as const, archived_at: now, updated_at: now };
    await tx.db.kysely.updateTable('rate_cards').set(set).where('id', '=', r.id).execute();
    return rateCardView({ ...r, ...set });
  });
}
