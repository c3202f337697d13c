import type { Environment } from '../context/index.js';
import { randomBase62, sha256Hex } from './encoding.js';

/**
 * Scopes an API key may carry. The first three are the integration guide's; the rest cover the
 * catalogue API and webhooks. A key created without `scopes` gets all of them.
 */
export const API_KEY_SCOPES = [
  'usage:write',
  'usage:read',
  'invoice:read',
  'checkout:write',
  'catalog:read',
  'catalog:write',
  'customers:read',
  'customers:write',
  'webhooks:read',
  'webhooks:write',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const SCOPE_DESCRIPTIONS: Record<ApiKeyScope, string> = {
  'usage:write': 'Ingest usage events',
  'usage:read': 'Read usage totals',
  'invoice:read': 'Read invoices',
  'checkout:write': 'Create checkout (payment) orders',
  'catalog:read': 'Read products and rate cards',
  'catalog:write': 'Create and publish products and rate cards',
  'customers:read': 'Read customers and contracts',
  'customers:write': 'Create and update customers and contracts',
  'webhooks:read': 'Read webhook endpoints and their deliveries',
  'webhooks:write': 'Register, change and test webhook endpoints, rotate their secrets, resend deliveries',
};

const KEY_ID_LENGTH = 12;
/** 43 base62 characters ≈ 256 bits, at least the 32 random bytes the product brief asks for. */
const SECRET_LENGTH = 43;
const KEY_PATTERN = /^bm_(sandbox|live)_([0-9A-Za-z]{12})\.([0-9A-Za-z]{43})$/;

export interface NewApiKey {
  keyId: string;
  plaintext: string;
  prefix: string;
  secretHash: string;
}

export function createApiKey(environment: Environment, randomBytes: (n: number) => Uint8Array): NewApiKey {
  const keyId = randomBase62(randomBytes, KEY_ID_LENGTH);
  const secret = randomBase62(randomBytes, SECRET_LENGTH);
  return {
    keyId,
    plaintext: `bm_${environment}_${keyId}.${secret}`,
    prefix: apiKeyPrefix(environment, keyId),
    secretHash: sha256Hex(secret),
  };
}

/** What is shown after creation: enough to recognise the key, nothing to use it. */
export function apiKeyPrefix(environment: Environment, keyId: string): string {
  return `bm_${environment}_${keyId.slice(0, 8)}…`;
}

export interface ParsedApiKey {
  environment: Environment;
  keyId: string;
  secret: string;
}

export function parseApiKey(value: string): ParsedApiKey | null {
  const m = KEY_PATTERN.exec(value);
  if (!m) return null;
  return { environment: m[1] as Environment, keyId: m[2], secret: m[3] };
}

/** A Bearer value is an API key when it has the key's shape prefix; otherwise it is read as a JWT. */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith('bm_');
}
