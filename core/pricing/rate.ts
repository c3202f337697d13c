import { Dec, exact, plain, roundHalfUpToInteger } from './decimal.js';
import { matchPrice, priceDimensions } from './match.js';
import type { AggregatedUsage, Price, PricingModel } from './schemas.js';

/**
 * The rating function: a rate-card version's prices and aggregated usage in, priced lines out.
 * Pure — no database, no clock — so invoicing can call it with a locked rate-card version and
 * usage aggregated per (contract, period, metric, dimensions), and get the same answer forever.
 *
 * Usage rows that land on the same price are rated together (tiers and packages apply to the
 * combined quantity), giving one line per price used. Each line is rounded once, half-up, to
 * whole minor units. See README.md.
 */

export interface RatedUsage {
  dimensions: Record<string, string>;
  quantity: string;
}

export interface RatedLine {
  metric: string;
  /** The dimensions of the price that matched ({} for the metric's fallback price). */
  dimensions: Record<string, string>;
  /** Index of the price in the rate card's `prices`. */
  priceIndex: number;
  model: PricingModel;
  /** Total quantity rated on this line (sum of `usage`), integer decimal string. */
  quantity: string;
  /** The line amount before rounding, in minor units, as a plain decimal string ("1.875"). */
  amountExact: string;
  /** The line amount rounded once, half-up, to whole minor units ("2"). */
  amountMinor: string;
  /** The usage rows priced on this line, as aggregated. */
  usage: RatedUsage[];
}

export interface RatingResult {
  lines: RatedLine[];
  /** Usage no price of the rate card matches: reported, never silently charged as zero. */
  unpriced: AggregatedUsage[];
  /** Sum of the lines' rounded amounts. */
  totalMinor: string;
}

const INTEGER = /^(0|[1-9][0-9]*)$/;

function amountFor(price: Price, quantity: bigint): InstanceType<typeof Dec> {
  const q = new Dec(quantity.toString());
  if (quantity === 0n) return new Dec(0);
  switch (price.model) {
    case 'per_unit':
      return exact(q.times(price.unitPriceMinor));
    case 'package': {
      const size = BigInt(price.packageSize);
      const packages = (quantity + size - 1n) / size; // ceil: a started package is a whole package
      return new Dec((packages * BigInt(price.packagePriceMinor)).toString());
    }
    case 'graduated': {
      let total = new Dec(0);
      let lower = 0n;
      for (const tier of price.tiers) {
        if (quantity <= lower) break;
        const upper = tier.upTo === null ? quantity : BigInt(tier.upTo) < quantity ? BigInt(tier.upTo) : quantity;
        const slice = upper - lower;
        total = exact(total.plus(new Dec(slice.toString()).times(tier.unitPriceMinor)).plus(tier.flatMinor ?? '0'));
        if (tier.upTo === null) break;
        lower = BigInt(tier.upTo);
      }
      return total;
    }
    case 'volume': {
      const tier = price.tiers.find((t) => t.upTo === null || quantity <= BigInt(t.upTo)) ?? price.tiers[price.tiers.length - 1];
      return exact(q.times(tier.unitPriceMinor).plus(tier.flatMinor ?? '0'));
    }
  }
}

/** The amount for one price and quantity, unrounded and rounded (exported for documentation and tests). */
export function priceQuantity(price: Price, quantity: string): { amountExact: string; amountMinor: string } {
  if (!INTEGER.test(quantity)) throw new Error(`quantity must be a non-negative integer decimal string, got ${JSON.stringify(quantity)}`);
  const amount = amountFor(price, BigInt(quantity));
  return { amountExact: plain(amount), amountMinor: roundHalfUpToInteger(amount) };
}

export function rateUsage(prices: readonly Price[], usage: readonly AggregatedUsage[]): RatingResult {
  const byPrice = new Map<number, { quantity: bigint; usage: RatedUsage[] }>();
  const unpriced: AggregatedUsage[] = [];
  for (const row of usage) {
    if (!INTEGER.test(row.quantity)) throw new Error(`quantity must be a non-negative integer decimal string, got ${JSON.stringify(row.quantity)}`);
    const index = matchPrice(prices, row.metric, row.dimensions);
    if (index < 0) {
      unpriced.push({ metric: row.metric, dimensions: { ...row.dimensions }, quantity: row.quantity });
      continue;
    }
    const acc = byPrice.get(index) ?? { quantity: 0n, usage: [] };
    acc.quantity += BigInt(row.quantity);
    acc.usage.push({ dimensions: { ...row.dimensions }, quantity: row.quantity });
    byPrice.set(index, acc);
  }
  const lines: RatedLine[] = [...byPrice.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, acc]) => {
      const price = prices[index];
      const { amountExact, amountMinor } = priceQuantity(price, acc.quantity.toString());
      return {
        metric: price.metric,
        dimensions: { ...priceDimensions(price) },
        priceIndex: index,
        model: price.model,
        quantity: acc.quantity.toString(),
        amountExact,
        amountMinor,
        usage: acc.usage,
      };
    });
  const totalMinor = lines.reduce((sum, l) => sum + BigInt(l.amountMinor), 0n).toString();
  return { lines, unpriced, totalMinor };
}
