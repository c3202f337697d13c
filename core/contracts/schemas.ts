import { z } from 'zod';
import { ExternalId } from '../customers/schemas.js';
import { SETTLEMENT_CURRENCIES } from '../money/currencies.js';
import { PageQuery, pageOf } from '../pagination/index.js';
import { BILLING_CYCLES } from './periods.js';

/** Request and response shapes of the contracts API; the OpenAPI document is built from these. */

/** An ISO-8601 date-time with Z or an offset, normalised to UTC ("2026-05-01T00:00:00.000Z"). */
export const Instant = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s).toISOString())
  .meta({ description: 'ISO-8601 date-time (Z or an offset); stored and returned in UTC.' });

export const BillingCycleSchema = z.enum(BILLING_CYCLES).meta({
  id: 'BillingCycle',
  description:
    'Periods are half-open [start, end) in UTC. monthly_calendar: 1st of each month 00:00Z; quarterly_calendar: 1 Jan/Apr/Jul/Oct 00:00Z; annual_calendar: 1 Jan 00:00Z; monthly_anniversary: startsAt + n months (same day and time of day, clamped to the last day of shorter months: a 31 Jan start renews 28/29 Feb, 31 Mar, 30 Apr…). A contract starting or ending mid-period gets a short first or last period.',
});

export const CreateContractInput = z
  .strictObject({
    customerExternalId: ExternalId,
    rateCardId: z.string().min(1).max(64).meta({ description: 'A published rate-card version (rc_…).' }),
    billingCycle: BillingCycleSchema,
    startsAt: Instant.meta({ description: 'May lie in the past (moving existing customers over), but not inside an already invoiced period.' }),
    endsAt: Instant.optional().meta({ description: 'Exclusive end; omit for open-ended.' }),
    settlementCurrency: z
      .enum(SETTLEMENT_CURRENCIES)
      .optional()
      .meta({ description: "Currency the merchant is paid in for this contract. Default: the merchant's settlement currency, else the rate card's currency." }),
  })
  .meta({ id: 'CreateContractInput' });

export const EndContractInput = z
  .strictObject({
    endsAt: Instant.optional().meta({ description: 'Exclusive end; default now. After startsAt, not inside an invoiced period.' }),
  })
  .meta({ id: 'EndContractInput' });

export const PeriodView = z.object({ start: z.string(), end: z.string() }).meta({ id: 'BillingPeriod', description: 'Half-open [start, end), UTC.' });

export const ContractView = z
  .object({
    id: z.string().meta({ description: 'ctr_…' }),
    customerId: z.string(),
    customerExternalId: z.string(),
    productId: z.string(),
    productKey: z.string(),
    rateCardId: z.string(),
    rateCardVersion: z.number().int(),
    pricingCurrency: z.string().meta({ description: "The rate card's currency." }),
    settlementCurrency: z.string(),
    billingCycle: BillingCycleSchema,
    startsAt: z.string(),
    endsAt: z.string().nullable(),
    status: z.enum(['active', 'ended', 'archived']).meta({ description: 'active until endsAt passes (also before startsAt), then ended; archived when withdrawn.' }),
    currentPeriod: PeriodView.nullable().meta({ description: 'The billing period containing now; null before the start, after the end, or when archived.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
    archivedAt: z.string().nullable(),
  })
  .meta({ id: 'Contract' });
export type ContractView = z.infer<typeof ContractView>;

export const ContractList = pageOf(ContractView, 'ContractList');
export const ListContractsQuery = PageQuery.extend({
  customerExternalId: ExternalId.optional().meta({ description: 'Only this customer’s contracts.' }),
  productId: z.string().max(64).optional(),
  status: z.enum(['active', 'ended', 'archived']).optional(),
});
export const ContractParams = z.object({ contractId: z.string().min(1).max(64) });
