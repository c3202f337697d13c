import { z } from 'zod';
import { rateCardPrices } from '../catalog/rate-cards.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { requireCustomer } from '../customers/customers.js';
import { conflict, invalidInput, notFound } from '../errors/index.js';
import { rateUsage } from '../pricing/rate.js';
import { aggregateUsage } from '../usage/aggregate.js';
import { type ContractRow, contractSchedule, contractsInForce, requireContract } from './contracts.js';
import { type BillingPeriod, periodContaining } from './periods.js';
import { Instant } from './schemas.js';

/**
 * What a customer has used in a window and what it would cost so far on their contract — what
 * merchants show their own users. Priced with the same rating function invoicing uses; the
 * window is rated as one billing period (tiers and packages apply to its whole quantity), which
 * is exact for the default window, the contract's current period.
 */

export const UsageSummaryQuery = z.object({
  from: Instant.optional().meta({ description: "Window start (inclusive). Default: the start of the active contract's current billing period, else of the current calendar month (UTC). Percent-encode a + offset as %2B." }),
  to: Instant.optional().meta({ description: 'Window end (exclusive). Default: the end of that period.' }),
  contractId: z
    .string()
    .max(64)
    .optional()
    .meta({ description: 'Price on this contract. Needed only when the customer has contracts for several products in force.' }),
});

const UsageBreakdown = z.object({ dimensions: z.record(z.string(), z.string()), quantity: z.string() });

export const UsageSummaryLine = z
  .object({
    metric: z.string(),
    dimensions: z.record(z.string(), z.string()).meta({
      description: "For priced lines, the dimensions of the price that matched ({} = the metric's fallback price); for unpriced usage, the events' dimensions.",
    }),
    quantity: z.string().meta({ description: 'Integer decimal string. Sums for counters; for storage_gb the peak reading per dimension set.' }),
    amountMinor: z.string().nullable().meta({ description: 'Rounded once, half-up, to whole minor units of `currency`; null when no contract prices this usage.' }),
    amountExact: z.string().nullable().meta({ description: 'The unrounded amount in minor units, e.g. "1.875".' }),
    pricingModel: z.enum(['per_unit', 'package', 'graduated', 'volume']).nullable(),
    usage: z.array(UsageBreakdown).meta({ description: 'The usage totals per event dimensions that make up this line.' }),
  })
  .meta({ id: 'UsageSummaryLine' });

export const UsageSummary = z
  .object({
    customerExternalId: z.string(),
    customerId: z.string(),
    from: z.string(),
    to: z.string(),
    currency: z.string().nullable().meta({ description: "The rate card's pricing currency; null without a contract." }),
    contractId: z.string().nullable(),
    rateCardId: z.string().nullable(),
    rateCardVersion: z.number().int().nullable(),
    metrics: z.array(UsageSummaryLine),
    totalMinor: z.string().nullable().meta({ description: 'Sum of the priced lines; null without a contract.' }),
    hasUnpricedUsage: z.boolean().meta({ description: 'Some usage matches no price of the rate card (it is listed with amountMinor null, never charged as zero silently).' }),
  })
  .meta({ id: 'UsageSummary' });
export type UsageSummary = z.infer<typeof UsageSummary>;

/** Usage no price covers (or no contract prices): listed with its quantity, never as a zero charge. */
function unpricedLine(u: { metric: string; dimensions: Record<string, string>; quantity: string }): UsageSummary['metrics'][number] {
  return {
    metric: u.metric,
    dimensions: u.dimensions,
    quantity: u.quantity,
    amountMinor: null,
    amountExact: null,
    pricingModel: null,
    usage: [{ dimensions: u.dimensions, quantity: u.quantity }],
  };
}

function calendarMonth(at: Date): BillingPeriod {
  return {
    start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)),
    end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)),
  };
}

export async function summariseCustomerUsage(
  ctx: CoreContext,
  scope: MerchantScope,
  externalId: string,
  query: z.infer<typeof UsageSummaryQuery>,
): Promise<UsageSummary> {
  const customer = await requireCustomer(ctx, scope, externalId);
  const now = ctx.clock.now();

  let contract: ContractRow | null = null;
  if (query.contractId) {
    contract = await requireContract(ctx, scope, query.contractId);
    if (contract.customer_id !== customer.id) throw notFound('contract_not_found', `Contract ${query.contractId} is not this customer's`);
  } else {
    // The contract in force at the end of the window, or now if that is earlier ("so far").
    const windowEnd = query.to ? new Date(Math.min(now.getTime(), new Date(query.to).getTime() - 1)) : now;
    const inForce = await contractsInForce(ctx, scope, customer.id, windowEnd);
    if (inForce.length > 1) {
      throw conflict('contract_ambiguous', 'This customer has contracts for several products in force; choose one with contractId', {
        contractIds: inForce.map((c) => c.id),
      });
    }
    contract = inForce[0] ?? null;
  }

  const defaultWindow = (contract && periodContaining(contractSchedule(contract), now)) ?? calendarMonth(now);
  const from = query.from ? new Date(query.from) : defaultWindow.start;
  const to = query.to ? new Date(query.to) : defaultWindow.end;
  if (from >= to) throw invalidInput('usage_window_invalid', 'from must be before to');

  const usage = await aggregateUsage(ctx, scope, customer.id, from, to);
  const base = {
    customerExternalId: customer.external_id,
    customerId: customer.id,
    from: from.toISOString(),
    to: to.toISOString(),
  };
  if (!contract) {
    return {
      ...base,
      currency: null,
      contractId: null,
      rateCardId: null,
      rateCardVersion: null,
      metrics: usage.map(unpricedLine),
      totalMinor: null,
      hasUnpricedUsage: usage.length > 0,
    };
  }

  const rateCard = await ctx.db.kysely.selectFrom('rate_cards').select('prices').where('id', '=', contract.rate_card_id).executeTakeFirstOrThrow();
  const rated = rateUsage(rateCardPrices(rateCard), usage);
  const metrics: UsageSummary['metrics'] = [
    ...rated.lines.map((l) => ({
      metric: l.metric,
      dimensions: l.dimensions,
      quantity: l.quantity,
      amountMinor: l.amountMinor,
      amountExact: l.amountExact,
      pricingModel: l.model,
      usage: l.usage,
    })),
    ...rated.unpriced.map(unpricedLine),
  ];
  return {
    ...base,
    currency: contract.rate_card_currency,
    contractId: contract.id,
    rateCardId: contract.rate_card_id,
    rateCardVersion: Number(contract.rate_card_version),
    metrics,
    totalMinor: rated.totalMinor,
    hasUnpricedUsage: rated.unpriced.length > 0,
  };
}
