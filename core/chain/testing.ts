import type { CoreContext } from '../context/index.js';

/**
 * Test support (tests and browser-test seeds only): a listener cursor and an unmatched
 * MerchantRegistered log, written directly — what a listener run against a chain leaves behind.
 */
export async function seedChainCursorForTest(
  ctx: CoreContext,
  c: { chainId: number; contract: string; nextBlock: number; head?: number; safe?: number; lastError?: string },
): Promise<void> {
  await ctx.db.kysely
    .insertInto('chain_cursors')
    .values({
      chain_id: c.chainId,
      contract_address: c.contract,
      next_block: c.nextBlock,
      head_block: c.head ?? null,
      safe_block: c.safe ?? null,
      last_error: c.lastError ?? null,
      updated_at: ctx.clock.now().toISOString(),
    })
    .execute();
}

export async function seedUnmatchedRegistrationForTest(
  ctx: CoreContext,
  l: { chainId: number; contract: string; onChainMerchantId: string; blockNumber: number; txHash?: string; admin?: string; receiver?: string; metadataHash?: string },
): Promise<string> {
  const id = ctx.ids.next('clog');
  const args = {
    merchantId: l.onChainMerchantId,
    admin: l.admin ?? '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    receiver: l.receiver ?? '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    metadataHash: l.metadataHash ?? `0x${'ab'.repeat(32)}`,
  };
  const now = ctx.clock.now().toISOString();
  await ctx.db.kysely
    .insertInto('chain_logs')
    .values({
      id,
      chain_id: l.chainId,
      contract_address: l.contract,
      tx_hash: l.txHash ?? `0x${l.blockNumber.toString(16).padStart(64, '0')}`,
      log_index: 0,
      block_number: l.blockNumber,
      block_hash: `0x${(l.blockNumber + 1).toString(16).padStart(64, '0')}`,
      block_time: now,
      event: 'MerchantRegistered',
      args: JSON.stringify(args),
      on_chain_merchant_id: l.onChainMerchantId,
      merchant_id: null,
      outcome: 'unmatched',
      detail: `no merchant has a pending register-intent with this metadataHash on chain ${l.chainId}`,
      applied_at: now,
    })
    .execute();
  return id;
}
