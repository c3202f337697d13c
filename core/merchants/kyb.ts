import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, conflict, invalidInput, notFound } from '../errors/index.js';
import type { KybFields, KybStatusView } from './schemas.js';
import type { KybDocumentsTable } from './tables.js';
import { loadMerchantRow } from './view.js';

export const KYB_DOCUMENT_KINDS = ['companyRegistration', 'ownerId', 'bankProof'] as const;
export type KybDocumentKind = (typeof KYB_DOCUMENT_KINDS)[number];
export const KYB_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export interface KybUpload {
  kind: KybDocumentKind;
  originalName: string;
  content: Buffer;
}

/** The file's real type from its first bytes; the name and the declared type are never trusted. */
export function sniffDocumentType(content: Buffer): 'application/pdf' | 'image/png' | 'image/jpeg' | null {
  if (content.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (content.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (content[0] === 0xff && content[1] === 0xd8 && content[2] === 0xff) return 'image/jpeg';
  return null;
}

function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'document';
  return base.replace(/[^\w.\- ()]/g, '_').slice(0, 120) || 'document';
}

export async function submitKyb(ctx: CoreContext, merchantId: string, fields: z.infer<typeof KybFields>, uploads: KybUpload[]) {
  for (const kind of KYB_DOCUMENT_KINDS) {
    const count = uploads.filter((u) => u.kind === kind).length;
    if (count === 0) throw invalidInput('kyb_document_missing', `The ${kind} document is required`);
    if (count > 1) throw invalidInput('kyb_document_duplicate', `Send exactly one ${kind} document`);
  }
  const checked = uploads.map((u) => {
    if (u.content.length === 0) throw invalidInput('kyb_document_empty', `${u.kind} is empty`);
    if (u.content.length > KYB_MAX_DOCUMENT_BYTES) {
      throw new DomainError('payload_too_large', 'kyb_document_too_large', `${u.kind} is larger than ${KYB_MAX_DOCUMENT_BYTES / 1024 / 1024} MB`);
    }
    const contentType = sniffDocumentType(u.content);
    if (!contentType) {
      throw new DomainError('unsupported_media_type', 'kyb_document_type', `${u.kind} must be a PDF, PNG or JPEG file (checked by content)`);
    }
    return { ...u, contentType, sha256: createHash('sha256').update(u.content).digest('hex') };
  });

  return inTransaction(ctx, async (tx) => {
    const merchant = await loadMerchantRow(tx, merchantId);
    if (merchant.kyb_status === 'pending_review') throw conflict('kyb_pending', 'A KYB submission is already under review');
    if (merchant.kyb_status === 'approved') throw conflict('kyb_already_approved', 'KYB is already approved');
    const now = tx.clock.now().toISOString();
    const submissionId = tx.ids.next('kyb');
    for (const doc of checked) {
      await tx.db.kysely
        .insertInto('document_blobs')
        .values({ sha256: doc.sha256, content_type: doc.contentType, size_bytes: doc.content.length, content: doc.content, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
    await tx.db.kysely
      .insertInto('kyb_submissions')
      .values({
        id: submissionId,
        merchant_id: merchantId,
        status: 'pending_review',
        company_name: fields.companyName,
        registration_number: fields.registrationNumber,
        country: fields.country,
        submitted_at: now,
        reviewed_at: null,
        reviewed_by: null,
        rejection_reason: null,
        info_request: null,
      })
      .execute();
    for (const doc of checked) {
      await tx.db.kysely
        .insertInto('kyb_documents')
        .values({
          id: tx.ids.next('kybdoc'),
          submission_id: submissionId,
          kind: doc.kind,
          original_name: safeFileName(doc.originalName),
          content_type: doc.contentType,
          size_bytes: doc.content.length,
          sha256: doc.sha256,
        })
        .execute();
    }
    await tx.db.kysely.updateTable('merchants').set({ kyb_status: 'pending_review', updated_at: now }).where('id', '=', merchantId).execute();
    return getKyb(tx, merchantId);
  });
}

export async function getKyb(ctx: CoreContext, merchantId: string): Promise<z.infer<typeof KybStatusView>> {
  const merchant = await loadMerchantRow(ctx, merchantId);
  const sub = await ctx.db.kysely
    .selectFrom('kyb_submissions')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .orderBy('submitted_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!sub) {
    return {
      status: merchant.kyb_status,
      submissionId: null,
      companyName: null,
      registrationNumber: null,
      country: null,
      submittedAt: null,
      reviewedAt: null,
      rejectionReason: null,
      infoRequest: null,
      documents: [],
    };
  }
  const docs = await listKybDocuments(ctx, sub.id);
  return {
    status: merchant.kyb_status,
    submissionId: sub.id,
    companyName: sub.company_name,
    registrationNumber: sub.registration_number,
    country: sub.country,
    submittedAt: sub.submitted_at,
    reviewedAt: sub.reviewed_at,
    rejectionReason: sub.rejection_reason,
    infoRequest: sub.info_request,
    documents: docs.map((d) => ({ kind: d.kind, fileName: d.original_name, contentType: d.content_type, sizeBytes: d.size_bytes, sha256: d.sha256 })),
  };
}

export async function listKybDocuments(ctx: CoreContext, submissionId: string): Promise<KybDocumentsTable[]> {
  return ctx.db.kysely.selectFrom('kyb_documents').selectAll().where('submission_id', '=', submissionId).orderBy('kind').execute();
}

export type KybDecision = { decision: 'approve' } | { decision: 'reject'; reason: string } | { decision: 'request_info'; message: string };

/**
 * A reviewer's decision on the merchant's pending submission. Only a pending submission can be
 * decided; the merchant sees the outcome (and any reason) through GET /merchants/me/kyb.
 */
export async function decideKyb(ctx: CoreContext, merchantId: string, reviewerId: string, decision: KybDecision) {
  return inTransaction(ctx, async (tx) => {
    const merchant = await loadMerchantRow(tx, merchantId);
    const sub = await tx.db.kysely.selectFrom('kyb_submissions').selectAll().where('merchant_id', '=', merchantId).where('status', '=', 'pending_review').executeTakeFirst();
    if (!sub || merchant.kyb_status !== 'pending_review') {
      throw conflict('kyb_not_pending', `There is no KYB submission pending review for this merchant (status: ${merchant.kyb_status})`);
    }
    const now = tx.clock.now().toISOString();
    const status = decision.decision === 'approve' ? 'approved' : decision.decision === 'reject' ? 'rejected' : 'info_requested';
    await tx.db.kysely
      .updateTable('kyb_submissions')
      .set({
        status,
        reviewed_at: now,
        reviewed_by: reviewerId,
        rejection_reason: decision.decision === 'reject' ? decision.reason : null,
        info_request: decision.decision === 'request_info' ? decision.message : null,
      })
      .where('id', '=', sub.id)
      .execute();
    await tx.db.kysely.updateTable('merchants').set({ kyb_status: status, updated_at: now }).where('id', '=', merchantId).execute();
    return { merchantId, submissionId: sub.id, status, previousStatus: 'pending_review' as const };
  });
}

export async function readKybDocument(ctx: CoreContext, merchantId: string, kind: KybDocumentKind) {
  const row = await ctx.db.kysely
    .selectFrom('kyb_documents as d')
    .innerJoin('kyb_submissions as s', 's.id', 'd.submission_id')
    .innerJoin('document_blobs as b', 'b.sha256', 'd.sha256')
    .select(['d.original_name', 'd.content_type', 'd.size_bytes', 'd.sha256', 'b.content'])
    .where('s.merchant_id', '=', merchantId)
    .where('d.kind', '=', kind)
    .orderBy('s.submitted_at', 'desc')
    .executeTakeFirst();
  if (!row) throw notFound('kyb_document_not_found', `No ${kind} document for this merchant`);
  return { fileName: row.original_name, contentType: row.content_type, sizeBytes: row.size_bytes, sha256: row.sha256, content: Buffer.from(row.content) };
}
