import { createHmac } from 'node:crypto';
import type { RandomBytes } from '../ids/index.js';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): a secret is `whsec_` + base64 of
 * 24 random bytes; a signature is `v1,` + base64 HMAC-SHA256, keyed by the secret's decoded bytes,
 * of `<webhook-id>.<webhook-timestamp>.<body>`. Several signatures (a rotated-out secret still
 * live) are separated by spaces in one `webhook-signature` header; a receiver accepts any.
 */
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

export function generateWebhookSecret(randomBytes: RandomBytes): string {
  return `${SECRET_PREFIX}${Buffer.from(randomBytes(SECRET_BYTES)).toString('base64')}`;
}

function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('not a whsec_ secret');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function signWebhook(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three Standard Webhooks headers for one attempt, signed with every live secret (current first). */
export function webhookHeaders(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): SignedHeaders {
  if (secrets.length === 0) throw new Error('no signing secret');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => signWebhook(s, messageId, timestampSeconds, body)).join(' '),
  };
}
