import { http, type Abi, type Hex, createPublicClient, createWalletClient, getAddress, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChainConfigs } from '../../core/chain/config.js';
import { REGISTER_MERCHANT_ABI } from '../../core/chain/intent.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type LocalEvm, deploySubscriptionManager, localChain, startLocalEvm, subscriptionManagerArtifact, testAccount } from './local-evm.js';

/**
 * register-intent against a real chain: the calldata the API returns, sent as is from a
 * merchant's wallet, registers on the deployed SubscriptionManager with the receiver and the
 * metadataHash the API computed.
 */

describe('register-intent on a local EVM', () => {
  let evm: LocalEvm;
  let server: TestServer;
  let manager: Hex;
  beforeAll(async () => {
    evm = await startLocalEvm();
    manager = await deploySubscriptionManager(evm.rpcUrl);
    // configured in lowercase, as a developer may paste it
    const chains = parseChainConfigs({ CHAIN_RPC_URL_31337: evm.rpcUrl, SUBSCRIPTION_MANAGER_31337: manager.toLowerCase(), CHAIN_CONFIRMATIONS_31337: '0' });
    server = await startTestServer({ config: { chains } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await evm?.stop();
  });

  it('the core ABI fragment is the committed artifact’s registerMerchant', () => {
    const fromArtifact = (subscriptionManagerArtifact().abi as Abi).find((e) => e.type === 'function' && e.name === 'registerMerchant');
    expect(fromArtifact).toEqual(REGISTER_MERCHANT_ABI[0]);
  });

  it('sending { to, data: encodedTx } emits MerchantRegistered with the same receiver and metadataHash', async () => {
    const m = await signupMerchant(server);
    const receiver = testAccount(3).address;
    const res = await server.call('POST', '/api/v1/merchants/register-intent', {
      headers: { authorization: `Bearer ${m.token}` },
      body: { receiverAddress: receiver.toLowerCase(), metadata: { name: 'Acme Store', email: 'hello@acme.io', version: 1, merchant: m.id }, chainId: 31337 },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.to).toBe(getAddress(manager));
    expect(res.body.chainId).toBe(31337);

    const chain = { ...localChain, rpcUrls: { default: { http: [evm.rpcUrl] } } };
    const wallet = createWalletClient({ account: testAccount(1), chain, transport: http(evm.rpcUrl) });
    const client = createPublicClient({ chain, transport: http(evm.rpcUrl) });
    const hash = await wallet.sendTransaction({ to: res.body.to, data: res.body.encodedTx, chain });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    expect(receipt.status).toBe('success');
    const logs = parseEventLogs({ abi: subscriptionManagerArtifact().abi as Abi, logs: receipt.logs, eventName: 'MerchantRegistered' }) as unknown as Array<{
      address: string;
      args: Record<string, unknown>;
    }>;
    expect(logs).toHaveLength(1);
    expect(logs[0].address.toLowerCase()).toBe(manager.toLowerCase());
    expect(logs[0].args).toEqual({ merchantId: 1n, admin: testAccount(1).address, receiver, metadataHash: res.body.metadataHash });
  }, 60_000);
});
