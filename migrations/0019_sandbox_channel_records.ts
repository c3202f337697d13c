import type { Kysely } from 'kysely';
import { timeType } from './_dialect.js';

/**
 * The sandbox channels' own books: the orders and refunds the local WeChat Pay and Alipay peers
 * keep, shared by every server replica and the CLI over the one database (before, each process
 * kept them in memory, so an order made through one replica was unknown to the next). One row a
 * record: the peer's JSON, a version for compare-and-set, and the two keys it is looked up by.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sandbox_channel_records')
    // wechat | alipay
    .addColumn('channel', 'text', (c) => c.notNull())
    // order | refund
    .addColumn('kind', 'text', (c) => c.notNull())
    // out_trade_no / out_refund_no
    .addColumn('key', 'text', (c) => c.notNull())
    // the channel's transaction id (trade_no), once paid
    .addColumn('ref', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('sandbox_channel_records_pk', ['channel', 'kind', 'key'])
    .execute();
  await db.schema.createIndex('sandbox_channel_records_ref').on('sandbox_channel_records').columns(['channel', 'kind', 'ref']).execute();
  await db.schema.createIndex('sandbox_channel_records_state').on('sandbox_channel_records').columns(['channel', 'kind', 'state']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sandbox_channel_records').execute();
}
