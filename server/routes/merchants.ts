import multer from 'multer';
import { z } from 'zod';
import type { Request, Response } from 'express';
import { DomainError, validationError } from '../../core/errors/index.js';
import { PageQuery } from '../../core/pagination/index.js';
import {
  ApiKeyIssued,
  DestinationChangeList,
  GenerateKeyInput,
  KYB_DOCUMENT_KINDS,
  KYB_MAX_DOCUMENT_BYTES,
  KybFields,
  KybStatusView,
  LoginInput,
  LoginResult,
  MerchantProfile,
  RotateKeyInput,
  SignupInput,
  SignupResult,
  TwoFactorCodeInput,
  TwoFactorDisableInput,
  TwoFactorEnabled,
  TwoFactorEnrollment,
  UpdateMerchantInput,
  type KybUpload,
  disableTwoFactor,
  enrollTwoFactor,
  generateApiKey,
  getKyb,
  getMerchant,
  listDestinationChanges,
  login,
  rotateApiKey,
  signup,
  submitKyb,
  updateMerchant,
  verifyTwoFactor,
} from '../../core/merchants/index.js';
import { multipartDocument } from '../http/openapi.js';
import type { MerchantPrincipal } from '../http/auth.js';
import { rateLimit } from '../http/rate-limit.js';
import { rateLimitStoreFor } from '../../core/rate-limits/index.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import type { ServerDeps } from '../deps.js';

const anyMerchant = { jwt: true, apiKey: true } as const;
const sessionOnly = { jwt: true } as const;

/** An API key sees the keys of its own environment only; the dashboard session sees them all. */
const keysVisibleTo = (auth: MerchantPrincipal) => (auth.via === 'api_key' ? { keyEnvironment: auth.environment } : {});

const kybMultipart = multipartDocument(KybFields, {
  names: KYB_DOCUMENT_KINDS,
  contentTypes: ['application/pdf', 'image/png', 'image/jpeg'],
  maxBytes: KYB_MAX_DOCUMENT_BYTES,
  description: 'One document:',
  fieldDescriptions: { country: 'ISO 3166-1 alpha-2 country code (any letter case; stored upper-case)' },
});

const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: KYB_MAX_DOCUMENT_BYTES, files: 3, fields: 10, fieldSize: 1024, parts: 13 },
});

function parseMultipart(req: Request, res: Response): Promise<void> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(new DomainError('unsupported_media_type', 'multipart_required', 'Send the KYB submission as multipart/form-data'));
  }
  return new Promise((resolve, reject) => {
    upload.fields(KYB_DOCUMENT_KINDS.map((name) => ({ name, maxCount: 1 })))(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

export function merchantRoutes(deps: ServerDeps): RouteSpec[] {
  const { limits } = deps.config;
  // Shared by the replicas on a PostgreSQL database, in memory on SQLite (core/rate-limits).
  const store = rateLimitStoreFor(deps.ctx.db);
  const loginLimit = rateLimit({ name: 'login', limit: limits.loginPerMinute, windowMs: 60_000, clock: deps.ctx.clock, store });
  const signupLimit = rateLimit({ name: 'signup', limit: limits.signupPerMinute, windowMs: 60_000, clock: deps.ctx.clock, store });

  return [
    defineRoute({
      method: 'post',
      path: '/merchants',
      operationId: 'signUp',
      summary: 'Register a new merchant account',
      description:
        'Creates the merchant and returns a 24-hour JWT. No API key yet: generate a sandbox key right away, a live key after activation. Rate-limited to 5 requests per minute per IP.',
      tags: ['Merchants'],
      auth: 'public',
      legacyV1: true,
      before: [signupLimit],
      body: SignupInput,
      responses: { 201: { description: 'Account created', schema: SignupResult } },
      errors: [400, 409, 413, 429],
      handler: async ({ ctx, body }) => ({ status: 201, body: await signup(ctx, body) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      summary: 'Log in with email and password',
      description:
        'Returns a 24-hour JWT and the merchant record (with the stored key prefix only). 401 for any bad combination, without saying which part was wrong. With 2FA enrolled, `otp` (or a `recoveryCode`) is required. Rate-limited to 10 requests per minute per IP.',
      tags: ['Auth'],
      auth: 'public',
      legacyV1: true,
      before: [loginLimit],
      body: LoginInput,
      responses: { 200: { description: 'Logged in', schema: LoginResult } },
      errors: [400, 401, 429],
      handler: async ({ ctx, body }) => ({ status: 200, body: await login(ctx, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/auth/me',
      operationId: 'getCurrentMerchant',
      summary: 'The merchant of the current session',
      tags: ['Auth'],
      auth: { jwt: true, allowSuspended: true },
      legacyV1: true,
      responses: { 200: { description: 'The merchant', schema: MerchantProfile } },
      errors: [401],
      handler: async ({ ctx, auth }) => ({ status: 200, body: await getMerchantOr401(ctx, auth!.merchantId) }),
    }),
    defineRoute({
      method: 'get',
      path: '/merchants/me',
      operationId: 'getMe',
      summary: "The authenticated merchant's profile",
      description:
        'V2 on-chain fields are null until registration; `apiKeyGenerated` says whether any key exists. With an API key, `apiKey` and `apiKeys` show only the keys of that key’s environment.',
      tags: ['Merchants'],
      auth: { ...anyMerchant, allowSuspended: true, goneAs404: true },
      legacyV1: true,
      responses: { 200: { description: 'The merchant', schema: MerchantProfile } },
      errors: [401, 403, 404],
      handler: async ({ ctx, auth }) => ({ status: 200, body: await getMerchant(ctx, auth!.merchantId, keysVisibleTo(auth!)) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/merchants/me',
      operationId: 'updateMe',
      summary: 'Update profile, webhook URL, receiving addresses, bank account, settlement currency',
      description:
        'Only supplied fields change; `receivingAddresses` replaces the map. name and email are locked once registered on chain (409). ' +
        'Where money goes (`receivingAddresses`, `bankAccount`, `settlementCurrency`) changes only from a live API key or the dashboard JWT — with a fresh `otp` once 2FA is enrolled (401 otp_required / otp_invalid) — never from a sandbox key (403 destination_change_forbidden). ' +
        'Every change is recorded (GET /merchants/me/destination-history) and holds payouts for 72 hours. name, email and autoCreateCustomers change with any credential. ' +
        "`webhookUrl` is the live environment's default webhook endpoint (every event type; see GET /webhook-endpoints, `source: profile`): it changes from the dashboard JWT or a live key, never a sandbox key (403 webhook_url_change_forbidden).",
      tags: ['Merchants'],
      auth: anyMerchant,
      legacyV1: true,
      body: UpdateMerchantInput,
      responses: { 200: { description: 'The updated merchant', schema: MerchantProfile } },
      errors: [400, 401, 403, 404, 409],
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await updateMerchant(ctx, auth!.merchantId, body, auth!, keysVisibleTo(auth!)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/merchants/me/destination-history',
      operationId: 'listDestinationChanges',
      summary: 'Every change of where money goes, newest first',
      description:
        'One entry per changed field (receivingAddresses, bankAccount, settlementCurrency): before and after (bank accounts masked), when, and which credential made it. Payouts are held for 72 hours after the latest change. Cursor-paginated.',
      tags: ['Merchants'],
      auth: { ...anyMerchant, allowSuspended: true },
      query: PageQuery,
      responses: { 200: { description: 'A page of destination changes', schema: DestinationChangeList } },
      errors: [400, 401, 403],
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listDestinationChanges(ctx, auth!.merchantId, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/generate-key',
      operationId: 'generateApiKey',
      summary: 'Generate the first API key of an environment',
      description:
        'Refused when a key of that environment exists (rotate instead). Sandbox keys work right after signup; live keys need KYB approval, 2FA and a settlement destination, and are created only from the dashboard JWT (401 jwt_required) with a fresh `otp` (401 otp_required / otp_invalid). An API key may ask only for its own environment (403 environment_mismatch). The full key is returned once; only a SHA-256 of its secret is stored.',
      tags: ['API keys'],
      auth: anyMerchant,
      legacyV1: true,
      body: GenerateKeyInput,
      responses: { 200: { description: 'The new key, shown once', schema: ApiKeyIssued } },
      errors: [400, 401, 403],
      errorCodes: { 400: ['live_access_locked', 'api_key_exists'] },
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await generateApiKey(ctx, auth!.merchantId, body, auth!) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/rotate-key',
      operationId: 'rotateApiKey',
      summary: 'Replace an API key; the old one stops working at once',
      description:
        'Needs a dashboard JWT (never an API key). Live keys: a fresh `otp` once 2FA is enrolled (401 otp_required / otp_invalid), and at most one rotation every 180 days (429 with the days left).',
      tags: ['API keys'],
      auth: { jwt: true, jwtOnlyMessage: 'JWT required for key rotation (Dashboard login)' },
      legacyV1: true,
      body: RotateKeyInput,
      responses: { 200: { description: 'The new key, shown once', schema: ApiKeyIssued } },
      errors: [400, 401, 403, 429],
      errorCodes: { 400: ['api_key_missing'], 429: ['rotation_cooldown'] },
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await rotateApiKey(ctx, auth!.merchantId, body, auth!) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/2fa/enroll',
      operationId: 'enrollTwoFactor',
      summary: 'Start 2FA enrolment: a TOTP secret, otpauth URI and QR code',
      tags: ['Two-factor'],
      auth: sessionOnly,
      responses: { 200: { description: 'Scan the QR code, then verify a code', schema: TwoFactorEnrollment } },
      errors: [401, 403, 409],
      handler: async ({ ctx, auth }) => ({ status: 200, body: await enrollTwoFactor(ctx, auth!.merchantId) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/2fa/verify',
      operationId: 'verifyTwoFactor',
      summary: 'Confirm enrolment with a code; returns recovery codes once',
      tags: ['Two-factor'],
      auth: sessionOnly,
      body: TwoFactorCodeInput,
      responses: { 200: { description: '2FA enabled', schema: TwoFactorEnabled } },
      errors: [400, 401, 403, 409],
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await verifyTwoFactor(ctx, auth!.merchantId, body.code) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/2fa/disable',
      operationId: 'disableTwoFactor',
      summary: 'Turn 2FA off (password and a current code required)',
      tags: ['Two-factor'],
      auth: sessionOnly,
      body: TwoFactorDisableInput,
      responses: { 200: { description: '2FA disabled', schema: z.object({ enabled: z.literal(false) }) } },
      errors: [400, 401, 403],
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await disableTwoFactor(ctx, auth!.merchantId, body.password, body.code) }),
    }),
    defineRoute({
      method: 'post',
      path: '/merchants/me/kyb',
      operationId: 'submitKyb',
      summary: 'Submit KYB: company details and three documents',
      description: 'multipart/form-data. Documents are PDF, PNG or JPEG (checked by content, not name), at most 10 MB each, stored content-addressed.',
      tags: ['KYB'],
      auth: sessionOnly,
      bodyType: 'multipart',
      multipartSchema: kybMultipart.schema,
      multipartEncoding: kybMultipart.encoding,
      responses: { 201: { description: 'Submitted for review', schema: KybStatusView } },
      errors: [400, 401, 403, 409, 413, 415],
      errorCodes: {
        400: ['validation_failed', 'kyb_document_missing', 'kyb_document_empty', 'kyb_document_duplicate', 'upload_invalid'],
        413: ['kyb_document_too_large'],
        415: ['multipart_required', 'kyb_document_type'],
      },
      handler: async ({ ctx, auth, req, res }) => {
        await parseMultipart(req, res);
        const fields = KybFields.safeParse(req.body ?? {});
        // The same error as every other route's invalid input (with `issues`), as documented.
        if (!fields.success) throw validationError(fields.error.issues);
        const files = (req.files ?? {}) as Record<string, Express.Multer.File[]>;
        const uploads: KybUpload[] = KYB_DOCUMENT_KINDS.flatMap((kind) => (files[kind] ?? []).map((f) => ({ kind, originalName: f.originalname, content: f.buffer })));
        return { status: 201, body: await submitKyb(ctx, auth!.merchantId, fields.data, uploads) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/merchants/me/kyb',
      operationId: 'getKyb',
      summary: 'KYB status, submitted documents and any rejection reason',
      tags: ['KYB'],
      auth: { ...anyMerchant, allowSuspended: true },
      responses: { 200: { description: 'KYB status', schema: KybStatusView } },
      errors: [401, 403],
      handler: async ({ ctx, auth }) => ({ status: 200, body: await getKyb(ctx, auth!.merchantId) }),
    }),
  ];
}

/** GET /auth/me answers 401 (not 404) when the session's merchant is gone, as the seed says. */
async function getMerchantOr401(ctx: Parameters<typeof getMerchant>[0], merchantId: string) {
  try {
    return await getMerchant(ctx, merchantId);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'merchant_not_found') throw new DomainError('unauthenticated', 'token_invalid', 'Invalid or expired token');
    throw e;
  }
}
