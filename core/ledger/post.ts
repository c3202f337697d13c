import { z } from 'zod';
import { sha256Hex } from '../auth/encoding.js';
import type { CoreContext, Environment } from '../context/index.js';
import { compiledInsert, compiledQuery } from '../db/compiled.js';
import { inTransaction } from '../db/transaction.js';
import { type DomainError, conflict, invalidInput, notFound } from '../errors/index.js';
import { canonicalJson } from '../json/index.js';
import { ACCOUNT_TYPES, type AccountRef, accountCode } from './chart.js';
import type { LedgerAccountsTable, LedgerEntriesTable, LedgerTransactionsTable } from './tables.js';

/**
 * The one posting function: every movement of money goes through postLedgerTransaction (or
 * reverseLedgerTransaction, which calls it). It joins the caller's transaction, so a state change,
 * its posting and its outbox event commit or roll back together.
 */

export const GENESIS_HASH = '0'.repeat(64);

// Every posting runs these: compiled once per connection (core/db/compiled.ts).
const priorByKey = compiledQuery((k, key: string) => k.selectFrom('ledger_transactions').select('id').where('idempotency_key', '=', key), ['$key'] as [string]);
const chainHead = compiledQuery((k) => k.selectFrom('ledger_entries').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1), [] as []);
const insertTransaction = compiledInsert('ledger_transactions', [
  'id',
  'idempotency_key',
  'kind',
  'cause_type',
  'cause_id',
  'merchant_id',
  'environment',
  'description',
  'reverses_tx_id',
  'effective_at',
  'posted_at',
  'posted_by',
  'header_hash',
]);
const insertEntry = compiledInsert('ledger_entries', ['seq', 'id', 'tx_id', 'account_id', 'side', 'amount_minor', 'currency', 'effective_at', 'prev_hash', 'hash']);
/** Amounts are stored as text but summed as 64-bit integers by SQL: nothing larger is accepted. */
export const MAX_ENTRY_AMOUNT = (1n << 63n) - 1n;

export const LEDGER_CAUSE_TYPES = ['invoice', 'payment', 'refund', 'settlement', 'payout', 'adjustment'] as const;
export type LedgerCauseType = (typeof LEDGER_CAUSE_TYPES)[number];
export type EntrySide = 'debit' | 'credit';

export interface PostingEntry {
  account: AccountRef;
  side: EntrySide;
  /** A positive whole number of the account currency's minor units. */
  amountMinor: string | bigint;
}

export interface PostingInput {
  /** Unique per business event (e.g. `invoice:inv_…:finalized`): a retry posts nothing twice. */
  idempotencyKey: string;
  /** The business event, e.g. `invoice.finalized`, `payment.captured` (see README.md). */
  kind: string;
  cause: { type: LedgerCauseType; id: string };
  environment: Environment;
  /** The merchant the transaction concerns, when one does; its per-merchant accounts must be its own. */
  merchantId?: string | null;
  description: string;
  /** When the movement happened in business terms (default: now). Balances "at" an instant use it. */
  effectiveAt?: string;
  /** Staff id or system actor that caused the posting. */
  postedBy?: string | null;
  entries: PostingEntry[];
  /** Set by reverseLedgerTransaction only. */
  reversesTxId?: string;
}

export interface LedgerEntryView {
  seq: number;
  id: string;
  accountId: string;
  accountCode: string;
  side: EntrySide;
  amountMinor: string;
  currency: string;
}

export interface LedgerTransactionView {
  id: string;
  idempotencyKey: string;
  kind: string;
  cause: { type: string; id: string };
  merchantId: string | null;
  environment: Environment;
  description: string;
  reversesTxId: string | null;
  reversedByTxId: string | null;
  effectiveAt: string;
  postedAt: string;
  postedBy: string | null;
  entries: LedgerEntryView[];
}

const PositiveMinor = z
  .union([z.bigint(), z.string().regex(/^[1-9][0-9]*$/, 'must be a positive whole number of minor units')])
  .transform((v) => BigInt(v))
  .refine((v) => v > 0n && v <= MAX_ENTRY_AMOUNT, 'must be positive and at most 2^63-1 minor units');

function ledgerInvalid(message: string): DomainError {
  return invalidInput('ledger_posting_invalid', message);
}

/** The header's hash: every field a transaction is posted with. Its entries' hashes cover it. */
export function transactionHeaderHash(t: Omit<LedgerTransactionsTable, 'header_hash'>): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      id: t.id,
      idempotencyKey: t.idempotency_key,
      kind: t.kind,
      causeType: t.cause_type,
      causeId: t.cause_id,
      merchantId: t.merchant_id,
      environment: t.environment,
      description: t.description,
      reversesTxId: t.reverses_tx_id,
      effectiveAt: t.effective_at,
      postedAt: t.posted_at,
      postedBy: t.posted_by,
    }),
  );
}

/** An entry's hash: its own fields, its transaction's header hash, and the previous entry's hash. */
export function entryHash(e: Omit<LedgerEntriesTable, 'hash'>, headerHash: string): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      seq: Number(e.seq),
      id: e.id,
      txId: e.tx_id,
      txHeaderHash: headerHash,
      accountId: e.account_id,
      side: e.side,
      amountMinor: e.amount_minor,
      currency: e.currency,
      effectiveAt: e.effective_at,
      prevHash: e.prev_hash,
    }),
  );
}

/** The account a ref names, created on first use (accounts are never changed afterwards). */
export async function ensureLedgerAccount(ctx: CoreContext, ref: AccountRef): Promise<LedgerAccountsTable> {
  const code = accountCode(ref);
  const existing = await ctx.db.kysely.selectFrom('ledger_accounts').selectAll().where('code', '=', code).executeTakeFirst();
  if (existing) return existing;
  const row: LedgerAccountsTable = {
    id: ctx.ids.next('lac'),
    code,
    type: ref.type,
    normal_side: ACCOUNT_TYPES[ref.type].normalSide,
    merchant_id: ref.merchantId ?? null,
    environment: ref.environment,
    currency: ref.currency,
    channel: ref.channel ?? null,
    created_at: ctx.clock.now().toISOString(),
  };
  await ctx.db.kysely.insertInto('ledger_accounts').values(row).execute();
  return row;
}

/** What makes two postings the same: compared when an idempotency key comes back. */
function postingFingerprint(p: {
  kind: string;
  causeType: string;
  causeId: string;
  environment: string;
  merchantId: string | null;
  reversesTxId: string | null;
  entries: Array<{ code: string; side: string; amountMinor: string }>;
}): string {
  const entries = p.entries.map((e) => canonicalJson(e)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return canonicalJson({ ...p, entries });
}

/**
 * Posts one balanced transaction. Refused (nothing written) unless it has two or more entries,
 * every amount is a positive whole number of minor units, every entry's account is in the
 * transaction's environment (and, for per-merchant accounts, belongs to its merchant), and the
 * debits equal the credits in every currency. The same idempotency key with the same content
 * returns the transaction already posted (`replayed: true`); with other content it is a 409.
 */
export async function postLedgerTransaction(ctx: CoreContext, input: PostingInput): Promise<{ transaction: LedgerTransactionView; replayed: boolean }> {
  if (!input.idempotencyKey || input.idempotencyKey.length > 200) throw ledgerInvalid('A posting needs an idempotency key of 1–200 characters');
  if (!(LEDGER_CAUSE_TYPES as readonly string[]).includes(input.cause.type) || !input.cause.id) throw ledgerInvalid('A posting names its cause (type and id)');
  if (!input.kind || !input.description) throw ledgerInvalid('A posting has a kind and a description');
  if (input.entries.length < 2) throw ledgerInvalid('A transaction has two or more entries');
  const effectiveAt = input.effectiveAt ?? ctx.clock.now().toISOString();
  if (Number.isNaN(Date.parse(effectiveAt))) throw ledgerInvalid('effectiveAt must be an ISO-8601 time');

  const lines = input.entries.map((e, i) => {
    if (e.side !== 'debit' && e.side !== 'credit') throw ledgerInvalid(`entry ${i + 1}: side must be debit or credit`);
    const amount = PositiveMinor.safeParse(e.amountMinor);
    if (!amount.success) throw ledgerInvalid(`entry ${i + 1}: amount ${amount.error.issues[0].message}`);
    if (e.account.environment !== input.environment) throw ledgerInvalid(`entry ${i + 1}: a posting never crosses environments`);
    if (input.merchantId && e.account.merchantId && e.account.merchantId !== input.merchantId) {
      throw ledgerInvalid(`entry ${i + 1}: the account belongs to another merchant`);
    }
    return { ref: e.account, code: accountCode(e.account), side: e.side, amount: amount.data };
  });
  const sums = new Map<string, bigint>();
  for (const l of lines) sums.set(l.ref.currency, (sums.get(l.ref.currency) ?? 0n) + (l.side === 'debit' ? l.amount : -l.amount));
  const unbalanced = [...sums].filter(([, s]) => s !== 0n);
  if (unbalanced.length > 0) {
    throw invalidInput(
      'ledger_unbalanced',
      `Debits and credits differ: ${unbalanced.map(([c, s]) => `${c} ${s > 0n ? 'debits' : 'credits'} exceed by ${(s < 0n ? -s : s).toString()}`).join('; ')}`,
    );
  }
  // Compared only when the idempotency key was seen before.
  const fingerprint = () =>
    postingFingerprint({
      kind: input.kind,
      causeType: input.cause.type,
      causeId: input.cause.id,
      environment: input.environment,
      merchantId: input.merchantId ?? null,
      reversesTxId: input.reversesTxId ?? null,
      entries: lines.map((l) => ({ code: l.code, side: l.side, amountMinor: l.amount.toString() })),
    });

  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const [prior] = await priorByKey(k, input.idempotencyKey);
    if (prior) {
      const view = await loadTransactionView(tx, prior.id);
      const priorFingerprint = postingFingerprint({
        kind: view.kind,
        causeType: view.cause.type,
        causeId: view.cause.id,
        environment: view.environment,
        merchantId: view.merchantId,
        reversesTxId: view.reversesTxId,
        entries: view.entries.map((e) => ({ code: e.accountCode, side: e.side, amountMinor: e.amountMinor })),
      });
      if (priorFingerprint !== fingerprint()) {
        throw conflict('ledger_idempotency_conflict', `Idempotency key ${input.idempotencyKey} was used for a different posting (${view.id})`, { transactionId: view.id });
      }
      return { transaction: view, replayed: true };
    }

    // One look-up for every account the posting names; the missing ones are created.
    const codes = [...new Set(lines.map((l) => l.code))];
    const accounts = new Map((await k.selectFrom('ledger_accounts').selectAll().where('code', 'in', codes).execute()).map((a) => [a.code, a]));
    for (const l of lines) if (!accounts.has(l.code)) accounts.set(l.code, await ensureLedgerAccount(tx, l.ref));

    const header: Omit<LedgerTransactionsTable, 'header_hash'> = {
      id: tx.ids.next('ltx'),
      idempotency_key: input.idempotencyKey,
      kind: input.kind,
      cause_type: input.cause.type,
      cause_id: input.cause.id,
      merchant_id: input.merchantId ?? null,
      environment: input.environment,
      description: input.description,
      reverses_tx_id: input.reversesTxId ?? null,
      effective_at: new Date(effectiveAt).toISOString(),
      posted_at: tx.clock.now().toISOString(),
      posted_by: input.postedBy ?? null,
    };
    const headerHash = transactionHeaderHash(header);
    await insertTransaction(k, { ...header, header_hash: headerHash });

    // The chain's head: entries are numbered without gaps. Writers are serialised by the
    // transaction (SQLite: BEGIN IMMEDIATE); two racing for one seq collide on the primary key.
    const [last] = await chainHead(k);
    let seq = last ? Number(last.seq) : 0;
    let prevHash = last?.hash ?? GENESIS_HASH;
    const posted: LedgerEntryView[] = [];
    for (const l of lines) {
      seq++;
      const row: Omit<LedgerEntriesTable, 'hash'> = {
        seq,
        id: tx.ids.next('len'),
        tx_id: header.id,
        account_id: accounts.get(l.code)!.id,
        side: l.side,
        amount_minor: l.amount.toString(),
        currency: l.ref.currency,
        effective_at: header.effective_at,
        prev_hash: prevHash,
      };
      const hash = entryHash(row, headerHash);
      await insertEntry(k, { ...row, hash });
      prevHash = hash;
      posted.push({ seq, id: row.id, accountId: row.account_id, accountCode: l.code, side: l.side, amountMinor: row.amount_minor, currency: row.currency });
    }
    // The view of what was just written (as loadTransactionView would read it back).
    return {
      transaction: {
        id: header.id,
        idempotencyKey: header.idempotency_key,
        kind: header.kind,
        cause: { type: header.cause_type, id: header.cause_id },
        merchantId: header.merchant_id,
        environment: header.environment,
        description: header.description,
        reversesTxId: header.reverses_tx_id,
        reversedByTxId: null,
        effectiveAt: header.effective_at,
        postedAt: header.posted_at,
        postedBy: header.posted_by,
        entries: posted,
      },
      replayed: false,
    };
  });
}

/**
 * A correction: a new transaction with every entry of the original on the other side. A
 * transaction is reversed at most once, and a reversal is not itself reversed (post anew).
 */
export async function reverseLedgerTransaction(
  ctx: CoreContext,
  txId: string,
  options: { idempotencyKey: string; reason: string; postedBy?: string | null; kind?: string },
): Promise<{ transaction: LedgerTransactionView; replayed: boolean }> {
  return inTransaction(ctx, async (tx) => {
    const original = await loadTransactionView(tx, txId);
    if (original.reversesTxId) throw conflict('ledger_reversal_invalid', `${txId} is itself a reversal; post a new transaction instead`);
    if (original.reversedByTxId) {
      const by = await tx.db.kysely.selectFrom('ledger_transactions').select('idempotency_key').where('id', '=', original.reversedByTxId).executeTakeFirstOrThrow();
      if (by.idempotency_key !== options.idempotencyKey) throw conflict('ledger_already_reversed', `${txId} was already reversed by ${original.reversedByTxId}`);
    }
    const accounts = await tx.db.kysely
      .selectFrom('ledger_accounts')
      .selectAll()
      .where(
        'id',
        'in',
        original.entries.map((e) => e.accountId),
      )
      .execute();
    const byId = new Map(accounts.map((a) => [a.id, a]));
    return postLedgerTransaction(tx, {
      idempotencyKey: options.idempotencyKey,
      kind: options.kind ?? `${original.kind}.reversed`,
      cause: { type: original.cause.type as LedgerCauseType, id: original.cause.id },
      environment: original.environment,
      merchantId: original.merchantId,
      description: `Reversal of ${original.id}: ${options.reason}`,
      postedBy: options.postedBy ?? null,
      reversesTxId: original.id,
      entries: original.entries.map((e) => {
        const a = byId.get(e.accountId)!;
        return {
          account: refOf(a),
          side: e.side === 'debit' ? ('credit' as const) : ('debit' as const),
          amountMinor: e.amountMinor,
        };
      }),
    });
  });
}

export function refOf(a: LedgerAccountsTable): AccountRef {
  return {
    type: a.type as AccountRef['type'],
    environment: a.environment,
    currency: a.currency,
    ...(a.merchant_id ? { merchantId: a.merchant_id } : {}),
    ...(a.channel ? { channel: a.channel as AccountRef['channel'] } : {}),
  };
}

export async function loadTransactionView(ctx: CoreContext, txId: string): Promise<LedgerTransactionView> {
  const k = ctx.db.kysely;
  const t = await k.selectFrom('ledger_transactions').selectAll().where('id', '=', txId).executeTakeFirst();
  if (!t) throw notFound('ledger_transaction_not_found', `No ledger transaction ${txId}`);
  const entries = await k
    .selectFrom('ledger_entries as e')
    .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
    .select(['e.seq', 'e.id', 'e.account_id', 'a.code', 'e.side', 'e.amount_minor', 'e.currency'])
    .where('e.tx_id', '=', txId)
    .orderBy('e.seq')
    .execute();
  const reversedBy = await k.selectFrom('ledger_transactions').select('id').where('reverses_tx_id', '=', txId).executeTakeFirst();
  return {
    id: t.id,
    idempotencyKey: t.idempotency_key,
    kind: t.kind,
    cause: { type: t.cause_type, id: t.cause_id },
    merchantId: t.merchant_id,
    environment: t.environment,
    description: t.description,
    reversesTxId: t.reverses_tx_id,
    reversedByTxId: reversedBy?.id ?? null,
    effectiveAt: t.effective_at,
    postedAt: t.posted_at,
    postedBy: t.posted_by,
    entries: entries.map((e) => ({
      seq: Number(e.seq),
      id: e.id,
      accountId: e.account_id,
      accountCode: e.code,
      side: e.side,
      amountMinor: e.amount_minor,
      currency: e.currency,
    })),
  };
}
