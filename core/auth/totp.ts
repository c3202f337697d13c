import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

const PERIOD_SECONDS = 30;

/** A new base32 TOTP secret (160 bits, RFC 4226's recommendation). */
export function newTotpSecret(randomBytes: (n: number) => Uint8Array): string {
  // A fresh exact-size copy: a Buffer's .buffer may be a shared 8 KB pool.
  return new OTPAuth.Secret({ buffer: Uint8Array.from(randomBytes(20)).buffer }).base32;
}

function totpFor(secretBase32: string, label: string, issuer: string) {
  return new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_SECONDS,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

export function otpauthUri(secretBase32: string, label: string, issuer = 'BuffMoney'): string {
  return totpFor(secretBase32, label, issuer).toString();
}

export async function qrCodeDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 1, width: 240 });
}

/** The code for a given time (tests and the CLI's own checks use it). */
export function totpCode(secretBase32: string, at: Date): string {
  return totpFor(secretBase32, 'x', 'BuffMoney').generate({ timestamp: at.getTime() });
}

/**
 * Checks a code within ±1 step of `at` and returns the time step it matched, or null.
 * Callers store the step and refuse any code at or before the last accepted step: a code
 * is good once only (no replay).
 */
export function matchTotpStep(secretBase32: string, code: string, at: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32, 'x', 'BuffMoney').validate({ token: code, timestamp: at.getTime(), window: 1 });
  if (delta === null) return null;
  return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS) + delta;
}

/** Accepts a code only if it is valid now and newer than the last one used. */
export function acceptTotp(secretBase32: string, code: string, at: Date, lastStep: number | null): number | null {
  const step = matchTotpStep(secretBase32, code, at);
  if (step === null) return null;
  if (lastStep !== null && step <= lastStep) return null;
  return step;
}
