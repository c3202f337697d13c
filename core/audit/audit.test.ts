import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, openHarness } from '../backoffice/testing/harness.js';
import { createHash } from 'node:crypto';
import { Migrator } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { ManualClock, createContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { canonicalJson } from '../json/index.js';
import { createTestDatabase, tamperBehindTriggers } from '../testing/database.js';
import { AUDIT_HASH_VERSION, GENESIS_HASH, appendAudit, listAudit, redactSecrets, verifyAuditChain } from './index.js';

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
    expect(redactSecrets({ email: 'a@b.c', password: 'p', nested: { totpSecret: 's', list: [{ otp: '1', sessionToken: 't', recoveryCode: 'c', note: 'kept' }] } })).toEqual({
      email: 'a@b.c',
      password: '[redacted]',
      nested: { totpSecret: '[redacted]', list: [{ otp: '[redacted]', sessionToken: '[redacted]', recoveryCode: '[redacted]', note: 'kept' }] },
    });
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

  it('lists by outcome and by time range (half-open: from included, to excluded), also through audit:list with an offset time', async () => {
    const ok = await appendSome(3); // one second apart
    const refused = await appendAudit(h.ctx, { actor: null, command: 'staff:login', input: { email: 'x@y.z' }, outcome: { ok: false, code: 'invalid_credentials' } });
    expect((await listAudit(h.ctx, { limit: 10, outcome: 'error' })).map((e) => e.seq)).toEqual([refused.seq]);
    expect((await listAudit(h.ctx, { limit: 10, outcome: 'ok' })).map((e) => e.seq)).toEqual([3, 2, 1]);
    expect((await listAudit(h.ctx, { limit: 10, from: ok[1].at, to: ok[2].at })).map((e) => e.seq)).toEqual([2]);
    // The same instant written with +08:00 is read as the instant, not as text.
    const at = new Date(ok[1].at);
    const plus8 = new Date(at.getTime() + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
    const admin = await h.staff('admin');
    const r = await h.run(admin, 'audit:list', { from: plus8, outcome: 'ok', command: 'merchants:set-fee' });
    expect(r.ok && r.data.items.map((e: { seq: number }) => e.seq)).toEqual([3, 2]);
    const bad = await h.run(admin, 'audit:list', { from: 'yesterday' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
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
    await tamperBehindTriggers(h.dbFile, `UPDATE audit_log SET input = '${JSON.stringify({ bps: 1, merchant: 'mer_1' })}' WHERE seq = 2`);
    const result = await verifyAuditChain(h.ctx);
    expect(result).toMatchObject({ ok: false, entries: 1, firstBroken: { seq: 2, id: entries[1].id } });
  });

  it('names the entry after one removed from the middle, or one whose hash was recomputed', async () => {
    const entries = await appendSome(4);
    // re-hashing the altered entry itself does not help: the next entry still points at the old hash
    await tamperBehindTriggers(h.dbFile, `UPDATE audit_log SET command = 'staff:list', hash = '${'f'.repeat(64)}' WHERE seq = 3`);
    expect(await verifyAuditChain(h.ctx)).toMatchObject({ ok: false, firstBroken: { seq: 3, id: entries[2].id } });

    const h2 = await openHarness();
    const e2 = [];
    for (let i = 0; i < 3; i++) e2.push(await appendAudit(h2.ctx, { actor: null, command: 'x:y', input: {}, outcome: { ok: true } }));
    await tamperBehindTriggers(h2.dbFile, 'DELETE FROM audit_log WHERE seq = 2');
    expect(await verifyAuditChain(h2.ctx)).toMatchObject({ ok: false, firstBroken: { seq: 3, id: e2[2].id } });
    await h2.close();
  });

  it('writes new entries with hash version 2 over RFC 8785 text', async () => {
    const [entry] = await appendSome(1);
    const row = await h.db.kysely.selectFrom('audit_log').selectAll().where('seq', '=', entry.seq).executeTakeFirstOrThrow();
    expect(row.hash_version).toBe(AUDIT_HASH_VERSION);
    expect(AUDIT_HASH_VERSION).toBe(2);
    const appended = await appendAudit(h.ctx, { actor: null, command: 'x:y', input: { '2': 'b', '10': 'a' }, outcome: { ok: true } });
    const stored = await h.db.kysely.selectFrom('audit_log').select('input').where('seq', '=', appended.seq).executeTakeFirstOrThrow();
    expect(stored.input).toBe('{"10":"a","2":"b"}');
  });
});

describe('audit chains written before hash versions (migration 0008)', () => {
  /** Version 1 exactly as it was written: keys sorted, then JSON.stringify (integer-like keys first). */
  function v1Canonical(value: unknown): string {
    const sort = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sort);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        return Object.fromEntries(
          Object.keys(o)
            .sort()
            .map((k) => [k, sort(o[k])]),
        );
      }
      return v;
    };
    return JSON.stringify(sort(value));
  }

  it('keeps old entries verifiable, chains new ones onto them, and catches a faked version', async () => {
    const database = await createTestDatabase('buffmoney-audit-', 'a.db', { empty: true });
    const file = database.url;
    const db = openDatabase(file, { durable: false });
    const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('0006_usage_compact')).error).toBeUndefined();
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const row = {
        seq,
        id: `aud_old${seq}`,
        at: `2026-01-0${seq}T00:00:00.000Z`,
        actor_staff_id: 'stf_old',
        actor_email: 'old@buffmoney.test',
        command: 'merchants:set-fee',
        // Integer-like keys: version 1 text puts "2" before "10".
        input: v1Canonical({ '10': 'ten', '2': 'two', merchant: `mer_${seq}` }),
        outcome: 'ok',
        error_code: null,
        touched: '[]',
        prev_hash: prev,
      };
      expect(row.input.startsWith('{"2":')).toBe(true);
      const hash = createHash('sha256')
        .update(
          v1Canonical({
            seq,
            id: row.id,
            at: row.at,
            actorStaffId: row.actor_staff_id,
            actorEmail: row.actor_email,
            command: row.command,
            input: row.input,
            outcome: row.outcome,
            errorCode: row.error_code,
            touched: row.touched,
            prevHash: row.prev_hash,
          }),
        )
        .digest('hex');
      await (db.kysely as any)
        .insertInto('audit_log')
        .values({ ...row, hash })
        .execute();
      prev = hash;
    }
    await migrateToLatest(db);
    const ctx = createContext({ db, clock: new ManualClock('2026-05-01T00:00:00.000Z'), secrets: { jwtSecret: Buffer.alloc(32), dataKey: Buffer.alloc(32) } });
    expect(await verifyAuditChain(ctx)).toMatchObject({ ok: true, entries: 3 });
    const next = await appendAudit(ctx, { actor: null, command: 'x:y', input: { '10': 1, '2': 2 }, outcome: { ok: true } });
    expect(next.prevHash).toBe(prev);
    expect(await verifyAuditChain(ctx)).toMatchObject({ ok: true, entries: 4, headHash: next.hash });
    await db.close();

    // Relabelling an old entry as version 2 (or the new one as version 1) breaks the chain there.
    await tamperBehindTriggers(file, 'UPDATE audit_log SET hash_version = 1 WHERE seq = 4');
    const db2 = openDatabase(file, { durable: false });
    const ctx2 = { ...ctx, db: db2 };
    expect(await verifyAuditChain(ctx2)).toMatchObject({ ok: false, firstBroken: { seq: 4 } });
    await db2.close();
    await database.cleanup();
  });
});
