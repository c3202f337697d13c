export interface ProductsTable {
  id: string; // prd_<ULID>
  merchant_id: string;
  environment: 'sandbox' | 'live';
  /** The merchant's own stable name for it, e.g. chat_api; unique per merchant and environment, forever. */
  key: string;
  name: string;
  description: string | null;
  status: 'active' | 'archived';
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface RateCardsTable {
  id: string; // rc_<ULID>
  merchant_id: string;
  environment: 'sandbox' | 'live';
  product_id: string;
  /** 1, 2, 3… per product. */
  version: number;
  /** Pricing currency (ISO 4217 or USDC/USDT); prices are in its minor units. */
  currency: string;
  /** draft (editable) → published (frozen forever, the database refuses changes) → archived. */
  status: 'draft' | 'published' | 'archived';
  /** JSON array of prices (core/pricing Price). */
  prices: string;
  /** SHA-256 of the canonical JSON of { currency, prices }. */
  content_hash: string;
  created_at: string;
  updated_at: string;
  published_at: string | null;
  archived_at: string | null;
}

export interface CatalogTables {
  products: ProductsTable;
  rate_cards: RateCardsTable;
}
