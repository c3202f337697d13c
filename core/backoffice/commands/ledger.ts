import { z } from 'zod';
import { DomainError } from '../../errors/index.js';
import { AccountTypeSchema } from '../../ledger/chart.js';
import { ledgerBalances, listLedgerAccounts, loadTransactionView, verifyLedger } from '../../ledger/index.js';
import { defineCommand } from '../registry.js';
import { IsoTime, MerchantRef } from './shared.js';

/**
 * The ledger explorer, for finance and admins: read-only. Nothing here can change the ledger;
 * postings come only from the business events that cause them (core/ledger/README.md).
 */

const Account = z.object({
  id: z.string(),
  code: z.string(),
  type: z.string(),
  normalSide: z.enum(['debit', 'credit']),
  merchantId: z.string().nullable(),
  environment: z.enum(['sandbox', 'live']),
  currency: z.string(),
  channel: z.string().nullable(),
  createdAt: z.string(),
});

const AccountFilter = {
  account: z.string().trim().min(1).max(200).optional().meta({ description: 'An account id (lac_…) or code (merchant_payable:mer_…:live:CNY)' }),
  merchant: MerchantRef.optional(),
  environment: z.enum(['sandbox', 'live']).optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3,4}$/, 'must be a currency code')
    .optional(),
  type: AccountTypeSchema.optional(),
};

export const ledgerAccounts = defineCommand({
  name: 'ledger:accounts',
  summary: 'The chart of accounts in use',
  input: z.object(AccountFilter),
  output: z.object({ items: z.array(Account) }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  handler: async (ctx, input) => ({ items: await listLedgerAccounts(ctx, { ...input, merchantId: input.merchant }) }),
});

export const ledgerBalancesCommand = defineCommand({
  name: 'ledger:balances',
  summary: 'Account balances, now or as of an instant (--at ISO)',
  input: z.object({ ...AccountFilter, at: IsoTime.optional().meta({ description: 'Balances from entries effective at or before this time' }) }),
  output: z.object({
    at: z.string().nullable(),
    items: z.array(Account.extend({ debitsMinor: z.string(), creditsMinor: z.string(), balanceMinor: z.string() })),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  handler: async (ctx, input) => ({ at: input.at ?? null, items: await ledgerBalances(ctx, { ...input, merchantId: input.merchant }) }),
});

export const ledgerShow = defineCommand({
  name: 'ledger:show',
  summary: 'One ledger transaction with its entries',
  input: z.object({ tx: z.string().regex(/^ltx_[0-9a-z]+$/, 'must be a ledger transaction id (ltx_…)') }),
  output: z.object({
    id: z.string(),
    idempotencyKey: z.string(),
    kind: z.string(),
    cause: z.object({ type: z.string(), id: z.string() }),
    merchantId: z.string().nullable(),
    environment: z.enum(['sandbox', 'live']),
    description: z.string(),
    reversesTxId: z.string().nullable(),
    reversedByTxId: z.string().nullable(),
    effectiveAt: z.string(),
    postedAt: z.string(),
    postedBy: z.string().nullable(),
    entries: z.array(
      z.object({
        seq: z.number(),
        id: z.string(),
        accountId: z.string(),
        accountCode: z.string(),
        side: z.enum(['debit', 'credit']),
        amountMinor: z.string(),
        currency: z.string(),
      }),
    ),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  handler: async (ctx, input) => loadTransactionView(ctx, input.tx),
});

export const ledgerVerify = defineCommand({
  name: 'ledger:verify',
  summary: 'Recompute the hash chain and the per-currency zero sum; fails naming the first inconsistency',
  input: z.object({}),
  output: z.object({
    intact: z.literal(true),
    entries: z.number(),
    transactions: z.number(),
    headHash: z.string(),
    totals: z.record(z.string(), z.object({ debitsMinor: z.string(), creditsMinor: z.string() })),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx) {
    const result = await verifyLedger(ctx);
    if (!result.ok) {
      const f = result.firstInconsistency;
      const where = [f.seq !== null ? `entry seq ${f.seq}` : null, f.txId].filter(Boolean).join(', ');
      throw new DomainError('conflict', 'ledger_inconsistent', `Ledger inconsistent${where ? ` at ${where}` : ''}: ${f.reason}`, {
        details: { firstInconsistency: f, verifiedEntries: result.entriesVerified },
      });
    }
    return { intact: true as const, entries: result.entries, transactions: result.transactions, headHash: result.headHash, totals: result.totals };
  },
});
