import type { CoreContext } from '../context/index.js';
import { GENESIS_HASH, entryHash, transactionHeaderHash } from './post.js';
import type { LedgerTransactionsTable } from './tables.js';

export type LedgerVerification =
  | { ok: true; entries: number; transactions: number; headHash: string; totals: Record<string, { debitsMinor: string; creditsMinor: string }> }
  | { ok: false; entriesVerified: number; firstInconsistency: { seq: number | null; txId: string | null; reason: string } };

/**
 * Recomputes the ledger from its first entry and names the first inconsistency: an entry that no
 * longer matches its hash (altered), a prev_hash that is not the previous entry's hash (an
 * earlier entry altered or removed), a gap in the sequence, a transaction header that no longer
 * matches the hash its entries cover, a transaction that does not balance in a currency, an
 * entry in another currency than its account, a transaction without entries, and finally the
 * per-currency zero sum over the whole ledger.
 *
 * Someone who can write the file can still rewrite every hash from some point on; publishing or
 * anchoring the head hash (returned here) elsewhere is what makes that visible too.
 */
export async function verifyLedger(ctx: CoreContext, pageSize = 2000): Promise<LedgerVerification> {
  const k = ctx.db.kysely;
  const accounts = new Map((await k.selectFrom('ledger_accounts').select(['id', 'currency']).execute()).map((a) => [a.id, a.currency]));
  const totals = new Map<string, { debits: bigint; credits: bigint }>();
  const seenTx = new Set<string>();
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  let currentTx: { row: LedgerTransactionsTable; sums: Map<string, bigint>; firstSeq: number } | null = null;
  const fail = (seq: number | null, txId: string | null, reason: string): LedgerVerification => ({
    ok: false,
    entriesVerified: count,
    firstInconsistency: { seq, txId, reason },
  });
  const closeTx = (): string | null => {
    if (!currentTx) return null;
    const off = [...currentTx.sums].filter(([, s]) => s !== 0n);
    if (off.length > 0) return `transaction does not balance: ${off.map(([c, s]) => `${c} ${s.toString()}`).join(', ')}`;
    return null;
  };

  for (;;) {
    const rows = await k
      .selectFrom('ledger_entries as e')
      .innerJoin('ledger_transactions as t', 't.id', 'e.tx_id')
      .select([
        'e.seq',
        'e.id',
        'e.tx_id',
        'e.account_id',
        'e.side',
        'e.amount_minor',
        'e.currency',
        'e.effective_at',
        'e.prev_hash',
        'e.hash',
        't.idempotency_key',
        't.kind',
        't.cause_type',
        't.cause_id',
        't.merchant_id',
        't.environment',
        't.description',
        't.reverses_tx_id',
        't.effective_at as tx_effective_at',
        't.posted_at',
        't.posted_by',
        't.header_hash',
      ])
      .where('e.seq', '>=', expectedSeq)
      .orderBy('e.seq', 'asc')
      .limit(pageSize)
      .execute();
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectedSeq) return fail(seq, r.tx_id, `sequence gap: expected entry ${expectedSeq}, found ${seq} (entries removed)`);
      if (!currentTx || currentTx.row.id !== r.tx_id) {
        const broken = closeTx();
        if (broken) return fail(currentTx!.firstSeq, currentTx!.row.id, broken);
        if (seenTx.has(r.tx_id)) return fail(seq, r.tx_id, 'entries of one transaction are not contiguous (moved or inserted)');
        const row: LedgerTransactionsTable = {
          id: r.tx_id,
          idempotency_key: r.idempotency_key,
          kind: r.kind,
          cause_type: r.cause_type,
          cause_id: r.cause_id,
          merchant_id: r.merchant_id,
          environment: r.environment,
          description: r.description,
          reverses_tx_id: r.reverses_tx_id,
          effective_at: r.tx_effective_at,
          posted_at: r.posted_at,
          posted_by: r.posted_by,
          header_hash: r.header_hash,
        };
        if (transactionHeaderHash(row) !== row.header_hash) return fail(seq, r.tx_id, 'transaction header does not match its hash (altered)');
        seenTx.add(r.tx_id);
        currentTx = { row, sums: new Map(), firstSeq: seq };
      }
      if (r.prev_hash !== prevHash) return fail(seq, r.tx_id, 'prev_hash does not match the previous entry (an earlier entry was altered or removed)');
      const { hash, ...fields } = {
        seq: r.seq,
        id: r.id,
        tx_id: r.tx_id,
        account_id: r.account_id,
        side: r.side,
        amount_minor: r.amount_minor,
        currency: r.currency,
        effective_at: r.effective_at,
        prev_hash: r.prev_hash,
        hash: r.hash,
      };
      if (entryHash(fields, currentTx.row.header_hash) !== hash) return fail(seq, r.tx_id, 'entry content does not match its hash (altered)');
      if (!/^[1-9][0-9]*$/.test(r.amount_minor)) return fail(seq, r.tx_id, `amount ${r.amount_minor} is not a positive whole number`);
      if (accounts.get(r.account_id) !== r.currency) return fail(seq, r.tx_id, `entry currency ${r.currency} is not its account's`);
      const amount = BigInt(r.amount_minor);
      currentTx.sums.set(r.currency, (currentTx.sums.get(r.currency) ?? 0n) + (r.side === 'debit' ? amount : -amount));
      const t = totals.get(r.currency) ?? { debits: 0n, credits: 0n };
      if (r.side === 'debit') t.debits += amount;
      else t.credits += amount;
      totals.set(r.currency, t);
      prevHash = r.hash;
      expectedSeq++;
      count++;
    }
    if (rows.length < pageSize) break;
  }
  const broken = closeTx();
  if (broken) return fail(currentTx!.firstSeq, currentTx!.row.id, broken);
  const txCount = Number(
    (
      await k
        .selectFrom('ledger_transactions')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  if (txCount !== seenTx.size) {
    const orphan = await k
      .selectFrom('ledger_transactions as t')
      .select('t.id')
      .where((eb) => eb.not(eb.exists(eb.selectFrom('ledger_entries as e').select('e.id').whereRef('e.tx_id', '=', 't.id'))))
      .executeTakeFirst();
    return fail(null, orphan?.id ?? null, 'a transaction has no entries (entries removed)');
  }
  for (const [currency, t] of totals) {
    if (t.debits !== t.credits) return fail(null, null, `${currency}: total debits ${t.debits} differ from total credits ${t.credits}`);
  }
  return {
    ok: true,
    entries: count,
    transactions: seenTx.size,
    headHash: prevHash,
    totals: Object.fromEntries([...totals].map(([c, t]) => [c, { debitsMinor: t.debits.toString(), creditsMinor: t.credits.toString() }])),
  };
}
