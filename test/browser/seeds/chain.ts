import { parseChainConfigs } from '../../../core/chain/config.js';
import { installChainConfigs } from '../../../core/chain/status.js';
import { seedChainCursorForTest, seedUnmatchedRegistrationForTest } from '../../../core/chain/testing.js';
import { createStaff } from '../../../core/staff/index.js';
import type { Seed } from './index.js';

/**
 * The Chain screen's own world (test/browser/chain.spec.ts): the local development chain
 * configured with an RPC that does not answer (so the screen shows the listener's recorded
 * figures and the RPC's error), its cursor 13 blocks behind the safe block, and two registrations
 * the listener could not match — one awaiting review, one already dismissed.
 */
export const CHAIN_CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
export const CHAIN_OPEN_METADATA_HASH = `0x${'3f'.repeat(32)}`;

export const seedChain: Seed = async ({ ctx, staff, password }) => {
  const email = 'chain.admin@buffmoney.test';
  const created = await createStaff(ctx, { email, role: 'admin', password }, null);
  staff.chain = { email, password, totpSecret: created.totpSecret };

  installChainConfigs(ctx, async () =>
    parseChainConfigs({ CHAIN_RPC_URL_31337: 'http://127.0.0.1:9', SUBSCRIPTION_MANAGER_31337: CHAIN_CONTRACT, CHAIN_CONFIRMATIONS_31337: '2' }),
  );
  await seedChainCursorForTest(ctx, { chainId: 31337, contract: CHAIN_CONTRACT, nextBlock: 1290, head: 1304, safe: 1302 });
  const dismissed = await seedUnmatchedRegistrationForTest(ctx, { chainId: 31337, contract: CHAIN_CONTRACT, onChainMerchantId: '3', blockNumber: 1201 });
  await ctx.db.kysely
    .insertInto('chain_log_reviews')
    .values({
      id: ctx.ids.next('clrv'),
      chain_log_id: dismissed,
      staff_id: created.staff.id,
      resolution: 'dismissed',
      merchant_id: null,
      note: 'a test registration from our own staging wallet',
      created_at: new Date().toISOString(),
    })
    .execute();
  await seedUnmatchedRegistrationForTest(ctx, {
    chainId: 31337,
    contract: CHAIN_CONTRACT,
    onChainMerchantId: '7',
    blockNumber: 1288,
    metadataHash: CHAIN_OPEN_METADATA_HASH,
  });
};
