import { describe, expect, it } from 'vitest';
import { listenableChains, parseChainConfigs } from './config.js';

describe('chain configuration', () => {
  it('knows Arbitrum One and Sepolia by name; the local chain only when configured', () => {
    expect(parseChainConfigs({}).map((c) => [c.chainId, c.name, c.subscriptionManager])).toEqual([
      [42161, 'Arbitrum One', undefined],
      [421614, 'Arbitrum Sepolia', undefined],
    ]);
    const chains = parseChainConfigs({
      CHAIN_RPC_URL_31337: 'http://127.0.0.1:8545',
      SUBSCRIPTION_MANAGER_31337: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      CHAIN_CONFIRMATIONS_31337: '0',
    });
    expect(chains.map((c) => c.chainId)).toEqual([31337, 42161, 421614]);
    expect(chains[0]).toEqual({
      chainId: 31337,
      name: 'Local development chain',
      rpcUrl: 'http://127.0.0.1:8545',
      subscriptionManager: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      confirmations: 0,
    });
    expect(listenableChains(chains).map((c) => c.chainId)).toEqual([31337]);
  });

  it('refuses malformed values at start', () => {
    expect(() => parseChainConfigs({ SUBSCRIPTION_MANAGER_42161: '0x1234' })).toThrow(/SUBSCRIPTION_MANAGER_42161 must be an EVM address/);
    expect(() => parseChainConfigs({ CHAIN_RPC_URL_421614: 'ftp://x' })).toThrow(/CHAIN_RPC_URL_421614 must be an http\(s\) URL/);
    expect(() => parseChainConfigs({ CHAIN_RPC_URL_42161: 'https://arb1.example', CHAIN_CONFIRMATIONS_42161: '-1' })).toThrow(/CHAIN_CONFIRMATIONS_42161/);
    expect(() => parseChainConfigs({ CHAIN_START_BLOCK_42161: 'genesis' })).toThrow(/CHAIN_START_BLOCK_42161 must be a block number/);
    expect(parseChainConfigs({ CHAIN_START_BLOCK_42161: '123456' })[0].startBlock).toBe(123456);
  });
});
