import { open, seal } from '../auth/secret-box.js';
import { sha256Hex } from '../auth/encoding.js';
import type { CoreContext, Environment } from '../context/index.js';
import { destinationCoolingOff } from '../merchants/destinations.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, conflict, forbidden, invalidInput, notFound } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { convertMinor, fxRateAt } from '../fx/index.js';
import { canonicalJson } from '../json/canonical.js';
import { type PostingEntry, postLedgerTransaction } from '../ledger/index.js';
import { isSupportedCurrency } from '../money/currencies.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { refundShares } from '../payments/postings.js';
import { COLLECTION_CURRENCY } from '../payments/shared.js';
import { type BankDestination, type PayoutBatch, type PayoutDestination, type PayoutFile, decimalAmount, isTokenCurrency, payoutFiles } from './files.js';
import type { PayoutFileFormat, SettlementBatchesTable, SettlementLinesTable } from './tables.js';

export type * from './tables.js';
export { TOKEN_CONTRACTS, decimalAmount, isTokenCurrency, neutraliseCell } from './files.js';

/**
 * Monthly settlement (README.md): close a batch per environment, month and settlement currency;
 * two distinct admins approve it (not its closer); the second approval clears FX, moves each
 * merchant's payable to payout clearing and produces the payout files; completion moves payout
 * clearing to the bank and announces `payout.completed`. Every function here runs inside one
 * database transaction (joining the caller's, e.g. the back-office command's with its audit entry).
 */

export interface SettlementActor {
  id: string;
  role: string;
}

/** The chain token payouts are sent on (core/settlement/files.ts TOKEN_CONTRACTS). */
const ARBITRUM_ONE_CHAIN_ID = 42161;

export const HELD_REASONS = [
  'merchant_suspended',
  'no_destination',
  'destination_currency_mismatch',
  'destination_cooling_off',
  'registration_inactive',
  'receiver_chain_unsupported',
  'refund_in_flight',
  'nothing_to_pay',
] as const;
export type HeldReason = (typeof HELD_REASONS)[number];

export interface InvoiceFigures {
  invoiceId: string;
  invoiceNumber: string;
  paidAt: string;
  grossMinor: string;
  feesMinor: string;
  refundsMinor: string;
  netMinor: string;
  /** CNY collected for the invoice, net of refunds (what FX clearing converts). */
  collectionNetMinor: string;
}

export interface GatheredLine {
  merchantId: string;
  merchantName: string;
  grossMinor: string;
  feesMinor: string;
  refundsMinor: string;
  netMinor: string;
  collectionNetMinor: string;
  invoices: InvoiceFigures[];
  destination: PayoutDestination;
}

export interface HeldLine {
  merchantId: string;
  merchantName: string;
  reason: HeldReason;
  detail: string;
  netMinor: string;
  invoiceIds: string[];
}

export interface SettlementPreview {
  environment: Environment;
  month: string;
  currency: string;
  lines: GatheredLine[];
  held: HeldLine[];
  lineCount: number;
  totalMinor: string;
}

/** `YYYY-MM` → its first instant and the next month's, UTC. */
export function monthRange(month: string): { start: string; end: string } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw invalidInput('settlement_month_invalid', `A month reads YYYY-MM (got ${month})`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return { start: new Date(Date.UTC(y, mo - 1, 1)).toISOString(), end: new Date(Date.UTC(y, mo, 1)).toISOString() };
}

function checkCurrency(currency: string): void {
  if (!isSupportedCurrency(currency)) throw invalidInput('settlement_currency_invalid', `Unsupported settlement currency ${currency}`);
}

const sum = (xs: Iterable<string | bigint>) => {
  let t = 0n;
  for (const x of xs) t += BigInt(x);
  return t;
};

/** The full destination the merchant has for a batch of `currency`, or why there is none usable. */
async function destinationFor(
  ctx: CoreContext,
  m: {
    id: string;
    bank_account_enc: string | null;
    receiver_address: string | null;
    receiving_addresses: string;
    on_chain_merchant_id: string | null;
    chain_id: number | null;
    chain_active: number | null;
  },
  currency: string,
  environment: Environment,
): Promise<{ ok: true; destination: PayoutDestination } | { ok: false; reason: HeldReason; detail: string }> {
  if (isTokenCurrency(currency)) {
    // A V2 registration is the source of truth for where tokens go (the merchants API): while the
    // contract says the merchant is deactivated nothing is paid, and a live payout goes only to a
    // receiver registered on the chain the tokens are sent on (Arbitrum One): an address confirmed
    // on a testnet or the local chain may be a contract that does not exist there.
    if (m.on_chain_merchant_id !== null && m.receiver_address !== null) {
      if (m.chain_active !== 1)
        return { ok: false, reason: 'registration_inactive', detail: `On-chain registration #${m.on_chain_merchant_id} is deactivated on chain ${m.chain_id}` };
      if (environment === 'live' && m.chain_id !== ARBITRUM_ONE_CHAIN_ID) {
        return {
          ok: false,
          reason: 'receiver_chain_unsupported',
          detail: `The receiver is registered on chain ${m.chain_id}; live ${currency} payouts are sent on Arbitrum One (${ARBITRUM_ONE_CHAIN_ID})`,
        };
      }
    }
    const addresses = JSON.parse(m.receiving_addresses) as Record<string, string>;
    const receiver = m.receiver_address ?? addresses.arbitrum ?? null;
    if (!receiver) return { ok: false, reason: 'no_destination', detail: `No on-chain receiver (registration or an "arbitrum" receiving address) for a ${currency} payout` };
    return { ok: true, destination: { kind: 'token', chain: 'arbitrum', receiver } };
  }
  if (!m.bank_account_enc) return { ok: false, reason: 'no_destination', detail: `No bank account for a ${currency} payout` };
  // The same sealing (and AAD) as core/merchants/accounts.ts.
  const bank = JSON.parse(open(ctx.secrets.dataKey, m.bank_account_enc, `merchant-bank:${m.id}`)) as Omit<BankDestination, 'kind'>;
  if (bank.currency !== currency) {
    return { ok: false, reason: 'destination_currency_mismatch', detail: `The bank account is in ${bank.currency}, the batch pays ${currency}` };
  }
  const destination: BankDestination = { kind: 'bank', holderName: bank.holderName, bankName: bank.bankName, currency: bank.currency };
  for (const k of ['accountNumber', 'iban', 'swiftBic', 'cnapsCode'] as const) if (bank[k]) destination[k] = bank[k];
  return { ok: true, destination };
}

/** What the back office shows of a destination: never a whole account number. */
export function maskDestination(d: PayoutDestination): Record<string, string> {
  if (d.kind === 'token') return { kind: 'token', chain: d.chain, receiver: d.receiver };
  const number = (d.iban ?? d.accountNumber ?? '').replace(/\s+/g, '');
  return { kind: 'bank', holderName: d.holderName, accountNumberMasked: `••••${number.slice(-4)}`, bankName: d.bankName, bankCode: d.swiftBic ?? d.cnapsCode ?? '' };
}

/**
 * What a close would gather now, without writing anything: every paid invoice of the environment
 * settling in `currency` whose payment completed in `month` (UTC) and that no live batch holds,
 * net of the refunds that succeeded up to now; one line per merchant, or a held-back entry with
 * its reason.
 */
export async function previewSettlement(ctx: CoreContext, input: { environment: Environment; month: string; currency: string }): Promise<SettlementPreview> {
  checkCurrency(input.currency);
  const { start, end } = monthRange(input.month);
  if (ctx.clock.now().toISOString() < end) throw conflict('settlement_month_open', `${input.month} is not over yet (it ends ${end})`);
  const k = ctx.db.kysely;
  const invoices = await k
    .selectFrom('invoices as i')
    .innerJoin('payments as p', 'p.invoice_id', 'i.id')
    .select([
      'i.id',
      'i.invoice_number',
      'i.merchant_id',
      'i.settlement_currency',
      'i.collection_amount_minor',
      'i.gross_settlement_minor',
      'i.net_settlement_minor',
      'i.platform_fee_minor',
      'p.amount_minor as paid_minor',
      'p.paid_at',
    ])
    .where('i.environment', '=', input.environment)
    .where('i.settlement_currency', '=', input.currency)
    .where('i.status', 'in', ['paid', 'refunded'])
    .where('p.paid_at', '>=', start)
    .where('p.paid_at', '<', end)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('settlement_line_invoices as sli').select('sli.invoice_id').whereRef('sli.invoice_id', '=', 'i.id').where('sli.released_at', 'is', null))),
    )
    .orderBy('i.merchant_id')
    .orderBy('i.id')
    .execute();
  const ids = invoices.map((i) => i.id);
  const refunds = ids.length === 0 ? [] : await k.selectFrom('refunds').select(['invoice_id', 'amount_minor', 'status']).where('invoice_id', 'in', ids).execute();
  const byMerchant = new Map<string, { figures: InvoiceFigures[]; inFlight: string[] }>();
  for (const inv of invoices) {
    const mine = refunds.filter((r) => r.invoice_id === inv.id);
    const entry = byMerchant.get(inv.merchant_id) ?? { figures: [], inFlight: [] };
    byMerchant.set(inv.merchant_id, entry);
    if (entry.figures.some((f) => f.invoiceId === inv.id) || entry.inFlight.includes(inv.id)) continue;
    // A refund still on its way could take money back after the payout: the invoice waits.
    if (mine.some((r) => r.status === 'requested' || r.status === 'pending')) {
      entry.inFlight.push(inv.id);
      continue;
    }
    const refunded = sum(mine.filter((r) => r.status === 'succeeded').map((r) => r.amount_minor));
    const paid = BigInt(inv.paid_minor);
    // The running-total shares telescope: all refunds together take back exactly these shares.
    const s = refundShares(inv, paid, 0n, refunded);
    const gross = BigInt(inv.gross_settlement_minor);
    entry.figures.push({
      invoiceId: inv.id,
      invoiceNumber: inv.invoice_number,
      paidAt: new Date(inv.paid_at).toISOString(),
      grossMinor: gross.toString(),
      feesMinor: (BigInt(inv.platform_fee_minor) - s.feeMinor).toString(),
      refundsMinor: s.grossMinor.toString(),
      netMinor: (BigInt(inv.net_settlement_minor) - s.netMinor).toString(),
      collectionNetMinor: (BigInt(inv.collection_amount_minor) - refunded).toString(),
    });
  }

  const lines: GatheredLine[] = [];
  const held: HeldLine[] = [];
  const merchantIds = [...byMerchant.keys()].sort();
  const merchants = merchantIds.length === 0 ? [] : await k.selectFrom('merchants').selectAll().where('id', 'in', merchantIds).execute();
  for (const merchantId of merchantIds) {
    const { figures, inFlight } = byMerchant.get(merchantId)!;
    const m = merchants.find((x) => x.id === merchantId)!;
    if (inFlight.length > 0) {
      held.push({
        merchantId,
        merchantName: m.name,
        reason: 'refund_in_flight',
        detail: `A refund is still requested or pending on ${inFlight.length} invoice(s)`,
        netMinor: '0',
        invoiceIds: inFlight,
      });
    }
    if (figures.length === 0) continue;
    const net = sum(figures.map((f) => f.netMinor));
    const hold = (reason: HeldReason, detail: string) =>
      held.push({ merchantId, merchantName: m.name, reason, detail, netMinor: net.toString(), invoiceIds: figures.map((f) => f.invoiceId) });
    if (m.status !== 'active') {
      hold('merchant_suspended', `The merchant is ${m.status}`);
      continue;
    }
    const dest = await destinationFor(ctx, m, input.currency, input.environment);
    if (!dest.ok) {
      hold(dest.reason, dest.detail);
      continue;
    }
    const cooling = await destinationCoolingOff(ctx, merchantId);
    if (cooling.coolingOff) {
      hold('destination_cooling_off', `The destination changed at ${cooling.changedAt}; no payout to it before ${cooling.holdUntil}`);
      continue;
    }
    if (net === 0n) {
      hold('nothing_to_pay', 'Refunds took back everything these invoices were to pay');
      continue;
    }
    lines.push({
      merchantId,
      merchantName: m.name,
      grossMinor: sum(figures.map((f) => f.grossMinor)).toString(),
      feesMinor: sum(figures.map((f) => f.feesMinor)).toString(),
      refundsMinor: sum(figures.map((f) => f.refundsMinor)).toString(),
      netMinor: net.toString(),
      collectionNetMinor: sum(figures.map((f) => f.collectionNetMinor)).toString(),
      invoices: figures,
      destination: dest.destination,
    });
  }
  return { ...input, lines, held, lineCount: lines.length, totalMinor: sum(lines.map((l) => l.netMinor)).toString() };
}

/** The content hash: the batch's identity and every line, its invoices and its full destination. */
export function settlementContentHash(
  header: { id: string; environment: string; month: string; currency: string; lineCount: number; totalMinor: string },
  lines: Array<{
    lineNo: number;
    reference: string;
    merchantId: string;
    merchantName: string;
    grossMinor: string;
    feesMinor: string;
    refundsMinor: string;
    netMinor: string;
    collectionNetMinor: string;
    destination: PayoutDestination;
    invoices: Array<{ invoiceId: string; grossMinor: string; feesMinor: string; refundsMinor: string; netMinor: string; collectionNetMinor: string }>;
  }>,
): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      ...header,
      lines: lines.map((l) => ({
        lineNo: l.lineNo,
        reference: l.reference,
        merchantId: l.merchantId,
        merchantName: l.merchantName,
        grossMinor: l.grossMinor,
        feesMinor: l.feesMinor,
        refundsMinor: l.refundsMinor,
        netMinor: l.netMinor,
        collectionNetMinor: l.collectionNetMinor,
        destination: l.destination,
        invoices: l.invoices.map((i) => ({
          invoiceId: i.invoiceId,
          grossMinor: i.grossMinor,
          feesMinor: i.feesMinor,
          refundsMinor: i.refundsMinor,
          netMinor: i.netMinor,
          collectionNetMinor: i.collectionNetMinor,
        })),
      })),
    }),
  );
}

const lineAad = (lineId: string) => `settlement-line:${lineId}`;
const fileAad = (fileId: string) => `settlement-file:${fileId}`;

/** Closes a batch: what previewSettlement gathers, written down with control totals and content hash. */
export async function closeSettlementBatch(ctx: CoreContext, actor: SettlementActor, input: { environment: Environment; month: string; currency: string }): Promise<BatchDetail> {
  return inTransaction(ctx, async (tx) => {
    const preview = await previewSettlement(tx, input);
    if (preview.lines.length === 0 && preview.held.length === 0) {
      throw conflict('settlement_nothing_to_close', `No paid ${input.currency} invoice of ${input.month} (${input.environment}) is waiting for settlement`);
    }
    const k = tx.db.kysely;
    const now = tx.clock.now().toISOString();
    const batchId = tx.ids.next('stb');
    const lines = preview.lines.map((l, i) => {
      const id = tx.ids.next('stl');
      return { ...l, id, lineNo: i + 1, reference: `BM-${id.slice(4).toUpperCase()}` };
    });
    const header = { id: batchId, environment: input.environment, month: input.month, currency: input.currency, lineCount: lines.length, totalMinor: preview.totalMinor };
    const contentHash = settlementContentHash(header, lines);
    await k
      .insertInto('settlement_batches')
      .values({
        id: batchId,
        environment: input.environment,
        month: input.month,
        currency: input.currency,
        status: 'closed',
        closed_by: actor.id,
        closed_at: now,
        line_count: lines.length,
        total_minor: preview.totalMinor,
        held_count: preview.held.length,
        content_hash: contentHash,
        approved_at: null,
        fx_rate_id: null,
        fx_rate: null,
        rejected_by: null,
        rejected_at: null,
        reject_reason: null,
        completed_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    for (const l of lines) {
      await k
        .insertInto('settlement_lines')
        .values({
          id: l.id,
          batch_id: batchId,
          line_no: l.lineNo,
          merchant_id: l.merchantId,
          merchant_name: l.merchantName,
          reference: l.reference,
          currency: input.currency,
          gross_minor: l.grossMinor,
          fees_minor: l.feesMinor,
          refunds_minor: l.refundsMinor,
          net_minor: l.netMinor,
          collection_net_minor: l.collectionNetMinor,
          invoice_count: l.invoices.length,
          destination_kind: l.destination.kind,
          destination_enc: seal(tx.secrets.dataKey, canonicalJson(l.destination), lineAad(l.id)),
          destination_masked: JSON.stringify(maskDestination(l.destination)),
          status: 'pending',
          payout_tx_id: null,
          fx_difference_minor: null,
          completion_reference: null,
          completed_by: null,
          completed_at: null,
          completion_tx_id: null,
        })
        .execute();
      for (const f of l.invoices) {
        try {
          await k
            .insertInto('settlement_line_invoices')
            .values({
              batch_id: batchId,
              line_id: l.id,
              invoice_id: f.invoiceId,
              gross_minor: f.grossMinor,
              fees_minor: f.feesMinor,
              refunds_minor: f.refundsMinor,
              net_minor: f.netMinor,
              collection_net_minor: f.collectionNetMinor,
              released_at: null,
            })
            .execute();
        } catch (e) {
          if (isUniqueViolation(e)) throw conflict('invoice_already_in_batch', `Invoice ${f.invoiceNumber} is already in a live settlement batch`);
          throw e;
        }
      }
    }
    for (const h of preview.held) {
      await k
        .insertInto('settlement_held')
        .values({
          id: tx.ids.next('sth'),
          batch_id: batchId,
          merchant_id: h.merchantId,
          merchant_name: h.merchantName,
          reason: h.reason,
          detail: h.detail,
          net_minor: h.netMinor,
          invoice_ids: JSON.stringify(h.invoiceIds),
        })
        .execute();
    }
    return showSettlementBatch(tx, batchId);
  });
}

// ---------------------------------------------------------------- views

export interface ApprovalView {
  adminId: string;
  adminEmail: string;
  contentHash: string;
  approvedAt: string;
  /** Whether it approves the batch's current content (an approval of other content counts for nothing). */
  current: boolean;
}

export interface PayoutFileView {
  id: string;
  format: PayoutFileFormat;
  fileName: string;
  sha256: string;
  byteLength: number;
  kind: 'produced' | 'exported';
  createdBy: string | null;
  createdAt: string;
}

export interface BatchSummary {
  id: string;
  environment: Environment;
  month: string;
  currency: string;
  status: SettlementBatchesTable['status'];
  closedBy: string;
  closedByEmail: string | null;
  closedAt: string;
  lineCount: number;
  totalMinor: string;
  /** The control total as an exact decimal with the currency's places. */
  total: string;
  heldCount: number;
  contentHash: string;
  approvals: ApprovalView[];
  approvedAt: string | null;
  fxRate: string | null;
  fxRateId: string | null;
  rejectedBy: string | null;
  rejectedByEmail: string | null;
  rejectedAt: string | null;
  rejectReason: string | null;
  completedAt: string | null;
  files: PayoutFileView[];
}

export interface LineView {
  id: string;
  lineNo: number;
  merchantId: string;
  merchantName: string;
  reference: string;
  currency: string;
  grossMinor: string;
  feesMinor: string;
  refundsMinor: string;
  netMinor: string;
  collectionNetMinor: string;
  fxDifferenceMinor: string | null;
  destination: Record<string, string>;
  status: SettlementLinesTable['status'];
  completionReference: string | null;
  completedBy: string | null;
  completedAt: string | null;
  invoices: Array<{ invoiceId: string; invoiceNumber: string; grossMinor: string; feesMinor: string; refundsMinor: string; netMinor: string; released: boolean }>;
}

export interface BatchDetail extends BatchSummary {
  lines: LineView[];
  held: HeldLine[];
}

async function batchRow(ctx: CoreContext, batchId: string): Promise<SettlementBatchesTable> {
  const row = await ctx.db.kysely.selectFrom('settlement_batches').selectAll().where('id', '=', batchId).executeTakeFirst();
  if (!row) throw notFound('settlement_batch_not_found', `No settlement batch ${batchId}`);
  return row;
}

async function summaries(ctx: CoreContext, rows: SettlementBatchesTable[]): Promise<BatchSummary[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const k = ctx.db.kysely;
  const approvals = await k
    .selectFrom('settlement_approvals as a')
    .innerJoin('staff as s', 's.id', 'a.admin_id')
    .select(['a.batch_id', 'a.admin_id', 's.email', 'a.content_hash', 'a.approved_at'])
    .where('a.batch_id', 'in', ids)
    .orderBy('a.approved_at')
    .orderBy('a.id')
    .execute();
  const files = await k.selectFrom('settlement_payout_files').selectAll().where('batch_id', 'in', ids).orderBy('id').execute();
  // Who closed and who rejected, by email: every role reading a batch may see who acted on it.
  const actorIds = [...new Set(rows.flatMap((r) => [r.closed_by, r.rejected_by]).filter((x): x is string => x !== null))];
  const emails = new Map((await k.selectFrom('staff').select(['id', 'email']).where('id', 'in', actorIds).execute()).map((s) => [s.id, s.email]));
  return rows.map((r) => ({
    id: r.id,
    environment: r.environment,
    month: r.month,
    currency: r.currency,
    status: r.status,
    closedBy: r.closed_by,
    closedByEmail: emails.get(r.closed_by) ?? null,
    closedAt: new Date(r.closed_at).toISOString(),
    lineCount: Number(r.line_count),
    totalMinor: String(r.total_minor),
    total: decimalAmount(r.total_minor, r.currency),
    heldCount: Number(r.held_count),
    contentHash: r.content_hash,
    approvals: approvals
      .filter((a) => a.batch_id === r.id)
      .map((a) => ({
        adminId: a.admin_id,
        adminEmail: a.email,
        contentHash: a.content_hash,
        approvedAt: new Date(a.approved_at).toISOString(),
        current: a.content_hash === r.content_hash,
      })),
    approvedAt: r.approved_at ? new Date(r.approved_at).toISOString() : null,
    fxRate: r.fx_rate,
    fxRateId: r.fx_rate_id,
    rejectedBy: r.rejected_by,
    rejectedByEmail: r.rejected_by ? (emails.get(r.rejected_by) ?? null) : null,
    rejectedAt: r.rejected_at ? new Date(r.rejected_at).toISOString() : null,
    rejectReason: r.reject_reason,
    completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
    files: files
      .filter((f) => f.batch_id === r.id)
      .map((f) => ({
        id: f.id,
        format: f.format,
        fileName: f.file_name,
        sha256: f.sha256,
        byteLength: Number(f.byte_length),
        kind: f.kind,
        createdBy: f.created_by,
        createdAt: new Date(f.created_at).toISOString(),
      })),
  }));
}

export async function showSettlementBatch(ctx: CoreContext, batchId: string): Promise<BatchDetail> {
  const row = await batchRow(ctx, batchId);
  const [summary] = await summaries(ctx, [row]);
  const k = ctx.db.kysely;
  const lines = await k.selectFrom('settlement_lines').selectAll().where('batch_id', '=', batchId).orderBy('line_no').execute();
  const links = await k
    .selectFrom('settlement_line_invoices as l')
    .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
    .select(['l.line_id', 'l.invoice_id', 'i.invoice_number', 'l.gross_minor', 'l.fees_minor', 'l.refunds_minor', 'l.net_minor', 'l.released_at'])
    .where('l.batch_id', '=', batchId)
    .orderBy('l.invoice_id')
    .execute();
  const held = await k.selectFrom('settlement_held').selectAll().where('batch_id', '=', batchId).orderBy('id').execute();
  return {
    ...summary,
    lines: lines.map((l) => ({
      id: l.id,
      lineNo: Number(l.line_no),
      merchantId: l.merchant_id,
      merchantName: l.merchant_name,
      reference: l.reference,
      currency: l.currency,
      grossMinor: String(l.gross_minor),
      feesMinor: String(l.fees_minor),
      refundsMinor: String(l.refunds_minor),
      netMinor: String(l.net_minor),
      collectionNetMinor: String(l.collection_net_minor),
      fxDifferenceMinor: l.fx_difference_minor === null ? null : String(l.fx_difference_minor),
      destination: JSON.parse(l.destination_masked),
      status: l.status,
      completionReference: l.completion_reference,
      completedBy: l.completed_by,
      completedAt: l.completed_at ? new Date(l.completed_at).toISOString() : null,
      invoices: links
        .filter((x) => x.line_id === l.id)
        .map((x) => ({
          invoiceId: x.invoice_id,
          invoiceNumber: x.invoice_number,
          grossMinor: String(x.gross_minor),
          feesMinor: String(x.fees_minor),
          refundsMinor: String(x.refunds_minor),
          netMinor: String(x.net_minor),
          released: x.released_at !== null,
        })),
    })),
    held: held.map((h) => ({
      merchantId: h.merchant_id,
      merchantName: h.merchant_name,
      reason: h.reason as HeldReason,
      detail: h.detail,
      netMinor: String(h.net_minor),
      invoiceIds: JSON.parse(h.invoice_ids) as string[],
    })),
  };
}

/** Batches newest first, cursor-paginated; filters by status, month, currency, environment. */
export async function listSettlementBatches(
  ctx: CoreContext,
  filter: PageRequest & { status?: SettlementBatchesTable['status']; month?: string; currency?: string; environment?: Environment },
): Promise<Page<BatchSummary>> {
  const before = decodeCursor(filter.cursor, 'stb');
  let q = ctx.db.kysely.selectFrom('settlement_batches').selectAll();
  if (before) q = q.where('id', '<', before);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.month) q = q.where('month', '=', filter.month);
  if (filter.currency) q = q.where('currency', '=', filter.currency);
  if (filter.environment) q = q.where('environment', '=', filter.environment);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const page = toPage(rows, filter.limit, (r) => r);
  return { data: await summaries(ctx, page.data), nextCursor: page.nextCursor };
}

// ---------------------------------------------------------------- approval

/** The batch's lines as they were closed (destinations opened), to recompute the content hash or build files. */
async function frozenLines(ctx: CoreContext, batchId: string) {
  const k = ctx.db.kysely;
  const lines = await k.selectFrom('settlement_lines').selectAll().where('batch_id', '=', batchId).orderBy('line_no').execute();
  const links = await k.selectFrom('settlement_line_invoices').selectAll().where('batch_id', '=', batchId).orderBy('invoice_id').execute();
  return lines.map((l) => ({
    row: l,
    lineNo: Number(l.line_no),
    reference: l.reference,
    merchantId: l.merchant_id,
    merchantName: l.merchant_name,
    grossMinor: String(l.gross_minor),
    feesMinor: String(l.fees_minor),
    refundsMinor: String(l.refunds_minor),
    netMinor: String(l.net_minor),
    collectionNetMinor: String(l.collection_net_minor),
    destination: JSON.parse(open(ctx.secrets.dataKey, l.destination_enc, lineAad(l.id))) as PayoutDestination,
    invoices: links
      .filter((x) => x.line_id === l.id)
      .map((x) => ({
        invoiceId: x.invoice_id,
        grossMinor: String(x.gross_minor),
        feesMinor: String(x.fees_minor),
        refundsMinor: String(x.refunds_minor),
        netMinor: String(x.net_minor),
        collectionNetMinor: String(x.collection_net_minor),
      })),
  }));
}

/** Recomputes the content hash from what is stored; a batch whose rows no longer match it is refused. */
async function assertContentIntact(ctx: CoreContext, b: SettlementBatchesTable) {
  const lines = await frozenLines(ctx, b.id);
  const hash = settlementContentHash(
    { id: b.id, environment: b.environment, month: b.month, currency: b.currency, lineCount: Number(b.line_count), totalMinor: String(b.total_minor) },
    lines,
  );
  const total = sum(lines.map((l) => l.netMinor)).toString();
  if (hash !== b.content_hash || lines.length !== Number(b.line_count) || total !== String(b.total_minor)) {
    throw conflict('settlement_batch_changed', `Batch ${b.id} no longer matches its content hash or control totals; reject it and close again`);
  }
  return lines;
}

export interface ApprovalResult {
  batch: BatchDetail;
  /** 1 or 2: the second approval executes the batch. */
  approvals: number;
  executed: boolean;
}

/**
 * One admin's approval of the batch's current content (`expectedHash`, when given, must be it:
 * the screen sends the hash it showed). Refused for the batch's closer, for an admin who already
 * approved, for a batch not `closed`, and for a batch whose rows no longer match its hash. The
 * second distinct approval executes the batch in the same transaction (executeBatch).
 */
export async function approveSettlementBatch(ctx: CoreContext, actor: SettlementActor, batchId: string, expectedHash?: string): Promise<ApprovalResult> {
  return inTransaction(ctx, async (tx) => {
    const b = await batchRow(tx, batchId);
    if (actor.role !== 'admin') throw forbidden('approval_admin_only', 'Only an admin approves a settlement batch');
    if (b.status !== 'closed') throw conflict('settlement_not_closed', `Batch ${b.id} is ${b.status}; only a closed batch is approved`);
    if (b.closed_by === actor.id) throw forbidden('approval_closer', 'Whoever closed a batch cannot approve it: two other admins must');
    if (expectedHash !== undefined && expectedHash !== b.content_hash) {
      throw conflict('approval_hash_mismatch', `Batch ${b.id} now has content hash ${b.content_hash}, not the ${expectedHash} you reviewed: review it again`);
    }
    const lines = await assertContentIntact(tx, b);
    const k = tx.db.kysely;
    const prior = await k.selectFrom('settlement_approvals').select(['admin_id', 'content_hash']).where('batch_id', '=', b.id).execute();
    if (prior.some((a) => a.admin_id === actor.id)) throw conflict('approval_same_admin', 'You already approved this batch: a second, different admin must');
    const current = prior.filter((a) => a.content_hash === b.content_hash);
    const ordinal = current.length + 1;
    const now = tx.clock.now().toISOString();
    await k
      .insertInto('settlement_approvals')
      .values({ id: tx.ids.next('sta'), batch_id: b.id, admin_id: actor.id, content_hash: b.content_hash, ordinal, approved_at: now })
      .execute();
    if (ordinal === 2) await executeBatch(tx, actor, b, lines);
    return { batch: await showSettlementBatch(tx, b.id), approvals: ordinal, executed: ordinal === 2 };
  });
}

/**
 * The second approval: FX cleared at the rate in force now, each merchant's payable moved to
 * payout clearing, the payout files produced and their hashes recorded; the batch `approved`.
 */
async function executeBatch(ctx: CoreContext, actor: SettlementActor, b: SettlementBatchesTable, lines: Awaited<ReturnType<typeof frozenLines>>): Promise<void> {
  const k = ctx.db.kysely;
  const now = ctx.clock.now().toISOString();
  const env = b.environment;
  const cur = b.currency;
  const rate = cur === COLLECTION_CURRENCY ? null : await fxRateAt(ctx, COLLECTION_CURRENCY, cur, now);
  for (const l of lines) {
    let fxDifference: bigint | null = null;
    if (rate) {
      // The CNY collected for these invoices, converted now; against it, the settlement-currency
      // side the invoices' own snapshots opened in fx_position (gross net of refunds).
      const cny = BigInt(l.collectionNetMinor);
      const position = BigInt(l.grossMinor) - BigInt(l.refundsMinor);
      const cleared = BigInt(convertMinor(cny.toString(), COLLECTION_CURRENCY, cur, rate.rate));
      fxDifference = cleared - position;
      const entries: PostingEntry[] = [];
      const add = (e: PostingEntry) => {
        if (BigInt(e.amountMinor) > 0n) entries.push(e);
      };
      add({ account: { type: 'fx_position', environment: env, currency: COLLECTION_CURRENCY }, side: 'debit', amountMinor: cny });
      add({ account: { type: 'bank', environment: env, currency: COLLECTION_CURRENCY }, side: 'credit', amountMinor: cny });
      add({ account: { type: 'bank', environment: env, currency: cur }, side: 'debit', amountMinor: cleared });
      add({ account: { type: 'fx_position', environment: env, currency: cur }, side: 'credit', amountMinor: position });
      if (fxDifference > 0n) add({ account: { type: 'fx_gain_loss', environment: env, currency: cur }, side: 'credit', amountMinor: fxDifference });
      if (fxDifference < 0n) add({ account: { type: 'fx_gain_loss', environment: env, currency: cur }, side: 'debit', amountMinor: -fxDifference });
      if (entries.length >= 2) {
        await postLedgerTransaction(ctx, {
          idempotencyKey: `settlement:${l.row.id}:fx-cleared`,
          kind: 'settlement.fx_cleared',
          cause: { type: 'settlement', id: b.id },
          environment: env,
          merchantId: l.merchantId,
          description: `FX cleared for ${l.reference} (${b.month} ${cur}) at ${COLLECTION_CURRENCY}/${cur} ${rate.rate}`,
          effectiveAt: now,
          postedBy: actor.id,
          entries,
        });
      }
    }
    const { transaction } = await postLedgerTransaction(ctx, {
      idempotencyKey: `settlement:${l.row.id}:approved`,
      kind: 'settlement.approved',
      cause: { type: 'settlement', id: b.id },
      environment: env,
      merchantId: l.merchantId,
      description: `Payout ${l.reference} to ${l.merchantName} approved (${b.month} ${cur})`,
      effectiveAt: now,
      postedBy: actor.id,
      entries: [
        { account: { type: 'merchant_payable', environment: env, currency: cur, merchantId: l.merchantId }, side: 'debit', amountMinor: l.netMinor },
        { account: { type: 'payout_clearing', environment: env, currency: cur }, side: 'credit', amountMinor: l.netMinor },
      ],
    });
    await k
      .updateTable('settlement_lines')
      .set({ payout_tx_id: transaction.id, fx_difference_minor: fxDifference === null ? null : fxDifference.toString() })
      .where('id', '=', l.row.id)
      .execute();
  }
  const payout: PayoutBatch = {
    id: b.id,
    month: b.month,
    currency: cur,
    producedAt: now,
    totalMinor: String(b.total_minor),
    lines: lines.map((l) => ({ lineNo: l.lineNo, reference: l.reference, merchantName: l.merchantName, netMinor: l.netMinor, destination: l.destination })),
  };
  for (const f of await payoutFiles(payout)) await recordProducedFile(ctx, actor, b.id, f, now);
  await k
    .updateTable('settlement_batches')
    .set({ status: 'approved', approved_at: now, fx_rate: rate?.rate ?? null, fx_rate_id: rate?.id ?? null, updated_at: now })
    .where('id', '=', b.id)
    .where('status', '=', 'closed')
    .execute();
}

async function recordProducedFile(ctx: CoreContext, actor: SettlementActor, batchId: string, f: PayoutFile, now: string): Promise<void> {
  const id = ctx.ids.next('spf');
  const bytes = Buffer.from(f.content, 'utf8');
  await ctx.db.kysely
    .insertInto('settlement_payout_files')
    .values({
      id,
      batch_id: batchId,
      format: f.format,
      file_name: f.fileName,
      sha256: sha256Hex(bytes),
      byte_length: bytes.length,
      kind: 'produced',
      // Bank account numbers are in it: kept sealed like the merchant's own bank account.
      content_enc: seal(ctx.secrets.dataKey, f.content, fileAad(id)),
      created_by: actor.id,
      created_at: now,
    })
    .execute();
}

// ---------------------------------------------------------------- reject, export, complete

/** Rejects a closed batch: its invoices are released for a later batch; its approvals count for nothing. */
export async function rejectSettlementBatch(ctx: CoreContext, actor: SettlementActor, batchId: string, reason: string): Promise<BatchDetail> {
  return inTransaction(ctx, async (tx) => {
    const b = await batchRow(tx, batchId);
    if (b.status !== 'closed') throw conflict('settlement_not_closed', `Batch ${b.id} is ${b.status}; only a closed (not yet approved) batch can be rejected`);
    const now = tx.clock.now().toISOString();
    const k = tx.db.kysely;
    await k
      .updateTable('settlement_batches')
      .set({ status: 'rejected', rejected_by: actor.id, rejected_at: now, reject_reason: reason, updated_at: now })
      .where('id', '=', b.id)
      .execute();
    await k.updateTable('settlement_line_invoices').set({ released_at: now }).where('batch_id', '=', b.id).where('released_at', 'is', null).execute();
    return showSettlementBatch(tx, b.id);
  });
}

export interface ExportedFile {
  batchId: string;
  format: PayoutFileFormat;
  fileName: string;
  sha256: string;
  byteLength: number;
  /** The exact bytes, base64 (they are the same bytes every time). */
  contentBase64: string;
}

/** The payout file produced at approval, byte for byte, its hash checked; the export is recorded. */
export async function exportPayoutFile(ctx: CoreContext, actor: SettlementActor, batchId: string, format?: PayoutFileFormat): Promise<ExportedFile> {
  return inTransaction(ctx, async (tx) => {
    const b = await batchRow(tx, batchId);
    if (b.status !== 'approved' && b.status !== 'completed') throw conflict('settlement_not_approved', `Batch ${b.id} is ${b.status}; files exist once two admins approved it`);
    const wanted = format ?? (isTokenCurrency(b.currency) ? 'token-csv' : 'bank-csv');
    const k = tx.db.kysely;
    const produced = await k
      .selectFrom('settlement_payout_files')
      .selectAll()
      .where('batch_id', '=', b.id)
      .where('format', '=', wanted)
      .where('kind', '=', 'produced')
      .executeTakeFirst();
    if (!produced?.content_enc) throw notFound('payout_file_not_found', `Batch ${b.id} (${b.currency}) has no ${wanted} file`);
    const bytes = Buffer.from(open(tx.secrets.dataKey, produced.content_enc, fileAad(produced.id)), 'utf8');
    const hash = sha256Hex(bytes);
    if (hash !== produced.sha256) throw new DomainError('internal', 'payout_file_corrupt', `The stored ${wanted} file of ${b.id} no longer matches the hash recorded at approval`);
    await k
      .insertInto('settlement_payout_files')
      .values({
        id: tx.ids.next('spf'),
        batch_id: b.id,
        format: wanted,
        file_name: produced.file_name,
        sha256: hash,
        byte_length: bytes.length,
        kind: 'exported',
        content_enc: null,
        created_by: actor.id,
        created_at: tx.clock.now().toISOString(),
      })
      .execute();
    return { batchId: b.id, format: wanted, fileName: produced.file_name, sha256: hash, byteLength: bytes.length, contentBase64: bytes.toString('base64') };
  });
}

/** What a merchant sees of one payout (the API and the `payout.completed` event). */
export interface PayoutView {
  id: string;
  batchId: string;
  month: string;
  currency: string;
  status: 'processing' | 'paid';
  grossMinor: string;
  feesMinor: string;
  refundsMinor: string;
  amountMinor: string;
  reference: string;
  completionReference: string | null;
  destination: Record<string, string>;
  approvedAt: string;
  completedAt: string | null;
  invoices: Array<{ invoiceId: string; invoiceNumber: string; grossMinor: string; feesMinor: string; refundsMinor: string; netMinor: string }>;
}

function payoutView(l: SettlementLinesTable, b: Pick<SettlementBatchesTable, 'month' | 'approved_at'>, invoices: PayoutView['invoices']): PayoutView {
  return {
    id: l.id,
    batchId: l.batch_id,
    month: b.month,
    currency: l.currency,
    status: l.status === 'completed' ? 'paid' : 'processing',
    grossMinor: String(l.gross_minor),
    feesMinor: String(l.fees_minor),
    refundsMinor: String(l.refunds_minor),
    amountMinor: String(l.net_minor),
    reference: l.reference,
    completionReference: l.completion_reference,
    destination: JSON.parse(l.destination_masked),
    approvedAt: new Date(b.approved_at!).toISOString(),
    completedAt: l.completed_at ? new Date(l.completed_at).toISOString() : null,
    invoices,
  };
}

async function lineInvoices(ctx: CoreContext, lineIds: string[]) {
  if (lineIds.length === 0) return [];
  return ctx.db.kysely
    .selectFrom('settlement_line_invoices as l')
    .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
    .select(['l.line_id', 'l.invoice_id', 'i.invoice_number', 'l.gross_minor', 'l.fees_minor', 'l.refunds_minor', 'l.net_minor'])
    .where('l.line_id', 'in', lineIds)
    .orderBy('l.invoice_id')
    .execute();
}

const invoicesOf = (links: Awaited<ReturnType<typeof lineInvoices>>, lineId: string) =>
  links
    .filter((x) => x.line_id === lineId)
    .map((x) => ({
      invoiceId: x.invoice_id,
      invoiceNumber: x.invoice_number,
      grossMinor: String(x.gross_minor),
      feesMinor: String(x.fees_minor),
      refundsMinor: String(x.refunds_minor),
      netMinor: String(x.net_minor),
    }));

/**
 * Marks one line (or every pending line) of an approved batch paid out with the bank's reference
 * or the transaction hash: payout clearing → bank in the ledger and a `payout.completed` event per
 * merchant, in one transaction. The batch is `completed` when its last line is.
 */
export async function completeSettlement(ctx: CoreContext, actor: SettlementActor, batchId: string, input: { lineId?: string; reference: string }): Promise<BatchDetail> {
  return inTransaction(ctx, async (tx) => {
    const b = await batchRow(tx, batchId);
    if (b.status !== 'approved') throw conflict('settlement_not_approved', `Batch ${b.id} is ${b.status}; only an approved batch's payouts are completed`);
    const k = tx.db.kysely;
    let q = k.selectFrom('settlement_lines').selectAll().where('batch_id', '=', b.id);
    if (input.lineId) q = q.where('id', '=', input.lineId);
    const lines = await q.orderBy('line_no').execute();
    if (input.lineId && lines.length === 0) throw notFound('settlement_line_not_found', `Batch ${b.id} has no line ${input.lineId}`);
    const pending = lines.filter((l) => l.status === 'pending');
    if (pending.length === 0) throw conflict('payout_already_completed', input.lineId ? `Line ${input.lineId} is already completed` : `Every line of ${b.id} is already completed`);
    const now = tx.clock.now().toISOString();
    const links = await lineInvoices(
      tx,
      pending.map((l) => l.id),
    );
    for (const l of pending) {
      const { transaction } = await postLedgerTransaction(tx, {
        idempotencyKey: `settlement:${l.id}:completed`,
        kind: 'payout.completed',
        cause: { type: 'payout', id: l.id },
        environment: b.environment,
        merchantId: l.merchant_id,
        description: `Payout ${l.reference} to ${l.merchant_name} sent (${input.reference})`,
        effectiveAt: now,
        postedBy: actor.id,
        entries: [
          { account: { type: 'payout_clearing', environment: b.environment, currency: b.currency }, side: 'debit', amountMinor: String(l.net_minor) },
          { account: { type: 'bank', environment: b.environment, currency: b.currency }, side: 'credit', amountMinor: String(l.net_minor) },
        ],
      });
      const updated = { ...l, status: 'completed' as const, completion_reference: input.reference, completed_by: actor.id, completed_at: now, completion_tx_id: transaction.id };
      await k
        .updateTable('settlement_lines')
        .set({ status: 'completed', completion_reference: input.reference, completed_by: actor.id, completed_at: now, completion_tx_id: transaction.id })
        .where('id', '=', l.id)
        .where('status', '=', 'pending')
        .execute();
      await recordEvent(tx, { type: 'payout.completed', merchantId: l.merchant_id, environment: b.environment, data: payoutView(updated, b, invoicesOf(links, l.id)) });
    }
    const left = await k.selectFrom('settlement_lines').select('id').where('batch_id', '=', b.id).where('status', '=', 'pending').executeTakeFirst();
    if (!left) await k.updateTable('settlement_batches').set({ status: 'completed', completed_at: now, updated_at: now }).where('id', '=', b.id).execute();
    return showSettlementBatch(tx, b.id);
  });
}

/** A merchant's payouts (lines of approved or completed batches), newest first, with the invoices each covered. */
export async function listMerchantPayouts(ctx: CoreContext, scope: { merchantId: string; environment: Environment }, page: PageRequest): Promise<Page<PayoutView>> {
  const before = decodeCursor(page.cursor, 'stl');
  let q = ctx.db.kysely
    .selectFrom('settlement_lines as l')
    .innerJoin('settlement_batches as b', 'b.id', 'l.batch_id')
    .selectAll('l')
    .select(['b.month', 'b.approved_at'])
    .where('l.merchant_id', '=', scope.merchantId)
    .where('b.environment', '=', scope.environment)
    .where('b.status', 'in', ['approved', 'completed']);
  if (before) q = q.where('l.id', '<', before);
  const rows = await q
    .orderBy('l.id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const links = await lineInvoices(
    ctx,
    rows.map((r) => r.id),
  );
  return toPage(rows, page.limit, (r) => payoutView(r, r, invoicesOf(links, r.id)));
}
