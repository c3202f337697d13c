/**
 * Test support (tests only, not exported from index.ts): give a merchant a payout destination as
 * the merchant API would store it (sealed bank account + masked view, or a receiving address),
 * without the dashboard's 2FA ceremony. The cooling-off stamp is left alone unless asked for.
 */
import { seal } from '../auth/secret-box.js';
import type { CoreContext } from '../context/index.js';

export interface TestBankAccount {
  holderName: string;
  accountNumber?: string;
  iban?: string;
  bankName: string;
  swiftBic?: string;
  cnapsCode?: string;
  currency: string;
}

export async function setBankAccountForTest(ctx: CoreContext, merchantId: string, bank: TestBankAccount, options: { changedAt?: string } = {}): Promise<void> {
  const number = (bank.iban ?? bank.accountNumber ?? '').replace(/\s+/g, '');
  await ctx.db.kysely
    .updateTable('merchants')
    .set({
      bank_account_enc: seal(ctx.secrets.dataKey, JSON.stringify(bank), `merchant-bank:${merchantId}`),
      bank_account_masked: JSON.stringify({
        holderName: bank.holderName,
        accountNumberMasked: `••••${number.slice(-4)}`,
        bankName: bank.bankName,
        swiftBic: bank.swiftBic ?? null,
        cnapsCode: bank.cnapsCode ?? null,
        currency: bank.currency,
      }),
      ...(options.changedAt ? { destination_changed_at: options.changedAt } : {}),
    })
    .where('id', '=', merchantId)
    .execute();
}

export async function setReceivingAddressForTest(ctx: CoreContext, merchantId: string, address: string): Promise<void> {
  await ctx.db.kysely
    .updateTable('merchants')
    .set({ receiving_addresses: JSON.stringify({ arbitrum: address }) })
    .where('id', '=', merchantId)
    .execute();
}
