import { sql } from 'kysely';
import type { Address, Hex, PublicClient } from 'viem';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { recordDestinationChanges } from '../merchants/destinations.js';
import type { MerchantsTable } from '../merchants/tables.js';
import { loadMerchantRow, merchantView } from '../merchants/view.js';
import { PROFILE_ENVIRONMENT } from '../webhooks/endpoints.js';
import type { ChainConfig } from './config.js';
import { SUBSCRIPTION_MANAGER_EVENTS, type SubscriptionManagerEventName } from './events.js';
import type { ChainCursorsTable, ChainLogOutcome } from './tables.js';

/**
 * The chain listener's one step (issue 16; decisions in core/chain/README.md): read the chain's
 * head and the block it may safely read to (`finalized`, or `latest − confirmations`), then read
 * the SubscriptionManager's logs from the persisted cursor up to it in block chunks, applying each
 * chunk's logs and moving the cursor in one transaction. A log is applied at most once — keyed by
 * (chainId, txHash, logIndex) in `chain_logs` — so a step killed anywhere, or run twice at once by
 * two replicas for an instant, changes nothing twice.
 */

export type ListenableChain = ChainConfig & { rpcUrl: string; subscriptionManager: Address };

/** What the listener asks of a viem public client (a wrapped transport in tests). */
export type ChainReader = Pick<PublicClient, 'getBlockNumber' | 'getBlock' | 'getLogs'>;

/** Block chunk sizes: the first try, the most it grows to, and how many successes before it grows. */
export const INITIAL_CHUNK_BLOCKS = 2_000;
export const MAX_CHUNK_BLOCKS = 50_000;
export const GROW_AFTER_SUCCESSES = 10;

/** Kept between steps by the worker: the chunk size the RPC last accepted. */
export interface ChainListenerState {
  chunk: number;
  successes: number;
}

export function newListenerState(chunk = INITIAL_CHUNK_BLOCKS): ChainListenerState {
  return { chunk, successes: 0 };
}

export interface PollOptions {
  state?: ChainListenerState;
  /** Read at most this many blocks in this step (the worker: unbounded; tests stop mid-range). */
  maxBlocks?: number;
  maxChunk?: number;
  /** Test seam: runs inside each chunk's transaction, after its logs are applied, before commit. */
  beforeCommit?: (chunk: { fromBlock: number; toBlock: number; logs: number }) => Promise<void> | void;
}

export interface PollReport {
  chainId: number;
  contract: Address;
  head: number;
  /** The block the step may read to: finalized, or head − confirmations. */
  safe: number;
  /** Blocks read in this step (toBlock < fromBlock: none). */
  fromBlock: number;
  toBlock: number;
  /** The next block to read after this step. */
  nextBlock: number;
  chunks: number;
  /** How often the RPC refused a range and the chunk was halved. */
  shrinks: number;
  chunkSize: number;
  logs: number;
  applied: number;
  unmatched: number;
  ignored: number;
  /** Logs already in chain_logs (a step that ran before and was cut off, or another replica). */
  duplicates: number;
  caughtUp: boolean;
}

/**
 * Errors of providers refusing a getLogs range or answer size: Alchemy ("Log response size
 * exceeded", "block range"), Infura (-32005 "query returned more than 10000 results"),
 * QuickNode/Ankr ("eth_getLogs is limited to a 10,000 range", "block range is too wide"),
 * Cloudflare/others ("limit exceeded", "response size"), an HTTP 413, or a request timing out on
 * a range too heavy for the node. Anything else is not the range's fault.
 */
const RANGE_ERROR =
  /block range|range (is )?too (large|wide|big)|is limited to|query returned more than|more than \d+ (results|logs)|limit exceeded|exceed(s|ed)? (the )?(max|limit)|response size|too many (results|logs|blocks)|-32005|payload too large|\b413\b|timed? ?out/i;

function errorChain(e: unknown): Array<{ message: string; code?: number; status?: number }> {
  const out: Array<{ message: string; code?: number; status?: number }> = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 8; i++) {
    const x = cur as { message?: unknown; details?: unknown; shortMessage?: unknown; code?: unknown; status?: unknown; cause?: unknown };
    const parts = [x.shortMessage, x.details, x.message].filter((p): p is string => typeof p === 'string');
    out.push({ message: parts.join(' | '), code: typeof x.code === 'number' ? x.code : undefined, status: typeof x.status === 'number' ? x.status : undefined });
    cur = x.cause;
  }
  return out;
}

/** Whether an RPC error says the getLogs range (or its answer) was too large. */
export function isRangeError(e: unknown): boolean {
  return errorChain(e).some((x) => x.code === -32005 || x.status === 413 || RANGE_ERROR.test(x.message));
}

/** A short, single-line account of an error, for chain_cursors.last_error and chain:status. */
export function describeChainError(e: unknown): string {
  const chain = errorChain(e);
  const first = chain.find((x) => x.message)?.message ?? String(e);
  return first.replace(/\s+/g, ' ').slice(0, 500);
}

const iso = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString();

async function readSafeBlock(client: ChainReader, chain: ListenableChain): Promise<{ head: number; safe: number }> {
  const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
  if (chain.confirmations !== undefined) return { head, safe: head - chain.confirmations };
  const finalized = await client.getBlock({ blockTag: 'finalized' });
  return { head, safe: Math.min(head, Number(finalized.number)) };
}

async function loadCursor(ctx: CoreContext, chain: ListenableChain): Promise<ChainCursorsTable> {
  const read = () =>
    ctx.db.kysely.selectFrom('chain_cursors').selectAll().where('chain_id', '=', chain.chainId).where('contract_address', '=', chain.subscriptionManager).executeTakeFirst();
  let row = await read();
  if (!row) {
    await inTransaction(ctx, (tx) =>
      tx.db.kysely
        .insertInto('chain_cursors')
        .values({
          chain_id: chain.chainId,
          contract_address: chain.subscriptionManager,
          next_block: chain.startBlock ?? 0,
          head_block: null,
          safe_block: null,
          last_error: null,
          updated_at: ctx.clock.now().toISOString(),
        })
        .onConflict((oc) => oc.columns(['chain_id', 'contract_address']).doNothing())
        .execute(),
    );
    row = await read();
    if (!row) throw new Error(`no cursor for chain ${chain.chainId} after creating it`);
  }
  return row;
}

async function recordChainError(ctx: CoreContext, chain: ListenableChain, e: unknown): Promise<void> {
  await inTransaction(ctx, (tx) =>
    tx.db.kysely
      .updateTable('chain_cursors')
      .set({ last_error: describeChainError(e), updated_at: ctx.clock.now().toISOString() })
      .where('chain_id', '=', chain.chainId)
      .where('contract_address', '=', chain.subscriptionManager)
      .execute(),
  ).catch(() => {});
}

interface DecodedLog {
  eventName: SubscriptionManagerEventName;
  args: Record<string, unknown>;
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
}

interface Applied {
  outcome: ChainLogOutcome;
  merchantId: string | null;
  detail: string | null;
}

/** JSON of the decoded arguments: uint256 as decimal strings, addresses as viem gives them (EIP-55). */
function argsJson(args: Record<string, unknown>): string {
  return JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

async function merchantByChainId(tx: CoreContext, chainId: number, onChainId: string): Promise<MerchantsTable | undefined> {
  return tx.db.kysely.selectFrom('merchants').selectAll().where('chain_id', '=', chainId).where('on_chain_merchant_id', '=', onChainId).executeTakeFirst();
}

async function applyRegistered(tx: CoreContext, chain: ListenableChain, log: DecodedLog, blockTime: string): Promise<Applied> {
  const onChainId = (log.args.merchantId as bigint).toString();
  const admin = log.args.admin as Address;
  const receiver = log.args.receiver as Address;
  const hash = (log.args.metadataHash as Hex).toLowerCase();
  const candidates = await tx.db.kysely
    .selectFrom('merchants')
    .selectAll()
    .where('intent_chain_id', '=', chain.chainId)
    .where(sql<string>`lower(intent_metadata_hash)`, '=', hash)
    .execute();
  const unmatched = (detail: string, merchantId: string | null = null): Applied => ({ outcome: 'unmatched', merchantId, detail });
  if (candidates.length === 0) return unmatched(`no merchant has a pending register-intent with this metadataHash on chain ${chain.chainId}`);
  if (candidates.length > 1) return unmatched(`${candidates.length} merchants have a pending register-intent with this metadataHash: ${candidates.map((c) => c.id).join(', ')}`);
  const m = candidates[0];
  if (m.status === 'deactivated') return unmatched(`merchant ${m.id} is deactivated`, m.id);
  if (m.on_chain_merchant_id !== null) return unmatched(`merchant ${m.id} is already registered as #${m.on_chain_merchant_id} on chain ${m.chain_id}`, m.id);
  const holder = await merchantByChainId(tx, chain.chainId, onChainId);
  if (holder) return unmatched(`on-chain merchant #${onChainId} already belongs to ${holder.id}`, m.id);
  // The metadataHash is public once the merchant's transaction is in the mempool: anyone can send
  // registerMerchant(theirWallet, sameHash) first. A registration whose receiver is not the one the
  // merchant asked for is therefore not theirs to take: kept for staff review, never applied.
  const intended = m.intent_receiver_address;
  if (intended === null || intended.toLowerCase() !== receiver.toLowerCase()) {
    return unmatched(`registered with receiver ${receiver}, not the receiver of ${m.id}'s pending register-intent (${intended ?? 'none'})`, m.id);
  }
  const now = tx.clock.now().toISOString();
  await tx.db.kysely
    .updateTable('merchants')
    .set({
      on_chain_merchant_id: onChainId,
      chain_id: chain.chainId,
      chain_active: 1,
      receiver_address: receiver,
      admin_address: admin,
      metadata_hash: hash,
      metadata_json: m.intent_metadata_json,
      registered_at: blockTime,
      intent_receiver_address: null,
      intent_metadata_hash: null,
      intent_metadata_json: null,
      intent_chain_id: null,
      intent_at: null,
      updated_at: now,
    })
    .where('id', '=', m.id)
    .execute();
  // The confirmed receiver is where money goes from now on: a destination change like any other
  // (history row, cooling-off) — a stolen dashboard session could otherwise register an
  // attacker's wallet and be paid at once.
  await recordDestinationChanges(tx, m.id, [{ field: 'receiverAddress', before: null, after: receiver }], { credential: 'chain', apiKeyId: null });
  await recordEvent(tx, { type: 'merchant.registered', merchantId: m.id, environment: PROFILE_ENVIRONMENT, data: await merchantView(tx, await loadMerchantRow(tx, m.id)) });
  return { outcome: 'applied', merchantId: m.id, detail: null };
}

async function applyActiveChanged(tx: CoreContext, chain: ListenableChain, log: DecodedLog): Promise<Applied> {
  const onChainId = (log.args.merchantId as bigint).toString();
  const active = log.args.active as boolean;
  const m = await merchantByChainId(tx, chain.chainId, onChainId);
  if (!m) return { outcome: 'unmatched', merchantId: null, detail: `no merchant is registered as #${onChainId} on chain ${chain.chainId}` };
  if ((m.chain_active === 1) === active) return { outcome: 'ignored', merchantId: m.id, detail: `already ${active ? 'active' : 'inactive'}` };
  await tx.db.kysely
    .updateTable('merchants')
    .set({ chain_active: active ? 1 : 0, updated_at: tx.clock.now().toISOString() })
    .where('id', '=', m.id)
    .execute();
  return { outcome: 'applied', merchantId: m.id, detail: active ? 'reactivated on chain' : 'deactivated on chain' };
}

async function applyReceiverUpdated(tx: CoreContext, chain: ListenableChain, log: DecodedLog): Promise<Applied> {
  const onChainId = (log.args.merchantId as bigint).toString();
  const receiver = log.args.receiver as Address;
  const m = await merchantByChainId(tx, chain.chainId, onChainId);
  if (!m) return { outcome: 'unmatched', merchantId: null, detail: `no merchant is registered as #${onChainId} on chain ${chain.chainId}` };
  if (m.receiver_address === receiver) return { outcome: 'ignored', merchantId: m.id, detail: 'receiver unchanged' };
  await tx.db.kysely.updateTable('merchants').set({ receiver_address: receiver, updated_at: tx.clock.now().toISOString() }).where('id', '=', m.id).execute();
  await recordDestinationChanges(tx, m.id, [{ field: 'receiverAddress', before: m.receiver_address, after: receiver }], { credential: 'chain', apiKeyId: null });
  return { outcome: 'applied', merchantId: m.id, detail: null };
}

async function applyLog(tx: CoreContext, chain: ListenableChain, log: DecodedLog, blockTime: string): Promise<Applied | 'duplicate'> {
  const txHash = log.transactionHash.toLowerCase();
  const seen = await tx.db.kysely
    .selectFrom('chain_logs')
    .select('id')
    .where('chain_id', '=', chain.chainId)
    .where('tx_hash', '=', txHash)
    .where('log_index', '=', log.logIndex)
    .executeTakeFirst();
  if (seen) return 'duplicate';
  const applied =
    log.eventName === 'MerchantRegistered'
      ? await applyRegistered(tx, chain, log, blockTime)
      : log.eventName === 'MerchantActiveChanged'
        ? await applyActiveChanged(tx, chain, log)
        : await applyReceiverUpdated(tx, chain, log);
  await tx.db.kysely
    .insertInto('chain_logs')
    .values({
      id: tx.ids.next('clog'),
      chain_id: chain.chainId,
      contract_address: chain.subscriptionManager,
      tx_hash: txHash,
      log_index: log.logIndex,
      block_number: Number(log.blockNumber),
      block_hash: log.blockHash.toLowerCase(),
      block_time: blockTime,
      event: log.eventName,
      args: argsJson(log.args),
      on_chain_merchant_id: (log.args.merchantId as bigint).toString(),
      merchant_id: applied.merchantId,
      outcome: applied.outcome,
      detail: applied.detail,
      applied_at: tx.clock.now().toISOString(),
    })
    .execute();
  return applied;
}

/** Timestamps of the blocks that have logs (one getBlock each, asked once per step). */
async function blockTimes(client: ChainReader, logs: DecodedLog[], cache: Map<bigint, string>): Promise<Map<bigint, string>> {
  for (const n of new Set(logs.map((l) => l.blockNumber))) {
    if (!cache.has(n)) cache.set(n, iso((await client.getBlock({ blockNumber: n })).timestamp));
  }
  return cache;
}

/**
 * One step of the listener for one chain: from the cursor up to the safe block (or `maxBlocks`
 * of it). Throws after recording `last_error` on the cursor when the RPC fails in a way a
 * smaller range does not cure; the worker backs off and tries again.
 */
export async function pollChain(ctx: CoreContext, chain: ListenableChain, client: ChainReader, options: PollOptions = {}): Promise<PollReport> {
  const state = options.state ?? newListenerState();
  const maxChunk = options.maxChunk ?? MAX_CHUNK_BLOCKS;
  const cursor = await loadCursor(ctx, chain);
  let heads: { head: number; safe: number };
  try {
    heads = await readSafeBlock(client, chain);
  } catch (e) {
    await recordChainError(ctx, chain, e);
    throw e;
  }
  const { head, safe } = heads;
  const start = Number(cursor.next_block);
  const last = Math.min(safe, options.maxBlocks === undefined ? Number.POSITIVE_INFINITY : start + options.maxBlocks - 1);
  const report: PollReport = {
    chainId: chain.chainId,
    contract: chain.subscriptionManager,
    head,
    safe,
    fromBlock: start,
    toBlock: start - 1,
    nextBlock: start,
    chunks: 0,
    shrinks: 0,
    chunkSize: state.chunk,
    logs: 0,
    applied: 0,
    unmatched: 0,
    ignored: 0,
    duplicates: 0,
    caughtUp: false,
  };
  const cursorUpdate = (tx: CoreContext, set: Partial<ChainCursorsTable>) =>
    tx.db.kysely
      .updateTable('chain_cursors')
      .set({ ...set, head_block: head, safe_block: safe, last_error: null, updated_at: tx.clock.now().toISOString() })
      .where('chain_id', '=', chain.chainId)
      .where('contract_address', '=', chain.subscriptionManager);
  if (start > last) {
    // Nothing to read: refresh what chain:status shows, but only when it moved (no write lock
    // taken on a quiet poll).
    if (Number(cursor.head_block) !== head || Number(cursor.safe_block) !== safe || cursor.last_error !== null) {
      await inTransaction(ctx, (tx) => cursorUpdate(tx, {}).execute());
    }
    report.caughtUp = start > safe;
    return report;
  }
  const times = new Map<bigint, string>();
  let from = start;
  while (from <= last) {
    const to = Math.min(from + state.chunk - 1, last);
    let logs: DecodedLog[];
    try {
      logs = (await client.getLogs({
        address: chain.subscriptionManager,
        events: SUBSCRIPTION_MANAGER_EVENTS,
        fromBlock: BigInt(from),
        toBlock: BigInt(to),
        strict: true,
      })) as unknown as DecodedLog[];
    } catch (e) {
      const span = to - from + 1;
      if (span > 1 && isRangeError(e)) {
        state.chunk = Math.max(1, Math.floor(span / 2));
        state.successes = 0;
        report.shrinks++;
        continue;
      }
      await recordChainError(ctx, chain, e);
      throw e;
    }
    logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    await blockTimes(client, logs, times);
    const counts = { applied: 0, unmatched: 0, ignored: 0, duplicates: 0 };
    await inTransaction(ctx, async (tx) => {
      for (const log of logs) {
        const r = await applyLog(tx, chain, log, times.get(log.blockNumber)!);
        if (r === 'duplicate') counts.duplicates++;
        else counts[r.outcome]++;
      }
      // Moves only from where this step found it: a second listener that moved it meanwhile
      // (two leaders for an instant) makes this chunk roll back rather than skip or repeat.
      const moved = await cursorUpdate(tx, { next_block: to + 1 })
        .where('next_block', '=', from)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1)
        throw new DomainError('conflict', 'chain_cursor_moved', `the cursor of chain ${chain.chainId} moved under this listener (another one is reading)`);
      await options.beforeCommit?.({ fromBlock: from, toBlock: to, logs: logs.length });
    });
    report.logs += logs.length;
    report.applied += counts.applied;
    report.unmatched += counts.unmatched;
    report.ignored += counts.ignored;
    report.duplicates += counts.duplicates;
    report.chunks++;
    report.toBlock = to;
    from = to + 1;
    report.nextBlock = from;
    // Grow back slowly after a provider's refusal: doubling at once would fail every other call.
    if (++state.successes >= GROW_AFTER_SUCCESSES && state.chunk < maxChunk) {
      state.chunk = Math.min(maxChunk, state.chunk * 2);
      state.successes = 0;
    }
  }
  report.chunkSize = state.chunk;
  report.caughtUp = from > safe;
  return report;
}
