import { invalidInput } from '../errors/index.js';
import { findPriceConflicts } from './match.js';
import type { Price } from './schemas.js';

/**
 * Checks a rate card's prices beyond their individual shapes (which zod checks): no duplicate
 * and no ambiguous dimension matches. Throws `rate_card_prices_ambiguous` (400).
 */
export function assertPricesUnambiguous(prices: readonly Price[]): void {
  const conflicts = findPriceConflicts(prices);
  if (conflicts.length > 0) {
    throw invalidInput('rate_card_prices_ambiguous', conflicts[0].message, {
      conflicts: conflicts.slice(0, 20).map((c) => ({ reason: c.reason, indexes: c.indexes, message: c.message })),
    });
  }
}
