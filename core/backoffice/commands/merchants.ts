import { z } from 'zod';
import { conflict } from '../../errors/index.js';
import { DESTINATION_FIELDS, destinationCoolingOff, listDestinationChangesForStaff } from '../../merchants/destinations.js';
import { getMerchant, loadMerchantRow } from '../../merchants/view.js';
import { type CommandContext, defineCommand } from '../registry.js';
import { Limit, MerchantAdminView, MerchantRef, wholeNumber } from './shared.js';

/**
 * Merchant administration. Everyone may read; only admins change a merchant. Suspending,
 * reactivating and fee changes all need step-up: suspension stops a merchant's business at once,
 * reactivation restores access that was withdrawn (possibly for fraud), and the fee decides how
 * much of every future invoice BuffMoney keeps.
 */

export const merchantsList = defineCommand({
  name: 'merchants:list',
  summary: 'Merchants, newest first; search by name, email or id, filter by status',
  input: z.object({
    search: z.string().trim().min(1).max(200).optional().meta({ description: 'Part of the name or email, or an exact id' }),
    status: z.enum(['active', 'suspended', 'deactivated']).optional(),
    kybStatus: z.enum(['not_submitted', 'pending_review', 'approved', 'rejected', 'info_requested']).optional(),
    limit: Limit,
  }),
  output: z.object({
    items: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        email: z.string(),
        status: z.string(),
        kybStatus: z.string(),
        serviceFeeBps: z.number(),
        createdAt: z.string(),
      }),
    ),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('merchants')
      .select(['id', 'name', 'email', 'status', 'kyb_status as kybStatus', 'service_fee_bps as serviceFeeBps', 'created_at as createdAt'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(input.limit);
    if (input.status) q = q.where('status', '=', input.status);
    if (input.kybStatus) q = q.where('kyb_status', '=', input.kybStatus);
    if (input.search) {
      // `%` and `_` typed by the user only widen the SQL match; the exact check below narrows it.
      const pattern = `%${input.search.toLowerCase()}%`;
      const term = input.search;
      q = q.where((eb) => eb.or([eb('id', '=', term), eb(eb.fn('lower', ['name']), 'like', eb.val(pattern)), eb(eb.fn('lower', ['email']), 'like', eb.val(pattern))]));
    }
    const rows = await q.execute();
    // Substring match, exactly (LIKE treats % and _ as wildcards; escaping differs by engine).
    const needle = input.search?.toLowerCase();
    return {
      items: rows
        .filter((r) => !needle || r.id === input.search || r.name.toLowerCase().includes(needle) || r.email.toLowerCase().includes(needle))
        .map((r) => ({ ...r, serviceFeeBps: Number(r.serviceFeeBps) })),
    };
  },
});

export const merchantsShow = defineCommand({
  name: 'merchants:show',
  summary: "A merchant's profile: status, KYB, keys (prefixes only), live access, fee",
  input: z.object({ merchant: MerchantRef }),
  output: MerchantAdminView,
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  handler: (ctx, input) => getMerchant(ctx, input.merchant),
});

const StatusChange = z.object({ merchantId: z.string(), status: z.enum(['active', 'suspended']), previousStatus: z.string() });

export const merchantsSuspend = defineCommand({
  name: 'merchants:suspend',
  summary: 'Suspend a merchant: its API calls answer 403 merchant_suspended at once',
  input: z.object({ merchant: MerchantRef, reason: z.string().trim().max(2000).optional().meta({ description: 'Kept in the audit log' }) }),
  output: StatusChange,
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.merchant);
    const m = await loadMerchantRow(ctx, input.merchant);
    if (m.status === 'suspended') throw conflict('merchant_already_suspended', 'This merchant is already suspended');
    return setMerchantStatus(ctx, m, 'suspended');
  },
});

/** The one place a command changes a merchant's status (API-key auth reads it on every call). */
async function setMerchantStatus<S extends 'active' | 'suspended'>(ctx: CommandContext, m: { id: string; status: string }, status: S) {
  await ctx.db.kysely.updateTable('merchants').set({ status, updated_at: ctx.clock.now().toISOString() }).where('id', '=', m.id).execute();
  return { merchantId: m.id, status, previousStatus: m.status };
}

export const merchantsReactivate = defineCommand({
  name: 'merchants:reactivate',
  summary: 'Lift a suspension: the merchant’s keys work again',
  input: z.object({ merchant: MerchantRef, reason: z.string().trim().max(2000).optional().meta({ description: 'Kept in the audit log' }) }),
  output: StatusChange,
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.merchant);
    const m = await loadMerchantRow(ctx, input.merchant);
    if (m.status !== 'suspended') throw conflict('merchant_not_suspended', 'This merchant is not suspended');
    return setMerchantStatus(ctx, m, 'active');
  },
});

export const merchantsSetFee = defineCommand({
  name: 'merchants:set-fee',
  summary: "Set the merchant's service fee in basis points (applies to invoices generated from now on)",
  input: z.object({ merchant: MerchantRef, bps: wholeNumber(0, 10_000).meta({ description: 'Service fee, basis points (80 = 0.8 %)' }) }),
  output: z.object({ merchantId: z.string(), serviceFeeBps: z.number(), previousServiceFeeBps: z.number() }),
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    ctx.touch(input.merchant);
    const m = await loadMerchantRow(ctx, input.merchant);
    await ctx.db.kysely.updateTable('merchants').set({ service_fee_bps: input.bps, updated_at: ctx.clock.now().toISOString() }).where('id', '=', m.id).execute();
    // Issued invoices keep the fee they were generated with; only new ones see the change.
    return { merchantId: m.id, serviceFeeBps: input.bps, previousServiceFeeBps: Number(m.service_fee_bps) };
  },
});

export const merchantsDestinationHistory = defineCommand({
  name: 'merchants:destination-history',
  summary: 'Every change of where a merchant’s money goes (newest first), and whether payouts are in the 72 h cooling-off',
  input: z.object({
    merchant: MerchantRef,
    limit: wholeNumber(1, 100).default(20).meta({ description: 'At most this many changes (1–100)' }),
    cursor: z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' }),
  }),
  output: z.object({
    merchantId: z.string(),
    changedAt: z.string().nullable(),
    holdUntil: z.string().nullable(),
    coolingOff: z.boolean(),
    items: z.array(
      z.object({
        id: z.string(),
        field: z.enum(DESTINATION_FIELDS),
        before: z.unknown(),
        after: z.unknown(),
        changedAt: z.string(),
        credential: z.string(),
        apiKeyId: z.string().nullable(),
        apiKeyPrefix: z.string().nullable(),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
  // Finance holds and releases payouts; admins investigate. Support has no need for payout details.
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const m = await loadMerchantRow(ctx, input.merchant);
    const page = await listDestinationChangesForStaff(ctx, m.id, { limit: input.limit, cursor: input.cursor });
    const hold = await destinationCoolingOff(ctx, m.id);
    return { merchantId: m.id, ...hold, items: page.data, nextCursor: page.nextCursor };
  },
});
