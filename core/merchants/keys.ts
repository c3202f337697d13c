import type { z } from 'zod';
import { API_KEY_SCOPES, type ApiKeyScope, createApiKey, parseApiKey } from '../auth/api-keys.js';
import { constantTimeEqual, sha256Hex } from '../auth/encoding.js';
import { DAY, type CoreContext, type Environment } from '../context/index.js';
import { compiledQuery } from '../db/compiled.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, forbidden, invalidInput, unauthenticated } from '../errors/index.js';
import type { GenerateKeyInput, RotateKeyInput } from './schemas.js';
import { type MerchantCredential, requireFreshOtp } from './step-up.js';
import { type LiveRequirement, loadMerchantRow, missingLiveRequirements } from './view.js';

export const LIVE_KEY_ROTATION_COOLDOWN_DAYS = 180;
const RECEIVER_REQUIRED = 'Activate on-chain (or set a receiving address) before generating an API key.';

const REQUIREMENT_TEXT: Record<LiveRequirement, string> = {
  kyb_approval: 'KYB approval',
  two_factor: '2FA enrollment',
  settlement_destination: 'a settlement destination (a receiving address, a bank account, or an on-chain registration)',
};

function liveLocked(missing: LiveRequirement[], kybStatus: string): DomainError {
  // When only the destination is missing the message is the merchants API document's own.
  const message =
    missing.length === 1 && missing[0] === 'settlement_destination'
      ? RECEIVER_REQUIRED
      : `Live API keys unlock after KYB approval, 2FA enrollment and a settlement destination. Missing: ${missing
          .map((m) => (m === 'kyb_approval' ? `${REQUIREMENT_TEXT[m]} (KYB status: ${kybStatus})` : REQUIREMENT_TEXT[m]))
          .join('; ')}.${missing.includes('settlement_destination') ? ` ${RECEIVER_REQUIRED}` : ''}`;
  return new DomainError('invalid_input', 'live_access_locked', message, { details: { missing } });
}

function uniqueScopes(scopes: readonly ApiKeyScope[] | undefined, fallback: readonly ApiKeyScope[]): ApiKeyScope[] {
  return [...new Set(scopes ?? fallback)].sort() as ApiKeyScope[];
}

/** An API key acts in its own environment only: it never creates, rotates or lists another's keys. */
export function environmentMismatch(keyEnvironment: Environment, requested: Environment): DomainError {
  return forbidden('environment_mismatch', `A ${keyEnvironment} API key cannot act on ${requested} keys or data`);
}

const LIVE_KEY_NEEDS_SESSION = 'Creating or rotating a live API key needs a dashboard session (Bearer JWT) and a two-factor code, not an API key';

/**
 * Generate-key: the first key of an environment. An API key may only ask for its own environment
 * (403 environment_mismatch); a live key needs the dashboard session (401 jwt_required) and, as
 * live access needs 2FA, a fresh `otp`.
 */
export async function generateApiKey(ctx: CoreContext, merchantId: string, input: z.infer<typeof GenerateKeyInput>, credential: MerchantCredential) {
  if (credential.via === 'api_key') {
    if (credential.environment !== input.environment) throw environmentMismatch(credential.environment, input.environment);
    if (input.environment === 'live') throw unauthenticated('jwt_required', LIVE_KEY_NEEDS_SESSION);
  }
  return inTransaction(ctx, async (tx) => {
    const merchant = await loadMerchantRow(tx, merchantId);
    const existing = await tx.db.kysely
      .selectFrom('merchant_api_keys')
      .select('id')
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', input.environment)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (existing) throw invalidInput('api_key_exists', 'API Key already exists. Use the Rotate button to generate a new one.');
    if (input.environment === 'live') {
      const missing = missingLiveRequirements(merchant);
      if (missing.length > 0) throw liveLocked(missing, merchant.kyb_status);
      await requireFreshOtp(tx, merchant, input.otp, 'Creating a live API key');
    }
    const scopes = uniqueScopes(input.scopes, API_KEY_SCOPES);
    const key = createApiKey(input.environment, tx.randomBytes);
    await tx.db.kysely
      .insertInto('merchant_api_keys')
      .values({
        id: key.keyId,
        merchant_id: merchantId,
        environment: input.environment,
        secret_hash: key.secretHash,
        prefix: key.prefix,
        scopes: JSON.stringify(scopes),
        rotated_from: null,
        created_at: tx.clock.now().toISOString(),
        revoked_at: null,
      })
      .execute();
    return {
      apiKey: key.plaintext,
      message: 'Store this key securely. It will not be shown again.',
      environment: input.environment,
      prefix: key.prefix,
      scopes,
    };
  });
}

/** Rotate-key: the dashboard session only (the route admits no API key; this is the second lock). */
export async function rotateApiKey(ctx: CoreContext, merchantId: string, input: z.infer<typeof RotateKeyInput>, credential: MerchantCredential) {
  if (credential.via !== 'jwt') throw unauthenticated('jwt_required', 'JWT required for key rotation (Dashboard login)');
  return inTransaction(ctx, async (tx) => {
    const merchant = await loadMerchantRow(tx, merchantId);
    const active = await tx.db.kysely.selectFrom('merchant_api_keys').selectAll().where('merchant_id', '=', merchantId).where('revoked_at', 'is', null).execute();
    const environment: Environment = input.environment ?? (active.some((k) => k.environment === 'live') ? 'live' : 'sandbox');
    const current = active.find((k) => k.environment === environment);
    if (!current) throw invalidInput('api_key_missing', `No ${environment} API key to rotate. Generate one first.`);
    const now = tx.clock.now();
    if (environment === 'live') {
      const last = await tx.db.kysely
        .selectFrom('merchant_api_keys')
        .select((eb) => eb.fn.max('created_at').as('last'))
        .where('merchant_id', '=', merchantId)
        .where('environment', '=', 'live')
        .where('rotated_from', 'is not', null)
        .executeTakeFirst();
      if (last?.last) {
        const until = new Date(last.last as string).getTime() + LIVE_KEY_ROTATION_COOLDOWN_DAYS * DAY;
        const leftMs = until - now.getTime();
        if (leftMs > 0) {
          const days = Math.ceil(leftMs / DAY);
          throw new DomainError('rate_limited', 'rotation_cooldown', `API Key can only be rotated once every ${LIVE_KEY_ROTATION_COOLDOWN_DAYS} days. Try again in ${days} days.`, {
            retryAfterSeconds: Math.ceil(leftMs / 1000),
            details: { daysRemaining: days },
          });
        }
      }
      await requireFreshOtp(tx, merchant, input.otp, 'Rotating a live API key');
    }
    const scopes = uniqueScopes(input.scopes, JSON.parse(current.scopes));
    const key = createApiKey(environment, tx.randomBytes);
    await tx.db.kysely.updateTable('merchant_api_keys').set({ revoked_at: now.toISOString() }).where('id', '=', current.id).where('revoked_at', 'is', null).execute();
    await tx.db.kysely
      .insertInto('merchant_api_keys')
      .values({
        id: key.keyId,
        merchant_id: merchantId,
        environment,
        secret_hash: key.secretHash,
        prefix: key.prefix,
        scopes: JSON.stringify(scopes),
        rotated_from: current.id,
        created_at: now.toISOString(),
        revoked_at: null,
      })
      .execute();
    return {
      apiKey: key.plaintext,
      message: 'Store this key securely. It cannot be retrieved again.',
      environment,
      prefix: key.prefix,
      scopes,
    };
  });
}

export interface ApiKeyPrincipal {
  merchantId: string;
  environment: Environment;
  scopes: ReadonlySet<ApiKeyScope>;
  keyId: string;
}

// Runs on every API request: compiled once (see compiledQuery).
const apiKeyById = compiledQuery(
  (kysely, keyId: string) =>
    kysely
      .selectFrom('merchant_api_keys as k')
      .innerJoin('merchants as m', 'm.id', 'k.merchant_id')
      .select(['k.merchant_id', 'k.environment', 'k.secret_hash', 'k.scopes', 'k.revoked_at', 'm.status'])
      .where('k.id', '=', keyId),
  ['$keyId'] as [string],
);

/**
 * Authenticates a presented API key: one indexed lookup and a SHA-256 compared in constant time
 * (microseconds — a key is 256 random bits, so a slow hash buys nothing). Suspended merchants
 * are refused with 403; unknown, revoked or malformed keys with 401.
 */
export async function authenticateApiKey(ctx: CoreContext, presented: string, options: { includeDeactivated?: boolean } = {}): Promise<ApiKeyPrincipal> {
  const invalid = () => unauthenticated('api_key_invalid', 'Invalid API key');
  const parsed = parseApiKey(presented);
  if (!parsed) throw invalid();
  const [row] = await apiKeyById(ctx.db.kysely, parsed.keyId);
  const presentedHash = sha256Hex(parsed.secret);
  if (!row || !constantTimeEqual(row.secret_hash, presentedHash) || row.revoked_at !== null || row.environment !== parsed.environment) {
    throw invalid();
  }
  if (row.status === 'deactivated') {
    // GetMe documents a 404 for a deactivated merchant; everywhere else the key is simply invalid.
    if (options.includeDeactivated) throw new DomainError('not_found', 'merchant_deactivated', 'Merchant not found');
    throw invalid();
  }
  if (row.status === 'suspended') throw forbidden('merchant_suspended', 'This merchant account is suspended');
  return {
    merchantId: row.merchant_id,
    environment: row.environment,
    scopes: new Set(JSON.parse(row.scopes) as ApiKeyScope[]),
    keyId: parsed.keyId,
  };
}
