import { sql } from 'kysely';
import type { CoreContext, Environment } from '../context/index.js';
import { notFound } from '../errors/index.js';
import type { LedgerAccountsTable } from './tables.js';

export interface LedgerAccountView {
  id: string;
  code: string;
  type: string;
  normalSide: 'debit' | 'credit';
  merchantId: string | null;
  environment: Environment;
  currency: string;
  channel: string | null;
  createdAt: string;
}

export interface LedgerBalanceView extends LedgerAccountView {
  debitsMinor: string;
  creditsMinor: string;
  /** On the account's normal side: debits − credits for debit-normal accounts, else credits − debits. */
  balanceMinor: string;
}

export interface AccountFilter {
  /** An account id (lac_…) or code (`merchant_payable:mer_…:live:CNY`). */
  account?: string;
  merchantId?: string;
  environment?: Environment;
  currency?: string;
  type?: string;
}

function accountView(a: LedgerAccountsTable): LedgerAccountView {
  return {
    id: a.id,
    code: a.code,
    type: a.type,
    normalSide: a.normal_side,
    merchantId: a.merchant_id,
    environment: a.environment,
    currency: a.currency,
    channel: a.channel,
    createdAt: a.created_at,
  };
}

export async function listLedgerAccounts(ctx: CoreContext, filter: AccountFilter = {}): Promise<LedgerAccountView[]> {
  let q = ctx.db.kysely.selectFrom('ledger_accounts').selectAll().orderBy('code');
  if (filter.account) q = q.where((eb) => eb.or([eb('id', '=', filter.account!), eb('code', '=', filter.account!)]));
  if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
  if (filter.environment) q = q.where('environment', '=', filter.environment);
  if (filter.currency) q = q.where('currency', '=', filter.currency);
  if (filter.type) q = q.where('type', '=', filter.type);
  return (await q.execute()).map(accountView);
}

/**
 * Balances per account, from the entries effective at or before `at` (default: all). Sums are
 * 64-bit integers in SQL, read back as text (exact), so no JS number ever holds an amount.
 */
export async function ledgerBalances(ctx: CoreContext, filter: AccountFilter & { at?: string } = {}): Promise<LedgerBalanceView[]> {
  const accounts = await listLedgerAccounts(ctx, filter);
  if (filter.account && accounts.length === 0) throw notFound('ledger_account_not_found', `No ledger account ${filter.account}`);
  if (accounts.length === 0) return [];
  let q = ctx.db.kysely
    .selectFrom('ledger_entries')
    .select(['account_id', 'side', sql<string>`CAST(SUM(CAST(amount_minor AS BIGINT)) AS TEXT)`.as('total')])
    .where(
      'account_id',
      'in',
      accounts.map((a) => a.id),
    )
    .groupBy(['account_id', 'side']);
  if (filter.at) q = q.where('effective_at', '<=', new Date(filter.at).toISOString());
  const sums = new Map<string, { debit: bigint; credit: bigint }>();
  for (const r of await q.execute()) {
    const s = sums.get(r.account_id) ?? { debit: 0n, credit: 0n };
    s[r.side] = BigInt(r.total);
    sums.set(r.account_id, s);
  }
  return accounts.map((a) => {
    const s = sums.get(a.id) ?? { debit: 0n, credit: 0n };
    const balance = a.normalSide === 'debit' ? s.debit - s.credit : s.credit - s.debit;
    return { ...a, debitsMinor: s.debit.toString(), creditsMinor: s.credit.toString(), balanceMinor: balance.toString() };
  });
}
