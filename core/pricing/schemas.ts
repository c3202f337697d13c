import { z } from 'zod';
import { USAGE_METRICS } from '../usage/tables.js';

/**
 * The wire and storage shape of rate-card prices. Money and quantities are decimal strings:
 * unit prices may be fractional minor units ("0.00015"), everything else is a whole number.
 */

/** Non-negative decimal, fractional allowed: "0", "12", "0.00015". No sign, exponent or leading zeros. */
export const NonNegativeDecimalString = z
  .string()
  .max(64)
  .regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a non-negative decimal string such as "0.00015" (no sign, exponent or leading zeros)');

/** Non-negative whole number as a decimal string: "0", "150", "1000000". */
export const NonNegativeIntegerString = z
  .string()
  .max(64)
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative integer as a decimal string, e.g. "150"');

/** Positive whole number as a decimal string: "1", "1000000". */
export const PositiveIntegerString = z
  .string()
  .max(64)
  .regex(/^[1-9][0-9]*$/, 'must be a positive integer as a decimal string, e.g. "1000000"');

export const Metric = z.enum(USAGE_METRICS).meta({ id: 'UsageMetric' });

export const DimensionKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'dimension names are letters, digits, _ . : -');
export const Dimensions = z
  .record(DimensionKey, z.string().max(256))
  .refine((d) => Object.keys(d).length <= 10, 'at most 10 dimensions')
  .meta({
    id: 'PriceDimensions',
    description: 'The event dimensions this price applies to, e.g. {"model": "gpt-5"}. Omit (or {}) for the fallback price of the metric.',
  });

const base = { metric: Metric, dimensions: Dimensions.optional() };

export const PerUnitPrice = z
  .strictObject({
    ...base,
    model: z.literal('per_unit'),
    unitPriceMinor: NonNegativeDecimalString.meta({ description: 'Price of one unit in minor units of the rate card currency; fractional allowed, e.g. "0.00015".' }),
  })
  .meta({ id: 'PerUnitPrice', description: 'amount = quantity × unitPriceMinor' });

export const PackagePrice = z
  .strictObject({
    ...base,
    model: z.literal('package'),
    packageSize: PositiveIntegerString.meta({ description: 'Units per package, e.g. "1000000".' }),
    packagePriceMinor: NonNegativeIntegerString.meta({ description: 'Price of one package in minor units.' }),
  })
  .meta({ id: 'PackagePrice', description: 'amount = ceil(quantity / packageSize) × packagePriceMinor (a started package is a whole package).' });

export const PriceTier = z
  .strictObject({
    upTo: PositiveIntegerString.nullable().meta({ description: 'Inclusive upper bound of the tier; null for the last, unbounded tier.' }),
    unitPriceMinor: NonNegativeDecimalString,
    flatMinor: NonNegativeIntegerString.optional().meta({ description: 'Flat fee in minor units charged when usage reaches this tier.' }),
  })
  .meta({ id: 'PriceTier' });

const tiersOk = (tiers: Array<z.infer<typeof PriceTier>>, ctx: z.RefinementCtx) => {
  let previous = 0n;
  tiers.forEach((t, i) => {
    const last = i === tiers.length - 1;
    if (last && t.upTo !== null) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'the last tier must have upTo: null' });
    if (!last && t.upTo === null) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'only the last tier may have upTo: null' });
    if (t.upTo !== null && /^[1-9][0-9]*$/.test(t.upTo)) {
      const upTo = BigInt(t.upTo);
      if (upTo <= previous) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'upTo must be strictly ascending' });
      previous = upTo;
    }
  });
};

export const TieredPrice = z
  .strictObject({
    ...base,
    model: z.enum(['graduated', 'volume']),
    tiers: z.array(PriceTier).min(1).max(50),
  })
  .superRefine((p, ctx) => tiersOk(p.tiers, ctx))
  .meta({
    id: 'TieredPrice',
    description:
      "graduated: each tier prices its own slice of the quantity, plus flatMinor of every tier reached. volume: the whole quantity at the unit price of the tier it lands in, plus that tier's flatMinor.",
  });

export const Price = z.discriminatedUnion('model', [PerUnitPrice, PackagePrice, TieredPrice]).meta({ id: 'Price' });
export type Price = z.infer<typeof Price>;
export type PriceTier = z.infer<typeof PriceTier>;
export type PricingModel = Price['model'];

/** Usage as the rating function takes it: one row per (metric, dimensions), already aggregated. */
export interface AggregatedUsage {
  metric: string;
  dimensions: Record<string, string>;
  /** Non-negative integer as a decimal string, any size. */
  quantity: string;
}
