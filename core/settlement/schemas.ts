import { z } from 'zod';
import { PageQuery, pageOf } from '../pagination/index.js';

/** The merchant API's view of payouts (GET /api/v1/payouts) and the `payout.completed` event's data. */

const Minor = (description: string) => z.string().meta({ description: `${description}: a decimal string of minor units of the payout currency` });

export const PayoutInvoice = z
  .object({
    invoiceId: z.string(),
    invoiceNumber: z.string(),
    grossMinor: Minor('The invoice gross'),
    feesMinor: Minor('The platform fee kept (net of refunded fee)'),
    refundsMinor: Minor('What refunds took back (gross share)'),
    netMinor: Minor('What this invoice contributes to the payout'),
  })
  .meta({ id: 'PayoutInvoice' });

export const PayoutSchema = z
  .object({
    id: z.string().meta({ description: 'The payout (one settlement line), stl_…' }),
    batchId: z.string(),
    month: z.string().meta({ description: 'The month (UTC, YYYY-MM) whose collected payments it settles' }),
    currency: z.string().meta({ description: 'The settlement currency (USD, EUR, CNY, USDC, USDT, …)' }),
    status: z.enum(['processing', 'paid']).meta({ description: 'processing: approved and sent to the bank or multisig; paid: confirmed with a reference' }),
    grossMinor: Minor('Gross of the invoices covered'),
    feesMinor: Minor('Platform fees kept'),
    refundsMinor: Minor('Refunds taken back'),
    amountMinor: Minor('The amount paid out (gross − fees − refunds)'),
    reference: z.string().meta({ description: 'The payout reference on the bank transfer or in the batch-transfer file' }),
    completionReference: z.string().nullable().meta({ description: 'The bank reference or transaction hash, once paid' }),
    destination: z.record(z.string(), z.string()).meta({ description: 'Where it goes: a masked bank account, or the chain and receiver address' }),
    approvedAt: z.string(),
    completedAt: z.string().nullable(),
    invoices: z.array(PayoutInvoice).meta({ description: 'The invoices this payout covers' }),
  })
  .meta({ id: 'Payout' });

export const PayoutList = pageOf(PayoutSchema, 'PayoutList');
export const PayoutListQuery = PageQuery;
