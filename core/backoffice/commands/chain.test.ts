import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseChainConfigs } from '../../chain/config.js';
import { installChainConfigs, installHostChainConfigs } from '../../chain/status.js';
import { seedChainCursorForTest, seedUnmatchedRegistrationForTest } from '../../chain/testing.js';
import { insertTestMerchant } from '../../testing/index.js';
import type { CommandResult } from '../registry.js';
import { type Harness, openHarness } from '../testing/harness.js';

const data = (r: CommandResult<any>) => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.data;
};

const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const OLD_CONTRACT = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';

describe('chain commands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
    await insertTestMerchant(h.ctx, 'mer_acme');
  });
  afterEach(async () => h.close());

  it('chain:status: every known chain, configured or not, with cursor, head, safe block and lag; an unreachable RPC falls back to the recorded figures', async () => {
    // The local chain configured with an RPC nobody answers on; Arbitrum known but not configured.
    installChainConfigs(h.ctx, async () => parseChainConfigs({ CHAIN_RPC_URL_31337: 'http://127.0.0.1:9', SUBSCRIPTION_MANAGER_31337: CONTRACT, CHAIN_CONFIRMATIONS_31337: '2' }));
    await seedChainCursorForTest(h.ctx, { chainId: 31337, contract: CONTRACT, nextBlock: 90, head: 120, safe: 118, lastError: 'HTTP request failed' });
    // a cursor of a contract no longer configured is still shown
    await seedChainCursorForTest(h.ctx, { chainId: 31337, contract: OLD_CONTRACT, nextBlock: 50, head: 60, safe: 58 });
    await seedUnmatchedRegistrationForTest(h.ctx, { chainId: 31337, contract: CONTRACT, onChainMerchantId: '4', blockNumber: 80 });
    const s = data(await h.run(await h.staff('support'), 'chain:status', {}));
    expect(s.configKnown).toBe(true);
    expect(s.chains.map((c: any) => [c.chainId, c.name, c.configured, c.contract])).toEqual([
      [31337, 'Local development chain', true, CONTRACT],
      [31337, 'Local development chain', false, OLD_CONTRACT],
      [42161, 'Arbitrum One', false, null],
      [421614, 'Arbitrum Sepolia', false, null],
    ]);
    expect(s.chains[0]).toMatchObject({
      nextBlock: 90,
      head: 120,
      safe: 118,
      lagBlocks: 29,
      live: false,
      safeRule: 'confirmations',
      confirmations: 2,
      lastError: 'HTTP request failed',
      unmatchedOpen: 1,
    });
    expect(s.chains[0].rpcError).toMatch(/HTTP request failed|fetch failed/);
    expect(s.chains[1]).toMatchObject({ nextBlock: 50, safe: 58, lagBlocks: 9, unmatchedOpen: 0 });
    expect(s.chains[2]).toMatchObject({ configured: false, nextBlock: null, head: null, lagBlocks: null, safeRule: 'finalized' });

    // without a configuration installed: the cursors as recorded
    const bare = await openHarness();
    try {
      await seedChainCursorForTest(bare.ctx, { chainId: 42161, contract: CONTRACT, nextBlock: 5, head: 9, safe: 7 });
      const r = data(await bare.run(await bare.staff('finance'), 'chain:status', {}));
      expect(r).toMatchObject({ configKnown: false, chains: [{ chainId: 42161, name: 'Chain 42161', configured: false, nextBlock: 5, lagBlocks: 3 }] });
    } finally {
      await bare.close();
    }
    // the CLI's and the desktop's configuration: their environment
    installHostChainConfigs(h.ctx, { CHAIN_RPC_URL_42161: 'http://127.0.0.1:9', SUBSCRIPTION_MANAGER_42161: CONTRACT });
    const host = data(await h.run(await h.staff('admin'), 'chain:status', { offline: true }));
    expect(host.chains.map((c: any) => [c.chainId, c.configured])).toEqual([
      [31337, false],
      [31337, false],
      [42161, true],
      [421614, false],
    ]);
  });

  it('chain:unmatched lists open and reviewed events; chain:review records a review (admin, audited), refusing applied logs and a match without a merchant', async () => {
    const first = await seedUnmatchedRegistrationForTest(h.ctx, { chainId: 31337, contract: CONTRACT, onChainMerchantId: '1', blockNumber: 10 });
    h.clock.advance(1000);
    const second = await seedUnmatchedRegistrationForTest(h.ctx, { chainId: 31337, contract: CONTRACT, onChainMerchantId: '2', blockNumber: 11 });
    const admin = await h.staff('admin');
    const support = await h.staff('support');
    const all = data(await h.run(support, 'chain:unmatched', {}));
    expect(all.items.map((i: any) => [i.id, i.onChainMerchantId, i.event, i.review])).toEqual([
      [second, '2', 'MerchantRegistered', null],
      [first, '1', 'MerchantRegistered', null],
    ]);
    expect(all.items[0]).toMatchObject({ chainId: 31337, blockNumber: 11, args: { merchantId: '2' }, detail: expect.stringMatching(/no merchant/) });

    expect(await h.run(support, 'chain:review', { log: first, resolution: 'dismissed', note: 'a test registration' })).toMatchObject({
      ok: false,
      error: { code: 'role_forbidden' },
    });
    expect(await h.run(admin, 'chain:review', { log: first, resolution: 'matched', note: 'belongs to acme' })).toMatchObject({
      ok: false,
      error: { code: 'validation_failed' },
    });
    const reviewed = data(await h.run(admin, 'chain:review', { log: first, resolution: 'matched', merchant: 'mer_acme', note: 'acme registered from a second wallet' }));
    expect(reviewed).toMatchObject({ log: first, resolution: 'matched', merchantId: 'mer_acme' });
    const audit = await h.db.kysely.selectFrom('audit_log').selectAll().where('command', '=', 'chain:review').orderBy('seq').execute();
    expect(audit.map((a) => [a.outcome, a.error_code])).toEqual([
      ['error', 'role_forbidden'],
      ['error', 'validation_failed'],
      ['ok', null],
    ]);
    expect(JSON.parse(audit[2].touched)).toEqual([first, 'mer_acme']);

    const open = data(await h.run(support, 'chain:unmatched', { state: 'open' }));
    expect(open.items.map((i: any) => i.id)).toEqual([second]);
    const done = data(await h.run(support, 'chain:unmatched', { state: 'reviewed', chain: '31337' }));
    expect(done.items).toEqual([
      expect.objectContaining({
        id: first,
        review: { resolution: 'matched', merchantId: 'mer_acme', note: 'acme registered from a second wallet', staffEmail: admin.email, createdAt: expect.any(String) },
      }),
    ]);
    expect(data(await h.run(support, 'chain:unmatched', { chain: 42161 })).items).toEqual([]);
    // paging
    const page1 = data(await h.run(support, 'chain:unmatched', { limit: 1 }));
    const page2 = data(await h.run(support, 'chain:unmatched', { limit: 1, cursor: page1.nextCursor }));
    expect([...page1.items, ...page2.items].map((i: any) => i.id)).toEqual([second, first]);

    // only unmatched logs are reviewed
    const applied = h.ctx.ids.next('clog');
    await h.db.kysely
      .insertInto('chain_logs')
      .values({
        id: applied,
        chain_id: 31337,
        contract_address: CONTRACT,
        tx_hash: `0x${'cd'.repeat(32)}`,
        log_index: 3,
        block_number: 12,
        block_hash: `0x${'ef'.repeat(32)}`,
        block_time: h.clock.now().toISOString(),
        event: 'MerchantActiveChanged',
        args: '{"merchantId":"1","active":false}',
        on_chain_merchant_id: '1',
        merchant_id: 'mer_acme',
        outcome: 'applied',
        detail: null,
        applied_at: h.clock.now().toISOString(),
      })
      .execute();
    expect(await h.run(admin, 'chain:review', { log: applied, resolution: 'dismissed', note: 'nothing to see' })).toMatchObject({
      ok: false,
      error: { code: 'chain_log_not_unmatched' },
    });
    expect(await h.run(admin, 'chain:review', { log: 'clog_nope', resolution: 'dismissed', note: 'nothing to see' })).toMatchObject({
      ok: false,
      error: { code: 'chain_log_not_found' },
    });
  });
});
