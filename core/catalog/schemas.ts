import { z } from 'zod';
import { SUPPORTED_CURRENCIES } from '../money/currencies.js';
import { PageQuery, pageOf } from '../pagination/index.js';
import { Price } from '../pricing/schemas.js';

/** Request and response shapes of the products and rate-cards API; the OpenAPI document is built from these. */

export const ProductKey = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . - (at most 64), e.g. "chat_api"')
  .meta({ description: "The merchant's stable name for the product, e.g. chat_api; unique per merchant and environment, never reused." });

export const CreateProductInput = z
  .strictObject({
    key: ProductKey,
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).optional(),
  })
  .meta({ id: 'CreateProductInput' });

export const UpdateProductInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().trim().max(2000).nullable().optional(),
  })
  .meta({ id: 'UpdateProductInput' });

export const ProductView = z
  .object({
    id: z.string().meta({ description: 'prd_…' }),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(['active', 'archived']),
    createdAt: z.string(),
    updatedAt: z.string(),
    archivedAt: z.string().nullable(),
  })
  .meta({ id: 'Product' });
export type ProductView = z.infer<typeof ProductView>;

export const ProductList = pageOf(ProductView, 'ProductList');
export const ListProductsQuery = PageQuery.extend({
  status: z.enum(['active', 'archived']).optional(),
  key: ProductKey.optional().meta({ description: 'Only the product with this key (find a product by its key).' }),
});
export const ProductParams = z.object({ productId: z.string().min(1).max(64) });

export const PricingCurrency = z.enum(SUPPORTED_CURRENCIES).meta({ description: 'Pricing currency; every price is in its minor units (USD cents, JPY yen, USDC 10⁻⁶).' });
export const RatePrices = z.array(Price).min(1).max(200);

export const CreateRateCardInput = z.strictObject({ currency: PricingCurrency, prices: RatePrices }).meta({ id: 'CreateRateCardInput' });

export const UpdateRateCardInput = z
  .strictObject({ currency: PricingCurrency.optional(), prices: RatePrices.optional() })
  .meta({ id: 'UpdateRateCardInput', description: 'Drafts only. `prices` replaces the whole list.' });

export const RateCardView = z
  .object({
    id: z.string().meta({ description: 'rc_…' }),
    productId: z.string(),
    productKey: z.string(),
    version: z.number().int().meta({ description: '1, 2, 3… per product.' }),
    currency: z.string(),
    status: z.enum(['draft', 'published', 'archived']),
    prices: z.array(Price),
    contentHash: z.string().meta({ description: 'SHA-256 of the canonical JSON of { currency, prices }: what an invoice locks.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
    publishedAt: z.string().nullable(),
    archivedAt: z.string().nullable(),
  })
  .meta({ id: 'RateCard' });
export type RateCardView = z.infer<typeof RateCardView>;

export const RateCardList = pageOf(RateCardView, 'RateCardList');
export const ListRateCardsQuery = PageQuery.extend({ status: z.enum(['draft', 'published', 'archived']).optional() });
export const RateCardParams = z.object({ rateCardId: z.string().min(1).max(64) });
