import { z } from 'zod';
import { chainStatus } from '../../chain/status.js';
import { conflict, notFound } from '../../errors/index.js';
import { decodeCursor, toPage } from '../../pagination/index.js';
import { defineCommand } from '../registry.js';
import { Limit, MerchantRef, ReviewerText, wholeNumber } from './shared.js';

/**
 * On-chain registration in the back office (issue 16; core/chain): how far the chain listener has
 * read each chain, and the contract events it could not match to a merchant. Every role reads
 * (support answers "I registered on chain, why am I not active?"). Reviewing an unmatched event is
 * admin's: it records what staff decided (dismissed, or matched by hand to a merchant) as an
 * append-only row beside the event — it changes no merchant and moves no money, so no step-up;
 * audited like every mutation.
 */

const ChainStatusRow = z.object({
  chainId: z.number(),
  name: z.string(),
  contract: z.string().nullable(),
  configured: z.boolean(),
  nextBlock: z.number().nullable(),
  head: z.number().nullable(),
  safe: z.number().nullable(),
  safeRule: z.enum(['finalized', 'confirmations']),
  confirmations: z.number().nullable(),
  lagBlocks: z.number().nullable(),
  live: z.boolean(),
  rpcError: z.string().nullable(),
  lastError: z.string().nullable(),
  updatedAt: z.string().nullable(),
  unmatchedOpen: z.number(),
});

export const chainStatusCommand = defineCommand({
  name: 'chain:status',
  summary:
    'Per chain: the listener’s cursor, the head and finalized (safe) block, the lag, the last error, and unmatched events awaiting review (--offline: the listener’s last record, without asking the RPCs)',
  input: z.object({
    offline: z.boolean().optional().meta({ description: 'Show the head and safe block the listener last recorded instead of asking each configured RPC now (3 s time-out)' }),
  }),
  output: z.object({ chains: z.array(ChainStatusRow), configKnown: z.boolean() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    return chainStatus(ctx, { rpc: input.offline !== true });
  },
});

const Resolution = z.enum(['dismissed', 'matched']);
const ChainLogRef = z
  .string()
  .trim()
  .regex(/^clog_[0-9a-z]+$/, 'must be a chain log id (clog_…)')
  .meta({ description: 'Chain log id (clog_…)' });

const Review = z.object({
  resolution: Resolution,
  merchantId: z.string().nullable(),
  note: z.string(),
  staffEmail: z.string().nullable(),
  createdAt: z.string(),
});

const UnmatchedRow = z.object({
  id: z.string(),
  chainId: z.number(),
  contract: z.string(),
  event: z.enum(['MerchantRegistered', 'MerchantActiveChanged', 'ReceiverUpdated']),
  args: z.record(z.string(), z.unknown()),
  onChainMerchantId: z.string().nullable(),
  merchantId: z.string().nullable(),
  txHash: z.string(),
  logIndex: z.number(),
  blockNumber: z.number(),
  blockTime: z.string(),
  detail: z.string().nullable(),
  appliedAt: z.string(),
  /** The latest review, or null while it awaits one. */
  review: Review.nullable(),
});

export const chainUnmatched = defineCommand({
  name: 'chain:unmatched',
  summary: 'Contract events the chain listener could not match to a merchant, newest first (--state open|reviewed|all, --chain; --cursor)',
  input: z.object({
    state: z.enum(['open', 'reviewed', 'all']).default('all').meta({ description: 'open: awaiting review; reviewed: reviewed by staff' }),
    chain: wholeNumber(1, 2 ** 53 - 1)
      .optional()
      .meta({ description: 'Chain id' }),
    limit: Limit,
    cursor: z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' }),
  }),
  output: z.object({ items: z.array(UnmatchedRow), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('chain_logs as l')
      .selectAll('l')
      .where('l.outcome', '=', 'unmatched')
      .orderBy('l.id', 'desc')
      .limit(input.limit + 1);
    const before = decodeCursor(input.cursor, 'clog');
    if (before) q = q.where('l.id', '<', before);
    if (input.chain !== undefined) q = q.where('l.chain_id', '=', input.chain);
    if (input.state !== 'all') {
      q = q.where((eb) => {
        const reviewed = eb.exists(eb.selectFrom('chain_log_reviews as r').select('r.id').whereRef('r.chain_log_id', '=', 'l.id'));
        return input.state === 'open' ? eb.not(reviewed) : reviewed;
      });
    }
    const rows = await q.execute();
    const ids = rows.map((r) => r.id);
    const reviews =
      ids.length === 0
        ? []
        : await ctx.db.kysely
            .selectFrom('chain_log_reviews as r')
            .leftJoin('staff as s', 's.id', 'r.staff_id')
            .select(['r.id', 'r.chain_log_id', 'r.resolution', 'r.merchant_id', 'r.note', 'r.created_at', 's.email'])
            .where('r.chain_log_id', 'in', ids)
            .orderBy('r.id')
            .execute();
    const latest = new Map(reviews.map((r) => [r.chain_log_id, r]));
    const page = toPage(rows, input.limit, (r) => {
      const review = latest.get(r.id);
      return {
        id: r.id,
        chainId: r.chain_id,
        contract: r.contract_address,
        event: r.event,
        args: JSON.parse(r.args) as Record<string, unknown>,
        onChainMerchantId: r.on_chain_merchant_id,
        merchantId: r.merchant_id,
        txHash: r.tx_hash,
        logIndex: r.log_index,
        blockNumber: Number(r.block_number),
        blockTime: r.block_time,
        detail: r.detail,
        appliedAt: r.applied_at,
        review: review
          ? {
              resolution: review.resolution as z.infer<typeof Resolution>,
              merchantId: review.merchant_id,
              note: review.note,
              staffEmail: review.email ?? null,
              createdAt: review.created_at,
            }
          : null,
      };
    });
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const chainReview = defineCommand({
  name: 'chain:review',
  summary: 'Record staff’s review of an unmatched contract event: dismissed, or matched by hand to a merchant (--merchant); the event itself stays as it was',
  input: z
    .object({
      log: ChainLogRef,
      resolution: Resolution,
      merchant: MerchantRef.optional(),
      note: ReviewerText('note'),
    })
    .refine((i) => i.resolution !== 'matched' || i.merchant !== undefined, { message: 'a matched review names the merchant (--merchant)', path: ['merchant'] }),
  output: z.object({ id: z.string(), log: z.string(), resolution: Resolution, merchantId: z.string().nullable(), createdAt: z.string() }),
  roles: ['admin'],
  stepUp: false,
  mutates: true,
  positional: ['log'],
  async handler(ctx, input) {
    const log = await ctx.db.kysely.selectFrom('chain_logs').select(['id', 'outcome']).where('id', '=', input.log).executeTakeFirst();
    if (!log) throw notFound('chain_log_not_found', `No chain log ${input.log}`);
    if (log.outcome !== 'unmatched') throw conflict('chain_log_not_unmatched', `${input.log} was ${log.outcome}, not unmatched: there is nothing to review`);
    if (input.merchant) {
      const m = await ctx.db.kysely.selectFrom('merchants').select('id').where('id', '=', input.merchant).executeTakeFirst();
      if (!m) throw notFound('merchant_not_found', `No merchant ${input.merchant}`);
    }
    const row = {
      id: ctx.ids.next('clrv'),
      chain_log_id: log.id,
      staff_id: ctx.staff.id,
      resolution: input.resolution,
      merchant_id: input.merchant ?? null,
      note: input.note,
      created_at: ctx.clock.now().toISOString(),
    };
    await ctx.db.kysely.insertInto('chain_log_reviews').values(row).execute();
    ctx.touch(log.id, ...(input.merchant ? [input.merchant] : []));
    return { id: row.id, log: log.id, resolution: input.resolution, merchantId: row.merchant_id, createdAt: row.created_at };
  },
});
