import { SignJWT, jwtVerify } from 'jose';
import { unauthenticated } from '../errors/index.js';

export const SESSION_TTL_SECONDS = 24 * 60 * 60;
/** How far in the future `iat` may be (clock skew between replicas). */
const ISSUED_AT_SKEW_SECONDS = 60;

export interface MerchantSessionClaims {
  merchantId: string;
}

/** A 24-hour HS256 session token for a merchant (signup and login issue them). */
export async function issueMerchantJwt(secret: Uint8Array, merchantId: string, now: Date): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ typ: 'merchant' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(merchantId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + SESSION_TTL_SECONDS)
    .setIssuer('buffmoney')
    .sign(secret);
}

/**
 * Accepts only what issueMerchantJwt makes: HS256, our issuer, a merchant subject, and a bounded
 * life — `iat` and `exp` both present, `exp − iat` at most 24 h, `iat` not in the future (beyond
 * a minute of clock skew) — so a token minted with the secret but without an expiry, or with a
 * far-off one, is still refused.
 */
export async function verifyMerchantJwt(secret: Uint8Array, token: string, now: Date): Promise<MerchantSessionClaims> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'buffmoney',
      currentDate: now,
      requiredClaims: ['iat', 'exp', 'sub'],
    });
    if (payload.typ !== 'merchant' || typeof payload.sub !== 'string') throw new Error('wrong token type');
    const { iat, exp } = payload;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > SESSION_TTL_SECONDS) throw new Error('session lifetime over 24 h');
    if (iat > now.getTime() / 1000 + ISSUED_AT_SKEW_SECONDS) throw new Error('issued in the future');
    return { merchantId: payload.sub };
  } catch {
    throw unauthenticated('token_invalid', 'Invalid or expired token');
  }
}
