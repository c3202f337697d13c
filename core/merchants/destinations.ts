import { z } from 'zod';
import { HOUR, type CoreContext } from '../context/index.js';
import { forbidden } from '../errors/index.js';
import { type Page, type PageRequest, decodeCursor, pageOf, toPage } from '../pagination/index.js';
import type { MerchantCredential } from './step-up.js';
import type { DestinationCredential, DestinationField, MerchantDestinationChangesTable } from './tables.js';

/**
 * Where a merchant's money goes — receiving addresses, bank account, settlement currency — is
 * changed only deliberately (product brief): never from a sandbox key, from the dashboard with a
 * fresh TOTP code once 2FA is on, or from a live key. Every change is kept in an append-only
 * history and stamps the merchant's `destination_changed_at`; settlement holds payouts for
 * DESTINATION_COOLING_OFF_HOURS after it, so a stolen credential cannot redirect money at once.
 *
 * No viem here (the back-office CLI loads this file through its commands).
 */

export const DESTINATION_COOLING_OFF_HOURS = 72;
export const DESTINATION_FIELDS = ['receivingAddresses', 'bankAccount', 'settlementCurrency', 'receiverAddress'] as const satisfies readonly DestinationField[];

/** Refuses a destination change from a credential that may not make one (a sandbox key). */
export function assertMayChangeDestination(credential: MerchantCredential, fields: readonly DestinationField[]): void {
  if (fields.length === 0) return;
  if (credential.via === 'api_key' && credential.environment !== 'live') {
    throw forbidden('destination_change_forbidden', `A sandbox API key cannot change where money goes (${fields.join(', ')}): use a live API key or the dashboard`);
  }
}

export interface DestinationChange {
  field: DestinationField;
  /** JSON-able values; a bank account only as its masked view. */
  before: unknown;
  after: unknown;
}

/**
 * Appends the history rows for one request's changes and stamps the merchant. Runs inside the
 * caller's transaction, so the change and its record commit together.
 */
export async function recordDestinationChanges(
  ctx: CoreContext,
  merchantId: string,
  changes: readonly DestinationChange[],
  by: { credential: DestinationCredential; apiKeyId: string | null },
): Promise<void> {
  if (changes.length === 0) return;
  const now = ctx.clock.now().toISOString();
  const key = by.apiKeyId ? await ctx.db.kysely.selectFrom('merchant_api_keys').select('prefix').where('id', '=', by.apiKeyId).executeTakeFirst() : undefined;
  for (const c of changes) {
    await ctx.db.kysely
      .insertInto('merchant_destination_changes')
      .values({
        id: ctx.ids.next('dch'),
        merchant_id: merchantId,
        field: c.field,
        before_value: c.before === null || c.before === undefined ? null : JSON.stringify(c.before),
        after_value: c.after === null || c.after === undefined ? null : JSON.stringify(c.after),
        credential: by.credential,
        api_key_id: by.apiKeyId,
        api_key_prefix: key?.prefix ?? null,
        changed_at: now,
      })
      .execute();
  }
  await ctx.db.kysely.updateTable('merchants').set({ destination_changed_at: now }).where('id', '=', merchantId).execute();
}

export interface DestinationCoolingOff {
  /** The last destination change, or null if none was ever recorded. */
  changedAt: string | null;
  /** changedAt + 72 h: no payout to the merchant's destinations before this time. */
  holdUntil: string | null;
  /** Whether `now` is still before holdUntil. */
  coolingOff: boolean;
}

/** What settlement asks before paying a merchant out. */
export async function destinationCoolingOff(ctx: CoreContext, merchantId: string): Promise<DestinationCoolingOff> {
  const row = await ctx.db.kysely.selectFrom('merchants').select('destination_changed_at').where('id', '=', merchantId).executeTakeFirst();
  const changedAt = row?.destination_changed_at ?? null;
  if (changedAt === null) return { changedAt: null, holdUntil: null, coolingOff: false };
  const until = new Date(changedAt).getTime() + DESTINATION_COOLING_OFF_HOURS * HOUR;
  return { changedAt, holdUntil: new Date(until).toISOString(), coolingOff: ctx.clock.now().getTime() < until };
}

const DestinationValue = z
  .union([z.string(), z.record(z.string(), z.string().nullable())])
  .nullable()
  .meta({
    description:
      'receivingAddresses: the whole map {chain: address}; receiverAddress: the on-chain receiver (EIP-55); bankAccount: the masked view (holderName, accountNumberMasked, bankName, swiftBic, cnapsCode, currency) — never the full number; settlementCurrency: the currency code. null when unset.',
  });

export const DestinationChangeView = z
  .object({
    id: z.string(),
    field: z.enum(DESTINATION_FIELDS),
    before: DestinationValue,
    after: DestinationValue,
    changedAt: z.string(),
    credential: z
      .enum(['jwt', 'api_key', 'signup', 'chain'])
      .meta({ description: 'What made the change: the dashboard session, an API key, the signup request, or a confirmed SubscriptionManager event (receiverAddress).' }),
    apiKeyPrefix: z.string().nullable().meta({ description: 'The prefix of the API key that made the change, when one did.' }),
  })
  .meta({ id: 'DestinationChange' });

export const DestinationChangeList = pageOf(DestinationChangeView, 'DestinationChangeList');

export type DestinationChangeViewT = z.infer<typeof DestinationChangeView>;

function changeView(r: MerchantDestinationChangesTable): DestinationChangeViewT {
  return {
    id: r.id,
    field: r.field,
    before: r.before_value === null ? null : JSON.parse(r.before_value),
    after: r.after_value === null ? null : JSON.parse(r.after_value),
    changedAt: r.changed_at,
    credential: r.credential,
    apiKeyPrefix: r.api_key_prefix,
  };
}

async function changeRows(ctx: CoreContext, merchantId: string, page: PageRequest) {
  const before = decodeCursor(page.cursor, 'dch');
  let q = ctx.db.kysely.selectFrom('merchant_destination_changes').selectAll().where('merchant_id', '=', merchantId);
  if (before) q = q.where('id', '<', before);
  return q
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/** The merchant's own view: newest first, cursor-paginated. */
export async function listDestinationChanges(ctx: CoreContext, merchantId: string, page: PageRequest): Promise<Page<DestinationChangeViewT>> {
  return toPage(await changeRows(ctx, merchantId, page), page.limit, changeView);
}

/** The staff view: the same, plus the id of the key that made each change. */
export async function listDestinationChangesForStaff(ctx: CoreContext, merchantId: string, page: PageRequest): Promise<Page<DestinationChangeViewT & { apiKeyId: string | null }>> {
  return toPage(await changeRows(ctx, merchantId, page), page.limit, (r) => ({ ...changeView(r), apiKeyId: r.api_key_id }));
}
