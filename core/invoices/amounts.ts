import { convertMinor } from '../fx/index.js';
import { Dec, roundHalfUpToInteger } from '../pricing/decimal.js';

/** The collection currency: end customers always pay in CNY (WeChat Pay, Alipay). */
export const COLLECTION_CURRENCY = 'CNY';

export interface InvoiceAmountsInput {
  subtotalMinor: string;
  pricingCurrency: string;
  settlementCurrency: string;
  serviceFeeBps: number;
  /** Units of CNY per unit of the pricing currency (absent when pricing is CNY). */
  collectionRate?: string;
  /** Units of the settlement currency per unit of the pricing currency (absent when not needed). */
  settlementRate?: string;
}

export interface InvoiceAmounts {
  subtotalMinor: string;
  collectionAmountMinor: string;
  grossSettlementMinor: string;
  platformFeeMinor: string;
  netSettlementMinor: string;
}

/**
 * The invoice's figures, exactly as the product brief defines them (pure; rates come from the
 * invoice's FX snapshot):
 * - collectionAmount = round_half_up(subtotal × rate(pricing→CNY)), in fen;
 * - gross = the subtotal in the settlement currency (the subtotal itself when the currencies are
 *   the same; the collection amount when settling in CNY; else converted at rate(pricing→settlement));
 * - fee = round_half_up(gross × bps / 10000); net = gross − fee (settlement currency).
 * Each conversion rounds once, half-up, to whole minor units of the target currency.
 */
export function invoiceAmounts(i: InvoiceAmountsInput): InvoiceAmounts {
  const collection =
    i.pricingCurrency === COLLECTION_CURRENCY ? i.subtotalMinor : convertMinor(i.subtotalMinor, i.pricingCurrency, COLLECTION_CURRENCY, need(i.collectionRate, 'collection'));
  const gross =
    i.settlementCurrency === i.pricingCurrency
      ? i.subtotalMinor
      : i.settlementCurrency === COLLECTION_CURRENCY
        ? collection
        : convertMinor(i.subtotalMinor, i.pricingCurrency, i.settlementCurrency, need(i.settlementRate, 'settlement'));
  const fee = roundHalfUpToInteger(new Dec(gross).times(i.serviceFeeBps).dividedBy(10_000));
  const net = (BigInt(gross) - BigInt(fee)).toString();
  return { subtotalMinor: i.subtotalMinor, collectionAmountMinor: collection, grossSettlementMinor: gross, platformFeeMinor: fee, netSettlementMinor: net };
}

function need(rate: string | undefined, what: string): string {
  if (rate === undefined) throw new Error(`invoiceAmounts: the ${what} rate is required`);
  return rate;
}

/** Which rates an invoice needs: pricing→CNY unless pricing is CNY; pricing→settlement when settling in a third currency. */
export function ratesNeeded(pricingCurrency: string, settlementCurrency: string): Array<{ use: 'collection' | 'settlement'; base: string; quote: string }> {
  const out: Array<{ use: 'collection' | 'settlement'; base: string; quote: string }> = [];
  if (pricingCurrency !== COLLECTION_CURRENCY) out.push({ use: 'collection', base: pricingCurrency, quote: COLLECTION_CURRENCY });
  if (settlementCurrency !== pricingCurrency && settlementCurrency !== COLLECTION_CURRENCY) {
    out.push({ use: 'settlement', base: pricingCurrency, quote: settlementCurrency });
  }
  return out;
}
