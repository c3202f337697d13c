import { z } from 'zod';
import type { Environment } from '../context/index.js';
import { invalidInput } from '../errors/index.js';
import { isSupportedCurrency } from '../money/currencies.js';

/**
 * The chart of accounts (see README.md). An account is one combination of type, environment,
 * currency and — where the type is per merchant or per channel — the merchant or channel. It is
 * created the first time a posting names it and never changes afterwards.
 */
export const ACCOUNT_TYPES = {
  /** What end customers owe on finalized invoices, collected on the merchant's behalf. */
  receivable: { normalSide: 'debit', per: 'merchant' },
  /** Money a payment channel (WeChat Pay, Alipay) holds for us until it reaches the bank. */
  channel_clearing: { normalSide: 'debit', per: 'channel' },
  /** What the platform owes each merchant. */
  merchant_payable: { normalSide: 'credit', per: 'merchant' },
  /** The platform's service fee, earned. */
  platform_fee_revenue: { normalSide: 'credit', per: 'platform' },
  /**
   * The platform's open currency position: the leg that lets a cross-currency posting balance in
   * each currency (CNY receivable against a USD payable). Cleared at settlement, at the rate in
   * force then; what remains is moved to fx_gain_loss.
   */
  fx_position: { normalSide: 'debit', per: 'platform' },
  /** Differences from clearing FX at settlement against the rate an invoice locked. */
  fx_gain_loss: { normalSide: 'credit', per: 'platform' },
  /** Payouts approved and sent to the bank or chain, not yet confirmed. */
  payout_clearing: { normalSide: 'credit', per: 'platform' },
  /** The platform's own bank (or wallet) accounts. */
  bank: { normalSide: 'debit', per: 'platform' },
} as const satisfies Record<string, { normalSide: 'debit' | 'credit'; per: 'merchant' | 'channel' | 'platform' }>;

export type AccountType = keyof typeof ACCOUNT_TYPES;
export const AccountTypeSchema = z.enum(Object.keys(ACCOUNT_TYPES) as [AccountType, ...AccountType[]]);

export const PAYMENT_CHANNELS = ['wechat', 'alipay'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

/** Names one account of the chart. */
export interface AccountRef {
  type: AccountType;
  environment: Environment;
  currency: string;
  /** For per-merchant types (receivable, merchant_payable). */
  merchantId?: string;
  /** For channel_clearing. */
  channel?: PaymentChannel;
}

/** The account's unique code: `merchant_payable:mer_…:live:CNY`, `channel_clearing:wechat:live:CNY`. */
export function accountCode(ref: AccountRef): string {
  const spec = ACCOUNT_TYPES[ref.type];
  if (!spec) throw invalidInput('ledger_account_invalid', `Unknown account type ${String(ref.type)}`);
  if (!isSupportedCurrency(ref.currency)) throw invalidInput('ledger_account_invalid', `Unsupported currency ${ref.currency}`);
  if (ref.environment !== 'sandbox' && ref.environment !== 'live') throw invalidInput('ledger_account_invalid', `Unknown environment ${String(ref.environment)}`);
  if (spec.per === 'merchant' && !ref.merchantId) throw invalidInput('ledger_account_invalid', `A ${ref.type} account belongs to a merchant`);
  if (spec.per !== 'merchant' && ref.merchantId) throw invalidInput('ledger_account_invalid', `A ${ref.type} account is not per merchant`);
  if (spec.per === 'channel' && !PAYMENT_CHANNELS.includes(ref.channel as PaymentChannel)) {
    throw invalidInput('ledger_account_invalid', `A ${ref.type} account names its channel (${PAYMENT_CHANNELS.join(', ')})`);
  }
  if (spec.per !== 'channel' && ref.channel) throw invalidInput('ledger_account_invalid', `A ${ref.type} account is not per channel`);
  const owner = spec.per === 'merchant' ? ref.merchantId : spec.per === 'channel' ? ref.channel : 'platform';
  return `${ref.type}:${owner}:${ref.environment}:${ref.currency}`;
}
