import { rateCardPrices } from '../catalog/rate-cards.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { matchPrice } from '../pricing/match.js';
import type { Price } from '../pricing/schemas.js';
import { aggregateUsage } from '../usage/aggregate.js';

export interface UnbilledUsage {
  customerId: string;
  customerExternalId: string;
  metric: string;
  dimensions: Record<string, string>;
  quantity: string;
  /** Why no invoice will carry it. */
  reason: 'no_contract' | 'no_price';
  from: string;
  to: string;
}

/**
 * Usage of a merchant in [from, to) that no invoice will carry: events at a time when no
 * contract of the customer prices their metric (`no_contract`), or whose contract's rate card
 * has no price matching their dimensions (`no_price`). Nothing is lost silently: staff see it
 * here (invoices:unbilled) and can put the customer on a contract.
 *
 * The window is cut at every contract start and end of the customer, so within each piece the
 * same contracts are in force and the aggregated usage routes exactly as invoicing routes it.
 */
export async function listUnbilledUsage(ctx: CoreContext, scope: MerchantScope, from: Date, to: Date): Promise<UnbilledUsage[]> {
  const k = ctx.db.kysely;
  const customers = await k
    .selectFrom('customers')
    .innerJoin('usage_customers', 'usage_customers.customer_id', 'customers.id')
    .select(['customers.id', 'customers.external_id'])
    .where('customers.merchant_id', '=', scope.merchantId)
    .where('customers.environment', '=', scope.environment)
    .orderBy('customers.external_id')
    .execute();
  const out: UnbilledUsage[] = [];
  for (const customer of customers) {
    const contracts = (
      await k
        .selectFrom('contracts')
        .innerJoin('rate_cards', 'rate_cards.id', 'contracts.rate_card_id')
        .select(['contracts.starts_at', 'contracts.ends_at', 'rate_cards.prices'])
        .where('contracts.customer_id', '=', customer.id)
        .where('contracts.status', '!=', 'archived')
        .execute()
    ).map((c) => ({ start: new Date(c.starts_at), end: c.ends_at ? new Date(c.ends_at) : null, prices: rateCardPrices(c) as Price[] }));
    const cuts = new Set<number>([from.getTime(), to.getTime()]);
    for (const c of contracts) {
      for (const t of [c.start, c.end]) if (t && t > from && t < to) cuts.add(t.getTime());
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < bounds.length; i++) {
      const pieceFrom = new Date(bounds[i]);
      const pieceTo = new Date(bounds[i + 1]);
      const inForce = contracts.filter((c) => c.start <= pieceFrom && (c.end === null || c.end >= pieceTo));
      for (const row of await aggregateUsage(ctx, scope, customer.id, pieceFrom, pieceTo)) {
        const contract = inForce.find((c) => c.prices.some((p) => p.metric === row.metric));
        const reason = !contract ? 'no_contract' : matchPrice(contract.prices, row.metric, row.dimensions) < 0 ? 'no_price' : null;
        if (reason === null) continue;
        out.push({
          customerId: customer.id,
          customerExternalId: customer.external_id,
          metric: row.metric,
          dimensions: row.dimensions,
          quantity: row.quantity,
          reason,
          from: pieceFrom.toISOString(),
          to: pieceTo.toISOString(),
        });
      }
    }
  }
  return out;
}
