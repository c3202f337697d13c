import { z } from 'zod';
import { notFound } from '../../errors/index.js';
import { defineCommand } from '../registry.js';
import { Limit, MerchantRef } from './shared.js';

/**
 * The ledger explorer's list of transactions (ledger:show opens one). Filtered by what caused
 * them (an invoice id lists its finalization and, once voided, its reversal), merchant or kind;
 * newest first, with the entry count and per-currency debit totals so the list reads without
 * opening each transaction. Read-only, finance and admins, like the rest of the ledger.
 */
export const ledgerTransactions = defineCommand({
  name: 'ledger:transactions',
  summary: 'Ledger transactions, newest first (filters: --cause ID, --account ID|CODE, --merchant, --environment, --kind; --before ltx_… to page)',
  input: z.object({
    cause: z
      .string()
      .trim()
      .regex(/^[a-z]+_[0-9a-z]+$/, 'must be an id, e.g. inv_…')
      .optional()
      .meta({ description: 'What caused them: an invoice, payment, … id' }),
    account: z.string().trim().min(1).max(200).optional().meta({ description: 'Only transactions with an entry on this account: its id (lac_…) or code' }),
    merchant: MerchantRef.optional(),
    environment: z.enum(['sandbox', 'live']).optional(),
    kind: z.string().trim().min(1).max(100).optional().meta({ description: 'e.g. invoice.finalized' }),
    before: z
      .string()
      .regex(/^ltx_[0-9a-z]+$/)
      .optional()
      .meta({ description: 'Only transactions older than this one (the next page)' }),
    limit: Limit,
  }),
  output: z.object({
    items: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        cause: z.object({ type: z.string(), id: z.string() }),
        merchantId: z.string().nullable(),
        environment: z.enum(['sandbox', 'live']),
        description: z.string(),
        reversesTxId: z.string().nullable(),
        effectiveAt: z.string(),
        postedAt: z.string(),
        entries: z.number().int(),
        /** Debits per currency (= credits: every transaction balances), integer minor units. */
        totals: z.array(z.object({ currency: z.string(), debitsMinor: z.string() })),
      }),
    ),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const k = ctx.db.kysely;
    // ltx_ ids are ULIDs: their order is posting order, and the primary key serves the sort.
    let q = k.selectFrom('ledger_transactions').selectAll().orderBy('id', 'desc').limit(input.limit);
    if (input.cause) q = q.where('cause_id', '=', input.cause);
    if (input.merchant) q = q.where('merchant_id', '=', input.merchant);
    if (input.environment) q = q.where('environment', '=', input.environment);
    if (input.kind) q = q.where('kind', '=', input.kind);
    if (input.before) q = q.where('id', '<', input.before);
    if (input.account) {
      const account = await k
        .selectFrom('ledger_accounts')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', input.account!), eb('code', '=', input.account!)]))
        .executeTakeFirst();
      if (!account) throw notFound('ledger_account_not_found', `No ledger account ${input.account}`);
      q = q.where('id', 'in', (eb) => eb.selectFrom('ledger_entries').select('tx_id').where('account_id', '=', account.id));
    }
    const rows = await q.execute();
    const entries =
      rows.length === 0
        ? []
        : await k
            .selectFrom('ledger_entries')
            .select(['tx_id', 'side', 'amount_minor', 'currency'])
            .where(
              'tx_id',
              'in',
              rows.map((r) => r.id),
            )
            .execute();
    const byTx = new Map<string, { n: number; debits: Map<string, bigint> }>();
    for (const e of entries) {
      let t = byTx.get(e.tx_id);
      if (!t) byTx.set(e.tx_id, (t = { n: 0, debits: new Map() }));
      t.n++;
      if (e.side === 'debit') t.debits.set(e.currency, (t.debits.get(e.currency) ?? 0n) + BigInt(e.amount_minor));
    }
    return {
      items: rows.map((r) => {
        const t = byTx.get(r.id);
        return {
          id: r.id,
          kind: r.kind,
          cause: { type: r.cause_type, id: r.cause_id },
          merchantId: r.merchant_id,
          environment: r.environment,
          description: r.description,
          reversesTxId: r.reverses_tx_id,
          effectiveAt: r.effective_at,
          postedAt: r.posted_at,
          entries: t?.n ?? 0,
          totals: [...(t?.debits ?? new Map<string, bigint>()).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, d]) => ({ currency, debitsMinor: String(d) })),
        };
      }),
    };
  },
});
