import type { CoreContext } from '../../context/index.js';
import { inTransaction } from '../../db/transaction.js';
import type { PeerStateStore } from '../channels/peer-state.js';
import type { ChannelName } from '../channels/types.js';

class VersionMoved extends Error {}

/**
 * A sandbox channel peer's orders and refunds in the database (`sandbox_channel_records`), so
 * every server replica and the CLI run one sandbox WeChat Pay and one sandbox Alipay between them.
 * Writes are compare-and-set on each record's version, all of one operation in one transaction.
 */
export function sandboxPeerStore(ctx: CoreContext, channel: ChannelName): PeerStateStore {
  const records = () => ctx.db.kysely.selectFrom('sandbox_channel_records').where('channel', '=', channel);
  return {
    async load(kind, keys) {
      if (keys.length === 0) return [];
      const rows = await records().select(['key', 'data', 'version']).where('kind', '=', kind).where('key', 'in', keys).execute();
      return rows.map((r) => ({ key: r.key, data: r.data, version: Number(r.version) }));
    },
    async keyByRef(kind, ref) {
      return (await records().select('key').where('kind', '=', kind).where('ref', '=', ref).executeTakeFirst())?.key;
    },
    async keysInState(kind, state) {
      return (await records().select('key').where('kind', '=', kind).where('state', '=', state).orderBy('updated_at').execute()).map((r) => r.key);
    },
    async save(writes) {
      try {
        await inTransaction(ctx, async (tx) => {
          const k = tx.db.kysely;
          const now = tx.clock.now().toISOString();
          for (const w of writes) {
            const values = { ref: w.ref, state: w.state, data: w.data, version: w.expectedVersion + 1, updated_at: now };
            const written =
              w.expectedVersion === 0
                ? Number(
                    (
                      await k
                        .insertInto('sandbox_channel_records')
                        .values({ channel, kind: w.kind, key: w.key, ...values })
                        .onConflict((oc) => oc.columns(['channel', 'kind', 'key']).doNothing())
                        .executeTakeFirst()
                    ).numInsertedOrUpdatedRows ?? 0n,
                  )
                : Number(
                    (
                      await k
                        .updateTable('sandbox_channel_records')
                        .set(values)
                        .where('channel', '=', channel)
                        .where('kind', '=', w.kind)
                        .where('key', '=', w.key)
                        .where('version', '=', w.expectedVersion)
                        .executeTakeFirst()
                    ).numUpdatedRows,
                  );
            if (written !== 1) throw new VersionMoved();
          }
        });
        return true;
      } catch (e) {
        if (e instanceof VersionMoved) return false;
        throw e;
      }
    },
  };
}
