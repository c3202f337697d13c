import { getAddress } from 'viem/utils';
import type { z } from 'zod';
import { constantTimeEqual, sha256Hex } from '../auth/encoding.js';
import { issueMerchantJwt } from '../auth/jwt.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords.js';
import { seal, open } from '../auth/secret-box.js';
import type { CoreContext, Environment } from '../context/index.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, conflict, forbidden, invalidInput, unauthenticated } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { checkWebhookUrl } from '../net/ssrf.js';
import { PROFILE_ENVIRONMENT, syncProfileEndpoint } from '../webhooks/endpoints.js';
import { type DestinationChange, assertMayChangeDestination, recordDestinationChanges } from './destinations.js';
import type { BankAccountInput, LoginInput, SignupInput, UpdateMerchantInput } from './schemas.js';
import { type MerchantCredential, requireFreshOtp, spendTotp } from './step-up.js';
import type { MerchantsTable } from './tables.js';
import { type MerchantView, loadMerchantRow, merchantView } from './view.js';

export const DEFAULT_SERVICE_FEE_BPS = 80;

function checksummed(addresses: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(addresses).map(([chain, a]) => [chain, getAddress(a)]));
}

async function checkedWebhook(ctx: CoreContext, url: string): Promise<string> {
  return (await checkWebhookUrl(url, ctx.policy, ctx.resolveHost)).url;
}

export async function signup(ctx: CoreContext, input: z.infer<typeof SignupInput>) {
  const fee = input.serviceFeeBps ?? DEFAULT_SERVICE_FEE_BPS;
  // The seed lets a merchant name its fee at signup; a fee below the platform's default is a
  // commercial agreement, set by an admin (merchants:set-fee), never self-served.
  if (fee < DEFAULT_SERVICE_FEE_BPS) {
    throw invalidInput('service_fee_below_minimum', `serviceFeeBps below the platform default of ${DEFAULT_SERVICE_FEE_BPS} needs an agreement with BuffMoney staff`);
  }
  const webhookUrl = input.webhookUrl === undefined ? null : await checkedWebhook(ctx, input.webhookUrl);
  const passwordHash = await hashPassword(input.password, ctx.bcryptCost);
  const now = ctx.clock.now().toISOString();
  const id = ctx.ids.next('mer');
  const receivingAddresses = checksummed(input.receivingAddresses ?? {});
  try {
    await inTransaction(ctx, async (tx) => {
      await tx.db.kysely
        .insertInto('merchants')
        .values({
          id,
          name: input.name,
          email: input.email,
          password_hash: passwordHash,
          status: 'active',
          service_fee_bps: fee,
          webhook_url: webhookUrl,
          receiving_addresses: JSON.stringify(receivingAddresses),
          auto_create_customers: 0,
          kyb_status: 'not_submitted',
          created_at: now,
          updated_at: now,
        })
        .execute();
      // A destination given at signup is a change from nothing, recorded like any other.
      if (Object.keys(receivingAddresses).length > 0) {
        const change: DestinationChange = { field: 'receivingAddresses', before: {}, after: receivingAddresses };
        await recordDestinationChanges(tx, id, [change], { credential: 'signup', apiKeyId: null });
      }
      if (webhookUrl !== null) await syncProfileEndpoint(tx, id, webhookUrl);
      // merchant.registered: the merchant exists (its data: the profile as GET /merchants/me shows
      // it). Live, like the profile webhookUrl that receives it. The chain listener will record
      // another when an on-chain registration is processed (then with onChainMerchantId set).
      await recordEvent(tx, { type: 'merchant.registered', merchantId: id, environment: PROFILE_ENVIRONMENT, data: await merchantView(tx, await loadMerchantRow(tx, id)) });
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict('email_already_registered', 'Email already registered');
    throw e;
  }
  const token = await issueMerchantJwt(ctx.secrets.jwtSecret, id, ctx.clock.now());
  return { id, name: input.name, email: input.email, serviceFeeBps: fee, createdAt: now, token };
}

const invalidCredentials = () => unauthenticated('invalid_credentials', 'Invalid email or password');

export async function login(ctx: CoreContext, input: z.infer<typeof LoginInput>): Promise<{ token: string; merchant: MerchantView }> {
  const row = await ctx.db.kysely.selectFrom('merchants').selectAll().where('email', '=', input.email).executeTakeFirst();
  if (!row) {
    await verifyPassword(input.password, await dummyPasswordHash(ctx.bcryptCost));
    throw invalidCredentials();
  }
  const ok = await verifyPassword(input.password, row.password_hash);
  if (!ok || row.status === 'deactivated') throw invalidCredentials();
  if (row.totp_enabled_at) await consumeSecondFactor(ctx, row, input.otp, input.recoveryCode);
  const token = await issueMerchantJwt(ctx.secrets.jwtSecret, row.id, ctx.clock.now());
  return { token, merchant: await merchantView(ctx, await loadMerchantRow(ctx, row.id)) };
}

/** A TOTP code newer than the last one used, or an unused recovery code; either is spent here. */
async function consumeSecondFactor(ctx: CoreContext, row: MerchantsTable, otp?: string, recoveryCode?: string): Promise<void> {
  const now = ctx.clock.now();
  if (otp) {
    // Of two concurrent logins with the same code, one wins (see spendTotp).
    await spendTotp(ctx, row, otp);
    return;
  }
  if (recoveryCode) {
    const hash = sha256Hex(normaliseRecoveryCode(recoveryCode));
    const codes = await ctx.db.kysely.selectFrom('merchant_recovery_codes').select(['id', 'code_hash']).where('merchant_id', '=', row.id).where('used_at', 'is', null).execute();
    const match = codes.find((c) => constantTimeEqual(c.code_hash, hash));
    if (match) {
      const res = await ctx.db.kysely
        .updateTable('merchant_recovery_codes')
        .set({ used_at: now.toISOString() })
        .where('id', '=', match.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (res.numUpdatedRows === 1n) return;
    }
    throw unauthenticated('otp_invalid', 'Invalid or already used recovery code');
  }
  throw new DomainError('unauthenticated', 'otp_required', 'Two-factor code required: send otp (or recoveryCode) with email and password');
}

export function normaliseRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

function maskBankAccount(b: z.infer<typeof BankAccountInput>) {
  const number = (b.iban ?? b.accountNumber ?? '').replace(/\s+/g, '');
  return {
    holderName: b.holderName,
    accountNumberMasked: `••••${number.slice(-4)}`,
    bankName: b.bankName,
    swiftBic: b.swiftBic ?? null,
    cnapsCode: b.cnapsCode ?? null,
    currency: b.currency,
  };
}

/** JSON with keys sorted at every depth, to tell whether a value really changed. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The fields of a patch that decide where money goes. */
function destinationFieldsOf(patch: z.infer<typeof UpdateMerchantInput>) {
  return (['receivingAddresses', 'bankAccount', 'settlementCurrency'] as const).filter((f) => patch[f] !== undefined);
}

/**
 * PATCH /merchants/me. Name, email and auto-create change with any credential of the merchant;
 * the webhook URL (the live `profile` webhook endpoint, core/webhooks) with any but a sandbox key. Where money goes (receivingAddresses, bankAccount, settlementCurrency) is refused to a
 * sandbox key; from the dashboard it needs a fresh `otp` once 2FA is on; a live key may change it
 * (the seed's UpdateMe path). Every real change is recorded and starts the cooling-off window.
 */
export async function updateMerchant(
  ctx: CoreContext,
  merchantId: string,
  patch: z.infer<typeof UpdateMerchantInput>,
  credential: MerchantCredential,
  view: { keyEnvironment?: Environment } = {},
): Promise<MerchantView> {
  const destinationFields = destinationFieldsOf(patch);
  assertMayChangeDestination(credential, destinationFields);
  const webhookUrl = patch.webhookUrl === undefined || patch.webhookUrl === null ? patch.webhookUrl : await checkedWebhook(ctx, patch.webhookUrl);
  return inTransaction(ctx, async (tx) => {
    const row = await loadMerchantRow(tx, merchantId);
    // The profile webhookUrl receives the live environment's events: a sandbox key must not redirect them.
    if (webhookUrl !== undefined && webhookUrl !== row.webhook_url && credential.via === 'api_key' && credential.environment !== 'live') {
      throw forbidden(
        'webhook_url_change_forbidden',
        'A sandbox API key cannot change webhookUrl (it receives live events): use a live API key or the dashboard, or register a sandbox endpoint with POST /webhook-endpoints',
      );
    }
    if (row.on_chain_merchant_id !== null && ((patch.name !== undefined && patch.name !== row.name) || (patch.email !== undefined && patch.email !== row.email))) {
      throw conflict('merchant_identity_locked', 'name and email cannot be changed after on-chain registration: they are committed in metadataHash');
    }
    // Sending a destination field at all is a destination change request: the code is asked for
    // even if the value turns out unchanged (nothing is recorded then).
    if (destinationFields.length > 0 && credential.via === 'jwt') await requireFreshOtp(tx, row, patch.otp, 'Changing where money goes');
    const set: Partial<MerchantsTable> = { updated_at: tx.clock.now().toISOString() };
    const changes: DestinationChange[] = [];
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.email !== undefined) set.email = patch.email;
    if (webhookUrl !== undefined) set.webhook_url = webhookUrl;
    if (patch.receivingAddresses !== undefined) {
      const before = JSON.parse(row.receiving_addresses) as Record<string, string>;
      const after = checksummed(patch.receivingAddresses);
      set.receiving_addresses = JSON.stringify(after);
      if (stableJson(before) !== stableJson(after)) changes.push({ field: 'receivingAddresses', before, after });
    }
    if (patch.settlementCurrency !== undefined) {
      set.settlement_currency = patch.settlementCurrency;
      if (row.settlement_currency !== patch.settlementCurrency) {
        changes.push({ field: 'settlementCurrency', before: row.settlement_currency, after: patch.settlementCurrency });
      }
    }
    if (patch.autoCreateCustomers !== undefined) set.auto_create_customers = patch.autoCreateCustomers ? 1 : 0;
    if (patch.bankAccount !== undefined) {
      // Compared in full (two accounts may share their last four digits), recorded masked only.
      const beforeFull = row.bank_account_enc ? JSON.parse(open(tx.secrets.dataKey, row.bank_account_enc, `merchant-bank:${merchantId}`)) : null;
      const beforeMasked = row.bank_account_masked ? JSON.parse(row.bank_account_masked) : null;
      if (patch.bankAccount === null) {
        set.bank_account_enc = null;
        set.bank_account_masked = null;
      } else {
        set.bank_account_enc = seal(tx.secrets.dataKey, JSON.stringify(patch.bankAccount), `merchant-bank:${merchantId}`);
        set.bank_account_masked = JSON.stringify(maskBankAccount(patch.bankAccount));
      }
      if (stableJson(beforeFull) !== stableJson(patch.bankAccount)) {
        changes.push({ field: 'bankAccount', before: beforeMasked, after: patch.bankAccount === null ? null : maskBankAccount(patch.bankAccount) });
      }
    }
    try {
      await tx.db.kysely.updateTable('merchants').set(set).where('id', '=', merchantId).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('email_already_registered', 'Email already registered');
      throw e;
    }
    await recordDestinationChanges(tx, merchantId, changes, { credential: credential.via, apiKeyId: credential.via === 'api_key' ? credential.keyId : null });
    if (webhookUrl !== undefined && webhookUrl !== row.webhook_url) await syncProfileEndpoint(tx, merchantId, webhookUrl);
    return merchantView(tx, await loadMerchantRow(tx, merchantId), view);
  });
}

/** The full bank account, for payout files (finance only; never returned by the merchant API). */
export async function revealBankAccount(ctx: CoreContext, merchantId: string): Promise<z.infer<typeof BankAccountInput> | null> {
  const row = await loadMerchantRow(ctx, merchantId);
  return row.bank_account_enc ? JSON.parse(open(ctx.secrets.dataKey, row.bank_account_enc, `merchant-bank:${merchantId}`)) : null;
}
