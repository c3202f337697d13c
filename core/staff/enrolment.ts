import { verifyPassword } from '../auth/passwords.js';
import { seal } from '../auth/secret-box.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import type { CoreContext } from '../context/index.js';
import { conflict, forbidden } from '../errors/index.js';
import { totpAad } from './accounts.js';
import { invalidCredentials, signInAttempt } from './sessions.js';

/** The issuer an authenticator app shows beside the account. */
export const TOTP_ISSUER = 'BuffMoney back office';

/** What a staff member needs to set up their authenticator app: shown once, on their own screen. */
export interface TotpEnrolment {
  email: string;
  issuer: string;
  /** The `otpauth://` URI the QR code carries. */
  otpauthUri: string;
  /** The same secret in base32, for typing into an app by hand. */
  secret: string;
}

/**
 * First sign-in, step one: a staff member who has never signed in proves their password and gets
 * a FRESH TOTP secret, replacing the one made when the account was created. The admin who created
 * the account saw that first secret (staff:add prints it), so it must not become the second
 * factor of someone else's account; the secret that ends up active is one only its owner has seen.
 * Step two is the ordinary sign-in with a code from the app, which sets `totp_enabled_at`.
 *
 * The password check is the sign-in's own: the same lockout, and a wrong password counts as a
 * failed attempt. Once enrolled (`totp_enabled_at` set), enrolment is refused (`already_enrolled`),
 * so a stolen password alone can never swap the second factor of an enrolled account. Status
 * answers (`already_enrolled`, `staff_disabled`) come only after the right password, so they
 * reveal nothing to someone guessing. Audited as `staff:enrol`.
 */
export async function enrolStaffTotp(ctx: CoreContext, input: { email: string; password: string }): Promise<TotpEnrolment> {
  const attempt = signInAttempt(ctx, 'staff:enrol', input.email);
  const { row, now } = await attempt.account(input.password);
  const { audit, fail } = attempt;
  if (!(await verifyPassword(input.password, row.password_hash))) return attempt.failedAttempt(row, invalidCredentials());
  if (row.status === 'disabled') return fail(forbidden('staff_disabled', 'This staff account is disabled'), row);
  if (row.totp_enabled_at !== null) return fail(alreadyEnrolled(), row);

  const secret = newTotpSecret(ctx.randomBytes);
  // Conditional on still not enrolled: a sign-in racing this one wins, and the swap is refused.
  const res = await ctx.db.kysely
    .updateTable('staff')
    .set({ totp_secret_enc: seal(ctx.secrets.dataKey, secret, totpAad(row.id)), totp_last_step: null, updated_at: now.toISOString() })
    .where('id', '=', row.id)
    .where('totp_enabled_at', 'is', null)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return fail(alreadyEnrolled(), row);
  await audit({ ok: true }, row);
  return { email: row.email, issuer: TOTP_ISSUER, otpauthUri: otpauthUri(secret, row.email, TOTP_ISSUER), secret };
}

const alreadyEnrolled = () => conflict('already_enrolled', 'Two-factor authentication is already set up for this account; sign in with a code from your app');
