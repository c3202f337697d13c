import { open } from '../auth/secret-box.js';
import { acceptTotp } from '../auth/totp.js';
import type { CoreContext, Environment } from '../context/index.js';
import { DomainError, unauthenticated } from '../errors/index.js';
import type { MerchantsTable } from './tables.js';

/**
 * Who is asking, as far as the merchant core cares: the dashboard session (the merchant in
 * person) or one API key, which belongs to one environment. The server's MerchantPrincipal fits.
 */
export interface MerchantCredential {
  via: 'jwt' | 'api_key';
  /** The key's id for an API key; null for a session. */
  keyId: string | null;
  /** The key's environment (a session's is the one it asked for; rules below never rely on it). */
  environment: Environment;
}

export const otpInvalid = () => unauthenticated('otp_invalid', 'Invalid or already used two-factor code');

/**
 * Spends a TOTP code: valid now (±1 step) and newer than the last code accepted, recorded with a
 * conditional update so that of two requests racing with the same code only one wins. Inside a
 * transaction, a later failure rolls the spending back with everything else.
 */
export async function spendTotp(ctx: CoreContext, row: MerchantsTable, otp: string): Promise<void> {
  const secret = open(ctx.secrets.dataKey, row.totp_secret_enc!, `merchant-totp:${row.id}`);
  const step = acceptTotp(secret, otp, ctx.clock.now(), row.totp_last_step);
  if (step === null) throw otpInvalid();
  const res = await ctx.db.kysely
    .updateTable('merchants')
    .set({ totp_last_step: step })
    .where('id', '=', row.id)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  if (res.numUpdatedRows === 0n) throw otpInvalid();
}

/**
 * Step-up for the actions that matter most (a live key, where money goes): once 2FA is enrolled,
 * a fresh code in `otp` — the same check as at login. Without 2FA there is nothing to ask for.
 */
export async function requireFreshOtp(ctx: CoreContext, row: MerchantsTable, otp: string | undefined, action: string): Promise<void> {
  if (!row.totp_enabled_at) return;
  if (otp === undefined || otp === '') {
    throw new DomainError('unauthenticated', 'otp_required', `${action} needs a current two-factor code: send it as "otp" in the body`);
  }
  await spendTotp(ctx, row, otp);
}
