import { sql } from 'kysely';
import { z } from 'zod';
import { KYB_DOCUMENT_KINDS, type KybDecision, decideKyb, getKyb, readKybDocument } from '../../merchants/kyb.js';
import { getMerchant, loadMerchantRow } from '../../merchants/view.js';
import { type CommandContext, defineCommand } from '../registry.js';
import { KybView, Limit, MerchantRef, ReviewerText } from './shared.js';

/**
 * KYB review. Everyone in the back office may read the queue and the documents (support
 * answers merchants' questions about it), and every look at a merchant's submission or documents
 * is audited (`auditsAccess`: the merchant id and document kind, never the contents); only admins decide. Approve and reject need step-up:
 * approval unlocks live keys, rejection is what the merchant sees. Asking for more information
 * does neither (the submission can be re-sent), so a session suffices for it.
 */

const KybStatus = z.enum(['pending_review', 'approved', 'rejected', 'info_requested']);

export const kybList = defineCommand({
  name: 'kyb:list',
  summary: 'KYB submissions: pending first, oldest first',
  input: z.object({
    status: KybStatus.optional().meta({ description: 'Only merchants in this KYB status' }),
    limit: Limit,
  }),
  output: z.object({
    items: z.array(
      z.object({
        merchantId: z.string(),
        merchantName: z.string(),
        merchantEmail: z.string(),
        merchantStatus: z.string(),
        kybStatus: z.string(),
        submissionId: z.string(),
        companyName: z.string(),
        country: z.string(),
        submittedAt: z.string(),
        reviewedAt: z.string().nullable(),
      }),
    ),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('kyb_submissions as s')
      .innerJoin('merchants as m', 'm.id', 's.merchant_id')
      .select([
        'm.id as merchantId',
        'm.name as merchantName',
        'm.email as merchantEmail',
        'm.status as merchantStatus',
        'm.kyb_status as kybStatus',
        's.id as submissionId',
        's.company_name as companyName',
        's.country',
        's.submitted_at as submittedAt',
        's.reviewed_at as reviewedAt',
      ])
      // each merchant's latest submission only
      .where('s.id', '=', (eb) =>
        eb
          .selectFrom('kyb_submissions as s2')
          .select('s2.id')
          .whereRef('s2.merchant_id', '=', 's.merchant_id')
          .orderBy('s2.submitted_at', 'desc')
          .orderBy('s2.id', 'desc')
          .limit(1),
      )
      .where('m.status', '!=', 'deactivated')
      .orderBy(sql`case when m.kyb_status = 'pending_review' then 0 else 1 end`)
      .orderBy('s.submitted_at', 'asc')
      .orderBy('s.id', 'asc')
      .limit(input.limit);
    if (input.status) q = q.where('m.kyb_status', '=', input.status);
    return { items: await q.execute() };
  },
});

const DocumentView = z.object({
  kind: z.string(),
  fileName: z.string(),
  contentType: z.string(),
  sizeBytes: z.number(),
  sha256: z.string(),
  /** How to get the file itself. */
  exportCommand: z.string(),
});

export const kybShow = defineCommand({
  name: 'kyb:show',
  summary: "A merchant's KYB submission and its documents (names, sizes, SHA-256)",
  input: z.object({ merchant: MerchantRef }),
  output: z.object({
    merchant: z.object({ id: z.string(), name: z.string(), email: z.string(), status: z.string() }),
    kyb: KybView,
    reviewedBy: z.string().nullable(),
    documents: z.array(DocumentView),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  auditsAccess: true,
  async handler(ctx, input) {
    ctx.touch(input.merchant);
    const m = await loadMerchantRow(ctx, input.merchant);
    const { documents, ...kyb } = await getKyb(ctx, m.id);
    if (kyb.submissionId) ctx.touch(kyb.submissionId);
    const reviewer = kyb.submissionId
      ? await ctx.db.kysely
          .selectFrom('kyb_submissions as s')
          .leftJoin('staff as st', 'st.id', 's.reviewed_by')
          .select(['s.reviewed_by', 'st.email'])
          .where('s.id', '=', kyb.submissionId)
          .executeTakeFirst()
      : undefined;
    return {
      merchant: { id: m.id, name: m.name, email: m.email, status: m.status },
      kyb,
      reviewedBy: reviewer?.email ?? reviewer?.reviewed_by ?? null,
      documents: documents.map((d) => ({
        ...d,
        exportCommand: `buffmoney kyb:export-document --merchant ${m.id} --kind ${d.kind} --out ${d.fileName}`,
      })),
    };
  },
});

export const kybExportDocument = defineCommand({
  name: 'kyb:export-document',
  summary: 'One KYB document, base64 (the CLI writes it to --out FILE)',
  input: z.object({ merchant: MerchantRef, kind: z.enum(KYB_DOCUMENT_KINDS).meta({ description: 'Which document' }) }),
  output: z.object({
    merchantId: z.string(),
    kind: z.string(),
    fileName: z.string(),
    contentType: z.string(),
    sizeBytes: z.number(),
    sha256: z.string(),
    contentBase64: z.string(),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  auditsAccess: true,
  async handler(ctx, input) {
    ctx.touch(input.merchant);
    await loadMerchantRow(ctx, input.merchant);
    const doc = await readKybDocument(ctx, input.merchant, input.kind);
    return {
      merchantId: input.merchant,
      kind: input.kind,
      fileName: doc.fileName,
      contentType: doc.contentType,
      sizeBytes: doc.sizeBytes,
      sha256: doc.sha256,
      contentBase64: doc.content.toString('base64'),
    };
  },
});

const Decision = z.object({
  merchantId: z.string(),
  submissionId: z.string(),
  status: z.enum(['approved', 'rejected', 'info_requested']),
  previousStatus: z.literal('pending_review'),
  liveAccess: z.object({ unlocked: z.boolean(), missing: z.array(z.string()) }),
});

async function withLiveAccess(ctx: Parameters<typeof getMerchant>[0], decided: Awaited<ReturnType<typeof decideKyb>>) {
  const view = await getMerchant(ctx, decided.merchantId);
  // decideKyb's status is one of the three decisions; the output schema checks it at run time.
  return { ...decided, status: decided.status as z.infer<typeof Decision>['status'], liveAccess: view.liveAccess };
}

/** A reviewer's decision on the pending submission, with the ids it touched and the live-access outcome. */
async function recordDecision(ctx: CommandContext, merchantId: string, decision: KybDecision) {
  ctx.touch(merchantId);
  const decided = await decideKyb(ctx, merchantId, ctx.staff.id, decision);
  ctx.touch(decided.submissionId);
  return withLiveAccess(ctx, decided);
}

export const kybApprove = defineCommand({
  name: 'kyb:approve',
  summary: "Approve the merchant's pending KYB (unlocks live keys once 2FA and a destination exist)",
  input: z.object({ merchant: MerchantRef }),
  output: Decision,
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    return recordDecision(ctx, input.merchant, { decision: 'approve' });
  },
});

export const kybReject = defineCommand({
  name: 'kyb:reject',
  summary: "Reject the merchant's pending KYB; the merchant sees the reason",
  input: z.object({ merchant: MerchantRef, reason: ReviewerText('The reason').meta({ description: 'Shown to the merchant' }) }),
  output: Decision,
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    return recordDecision(ctx, input.merchant, { decision: 'reject', reason: input.reason });
  },
});

export const kybRequestInfo = defineCommand({
  name: 'kyb:request-info',
  summary: 'Ask the merchant for more information before deciding',
  input: z.object({ merchant: MerchantRef, message: ReviewerText('The message').meta({ description: 'Shown to the merchant' }) }),
  output: Decision,
  roles: ['admin'],
  stepUp: false,
  mutates: true,
  async handler(ctx, input) {
    return recordDecision(ctx, input.merchant, { decision: 'request_info', message: input.message });
  },
});
