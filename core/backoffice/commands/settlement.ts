import { z } from 'zod';
import { SUPPORTED_CURRENCIES } from '../../money/currencies.js';
import {
  HELD_REASONS,
  approveSettlementBatch,
  closeSettlementBatch,
  completeSettlement,
  exportPayoutFile,
  listSettlementBatches,
  maskDestination,
  previewSettlement,
  rejectSettlementBatch,
  showSettlementBatch,
} from '../../settlement/index.js';
import { defineCommand } from '../registry.js';
import { Limit, ReviewerText } from './shared.js';

/**
 * Monthly settlement in the back office (core/settlement/README.md). Roles and why:
 *  - `settlement:preview`, `settlement:list`, `settlement:show`: admin, finance — bank details
 *    (masked) and money per merchant; support has no business here.
 *  - `settlement:close`: admin, finance — finance's monthly job; it moves no money (it only
 *    gathers and freezes), so a session is enough. Whoever closes may not approve.
 *  - `settlement:approve`: admin only, **step-up** — the second approval sends money out; each
 *    approver proves presence with a fresh TOTP code (accepted once), the closer and the same
 *    admin twice are refused, in code and by the database.
 *  - `settlement:reject`: admin, finance — stopping a batch moves no money (it frees its invoices).
 *  - `settlement:export`: admin, finance — the same bytes approval produced, the export recorded.
 *  - `settlement:complete`: admin, finance — records what the bank or chain confirmed (reference
 *    or tx hash); bookkeeping of money already sent, so no step-up; audited like every mutation.
 */

const Environment = z.enum(['sandbox', 'live']);
const Month = z
  .string()
  .trim()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM (UTC)')
  .meta({ description: 'The calendar month (UTC), YYYY-MM' });
const Currency = z.string().trim().toUpperCase().pipe(z.enum(SUPPORTED_CURRENCIES)).meta({ description: 'The settlement currency (USD, EUR, CNY, USDC, USDT, …)' });
const BatchRef = z
  .string()
  .trim()
  .regex(/^stb_[0-9a-z]+$/, 'must be a settlement batch id (stb_…)')
  .meta({ description: 'Settlement batch id (stb_…)' });
const Cursor = z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' });
const Status = z.enum(['closed', 'approved', 'rejected', 'completed']);
const Format = z.enum(['bank-csv', 'bank-summary', 'token-csv', 'pain001']);

const Held = z.object({
  merchantId: z.string(),
  merchantName: z.string(),
  reason: z.enum(HELD_REASONS),
  detail: z.string(),
  netMinor: z.string(),
  invoiceIds: z.array(z.string()),
});

const FileView = z.object({
  id: z.string(),
  format: Format,
  fileName: z.string(),
  sha256: z.string(),
  byteLength: z.number(),
  kind: z.enum(['produced', 'exported']),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});

const BatchSummary = z.object({
  id: z.string(),
  environment: Environment,
  month: z.string(),
  currency: z.string(),
  status: Status,
  closedBy: z.string(),
  closedByEmail: z.string().nullable(),
  closedAt: z.string(),
  lineCount: z.number(),
  totalMinor: z.string(),
  total: z.string(),
  heldCount: z.number(),
  contentHash: z.string(),
  approvals: z.array(z.object({ adminId: z.string(), adminEmail: z.string(), contentHash: z.string(), approvedAt: z.string(), current: z.boolean() })),
  approvedAt: z.string().nullable(),
  fxRate: z.string().nullable(),
  fxRateId: z.string().nullable(),
  rejectedBy: z.string().nullable(),
  rejectedByEmail: z.string().nullable(),
  rejectedAt: z.string().nullable(),
  rejectReason: z.string().nullable(),
  completedAt: z.string().nullable(),
  files: z.array(FileView),
});

const Money = { grossMinor: z.string(), feesMinor: z.string(), refundsMinor: z.string(), netMinor: z.string() };

const BatchDetail = BatchSummary.extend({
  lines: z.array(
    z.object({
      id: z.string(),
      lineNo: z.number(),
      merchantId: z.string(),
      merchantName: z.string(),
      reference: z.string(),
      currency: z.string(),
      ...Money,
      collectionNetMinor: z.string(),
      fxDifferenceMinor: z.string().nullable(),
      destination: z.record(z.string(), z.string()),
      status: z.enum(['pending', 'completed']),
      completionReference: z.string().nullable(),
      completedBy: z.string().nullable(),
      completedAt: z.string().nullable(),
      invoices: z.array(z.object({ invoiceId: z.string(), invoiceNumber: z.string(), ...Money, released: z.boolean() })),
    }),
  ),
  held: z.array(Held),
});

const Scope = { month: Month, currency: Currency, environment: Environment.default('live').meta({ description: 'live (default) or sandbox' }) };

export const settlementPreview = defineCommand({
  name: 'settlement:preview',
  summary: 'What settlement:close would gather now, and what it would hold back and why (writes nothing)',
  input: z.object(Scope),
  output: z.object({
    environment: Environment,
    month: z.string(),
    currency: z.string(),
    lineCount: z.number(),
    totalMinor: z.string(),
    lines: z.array(
      z.object({
        merchantId: z.string(),
        merchantName: z.string(),
        ...Money,
        collectionNetMinor: z.string(),
        destination: z.record(z.string(), z.string()),
        invoices: z.array(z.object({ invoiceId: z.string(), invoiceNumber: z.string(), paidAt: z.string(), ...Money })),
      }),
    ),
    held: z.array(Held),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const p = await previewSettlement(ctx, input);
    return {
      ...p,
      lines: p.lines.map((l) => ({ ...l, destination: maskDestination(l.destination), invoices: l.invoices.map(({ collectionNetMinor: _, ...i }) => i) })),
    };
  },
});

export const settlementClose = defineCommand({
  name: 'settlement:close',
  summary: 'Close the settlement batch of a month and currency: settlement:close --month YYYY-MM --currency CUR [--environment live|sandbox]',
  input: z.object(Scope),
  output: BatchDetail,
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  async handler(ctx, input) {
    const batch = await closeSettlementBatch(ctx, ctx.staff, input);
    ctx.touch(batch.id, ...batch.lines.map((l) => l.merchantId));
    return batch;
  },
});

export const settlementList = defineCommand({
  name: 'settlement:list',
  summary: 'Settlement batches, newest first (filters: --status, --month, --currency, --environment; --cursor for the next page)',
  input: z.object({ status: Status.optional(), month: Month.optional(), currency: Currency.optional(), environment: Environment.optional(), limit: Limit, cursor: Cursor }),
  output: z.object({ items: z.array(BatchSummary), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const page = await listSettlementBatches(ctx, input);
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const settlementShow = defineCommand({
  name: 'settlement:show',
  summary: 'One settlement batch: lines with the invoices each covers, held-back merchants, approvals, files',
  input: z.object({ batch: BatchRef }),
  output: BatchDetail,
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  positional: ['batch'],
  async handler(ctx, input) {
    return showSettlementBatch(ctx, input.batch);
  },
});

export const settlementApprove = defineCommand({
  name: 'settlement:approve',
  summary: 'Approve a closed batch (admin, step-up; not its closer; two distinct admins): settlement:approve --batch ID --otp CODE [--hash CONTENT_HASH]',
  input: z.object({
    batch: BatchRef,
    hash: z
      .string()
      .trim()
      .regex(/^[0-9a-f]{64}$/, 'must be the batch content hash (64 hex digits)')
      .optional()
      .meta({ description: 'The content hash you reviewed; refused if the batch now has another' }),
  }),
  output: z.object({ batch: BatchDetail, approvals: z.number(), executed: z.boolean() }),
  roles: ['admin'],
  // The second approval sends money out: each approver proves presence with a fresh code.
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.batch);
    return approveSettlementBatch(ctx, ctx.staff, input.batch, input.hash);
  },
});

export const settlementReject = defineCommand({
  name: 'settlement:reject',
  summary: 'Reject a closed batch; its invoices are released for a later batch: settlement:reject --batch ID --reason TEXT',
  input: z.object({ batch: BatchRef, reason: ReviewerText('The reason') }),
  output: BatchDetail,
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.batch);
    return rejectSettlementBatch(ctx, ctx.staff, input.batch, input.reason);
  },
});

export const settlementExport = defineCommand({
  name: 'settlement:export',
  summary: 'The payout file of an approved batch, byte-identical every time: settlement:export --batch ID --out PATH [--format bank-csv|bank-summary|token-csv|pain001]',
  input: z.object({ batch: BatchRef, format: Format.optional().meta({ description: 'Default: bank-csv, or token-csv for USDC/USDT' }) }),
  output: z.object({ batchId: z.string(), format: Format, fileName: z.string(), sha256: z.string(), byteLength: z.number(), contentBase64: z.string() }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.batch);
    return exportPayoutFile(ctx, ctx.staff, input.batch, input.format);
  },
});

export const settlementComplete = defineCommand({
  name: 'settlement:complete',
  summary: 'Mark a line (or every pending line) of an approved batch paid out: settlement:complete --batch ID [--line ID] --reference BANKREF|TXHASH',
  input: z.object({
    batch: BatchRef,
    line: z
      .string()
      .trim()
      .regex(/^stl_[0-9a-z]+$/, 'must be a settlement line id (stl_…)')
      .optional()
      .meta({ description: 'One line; every pending line when left out' }),
    reference: z.string().trim().min(1, 'name the bank reference or transaction hash').max(140).meta({ description: 'The bank reference or on-chain transaction hash' }),
  }),
  output: BatchDetail,
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.batch, ...(input.line ? [input.line] : []));
    const batch = await completeSettlement(ctx, ctx.staff, input.batch, { lineId: input.line, reference: input.reference });
    ctx.touch(...batch.lines.filter((l) => l.completedAt === ctx.clock.now().toISOString()).map((l) => l.merchantId));
    return batch;
  },
});
