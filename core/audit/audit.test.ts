import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, openHarness } from '../backoffice/testing/harness.js';
import { GENESIS_HASH, appendAudit, canonicalJson, listAudit, redactSecrets, verifyAuditChain } from './index.js';

describe('audit log', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => h.close());

  async function appendSome(n: number) {
    const out = [];
    for (let i = 0; i < n; i++) {
      out.push(
        await appendAudit(h.ctx, {
          actor: { id: 'stf_x', email: 'x@buffmoney.test' },
          command: 'merchants:set-fee',
          input: { merchant: `mer_${i}`, bps: 80 + i },
          outcome: { ok: true },
          touched: [`mer_${i}`],
        }),
      );
      h.clock.advance(1000);
    }
    return out;
  }

  it('redacts anything that looks like a credential, at any depth', () => {
    expect(
      redactSecrets({ email: 'a@b.c', password: 'p', nested: { totpSecret: 's', list: [{ otp: '1', sessionToken: 't', recoveryCode: 'c', note: 'kept' }] } }),
    ).toEqual({ email: 'a@b.c', password: '[redacted]', nested: { totpSecret: '[redacted]', list: [{ otp: '[redacted]', sessionToken: '[redacted]', recoveryCode: '[redacted]', note: 'kept' }] } });
  });

  it('chains each entry to the previous one and verifies the chain', async () => {
    const entries = await appendSome(3);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[0].prevHash).toBe(GENESIS_HASH);
    expect(entries[1].prevHash).toBe(entries[0].hash);
    expect(entries[2].prevHash).toBe(entries[1].hash);
    expect(await verifyAuditChain(h.ctx)).toEqual({ ok: true, entries: 3, headHash: entries[2].hash });
    // stored input is canonical JSON
    const row = await h.db.kysely.selectFrom('audit_log').select('input').where('seq', '=', 1).executeTakeFirstOrThrow();
    expect(row.input).toBe(canonicalJson({ bps: 80, merchant: 'mer_0' }));
    expect((await listAudit(h.ctx, { limit: 2 })).map((e) => e.seq)).toEqual([3, 2]);
    expect((await listAudit(h.ctx, { limit: 10, touching: 'mer_1' })).map((e) => e.seq)).toEqual([2]);
  });

  it('verifies across pages', async () => {
    await appendSome(7);
    expect(await verifyAuditChain(h.ctx, 3)).toMatchObject({ ok: true, entries: 7 });
  });

  it('is append-only: the database refuses UPDATE and DELETE', async () => {
    await appendSome(2);
    await expect(h.db.kysely.updateTable('audit_log').set({ outcome: 'error' }).where('seq', '=', 1).execute()).rejects.toThrow(/append-only/);
    await expect(h.db.kysely.deleteFrom('audit_log').where('seq', '=', 2).execute()).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(h.db.kysely)).rejects.toThrow(/append-only/);
    expect(await h.db.kysely.selectFrom('audit_log').select('seq').execute()).toHaveLength(2);
  });

  it('names the first entry altered directly in the database file', async () => {
    const entries = await appendSome(4);
    // someone with the file drops the trigger and edits an entry
    const raw = new BetterSqlite3(h.dbFile);
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("UPDATE audit_log SET input = ? WHERE seq = 2").run(JSON.stringify({ bps: 1, merchant: 'mer_1' }));
    raw.close();
    const result = await verifyAuditChain(h.ctx);
    expect(result).toMatchObject({ ok: false, entries: 1, firstBroken: { seq: 2, id: entries[1].id } });
  });

  it('names the entry after one removed from the middle, or one whose hash was recomputed', async () => {
    const entries = await appendSome(4);
    const raw = new BetterSqlite3(h.dbFile);
    raw.exec('DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update');
    // re-hashing the altered entry itself does not help: the next entry still points at the old hash
    raw.prepare("UPDATE audit_log SET command = 'staff:list', hash = ? WHERE seq = 3").run('f'.repeat(64));
    raw.close();
    expect(await verifyAuditChain(h.ctx)).toMatchObject({ ok: false, firstBroken: { seq: 3, id: entries[2].id } });

    const h2 = await openHarness();
    const e2 = [];
    for (let i = 0; i < 3; i++) e2.push(await appendAudit(h2.ctx, { actor: null, command: 'x:y', input: {}, outcome: { ok: true } }));
    const raw2 = new BetterSqlite3(h2.dbFile);
    raw2.exec('DROP TRIGGER audit_log_no_delete');
    raw2.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    raw2.close();
    expect(await verifyAuditChain(h2.ctx)).toMatchObject({ ok: false, firstBroken: { seq: 3, id: e2[2].id } });
    await h2.close();
  });
});
