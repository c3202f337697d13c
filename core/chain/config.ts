/**
 * Which chains BuffMoney talks to, from configuration (issue 16):
 *
 * - `CHAIN_RPC_URL_<chainId>`: the JSON-RPC endpoint the listener reads.
 * - `SUBSCRIPTION_MANAGER_<chainId>`: the contract address (any case in; EIP-55 kept).
 * - `CHAIN_CONFIRMATIONS_<chainId>` (optional): read up to `latest − N` instead of the chain's
 *   `finalized` block — for chains without a finality tag. Unset: the `finalized` tag.
 * - `CHAIN_START_BLOCK_<chainId>` (optional): where the listener starts reading when it has no
 *   cursor yet for the chain's contract — set it to the contract's deployment block; unset: 0.
 *
 * Arbitrum One (42161) and Arbitrum Sepolia (421614) are known by name whether or not they are
 * configured, so register-intent can tell "no contract set for this chain" from "not a chain we
 * support". The local development chain (31337, `npm run chain:dev`) exists only when one of its
 * variables is set. Any other chain id is unsupported — a merchant cannot register on a chain
 * nobody here listens to.
 *
 * A malformed value refuses to start (an address that is not one, a URL that is not http(s), a
 * negative confirmation count) rather than silently listening to nothing.
 */
import { type Address, getAddress, isAddress } from 'viem';

export interface ChainConfig {
  chainId: number;
  name: string;
  /** Undefined: known by name but not configured — the listener skips it. */
  rpcUrl?: string;
  /** EIP-55; undefined: "V2 SubscriptionManager not set". */
  subscriptionManager?: Address;
  /** Blocks behind `latest` the listener stays; undefined: the `finalized` tag. */
  confirmations?: number;
  /** The first block the listener reads when it has no cursor yet (CHAIN_START_BLOCK_<id>); undefined: 0. */
  startBlock?: number;
}

export const KNOWN_CHAINS: Readonly<Record<number, string>> = {
  42161: 'Arbitrum One',
  421614: 'Arbitrum Sepolia',
};
export const LOCAL_DEV_CHAIN_ID = 31337;
const LOCAL_DEV_NAME = 'Local development chain';

function chainVars(env: NodeJS.ProcessEnv, chainId: number) {
  const get = (name: string) => {
    const v = env[`${name}_${chainId}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  return { rpc: get('CHAIN_RPC_URL'), manager: get('SUBSCRIPTION_MANAGER'), confirmations: get('CHAIN_CONFIRMATIONS'), startBlock: get('CHAIN_START_BLOCK') };
}

function parseOne(env: NodeJS.ProcessEnv, chainId: number, name: string): ChainConfig {
  const v = chainVars(env, chainId);
  const config: ChainConfig = { chainId, name };
  if (v.rpc !== undefined) {
    let url: URL;
    try {
      url = new URL(v.rpc);
    } catch {
      throw new Error(`CHAIN_RPC_URL_${chainId} must be an http(s) URL, got ${JSON.stringify(v.rpc)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`CHAIN_RPC_URL_${chainId} must be an http(s) URL, got ${JSON.stringify(v.rpc)}`);
    config.rpcUrl = v.rpc;
  }
  if (v.manager !== undefined) {
    if (!isAddress(v.manager, { strict: false })) throw new Error(`SUBSCRIPTION_MANAGER_${chainId} must be an EVM address, got ${JSON.stringify(v.manager)}`);
    config.subscriptionManager = getAddress(v.manager);
  }
  if (v.confirmations !== undefined) {
    if (!/^\d{1,6}$/.test(v.confirmations)) throw new Error(`CHAIN_CONFIRMATIONS_${chainId} must be a whole number of blocks, got ${JSON.stringify(v.confirmations)}`);
    config.confirmations = Number(v.confirmations);
  }
  if (v.startBlock !== undefined) {
    if (!/^\d{1,15}$/.test(v.startBlock)) throw new Error(`CHAIN_START_BLOCK_${chainId} must be a block number, got ${JSON.stringify(v.startBlock)}`);
    config.startBlock = Number(v.startBlock);
  }
  return config;
}

/** Every chain BuffMoney knows, in chain-id order: the named ones always, 31337 when configured. */
export function parseChainConfigs(env: NodeJS.ProcessEnv = process.env): ChainConfig[] {
  const out = Object.entries(KNOWN_CHAINS).map(([id, name]) => parseOne(env, Number(id), name));
  const local = chainVars(env, LOCAL_DEV_CHAIN_ID);
  if (local.rpc !== undefined || local.manager !== undefined) out.push(parseOne(env, LOCAL_DEV_CHAIN_ID, LOCAL_DEV_NAME));
  return out.sort((a, b) => a.chainId - b.chainId);
}

/** The chains the listener can read: an RPC URL and a contract address both set. */
export function listenableChains(chains: readonly ChainConfig[]): Array<ChainConfig & { rpcUrl: string; subscriptionManager: Address }> {
  return chains.filter((c): c is ChainConfig & { rpcUrl: string; subscriptionManager: Address } => c.rpcUrl !== undefined && c.subscriptionManager !== undefined);
}
