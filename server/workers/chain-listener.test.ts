import { http, type Abi, type Address, type Hex, createPublicClient, createWalletClient, custom, getAddress, hexToNumber, keccak256, toHex } from 'viem';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ListenableChain, isRangeError, newListenerState, pollChain } from '../../core/chain/listener.js';
import { SUBSCRIPTION_MANAGER_EVENTS } from '../../core/chain/events.js';
import type { CoreContext } from '../../core/context/index.js';
import { DESTINATION_COOLING_OFF_HOURS, destinationCoolingOff } from '../../core/merchants/destinations.js';
import { missingLiveRequirements } from '../../core/merchants/view.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../../core/testing/index.js';
import { type WebhookReceiver, startWebhookReceiver } from '../../core/testing/webhook-receiver.js';
import { createWebhookEndpoint, deliverDueWebhooks, fanOutEvents } from '../../core/webhooks/index.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type LocalEvm, deploySubscriptionManager, localChain, startLocalEvm, subscriptionManagerArtifact, testAccount } from '../chain/local-evm.js';
import { startChainListener } from './chain-listener.js';

/**
 * The chain listener against a real local EVM (Hardhat's node, server/chain/local-evm.ts): every
 * test deploys its own SubscriptionManager, sends real transactions from test accounts, and runs
 * the listener's step (core/chain/listener.ts) or the worker over HTTP JSON-RPC.
 */

let evm: LocalEvm;
const abi = subscriptionManagerArtifact().abi as Abi;
let rpc: ReturnType<typeof createPublicClient>;

beforeAll(async () => {
  evm = await startLocalEvm();
  rpc = createPublicClient({ chain: { ...localChain, rpcUrls: { default: { http: [evm.rpcUrl] } } }, transport: http(evm.rpcUrl) });
}, 60_000);
afterAll(async () => {
  await evm?.stop();
});

function wallet(index: number) {
  return createWalletClient({ account: testAccount(index), chain: { ...localChain, rpcUrls: { default: { http: [evm.rpcUrl] } } }, transport: http(evm.rpcUrl) });
}

async function send(index: number, address: Address, functionName: string, args: unknown[]): Promise<Hex> {
  const hash = await wallet(index).writeContract({ address, abi, functionName, args });
  await rpc.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return hash;
}

function chainOf(address: Address, extra: Partial<ListenableChain> = {}): ListenableChain {
  return { chainId: evm.chainId, name: 'Local (test)', rpcUrl: evm.rpcUrl, subscriptionManager: address, ...extra };
}

/** Canonical metadata and its hash, as register-intent computes them (keys sorted). */
function metadata(name: string) {
  const json = JSON.stringify({ email: `${name.toLowerCase().replace(/\s+/g, '')}@example.com`, name, version: 1 });
  return { json, hash: keccak256(toHex(json)) };
}

/** What register-intent leaves on the merchant row (the colleague's route writes the same columns). */
async function setIntent(ctx: CoreContext, merchantId: string, intent: { hash: Hex; json: string; receiver: Address; chainId?: number }) {
  await ctx.db.kysely
    .updateTable('merchants')
    .set({
      intent_receiver_address: intent.receiver,
      intent_metadata_hash: intent.hash,
      intent_metadata_json: intent.json,
      intent_chain_id: intent.chainId ?? evm.chainId,
      intent_at: ctx.clock.now().toISOString(),
    })
    .where('id', '=', merchantId)
    .execute();
}

const merchantRow = (ctx: CoreContext, id: string) => ctx.db.kysely.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const chainLogs = (ctx: CoreContext) => ctx.db.kysely.selectFrom('chain_logs').selectAll().orderBy('block_number').orderBy('log_index').execute();
const client = () => createPublicClient({ transport: http(evm.rpcUrl) });

/** Every log of the contract on chain, straight from the node. */
async function logsOnChain(address: Address) {
  return rpc.getLogs({ address, events: SUBSCRIPTION_MANAGER_EVENTS, fromBlock: 0n, toBlock: 'latest' });
}

/** Runs steps until the listener has read everything safe. */
async function catchUp(ctx: CoreContext, chain: ListenableChain, reader = client(), state = newListenerState()) {
  for (let i = 0; i < 100; i++) {
    const r = await pollChain(ctx, chain, reader, { state });
    if (r.caughtUp) return r;
  }
  throw new Error('did not catch up');
}

describe('chain listener (real local EVM)', () => {
  let t: TestContext;
  let ctx: CoreContext;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    t = await openTestContext('2026-06-01T00:00:00.000Z');
    ctx = t.ctx;
    ctx.policy = { production: false, allowPrivateWebhooks: true };
    receiver = await startWebhookReceiver(() => t.clock.now());
  });
  afterEach(async () => {
    await receiver.close();
    await t.close();
  });

  it('the events it reads are the committed artifact’s', () => {
    const fromArtifact = (abi as Array<{ type: string; name: string; inputs: unknown[] }>).filter((e) => e.type === 'event' && e.name !== 'OwnershipTransferred');
    const strip = (e: { name: string; inputs: readonly unknown[] }) => ({
      name: e.name,
      inputs: (e.inputs as Array<{ name: string; type: string; indexed?: boolean }>).map((i) => [i.name, i.type, i.indexed === true]),
    });
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(SUBSCRIPTION_MANAGER_EVENTS.map(strip).sort(byName)).toEqual(fromArtifact.map(strip).sort(byName));
  });

  it('matches a registration by (chainId, metadataHash): V2 fields, the intent cleared, a destination change, and merchant.registered delivered', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_acme');
    await insertTestMerchant(ctx, 'mer_other');
    const hook = await createWebhookEndpoint(ctx, { merchantId: 'mer_acme', environment: 'live' }, { url: receiver.url, eventTypes: ['merchant.registered'] });
    receiver.secrets.push(hook.secret);
    const meta = metadata('Acme Store');
    const receiverAddress = testAccount(3).address;
    // the intent's receiver in lower case: the event's EIP-55 form is what is kept
    await setIntent(ctx, 'mer_acme', { hash: meta.hash, json: meta.json, receiver: receiverAddress.toLowerCase() as Address });
    await setIntent(ctx, 'mer_other', { ...metadata('Other'), receiver: receiverAddress });
    const tx = await send(1, address, 'registerMerchant', [receiverAddress, meta.hash]);
    const receipt = await rpc.getTransactionReceipt({ hash: tx });
    const block = await rpc.getBlock({ blockNumber: receipt.blockNumber });

    const report = await catchUp(ctx, chainOf(address));
    expect(report).toMatchObject({ logs: 1, applied: 1, unmatched: 0, caughtUp: true });
    const m = await merchantRow(ctx, 'mer_acme');
    expect(m).toMatchObject({
      on_chain_merchant_id: '1',
      chain_id: evm.chainId,
      chain_active: 1,
      receiver_address: getAddress(receiverAddress),
      admin_address: testAccount(1).address,
      metadata_hash: meta.hash,
      metadata_json: meta.json,
      registered_at: new Date(Number(block.timestamp) * 1000).toISOString(),
      intent_metadata_hash: null,
      intent_chain_id: null,
      intent_receiver_address: null,
    });
    // the other merchant's intent stays pending
    expect((await merchantRow(ctx, 'mer_other')).intent_metadata_hash).not.toBeNull();
    // the confirmed receiver counts as a settlement destination, and starts the cooling-off
    expect(missingLiveRequirements(m)).not.toContain('settlement_destination');
    expect(await destinationCoolingOff(ctx, 'mer_acme')).toMatchObject({ changedAt: ctx.clock.now().toISOString(), coolingOff: true });
    t.clock.advance(DESTINATION_COOLING_OFF_HOURS * 3_600_000);
    expect((await destinationCoolingOff(ctx, 'mer_acme')).coolingOff).toBe(false);
    const changes = await ctx.db.kysely.selectFrom('merchant_destination_changes').selectAll().where('merchant_id', '=', 'mer_acme').execute();
    expect(changes.map((c) => [c.field, c.before_value, c.after_value, c.credential])).toEqual([['receiverAddress', null, JSON.stringify(getAddress(receiverAddress)), 'chain']]);
    // the log, once, with what it did
    const [log] = await chainLogs(ctx);
    expect(log).toMatchObject({
      event: 'MerchantRegistered',
      outcome: 'applied',
      merchant_id: 'mer_acme',
      on_chain_merchant_id: '1',
      tx_hash: tx,
      log_index: receipt.logs[0].logIndex,
    });
    expect(JSON.parse(log.args)).toEqual({ merchantId: '1', admin: testAccount(1).address, receiver: getAddress(receiverAddress), metadataHash: meta.hash });
    // merchant.registered with the profile as GET /merchants/me shows it, delivered to the live endpoint
    const events = await ctx.db.kysely.selectFrom('domain_events').selectAll().where('type', '=', 'merchant.registered').execute();
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].data)).toMatchObject({
      id: 'mer_acme',
      onChainMerchantId: '1',
      chainId: evm.chainId,
      chainActive: true,
      receiverAddress: getAddress(receiverAddress),
    });
    await fanOutEvents(ctx, { worker: 'test', limit: 10 });
    await deliverDueWebhooks(ctx, { worker: 'test', timeoutMs: 2_000 });
    expect(receiver.received.map((r) => [r.payload.type, (r.payload.data as { onChainMerchantId: string | null }).onChainMerchantId, r.verifiedWith.length > 0])).toEqual([
      ['merchant.registered', '1', true],
    ]);
  });

  it('keeps a registration nobody asked for (and an ambiguous one) for staff review, changing no merchant', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_a');
    await insertTestMerchant(ctx, 'mer_b');
    const twin = metadata('Twin');
    await setIntent(ctx, 'mer_a', { ...twin, receiver: testAccount(3).address });
    await setIntent(ctx, 'mer_b', { ...twin, receiver: testAccount(4).address });
    // an intent on another chain does not match an event on this one
    const elsewhere = metadata('Elsewhere');
    await insertTestMerchant(ctx, 'mer_c');
    await setIntent(ctx, 'mer_c', { ...elsewhere, receiver: testAccount(3).address, chainId: 42161 });
    await send(1, address, 'registerMerchant', [testAccount(3).address, metadata('Nobody').hash]);
    await send(2, address, 'registerMerchant', [testAccount(3).address, twin.hash]);
    await send(5, address, 'registerMerchant', [testAccount(3).address, elsewhere.hash]);
    const report = await catchUp(ctx, chainOf(address));
    expect(report).toMatchObject({ logs: 3, applied: 0, unmatched: 3 });
    const logs = await chainLogs(ctx);
    expect(logs.map((l) => [l.on_chain_merchant_id, l.outcome, l.merchant_id])).toEqual([
      ['1', 'unmatched', null],
      ['2', 'unmatched', null],
      ['3', 'unmatched', null],
    ]);
    expect(logs[0].detail).toMatch(/no merchant has a pending register-intent/);
    expect(logs[1].detail).toMatch(/2 merchants have a pending register-intent with this metadataHash: mer_a, mer_b/);
    for (const id of ['mer_a', 'mer_b', 'mer_c']) expect((await merchantRow(ctx, id)).on_chain_merchant_id).toBeNull();
    expect(await ctx.db.kysely.selectFrom('domain_events').selectAll().execute()).toEqual([]);
  });

  it('a front-run registration (the merchant’s hash, another receiver) is kept for review; the merchant’s own then applies', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_f');
    const meta = metadata('Front Run Victim');
    await setIntent(ctx, 'mer_f', { ...meta, receiver: testAccount(3).address });
    // an attacker saw the hash in the mempool and registers it first with their own wallet
    await send(6, address, 'registerMerchant', [testAccount(6).address, meta.hash]);
    const first = await catchUp(ctx, chainOf(address));
    expect(first).toMatchObject({ logs: 1, applied: 0, unmatched: 1 });
    const [stolen] = await chainLogs(ctx);
    expect([stolen.outcome, stolen.merchant_id]).toEqual(['unmatched', 'mer_f']);
    expect(stolen.detail).toMatch(new RegExp(`registered with receiver ${testAccount(6).address}, not the receiver of mer_f's pending register-intent`));
    const untouched = await merchantRow(ctx, 'mer_f');
    expect([untouched.on_chain_merchant_id, untouched.receiver_address, untouched.intent_metadata_hash]).toEqual([null, null, meta.hash]);
    // the merchant's own transaction, with the receiver it asked for, is the one applied
    await send(1, address, 'registerMerchant', [testAccount(3).address, meta.hash]);
    expect(await catchUp(ctx, chainOf(address))).toMatchObject({ logs: 1, applied: 1, unmatched: 0 });
    const registered = await merchantRow(ctx, 'mer_f');
    expect([registered.on_chain_merchant_id, registered.receiver_address, registered.admin_address]).toEqual(['2', testAccount(3).address, testAccount(1).address]);
  });

  it('follows deactivation, reactivation and receiver updates; events for an unknown merchant id are unmatched', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_acme');
    const meta = metadata('Acme');
    await setIntent(ctx, 'mer_acme', { ...meta, receiver: testAccount(3).address });
    await send(1, address, 'registerMerchant', [testAccount(3).address, meta.hash]);
    await send(2, address, 'registerMerchant', [testAccount(4).address, metadata('Stranger').hash]);
    const chain = chainOf(address);
    await catchUp(ctx, chain);
    expect(missingLiveRequirements(await merchantRow(ctx, 'mer_acme'))).not.toContain('settlement_destination');

    await send(1, address, 'setMerchantActive', [1n, false]);
    await catchUp(ctx, chain);
    const off = await merchantRow(ctx, 'mer_acme');
    expect(off.chain_active).toBe(0);
    // an inactive registration is no settlement destination
    expect(missingLiveRequirements(off)).toContain('settlement_destination');

    // the contract owner turns it on again; the admin moves the receiver; a stranger's merchant changes too
    await send(0, address, 'setMerchantActive', [1n, true]);
    t.clock.advance(1000);
    await send(1, address, 'updateReceiver', [1n, testAccount(6).address]);
    await send(2, address, 'setMerchantActive', [2n, false]);
    const report = await catchUp(ctx, chain);
    expect(report).toMatchObject({ applied: 2, unmatched: 1 });
    const back = await merchantRow(ctx, 'mer_acme');
    expect(back).toMatchObject({ chain_active: 1, receiver_address: testAccount(6).address });
    const changes = await ctx.db.kysely.selectFrom('merchant_destination_changes').selectAll().where('merchant_id', '=', 'mer_acme').orderBy('id').execute();
    expect(changes.map((c) => [c.field, c.before_value && JSON.parse(c.before_value), JSON.parse(c.after_value!), c.credential])).toEqual([
      ['receiverAddress', null, testAccount(3).address, 'chain'],
      ['receiverAddress', testAccount(3).address, testAccount(6).address, 'chain'],
    ]);
    expect(back.destination_changed_at).toBe(ctx.clock.now().toISOString());
    const logs = await chainLogs(ctx);
    expect(logs.map((l) => [l.event, l.on_chain_merchant_id, l.outcome, l.detail])).toEqual([
      ['MerchantRegistered', '1', 'applied', null],
      ['MerchantRegistered', '2', 'unmatched', expect.any(String)],
      ['MerchantActiveChanged', '1', 'applied', 'deactivated on chain'],
      ['MerchantActiveChanged', '1', 'applied', 'reactivated on chain'],
      ['ReceiverUpdated', '1', 'applied', null],
      ['MerchantActiveChanged', '2', 'unmatched', `no merchant is registered as #2 on chain ${evm.chainId}`],
    ]);
    // only the registration announced anything
    expect((await ctx.db.kysely.selectFrom('domain_events').select('type').execute()).map((e) => e.type)).toEqual(['merchant.registered']);
  });

  it('stopped mid-range, restarted, crashed before a commit, or sent back: every log applied exactly once', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    const names = ['One', 'Two', 'Three', 'Four', 'Five', 'Six'];
    for (const [i, name] of names.entries()) {
      await insertTestMerchant(ctx, `mer_${i}`);
      await setIntent(ctx, `mer_${i}`, { ...metadata(name), receiver: testAccount(3).address });
      await send(1 + (i % 3), address, 'registerMerchant', [testAccount(3).address, metadata(name).hash]);
    }
    const onChain = await logsOnChain(address);
    expect(onChain).toHaveLength(6);
    const chain = chainOf(address, { startBlock: Number(onChain[0].blockNumber) - 1 });

    // listener one reads two blocks, then is stopped
    const first = await pollChain(ctx, chain, client(), { maxBlocks: 2 });
    expect(first).toMatchObject({ caughtUp: false, logs: 1 });
    // listener two (a new process: a fresh state) crashes inside its first chunk's transaction
    const state = newListenerState(2);
    await expect(
      pollChain(ctx, chain, client(), {
        state,
        beforeCommit: () => {
          throw new Error('killed between fetch and commit');
        },
      }),
    ).rejects.toThrow(/killed/);
    expect(await chainLogs(ctx)).toHaveLength(1);
    const cursor = await ctx.db.kysely.selectFrom('chain_cursors').selectAll().executeTakeFirstOrThrow();
    expect(Number(cursor.next_block)).toBe(first.nextBlock);
    // listener three resumes from the cursor
    await catchUp(ctx, chain, client(), newListenerState(2));
    const logs = await chainLogs(ctx);
    expect(logs.map((l) => `${l.tx_hash}:${l.log_index}`)).toEqual(onChain.map((l) => `${l.transactionHash}:${l.logIndex}`));
    expect(logs.every((l) => l.outcome === 'applied')).toBe(true);
    expect(await ctx.db.kysely.selectFrom('domain_events').selectAll().execute()).toHaveLength(6);

    // a cursor sent back (a restored backup, a second leader for an instant): nothing twice
    await ctx.db.kysely.updateTable('chain_cursors').set({ next_block: 0 }).execute();
    const again = await catchUp(ctx, chain);
    expect(again).toMatchObject({ logs: 6, duplicates: 6, applied: 0, unmatched: 0 });
    expect(await chainLogs(ctx)).toHaveLength(6);
    expect(await ctx.db.kysely.selectFrom('domain_events').selectAll().execute()).toHaveLength(6);
  });

  it('halves its block chunk when the RPC refuses large ranges, and still applies everything', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    for (const [i, name] of ['A', 'B', 'C', 'D'].entries()) {
      await insertTestMerchant(ctx, `mer_${i}`);
      await setIntent(ctx, `mer_${i}`, { ...metadata(name), receiver: testAccount(3).address });
      await send(1, address, 'registerMerchant', [testAccount(3).address, metadata(name).hash]);
      await rpc.request({ method: 'hardhat_mine', params: ['0x7'] } as never);
    }
    // A provider that refuses eth_getLogs over more than K+1 blocks, as Alchemy or QuickNode do.
    const K = 5;
    const asked: Array<[number, number, boolean]> = [];
    const inner = createPublicClient({ transport: http(evm.rpcUrl) });
    const limited = createPublicClient({
      transport: custom(
        {
          async request({ method, params }: { method: string; params: unknown }) {
            if (method === 'eth_getLogs') {
              const [filter] = params as [{ fromBlock: Hex; toBlock: Hex }];
              const from = hexToNumber(filter.fromBlock);
              const to = hexToNumber(filter.toBlock);
              const refused = to - from > K;
              asked.push([from, to, refused]);
              if (refused) throw Object.assign(new Error(`eth_getLogs block range too large: ${to - from} > ${K}`), { code: -32602 });
            }
            return inner.request({ method, params } as never);
          },
        },
        { retryCount: 0 },
      ),
    });
    const state = newListenerState();
    const report = await pollChain(ctx, chainOf(address), limited, { state });
    expect(report).toMatchObject({ caughtUp: true, logs: 4, applied: 4 });
    expect(report.shrinks).toBeGreaterThan(0);
    expect(asked.filter(([, , refused]) => refused).length).toBe(report.shrinks);
    expect(state.chunk).toBeLessThanOrEqual(K + 1);
    // the accepted ranges cover every block from 0 to the safe block, once
    const accepted = asked.filter(([, , refused]) => !refused);
    expect(accepted[0][0]).toBe(0);
    for (let i = 1; i < accepted.length; i++) expect(accepted[i][0]).toBe(accepted[i - 1][1] + 1);
    expect(accepted.at(-1)![1]).toBe(report.safe);
    expect((await chainLogs(ctx)).map((l) => l.merchant_id)).toEqual(['mer_0', 'mer_1', 'mer_2', 'mer_3']);
  });

  it('reads no further than latest − confirmations', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_acme');
    const meta = metadata('Acme');
    await setIntent(ctx, 'mer_acme', { ...meta, receiver: testAccount(3).address });
    await send(1, address, 'registerMerchant', [testAccount(3).address, meta.hash]);
    const chain = chainOf(address, { confirmations: 2 });
    const head = Number(await rpc.getBlockNumber({ cacheTime: 0 }));
    const early = await pollChain(ctx, chain, client());
    expect(early).toMatchObject({ head, safe: head - 2, logs: 0, nextBlock: head - 1 });
    expect(await chainLogs(ctx)).toEqual([]);
    await rpc.request({ method: 'hardhat_mine', params: ['0x1'] } as never);
    expect((await pollChain(ctx, chain, client())).logs).toBe(0);
    await rpc.request({ method: 'hardhat_mine', params: ['0x1'] } as never);
    const late = await pollChain(ctx, chain, client());
    expect(late).toMatchObject({ head: head + 2, safe: head, logs: 1, applied: 1 });
    expect((await merchantRow(ctx, 'mer_acme')).on_chain_merchant_id).toBe('1');
  });

  it('the worker reads only while it leads, and stop() waits for the step in flight', async () => {
    const address = await deploySubscriptionManager(evm.rpcUrl);
    await insertTestMerchant(ctx, 'mer_acme');
    const meta = metadata('Acme');
    await setIntent(ctx, 'mer_acme', { ...meta, receiver: testAccount(3).address });
    await send(1, address, 'registerMerchant', [testAccount(3).address, meta.hash]);
    const chain = chainOf(address);
    let leader = false;
    let reads = 0;
    const counting = createPublicClient({
      transport: custom({
        request: async ({ method, params }: { method: string; params: unknown }) => {
          if (method === 'eth_getLogs') reads++;
          return client().request({ method, params } as never);
        },
      }),
    });
    const worker = startChainListener(ctx, { chains: [chain], pollMs: 50, client: () => counting, leadership: () => ({ isLeader: leader }) });
    await new Promise((r) => setTimeout(r, 300));
    expect(reads).toBe(0);
    expect(worker.steps(chain.chainId)).toBe(0);
    leader = true;
    for (let i = 0; i < 100 && (await chainLogs(ctx)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await merchantRow(ctx, 'mer_acme')).on_chain_merchant_id).toBe('1');
    await worker.stop();
    const steps = worker.steps(chain.chainId);
    await new Promise((r) => setTimeout(r, 200));
    expect(worker.steps(chain.chainId)).toBe(steps);
  });

  it('records an RPC that does not answer on the cursor, and recognises providers’ range errors', async () => {
    const chain = { ...chainOf('0x5FbDB2315678afecb367f032d93F642f64180aa3'), rpcUrl: 'http://127.0.0.1:9' };
    await expect(pollChain(ctx, chain, createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 0 }) }))).rejects.toThrow();
    const cursor = await ctx.db.kysely.selectFrom('chain_cursors').selectAll().executeTakeFirstOrThrow();
    expect(cursor.last_error).toMatch(/HTTP request failed|fetch failed/);
    for (const message of [
      'query returned more than 10000 results',
      'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range',
      'eth_getLogs is limited to a 10,000 range',
      'block range is too wide',
      'limit exceeded',
    ]) {
      expect(isRangeError(new Error('RPC error', { cause: { message } })), message).toBe(true);
    }
    expect(isRangeError({ code: -32005, message: 'whatever' })).toBe(true);
    expect(isRangeError(new Error('execution reverted'))).toBe(false);
  });
});

describe('chain listener in the server: register-intent over HTTP, the wallet sends encodedTx, GET /merchants/me', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let address: Address;
  beforeAll(async () => {
    address = await deploySubscriptionManager(evm.rpcUrl);
    receiver = await startWebhookReceiver(() => new Date());
    server = await startTestServer({
      config: {
        allowPrivateWebhooks: true,
        webhookDelivery: true,
        webhookPollMs: 100,
        chainListener: true,
        chainPollMs: 100,
        chains: [{ chainId: evm.chainId, name: 'Local (test)', rpcUrl: evm.rpcUrl, subscriptionManager: address }],
      },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  it('shows the V2 fields once the listener confirms the registration, locks name and email, delivers merchant.registered', async () => {
    expect(server.chainListener).toBeDefined();
    const merchant = await signupMerchant(server, { webhookUrl: receiver.url });
    const auth = { authorization: `Bearer ${merchant.token}` };
    const before = await server.call('GET', '/api/v1/merchants/me', { headers: auth });
    expect(before.body).toMatchObject({ onChainMerchantId: null, chainId: null, chainActive: null, receiverAddress: null, registeredAt: null });
    expect(before.body.liveAccess.missing).toContain('settlement_destination');

    // register-intent over HTTP, then the merchant's wallet sends exactly the calldata it returned
    const intent = await server.call('POST', '/api/v1/merchants/register-intent', {
      headers: auth,
      body: { receiverAddress: testAccount(7).address.toLowerCase(), metadata: { name: merchant.email, email: merchant.email, version: 1 }, chainId: evm.chainId },
    });
    expect(intent.status, intent.text).toBe(200);
    expect(intent.body.to).toBe(address);
    const tx = await wallet(7).sendTransaction({ to: intent.body.to, data: intent.body.encodedTx });
    const receipt = await rpc.waitForTransactionReceipt({ hash: tx, pollingInterval: 20 });
    const block = await rpc.getBlock({ blockNumber: receipt.blockNumber });

    let me = before;
    for (let i = 0; i < 100 && me.body.onChainMerchantId === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      me = await server.call('GET', '/api/v1/merchants/me', { headers: auth });
    }
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      onChainMerchantId: '1',
      chainId: evm.chainId,
      chainActive: true,
      receiverAddress: testAccount(7).address,
      adminAddress: testAccount(7).address,
      metadataHash: intent.body.metadataHash,
      registeredAt: new Date(Number(block.timestamp) * 1000).toISOString(),
    });
    expect(me.body.liveAccess.missing).not.toContain('settlement_destination');

    const rename = await server.call('PATCH', '/api/v1/merchants/me', { headers: auth, body: { name: 'Renamed' } });
    expect(rename.status).toBe(409);
    expect(rename.body).toMatchObject({
      ok: false,
      error: 'merchant_identity_locked',
      message: expect.stringMatching(/name and email cannot be changed after on-chain registration/),
    });
    const email = await server.call('PATCH', '/api/v1/merchants/me', { headers: auth, body: { email: 'new@example.com' } });
    expect(email.status).toBe(409);
    // the same name is no change; other fields still change
    const same = await server.call('PATCH', '/api/v1/merchants/me', { headers: auth, body: { name: me.body.name, autoCreateCustomers: true } });
    expect(same.status).toBe(200);

    for (
      let i = 0;
      i < 100 && !receiver.received.some((r) => r.payload.type === 'merchant.registered' && (r.payload.data as { onChainMerchantId: string | null }).onChainMerchantId === '1');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const registered = receiver.received.filter((r) => r.payload.type === 'merchant.registered');
    // one at sign-up (not yet on chain), one when the listener confirmed the registration
    expect(registered.map((r) => (r.payload.data as { onChainMerchantId: string | null }).onChainMerchantId)).toEqual([null, '1']);
  });
});
