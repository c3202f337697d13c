import { KybStatusView } from '../../merchants/kyb-schemas.js';
import { z } from 'zod';

/** Input pieces shared by several commands. Field names double as CLI flags (`--merchant`). */

export const MerchantRef = z
  .string()
  .trim()
  .regex(/^mer_[0-9a-z]+$/, 'must be a merchant id (mer_…)')
  .meta({ description: 'Merchant id (mer_…)' });

/**
 * A whole number from JSON (a number) or from the CLI (a string of digits). Stricter than
 * z.coerce: an empty string or a bare flag (`true`) is refused rather than read as 0 or 1.
 */
export function wholeNumber(min: number, max: number) {
  return z
    .union(
      [
        z.number(),
        z
          .string()
          .trim()
          .regex(/^-?\d+$/)
          .transform(Number),
      ],
      { error: 'must be a whole number' },
    )
    .pipe(z.number().int().min(min).max(max));
}

/** An ISO-8601 time with its offset (`Z` or `+08:00`), as staff and the CLI type it. */
export const IsoTime = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time, e.g. 2026-06-01T00:00:00Z' });

/** An ISO-8601 time read as the instant it names, in the stored form (UTC, `toISOString()`), so it compares with stored times as text. */
export const Instant = IsoTime.transform((s) => new Date(s).toISOString());

export const Limit = wholeNumber(1, 500).default(100).meta({ description: 'At most this many rows (1–500)' });

/** Free text a reviewer writes to a merchant (shown to them as is). */
export const ReviewerText = (what: string) => z.string().trim().min(3, `${what} must say something`).max(2000);

/**
 * Back-office views of a merchant and its KYB. Not the merchant API's own schemas
 * (core/merchants/schemas.ts): those pull in viem, which would cost every CLI run seconds, and
 * staff need a narrower, stable view anyway.
 */
export const MerchantAdminView = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  status: z.enum(['active', 'suspended', 'deactivated']),
  kybStatus: z.string(),
  serviceFeeBps: z.number(),
  settlementCurrency: z.string().nullable(),
  twoFactorEnabled: z.boolean(),
  webhookUrl: z.string().nullable(),
  receivingAddresses: z.record(z.string(), z.string()),
  bankAccount: z.unknown().nullable(),
  onChainMerchantId: z.string().nullable(),
  chainActive: z.boolean().nullable(),
  apiKeys: z.array(z.object({ environment: z.string(), prefix: z.string(), scopes: z.array(z.string()), createdAt: z.string(), lastRotatedAt: z.string().nullable() })),
  liveAccess: z.object({ unlocked: z.boolean(), missing: z.array(z.string()) }),
  createdAt: z.string(),
});

/** The merchant's KYB state without its document list (commands list documents their own way). */
export const KybView = KybStatusView.omit({ documents: true });
