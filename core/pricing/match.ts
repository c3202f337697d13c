import type { Price } from './schemas.js';

/**
 * Which price of a rate card applies to usage with given dimensions: among the prices of the
 * metric whose `dimensions` all equal the usage's, the one with the most keys. A price without
 * dimensions is the fallback. Rate cards where two prices could tie are refused up front
 * (`findAmbiguousPrices`), so the winner is always unique.
 */

export function priceDimensions(p: Price): Record<string, string> {
  return p.dimensions ?? {};
}

function matches(priceDims: Record<string, string>, usageDims: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(priceDims)) {
    if (!Object.hasOwn(usageDims, k) || usageDims[k] !== v) return false;
  }
  return true;
}

/** Index of the winning price, or -1 when nothing matches (the usage is unpriced). */
export function matchPrice(prices: readonly Price[], metric: string, usageDims: Record<string, string>): number {
  let best = -1;
  let bestSize = -1;
  prices.forEach((p, i) => {
    if (p.metric !== metric) return;
    const dims = priceDimensions(p);
    const size = Object.keys(dims).length;
    if (size > bestSize && matches(dims, usageDims)) {
      best = i;
      bestSize = size;
    }
  });
  return best;
}

/** Two dimension sets can describe the same event when no key they share has different values. */
function compatible(a: Record<string, string>, b: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(a)) if (Object.hasOwn(b, k) && b[k] !== v) return false;
  return true;
}

function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

export interface PriceConflict {
  reason: 'duplicate' | 'ambiguous';
  indexes: [number, number];
  message: string;
}

/**
 * Pairs of prices of one metric that would both be the best match for some event: the same
 * dimensions twice, or equally specific, compatible dimensions (e.g. {model: gpt-5} and
 * {region: eu}) with no more specific price covering every event both match.
 */
export function findPriceConflicts(prices: readonly Price[]): PriceConflict[] {
  const out: PriceConflict[] = [];
  for (let i = 0; i < prices.length; i++) {
    for (let j = i + 1; j < prices.length; j++) {
      const a = prices[i];
      const b = prices[j];
      if (a.metric !== b.metric) continue;
      const da = priceDimensions(a);
      const db = priceDimensions(b);
      if (sameDimensions(da, db)) {
        out.push({ reason: 'duplicate', indexes: [i, j], message: `prices[${i}] and prices[${j}] are both for ${a.metric} with the same dimensions` });
        continue;
      }
      const size = Object.keys(da).length;
      if (size !== Object.keys(db).length || !compatible(da, db)) continue;
      // Every event matching both carries the union of their dimensions; a more specific price
      // within that union matches all of them and wins, which settles the tie.
      const union = { ...da, ...db };
      const settled = prices.some((c, k) => {
        if (k === i || k === j || c.metric !== a.metric) return false;
        const dc = priceDimensions(c);
        return Object.keys(dc).length > size && matches(dc, union);
      });
      if (!settled) {
        out.push({
          reason: 'ambiguous',
          indexes: [i, j],
          message: `prices[${i}] and prices[${j}] (${a.metric}) are equally specific and could both match one event; add a price for ${JSON.stringify(union)} or make them disjoint`,
        });
      }
    }
  }
  return out;
}
