import { normaliseRecoveryCode } from './accounts.js';
import { randomBase62, sha256Hex } from '../auth/encoding.js';
import { verifyPassword } from '../auth/passwords.js';
import { open, seal } from '../auth/secret-box.js';
import { acceptTotp, newTotpSecret, otpauthUri, qrCodeDataUrl } from '../auth/totp.js';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, invalidInput, unauthenticated } from '../errors/index.js';
import { loadMerchantRow } from './view.js';

const RECOVERY_CODE_COUNT = 10;

/** Step 1: a fresh secret, pending until a code from the authenticator app confirms it. */
export async function enrollTwoFactor(ctx: CoreContext, merchantId: string) {
  const row = await loadMerchantRow(ctx, merchantId);
  if (row.totp_enabled_at) throw conflict('two_factor_already_enabled', '2FA is already enabled; disable it first to enrol a new device');
  const secret = newTotpSecret(ctx.randomBytes);
  await ctx.db.kysely
    .updateTable('merchants')
    .set({ totp_pending_secret_enc: seal(ctx.secrets.dataKey, secret, `merchant-totp:${merchantId}`), updated_at: ctx.clock.now().toISOString() })
    .where('id', '=', merchantId)
    .execute();
  const uri = otpauthUri(secret, row.email);
  return { secret, otpauthUri: uri, qrCodeDataUrl: await qrCodeDataUrl(uri) };
}

/** Step 2: the first valid code turns 2FA on and yields recovery codes, shown this once. */
export async function verifyTwoFactor(ctx: CoreContext, merchantId: string, code: string) {
  return inTransaction(ctx, async (tx) => {
    const row = await loadMerchantRow(tx, merchantId);
    if (row.totp_enabled_at) throw conflict('two_factor_already_enabled', '2FA is already enabled');
    if (!row.totp_pending_secret_enc) throw invalidInput('two_factor_not_enrolling', 'Start enrolment first (POST /api/v1/merchants/me/2fa/enroll)');
    const secret = open(tx.secrets.dataKey, row.totp_pending_secret_enc, `merchant-totp:${merchantId}`);
    const now = tx.clock.now();
    const step = acceptTotp(secret, code, now, null);
    if (step === null) throw invalidInput('otp_invalid', 'Invalid two-factor code');
    await tx.db.kysely
      .updateTable('merchants')
      .set({
        totp_secret_enc: row.totp_pending_secret_enc,
        totp_pending_secret_enc: null,
        totp_enabled_at: now.toISOString(),
        totp_last_step: step,
        updated_at: now.toISOString(),
      })
      .where('id', '=', merchantId)
      .execute();
    await tx.db.kysely.deleteFrom('merchant_recovery_codes').where('merchant_id', '=', merchantId).execute();
    const recoveryCodes: string[] = [];
    for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
      const raw = randomBase62(tx.randomBytes, 10).toLowerCase();
      const display = `${raw.slice(0, 5)}-${raw.slice(5)}`;
      recoveryCodes.push(display);
      await tx.db.kysely
        .insertInto('merchant_recovery_codes')
        .values({ id: tx.ids.next('rec'), merchant_id: merchantId, code_hash: sha256Hex(normaliseRecoveryCode(display)), created_at: now.toISOString(), used_at: null })
        .execute();
    }
    return { enabled: true as const, recoveryCodes };
  });
}

/** Turning 2FA off needs the password and a current code (a stolen session alone is not enough). */
export async function disableTwoFactor(ctx: CoreContext, merchantId: string, password: string, code: string) {
  return inTransaction(ctx, async (tx) => {
    const row = await loadMerchantRow(tx, merchantId);
    if (!row.totp_enabled_at || !row.totp_secret_enc) throw invalidInput('two_factor_not_enabled', '2FA is not enabled');
    if (!(await verifyPassword(password, row.password_hash))) throw unauthenticated('invalid_credentials', 'Invalid password');
    const secret = open(tx.secrets.dataKey, row.totp_secret_enc, `merchant-totp:${merchantId}`);
    if (acceptTotp(secret, code, tx.clock.now(), row.totp_last_step) === null) throw invalidInput('otp_invalid', 'Invalid or already used two-factor code');
    await tx.db.kysely
      .updateTable('merchants')
      .set({ totp_secret_enc: null, totp_pending_secret_enc: null, totp_enabled_at: null, totp_last_step: null, updated_at: tx.clock.now().toISOString() })
      .where('id', '=', merchantId)
      .execute();
    await tx.db.kysely.deleteFrom('merchant_recovery_codes').where('merchant_id', '=', merchantId).execute();
    return { enabled: false as const };
  });
}
