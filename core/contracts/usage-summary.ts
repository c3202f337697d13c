import { z } from 'zod';
import { rateCardPrices } from '../catalog/rate-cards.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { requireCustomer } from '../customers/customers.js';
import { invalidInput, notFound } from '../errors/index.js';
import { rateUsage } from '../pricing/rate.js';
import { usageReaderFor } from '../usage/reader.js';
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
  from: Instant.optional().meta({
    description:
      "Window start (inclusive). Default: the start of the active contract's current billing period, else of the current calendar month (UTC). Percent-encode a + offset as %2B.",
  }),
  to: Instant.optional().meta({ description: 'Window end (exclusive). Default: the end of that period.' }),
  contractId: z.string().max(64).optional().meta({ description: 'Price on this contract. Needed only when the customer has contracts for several products in force.' }),
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
    contractId: z.string().nullable().meta({ description: 'The contract that prices this line (the one in force whose rate card prices the metric); null for unpriced usage.' }),
    currency: z.string().nullable().meta({ description: "That contract's pricing currency; null for unpriced usage." }),
  })
  .meta({ id: 'UsageSummaryLine' });

export const UsageSummaryContract = z
  .object({
    contractId: z.string(),
    rateCardId: z.string(),
    rateCardVersion: z.number().int(),
    currency: z.string(),
    totalMinor: z.string().meta({ description: "Sum of this contract's priced lines." }),
  })
  .meta({ id: 'UsageSummaryContract' });

export const UsageSummary = z
  .object({
    customerExternalId: z.string(),
    customerId: z.string(),
    from: z.string(),
    to: z.string(),
    currency: z.string().nullable().meta({ description: 'The pricing currency when every contract that prices usage here uses the same one; else null.' }),
    contractId: z.string().nullable().meta({ description: 'The contract, when exactly one applies; else null (see contracts).' }),
    rateCardId: z.string().nullable(),
    rateCardVersion: z.number().int().nullable(),
    contracts: z.array(UsageSummaryContract).meta({
      description:
        'Every contract pricing usage in this summary: the ones in force at the end of the window (each prices its own metrics — contracts of one customer never price the same metric at once), or the one chosen with contractId.',
    }),
    metrics: z.array(UsageSummaryLine),
    totalMinor: z.string().nullable().meta({ description: 'Sum of the priced lines when they share one currency; null without a contract or across currencies.' }),
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
    contractId: null,
    currency: null,
  };
}

function calendarMonth(at: Date): BillingPeriod {
  return {
    start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)),
    end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)),
  };
}

export async function summariseCustomerUsage(ctx: CoreContext, scope: MerchantScope, externalId: string, query: z.infer<typeof UsageSummaryQuery>): Promise<UsageSummary> {
  const customer = await requireCustomer(ctx, scope, externalId);
  const now = ctx.clock.now();

  let contracts: ContractRow[];
  if (query.contractId) {
    const chosen = await requireContract(ctx, scope, query.contractId);
    if (chosen.customer_id !== customer.id) throw notFound('contract_not_found', `Contract ${query.contractId} is not this customer's`);
    contracts = [chosen];
  } else {
    // The contracts in force at the end of the window, or now if that is earlier ("so far").
    // Each prices its own metrics: overlapping contracts never price the same one.
    const windowEnd = query.to ? new Date(Math.min(now.getTime(), new Date(query.to).getTime() - 1)) : now;
    contracts = await contractsInForce(ctx, scope, customer.id, windowEnd);
  }

  // The default window: the current period of the (first) contract, else the calendar month.
  const first = contracts[0];
  const defaultWindow = (first && periodContaining(contractSchedule(first), now)) ?? calendarMonth(now);
  const from = query.from ? new Date(query.from) : defaultWindow.start;
  const to = query.to ? new Date(query.to) : defaultWindow.end;
  if (from >= to) throw invalidInput('usage_window_invalid', 'from must be before to');

  // Through the usage reader: on a SQLite file it runs on a reader thread, so a long tail scan
  // never stops the HTTP thread (and ingestion with it).
  const usage = await usageReaderFor(ctx).aggregate(scope, customer.id, from, to);
  const base = {
    customerExternalId: customer.external_id,
    customerId: customer.id,
    from: from.toISOString(),
    to: to.toISOString(),
  };

  const priced: Array<{ contract: ContractRow; prices: ReturnType<typeof rateCardPrices> }> = [];
  for (const contract of contracts) {
    const rateCard = await ctx.db.kysely.selectFrom('rate_cards').select('prices').where('id', '=', contract.rate_card_id).executeTakeFirstOrThrow();
    priced.push({ contract, prices: rateCardPrices(rateCard) });
  }
  // Each usage row goes to the contract whose card prices its metric, as invoicing routes it.
  const byContract = new Map<string, typeof usage>();
  const unrouted: typeof usage = [];
  for (const row of usage) {
    const target = priced.find((p) => p.prices.some((price) => price.metric === row.metric));
    if (!target) unrouted.push(row);
    else byContract.set(target.contract.id, [...(byContract.get(target.contract.id) ?? []), row]);
  }
  const metrics: UsageSummary['metrics'] = [];
  const summaries: UsageSummary['contracts'] = [];
  const unpriced = [...unrouted];
  for (const { contract, prices } of priced) {
    const rated = rateUsage(prices, byContract.get(contract.id) ?? []);
    for (const l of rated.lines) {
      metrics.push({
        metric: l.metric,
        dimensions: l.dimensions,
        quantity: l.quantity,
        amountMinor: l.amountMinor,
        amountExact: l.amountExact,
        pricingModel: l.model,
        usage: l.usage,
        contractId: contract.id,
        currency: contract.rate_card_currency,
      });
    }
    unpriced.push(...rated.unpriced);
    summaries.push({
      contractId: contract.id,
      rateCardId: contract.rate_card_id,
      rateCardVersion: Number(contract.rate_card_version),
      currency: contract.rate_card_currency,
      totalMinor: rated.totalMinor,
    });
  }
  metrics.push(...unpriced.map(unpricedLine));
  const currencies = [...new Set(summaries.map((c) => c.currency))];
  const only = summaries.length === 1 ? summaries[0] : null;
  return {
    ...base,
    currency: currencies.length === 1 ? currencies[0] : null,
    contractId: only?.contractId ?? null,
    rateCardId: only?.rateCardId ?? null,
    rateCardVersion: only?.rateCardVersion ?? null,
    contracts: summaries,
    metrics,
    totalMinor: currencies.length === 1 ? summaries.reduce((sum, c) => sum + BigInt(c.totalMinor), 0n).toString() : null,
    hasUnpricedUsage: unpriced.length > 0,
  };
}
