import type { z } from 'zod';
import type { CoreContext, Environment } from '../context/index.js';
import { notFound } from '../errors/index.js';
import type { MerchantProfile } from './schemas.js';
import type { MerchantsTable } from './tables.js';

export type MerchantView = z.infer<typeof MerchantProfile>;
export type LiveRequirement = MerchantView['liveAccess']['missing'][number];

/** What still stands between a merchant and a live API key (product brief, "Environments"). */
export function missingLiveRequirements(m: MerchantsTable): LiveRequirement[] {
  const missing: LiveRequirement[] = [];
  if (m.kyb_status !== 'approved') missing.push('kyb_approval');
  if (!m.totp_enabled_at) missing.push('two_factor');
  const hasAddress = Object.keys(JSON.parse(m.receiving_addresses) as Record<string, string>).length > 0;
  const registeredOnChain = m.on_chain_merchant_id !== null && m.chain_active === 1;
  if (!hasAddress && !m.bank_account_enc && !registeredOnChain) missing.push('settlement_destination');
  return missing;
}

export async function loadMerchantRow(ctx: CoreContext, merchantId: string): Promise<MerchantsTable> {
  const row = await ctx.db.kysely.selectFrom('merchants').selectAll().where('id', '=', merchantId).executeTakeFirst();
  if (!row || row.status === 'deactivated') throw notFound('merchant_not_found', 'Merchant not found');
  return row;
}

export interface MerchantViewOptions {
  /**
   * Show only the keys of this environment: what an API key sees (a key acts in its own
   * environment only). Unset for the dashboard session and staff, who see every key.
   */
  keyEnvironment?: Environment;
}

export async function merchantView(ctx: CoreContext, m: MerchantsTable, options: MerchantViewOptions = {}): Promise<MerchantView> {
  let keyQuery = ctx.db.kysely
    .selectFrom('merchant_api_keys')
    .select(['id', 'environment', 'prefix', 'scopes', 'created_at', 'rotated_from'])
    .where('merchant_id', '=', m.id)
    .where('revoked_at', 'is', null);
  if (options.keyEnvironment) keyQuery = keyQuery.where('environment', '=', options.keyEnvironment);
  const keys = await keyQuery.orderBy('environment').execute();
  const lastRotations = await ctx.db.kysely
    .selectFrom('merchant_api_keys')
    .select(['environment', (eb) => eb.fn.max('created_at').as('last')])
    .where('merchant_id', '=', m.id)
    .where('rotated_from', 'is not', null)
    .groupBy('environment')
    .execute();
  const rotatedAt = new Map(lastRotations.map((r) => [r.environment, r.last as string]));
  const live = keys.find((k) => k.environment === 'live');
  const shown = live ?? keys.find((k) => k.environment === 'sandbox');
  const missing = missingLiveRequirements(m);
  return {
    id: m.id,
    name: m.name,
    email: m.email,
    webhookUrl: m.webhook_url,
    receivingAddresses: JSON.parse(m.receiving_addresses),
    serviceFeeBps: m.service_fee_bps,
    createdAt: m.created_at,
    apiKey: shown?.prefix ?? null,
    apiKeyGenerated: keys.length > 0,
    onChainMerchantId: m.on_chain_merchant_id,
    chainId: m.chain_id,
    chainActive: m.chain_active === null ? null : m.chain_active === 1,
    receiverAddress: m.receiver_address,
    adminAddress: m.admin_address,
    metadataHash: m.metadata_hash,
    registeredAt: m.registered_at,
    status: m.status,
    settlementCurrency: m.settlement_currency,
    bankAccount: m.bank_account_masked ? JSON.parse(m.bank_account_masked) : null,
    kybStatus: m.kyb_status,
    twoFactorEnabled: m.totp_enabled_at !== null,
    autoCreateCustomers: m.auto_create_customers === 1,
    apiKeys: keys.map((k) => ({
      environment: k.environment,
      prefix: k.prefix,
      scopes: JSON.parse(k.scopes),
      createdAt: k.created_at,
      lastRotatedAt: rotatedAt.get(k.environment) ?? null,
    })),
    liveAccess: { unlocked: missing.length === 0, missing },
  };
}

export async function getMerchant(ctx: CoreContext, merchantId: string, options: MerchantViewOptions = {}): Promise<MerchantView> {
  return merchantView(ctx, await loadMerchantRow(ctx, merchantId), options);
}
