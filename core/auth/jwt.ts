import { SignJWT, jwtVerify } from 'jose';
import { unauthenticated } from '../errors/index.js';

export const SESSION_TTL_SECONDS = 24 * 60 * 60;

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

export async function verifyMerchantJwt(secret: Uint8Array, token: string, now: Date): Promise<MerchantSessionClaims> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'buffmoney',
      currentDate: now,
    });
    if (payload.typ !== 'merchant' || typeof payload.sub !== 'string') throw new Error('wrong token type');
    return { merchantId: payload.sub };
  } catch {
    throw unauthenticated('token_invalid', 'Invalid or expired token');
  }
}
