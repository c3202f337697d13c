import type { CoreContext } from '../context/index.js';
import type { ChainConfig } from './config.js';

/**
 * What `chain:status` shows (core/backoffice/commands/chain.ts): per chain, the listener's cursor
 * from the database and — when the chain has an RPC URL that answers within a few seconds — its
 * head and safe block read now; otherwise the head and safe block the listener last recorded.
 *
 * The chain configuration comes from the process that hosts the command (the server installs its
 * ServerConfig.chains, the CLI and the desktop app parse their environment lazily): core reads no
 * environment. No static viem import here: the back-office CLI loads this file at every run, and
 * viem costs it start-up time; the RPC read loads viem only when a chain has an RPC URL.
 */

export type ChainConfigSource = () => Promise<readonly ChainConfig[]>;

const installed = new WeakMap<object, ChainConfigSource>();

/** The host's chain configuration, for chain:status (keyed like the payment channels: by the context's secrets). */
export function installChainConfigs(ctx: CoreContext, source: ChainConfigSource): void {
  installed.set(ctx.secrets, source);
}

/**
 * For hosts without a ServerConfig (the CLI, the desktop app): the chains of their environment
 * (CHAIN_RPC_URL_<id>, SUBSCRIPTION_MANAGER_<id>, …), parsed when chain:status first asks.
 */
export function installHostChainConfigs(ctx: CoreContext, env: Readonly<Record<string, string | undefined>>): void {
  let parsed: Promise<readonly ChainConfig[]> | undefined;
  installChainConfigs(ctx, () => {
    parsed ??= import('./config.js').then((m) => m.parseChainConfigs(env as NodeJS.ProcessEnv));
    return parsed;
  });
}

export interface ChainStatusRow {
  chainId: number;
  name: string;
  /** EIP-55 contract address: the configured one, or a cursor's for a contract no longer configured. */
  contract: string | null;
  /** An RPC URL and a contract are configured: the listener reads this chain. */
  configured: boolean;
  /** The next block the listener will read (everything below is applied); null: never started. */
  nextBlock: number | null;
  head: number | null;
  /** The block the listener may read to: finalized, or head − confirmations. */
  safe: number | null;
  safeRule: 'finalized' | 'confirmations';
  confirmations: number | null;
  /** Blocks up to `safe` not read yet. */
  lagBlocks: number | null;
  /** Head and safe were read from the RPC just now (false: the listener's last record). */
  live: boolean;
  rpcError: string | null;
  lastError: string | null;
  updatedAt: string | null;
  unmatchedOpen: number;
}

const RPC_TIMEOUT_MS = 3_000;

async function readRpc(chain: ChainConfig): Promise<{ head: number; safe: number } | { error: string }> {
  try {
    const { http, createPublicClient } = await import('viem');
    const client = createPublicClient({ transport: http(chain.rpcUrl, { timeout: RPC_TIMEOUT_MS, retryCount: 0 }) });
    const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
    if (chain.confirmations !== undefined) return { head, safe: Math.max(-1, head - chain.confirmations) };
    const finalized = await client.getBlock({ blockTag: 'finalized' });
    return { head, safe: Math.min(head, Number(finalized.number)) };
  } catch (e) {
    const x = e as { shortMessage?: string; message?: string };
    return { error: String(x.shortMessage ?? x.message ?? e).slice(0, 300) };
  }
}

const num = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Number(v));

export async function chainStatus(ctx: CoreContext, options: { rpc?: boolean } = {}): Promise<{ chains: ChainStatusRow[]; configKnown: boolean }> {
  const source = installed.get(ctx.secrets);
  const configs = source ? await source() : [];
  const cursors = await ctx.db.kysely.selectFrom('chain_cursors').selectAll().execute();
  const open = await ctx.db.kysely
    .selectFrom('chain_logs as l')
    .select(['l.chain_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('l.outcome', '=', 'unmatched')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('chain_log_reviews as r').select('r.id').whereRef('r.chain_log_id', '=', 'l.id'))))
    .groupBy('l.chain_id')
    .execute();
  const openBy = new Map(open.map((o) => [o.chain_id, Number(o.n)]));
  const rows: ChainStatusRow[] = [];
  const seen = new Set<string>();
  const reads = await Promise.all(configs.map((c) => (options.rpc !== false && c.rpcUrl ? readRpc(c) : Promise.resolve(undefined))));
  configs.forEach((c, i) => {
    const cursor = cursors.find((k) => k.chain_id === c.chainId && c.subscriptionManager !== undefined && k.contract_address === c.subscriptionManager);
    if (cursor) seen.add(`${cursor.chain_id}:${cursor.contract_address}`);
    const rpc = reads[i];
    const live = rpc !== undefined && 'head' in rpc;
    const head = live ? rpc.head : num(cursor?.head_block);
    const safe = live ? rpc.safe : num(cursor?.safe_block);
    const nextBlock = num(cursor?.next_block);
    rows.push({
      chainId: c.chainId,
      name: c.name,
      contract: c.subscriptionManager ?? null,
      configured: c.rpcUrl !== undefined && c.subscriptionManager !== undefined,
      nextBlock,
      head,
      safe,
      safeRule: c.confirmations !== undefined ? 'confirmations' : 'finalized',
      confirmations: c.confirmations ?? null,
      lagBlocks: nextBlock !== null && safe !== null ? Math.max(0, safe - nextBlock + 1) : null,
      live,
      rpcError: rpc !== undefined && 'error' in rpc ? rpc.error : null,
      lastError: cursor?.last_error ?? null,
      updatedAt: cursor?.updated_at ?? null,
      unmatchedOpen: openBy.get(c.chainId) ?? 0,
    });
  });
  // Cursors of chains or contracts this process has no configuration for: what was read, as recorded.
  for (const k of cursors) {
    if (seen.has(`${k.chain_id}:${k.contract_address}`)) continue;
    const nextBlock = Number(k.next_block);
    const safe = num(k.safe_block);
    rows.push({
      chainId: k.chain_id,
      name: configs.find((c) => c.chainId === k.chain_id)?.name ?? `Chain ${k.chain_id}`,
      contract: k.contract_address,
      configured: false,
      nextBlock,
      head: num(k.head_block),
      safe,
      safeRule: 'finalized',
      confirmations: null,
      lagBlocks: safe !== null ? Math.max(0, safe - nextBlock + 1) : null,
      live: false,
      rpcError: null,
      lastError: k.last_error,
      updatedAt: k.updated_at,
      unmatchedOpen: configs.some((c) => c.chainId === k.chain_id) ? 0 : (openBy.get(k.chain_id) ?? 0),
    });
  }
  rows.sort((a, b) => a.chainId - b.chainId || Number(b.configured) - Number(a.configured));
  return { chains: rows, configKnown: source !== undefined };
}
