import { isAddress } from 'viem/utils';
import { z } from 'zod';
import { API_KEY_SCOPES } from '../auth/api-keys.js';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';
import { SETTLEMENT_CURRENCIES } from '../money/currencies.js';

/** Request and response shapes of the merchant accounts API; the OpenAPI document is built from these. */

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be a valid email address' }))
  .transform((e) => e.toLowerCase());

export const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((p) => Buffer.byteLength(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`);

export const EvmAddress = z
  .string()
  // All-lowercase and all-uppercase carry no checksum (EIP-55); mixed case must check out.
  .refine((a) => /^0x([0-9a-f]{40}|[0-9A-F]{40})$/.test(a) || isAddress(a, { strict: true }), 'must be an EVM address (0x + 40 hex digits, valid EIP-55 checksum if mixed case)');

export const ReceivingAddresses = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'chain names are lowercase, e.g. "arbitrum"'), EvmAddress)
  .refine((m) => Object.keys(m).length <= 20, 'at most 20 chains')
  .meta({ description: 'Map of chain name to wallet address, e.g. {"arbitrum": "0x…"}. Stored in EIP-55 form.' });

export const WebhookUrl = z.string().max(2048).meta({ description: 'Must pass SSRF validation (https in production; no private, loopback, link-local or metadata addresses).' });

export const Environment = z.enum(['sandbox', 'live']);
export const Scope = z.enum(API_KEY_SCOPES);
export const SettlementCurrency = z.enum(SETTLEMENT_CURRENCIES);

const iban = (v: string) => {
  const s = v.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const digits = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
};

export const BankAccountInput = z
  .strictObject({
    holderName: z.string().trim().min(1).max(140),
    accountNumber: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z -]{4,34}$/, 'must be 4–34 letters or digits')
      .optional(),
    iban: z.string().trim().refine(iban, 'must be a valid IBAN').optional(),
    bankName: z.string().trim().min(1).max(140),
    swiftBic: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/, 'must be an 8 or 11 character SWIFT/BIC')
      .optional(),
    cnapsCode: z
      .string()
      .trim()
      .regex(/^\d{12}$/, 'must be a 12-digit CNAPS code')
      .optional(),
    currency: SettlementCurrency,
  })
  .refine((b) => b.accountNumber || b.iban, { message: 'accountNumber or iban is required', path: ['accountNumber'] })
  .refine((b) => b.swiftBic || b.cnapsCode, { message: 'swiftBic or cnapsCode is required', path: ['swiftBic'] })
  .meta({ id: 'BankAccountInput' });

export const BankAccountView = z
  .object({
    holderName: z.string(),
    accountNumberMasked: z.string().meta({ description: 'Only the last four characters are ever shown back.' }),
    bankName: z.string(),
    swiftBic: z.string().nullable(),
    cnapsCode: z.string().nullable(),
    currency: z.string(),
  })
  .meta({ id: 'BankAccount' });

export const SignupInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    email: Email,
    password: Password,
    webhookUrl: WebhookUrl.optional(),
    receivingAddresses: ReceivingAddresses.optional(),
    serviceFeeBps: z.number().int().min(0).max(10_000).optional().meta({ description: 'Service fee in basis points; default 80 (0.80 %). Only at account creation.' }),
  })
  .meta({ id: 'SignupRequest' });

export const SignupResult = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    serviceFeeBps: z.number().int(),
    createdAt: z.string(),
    token: z.string().meta({ description: '24-hour JWT' }),
  })
  .meta({ id: 'SignupResponse' });

export const LoginInput = z
  .strictObject({
    email: Email,
    password: z.string().min(1).max(1024),
    otp: z.string().optional().meta({ description: 'Current TOTP code, required once 2FA is enrolled.' }),
    recoveryCode: z.string().optional().meta({ description: 'A one-time recovery code instead of otp.' }),
  })
  .meta({ id: 'LoginRequest' });

export const ApiKeyInfo = z
  .object({
    environment: Environment,
    prefix: z.string(),
    scopes: z.array(Scope),
    createdAt: z.string(),
    lastRotatedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKeyInfo' });

export const MerchantProfile = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    webhookUrl: z.string().nullable(),
    receivingAddresses: z.record(z.string(), z.string()),
    serviceFeeBps: z.number().int(),
    createdAt: z.string(),
    apiKey: z.string().nullable().meta({ description: 'Prefix of the current key (live if one exists, else sandbox); never the full key.' }),
    apiKeyGenerated: z.boolean(),
    onChainMerchantId: z.string().nullable(),
    chainId: z.number().int().nullable(),
    chainActive: z.boolean().nullable(),
    receiverAddress: z.string().nullable(),
    adminAddress: z.string().nullable(),
    metadataHash: z.string().nullable(),
    registeredAt: z.string().nullable(),
    status: z.enum(['active', 'suspended', 'deactivated']),
    settlementCurrency: z.string().nullable(),
    bankAccount: BankAccountView.nullable(),
    kybStatus: z.enum(['not_submitted', 'pending_review', 'approved', 'rejected', 'info_requested']),
    twoFactorEnabled: z.boolean(),
    autoCreateCustomers: z.boolean(),
    apiKeys: z.array(ApiKeyInfo),
    liveAccess: z.object({
      unlocked: z.boolean(),
      missing: z.array(z.enum(['kyb_approval', 'two_factor', 'settlement_destination'])),
    }),
  })
  .meta({ id: 'Merchant' });

export const LoginResult = z.object({ token: z.string(), merchant: MerchantProfile }).meta({ id: 'LoginResponse' });

export const UpdateMerchantInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    email: Email.optional(),
    webhookUrl: WebhookUrl.nullable().optional(),
    receivingAddresses: ReceivingAddresses.optional(),
    bankAccount: BankAccountInput.nullable().optional(),
    settlementCurrency: SettlementCurrency.optional(),
    autoCreateCustomers: z.boolean().optional().meta({ description: 'Create customers on first usage event for an unknown externalId.' }),
    otp: z.string().max(16).optional().meta({
      description:
        'Current TOTP code. Required with a dashboard JWT once 2FA is enrolled when the body contains receivingAddresses, bankAccount or settlementCurrency; read only then.',
    }),
  })
  .meta({ id: 'UpdateMerchantRequest' });

export const GenerateKeyInput = z
  .strictObject({
    environment: Environment.default('sandbox'),
    scopes: z.array(Scope).min(1).optional().meta({ description: 'Defaults to every scope.' }),
    otp: z.string().max(16).optional().meta({ description: 'Current TOTP code; required for a live key (live keys need 2FA). Not read for sandbox keys.' }),
  })
  .meta({ id: 'GenerateKeyRequest' });

export const RotateKeyInput = z
  .strictObject({
    environment: Environment.optional().meta({ description: 'Defaults to live when a live key exists, else sandbox.' }),
    scopes: z.array(Scope).min(1).optional().meta({ description: 'Defaults to the old key’s scopes.' }),
    otp: z.string().max(16).optional().meta({ description: 'Current TOTP code; required to rotate a live key once 2FA is enrolled. Not read for sandbox keys.' }),
  })
  .meta({ id: 'RotateKeyRequest' });

export const ApiKeyIssued = z
  .object({
    apiKey: z.string().meta({ description: 'The full key, shown this once.' }),
    message: z.string(),
    environment: Environment,
    prefix: z.string(),
    scopes: z.array(Scope),
  })
  .meta({ id: 'ApiKeyIssued' });

export const TwoFactorEnrollment = z.object({ secret: z.string(), otpauthUri: z.string(), qrCodeDataUrl: z.string() }).meta({ id: 'TwoFactorEnrollment' });
export const TwoFactorCodeInput = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'must be 6 digits') }).meta({ id: 'TwoFactorCode' });
export const TwoFactorEnabled = z
  .object({ enabled: z.literal(true), recoveryCodes: z.array(z.string()).meta({ description: 'Shown once; each works once.' }) })
  .meta({ id: 'TwoFactorEnabled' });
export const TwoFactorDisableInput = z.strictObject({ password: z.string().min(1).max(1024), code: z.string().regex(/^\d{6}$/) }).meta({ id: 'TwoFactorDisable' });

// KYB shapes live in kyb-schemas.ts (no viem there: the back-office CLI loads them at every run).
export { KybDocumentView, KybFields, KybStatusView } from './kyb-schemas.js';
