import { http, type Abi, createPublicClient, createWalletClient, keccak256, parseEventLogs, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEvm, deploySubscriptionManager, localChain, startLocalEvm, subscriptionManagerArtifact, testAccount } from './local-evm.js';

describe('local EVM + SubscriptionManager', () => {
  let evm: LocalEvm;
  beforeAll(async () => {
    evm = await startLocalEvm();
  }, 60_000);
  afterAll(async () => {
    await evm?.stop();
  });

  it('deploys; registerMerchant assigns ids from 1 and emits MerchantRegistered; only admin or owner may deactivate', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    const abi = subscriptionManagerArtifact().abi as Abi;
    const chain = { ...localChain, rpcUrls: { default: { http: [evm.rpcUrl] } } };
    const client = createPublicClient({ chain, transport: http(evm.rpcUrl) });
    const merchantWallet = createWalletClient({ account: testAccount(1), chain, transport: http(evm.rpcUrl) });
    const stranger = createWalletClient({ account: testAccount(2), chain, transport: http(evm.rpcUrl) });
    const metadataHash = keccak256(toHex('{"name":"Acme"}'));
    const receiver = testAccount(3).address;
    const hash = await merchantWallet.writeContract({ address, abi, functionName: 'registerMerchant', args: [receiver, metadataHash] });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    const [log] = parseEventLogs({ abi, logs: receipt.logs, eventName: 'MerchantRegistered' }) as unknown as Array<{ args: Record<string, unknown> }>;
    expect(log?.args).toEqual({ merchantId: 1n, admin: testAccount(1).address, receiver, metadataHash });

    await expect(stranger.writeContract({ address, abi, functionName: 'setMerchantActive', args: [1n, false] })).rejects.toThrow(/NotAuthorised/);
    const off = await merchantWallet.writeContract({ address, abi, functionName: 'setMerchantActive', args: [1n, false] });
    const offReceipt = await client.waitForTransactionReceipt({ hash: off, pollingInterval: 50 });
    const [changed] = parseEventLogs({ abi, logs: offReceipt.logs, eventName: 'MerchantActiveChanged' }) as unknown as Array<{ args: Record<string, unknown> }>;
    expect(changed?.args).toEqual({ merchantId: 1n, active: false });
  }, 60_000);
});
