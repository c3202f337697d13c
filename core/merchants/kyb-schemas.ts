import { z } from 'zod';

/** KYB request and response shapes, shared by the merchant API and the back office. */

export const KybFields = z.strictObject({
  companyName: z.string().trim().min(1).max(300),
  registrationNumber: z.string().trim().min(1).max(100),
  country: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
    .toUpperCase(),
});

export const KybDocumentView = z.object({
  kind: z.enum(['companyRegistration', 'ownerId', 'bankProof']),
  fileName: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int(),
  sha256: z.string(),
});

export const KybStatusView = z
  .object({
    status: z.enum(['not_submitted', 'pending_review', 'approved', 'rejected', 'info_requested']),
    submissionId: z.string().nullable(),
    companyName: z.string().nullable(),
    registrationNumber: z.string().nullable(),
    country: z.string().nullable(),
    submittedAt: z.string().nullable(),
    reviewedAt: z.string().nullable(),
    rejectionReason: z.string().nullable(),
    infoRequest: z.string().nullable(),
    documents: z.array(KybDocumentView),
  })
  .meta({ id: 'KybStatus' });
