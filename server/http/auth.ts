import type { IncomingMessage } from 'node:http';
import { type ApiKeyScope, looksLikeApiKey } from '../../core/auth/api-keys.js';
import { verifyMerchantJwt } from '../../core/auth/jwt.js';
import type { CoreContext, Environment } from '../../core/context/index.js';
import { DomainError, forbidden, invalidInput, notFound, unauthenticated } from '../../core/errors/index.js';
import { authenticateApiKey, environmentMismatch } from '../../core/merchants/keys.js';

export interface MerchantAuthRequirement {
  /** Accept a merchant session JWT (Authorization: Bearer <jwt>). */
  jwt?: boolean;
  /** Accept an API key (Authorization: Bearer bm_… or X-Api-Key). */
  apiKey?: boolean;
  /** The scope an API key must carry (a JWT session — the merchant in person — has them all). */
  scope?: ApiKeyScope;
  /** Suspended merchants may still read their own profile and KYB status. */
  allowSuspended?: boolean;
  /** A deactivated (or vanished) merchant gets 404 merchant_not_found instead of 401 (GetMe, as documented). */
  goneAs404?: boolean;
  /** Error text when an API key is presented where only a JWT will do. */
  jwtOnlyMessage?: string;
}

export interface MerchantPrincipal {
  merchantId: string;
  via: 'jwt' | 'api_key';
  /** From the key; for a JWT, the `BuffMoney-Environment` header (default sandbox). */
  environment: Environment;
  keyId: string | null;
  hasScope(scope: ApiKeyScope): boolean;
}

function presentedCredential(req: IncomingMessage): { kind: 'api_key' | 'jwt'; value: string } | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return { kind: 'api_key', value: header.trim() };
  const authz = req.headers.authorization;
  if (typeof authz === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(authz.trim());
    if (m) return { kind: looksLikeApiKey(m[1]) ? 'api_key' : 'jwt', value: m[1] };
  }
  return null;
}

/**
 * The `BuffMoney-Environment` header: absent → null; exactly `sandbox` or `live` (lowercase, as in
 * key prefixes) → that; anything else → 400 environment_invalid, never a silent default.
 */
export function requestedEnvironment(req: IncomingMessage): Environment | null {
  const value = req.headers['buffmoney-environment'];
  if (value === undefined) return null;
  if (value === 'sandbox' || value === 'live') return value;
  throw invalidInput('environment_invalid', 'BuffMoney-Environment must be exactly "sandbox" or "live" (lowercase)');
}

export async function authenticateMerchant(ctx: CoreContext, req: IncomingMessage, need: MerchantAuthRequirement): Promise<MerchantPrincipal> {
  const cred = presentedCredential(req);
  const jwtOnly = need.jwt && !need.apiKey;
  if (!cred) {
    if (jwtOnly && need.jwtOnlyMessage) throw unauthenticated('jwt_required', need.jwtOnlyMessage);
    throw unauthenticated(
      'auth_required',
      need.apiKey ? 'Missing credentials: send Authorization: Bearer <API key or JWT>, or X-Api-Key' : 'Missing credentials: send Authorization: Bearer <JWT>',
    );
  }
  if (cred.kind === 'api_key') {
    if (!need.apiKey) throw unauthenticated('jwt_required', need.jwtOnlyMessage ?? 'This endpoint needs a dashboard session (Bearer JWT), not an API key');
    const key = await authenticateApiKey(ctx, cred.value, { includeDeactivated: need.goneAs404 }).catch((e: unknown) => {
      throw e instanceof DomainError && e.code === 'merchant_deactivated' ? notFound('merchant_not_found', 'Merchant not found') : e;
    });
    // A key carries its environment; a header asking for the other one is refused, not ignored.
    const asked = requestedEnvironment(req);
    if (asked !== null && asked !== key.environment) throw environmentMismatch(key.environment, asked);
    if (need.scope && !key.scopes.has(need.scope)) {
      throw forbidden('scope_missing', `This API key lacks the ${need.scope} scope`, { requiredScope: need.scope });
    }
    return { merchantId: key.merchantId, via: 'api_key', environment: key.environment, keyId: key.keyId, hasScope: (s) => key.scopes.has(s) };
  }
  if (!need.jwt) throw unauthenticated('api_key_required', 'This endpoint needs an API key');
  const claims = await verifyMerchantJwt(ctx.secrets.jwtSecret, cred.value, ctx.clock.now());
  const merchant = await ctx.db.kysely.selectFrom('merchants').select(['status']).where('id', '=', claims.merchantId).executeTakeFirst();
  if (!merchant || merchant.status === 'deactivated') {
    if (need.goneAs404) throw notFound('merchant_not_found', 'Merchant not found');
    throw unauthenticated('token_invalid', 'Invalid or expired token');
  }
  if (merchant.status === 'suspended' && !need.allowSuspended) throw forbidden('merchant_suspended', 'This merchant account is suspended');
  const environment: Environment = requestedEnvironment(req) ?? 'sandbox';
  return { merchantId: claims.merchantId, via: 'jwt', environment, keyId: null, hasScope: () => true };
}
