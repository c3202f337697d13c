import { sha256Hex } from '../auth/encoding.js';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { canonicalJson } from '../json/index.js';
import type { AuditLogTable } from './tables.js';

export type * from './tables.js';

/**
 * The back office's audit log: append-only (the database refuses UPDATE and DELETE) and
 * hash-chained — each entry's hash covers its own fields and the previous entry's hash, so an
 * entry altered or removed behind the application's back breaks the chain at that point.
 */

export const GENESIS_HASH = '0'.repeat(64);
const SECRET_KEY = /password|otp|secret|token|code/i;
export const REDACTED = '[redacted]';

/** Any key that looks like a credential is replaced, at any depth. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined ? REDACTED : redactSecrets(v)]));
  }
  return value;
}

/**
 * Hash versions: what an entry's hash covers and how it is serialised. Version 1 (entries
 * written before migration 0008) sorted keys with a JSON.stringify that lets JavaScript put
 * integer-like keys first; version 2 is RFC 8785 and also covers the version itself, so a row
 * cannot be passed off as an older version. Old entries keep verifying under their own version.
 */
export const AUDIT_HASH_VERSION = 2;

/** Version 1's serialisation, kept only to verify entries written with it. */
function legacyCanonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysLegacy(value));
}

function sortKeysLegacy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysLegacy);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .filter((k) => obj[k] !== undefined)
        .map((k) => [k, sortKeysLegacy(obj[k])]),
    );
  }
  return value;
}

/** The hash of an entry: SHA-256 over the canonical JSON of every field but the hash itself. */
export function auditEntryHash(e: Omit<AuditLogTable, 'hash'>): string {
  const fields = {
    seq: Number(e.seq),
    id: e.id,
    at: e.at,
    actorStaffId: e.actor_staff_id,
    actorEmail: e.actor_email,
    command: e.command,
    input: e.input,
    outcome: e.outcome,
    errorCode: e.error_code,
    touched: e.touched,
    prevHash: e.prev_hash,
  };
  const version = Number(e.hash_version);
  if (version === 1) return sha256Hex(legacyCanonicalJson(fields));
  if (version === 2) return sha256Hex(canonicalJson({ ...fields, hashVersion: 2 }));
  throw new Error(`audit entry ${e.id}: unknown hash version ${e.hash_version}`);
}

export interface AuditAppend {
  actor: { id: string; email: string } | null;
  command: string;
  input: unknown;
  outcome: { ok: true } | { ok: false; code: string };
  touched?: string[];
}

export interface AuditEntryView {
  seq: number;
  id: string;
  at: string;
  actor: { staffId: string | null; email: string | null };
  command: string;
  input: unknown;
  outcome: 'ok' | 'error';
  errorCode: string | null;
  touched: string[];
  prevHash: string;
  hash: string;
}

/**
 * Appends one entry. Joins the caller's transaction, so a change and its audit entry commit or
 * roll back together. Two appenders racing for the same seq collide on the primary key (one
 * fails and its transaction rolls back) — the chain never forks.
 */
export async function appendAudit(ctx: CoreContext, entry: AuditAppend): Promise<AuditEntryView> {
  return inTransaction(ctx, async (tx) => {
    const last = await tx.db.kysely.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const row: Omit<AuditLogTable, 'hash'> = {
      seq: last ? Number(last.seq) + 1 : 1,
      id: tx.ids.next('aud'),
      at: tx.clock.now().toISOString(),
      actor_staff_id: entry.actor?.id ?? null,
      actor_email: entry.actor?.email ?? null,
      command: entry.command,
      input: canonicalJson(redactSecrets(entry.input ?? {})),
      outcome: entry.outcome.ok ? 'ok' : 'error',
      error_code: entry.outcome.ok ? null : entry.outcome.code,
      touched: JSON.stringify([...new Set(entry.touched ?? [])]),
      prev_hash: last?.hash ?? GENESIS_HASH,
      hash_version: AUDIT_HASH_VERSION,
    };
    const full: AuditLogTable = { ...row, hash: auditEntryHash(row) };
    await tx.db.kysely.insertInto('audit_log').values(full).execute();
    return toView(full);
  });
}

function toView(r: AuditLogTable): AuditEntryView {
  return {
    seq: Number(r.seq),
    id: r.id,
    at: r.at,
    actor: { staffId: r.actor_staff_id, email: r.actor_email },
    command: r.command,
    input: JSON.parse(r.input),
    outcome: r.outcome,
    errorCode: r.error_code,
    touched: JSON.parse(r.touched),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditListFilter {
  /** Entries with seq below this (pagination backwards from the newest). */
  beforeSeq?: number;
  command?: string;
  actorEmail?: string;
  /** Entries that touched this id (a merchant, a staff member, …). */
  touching?: string;
  /** Only successful (`ok`) or refused (`error`) commands. */
  outcome?: 'ok' | 'error';
  /** Entries at or after this instant (ISO-8601 UTC, as stored). */
  from?: string;
  /** Entries before this instant. */
  to?: string;
  limit: number;
}

/** Newest first. */
export async function listAudit(ctx: CoreContext, filter: AuditListFilter): Promise<AuditEntryView[]> {
  let q = ctx.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(filter.limit);
  if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
  if (filter.command) q = q.where('command', '=', filter.command);
  if (filter.actorEmail) q = q.where('actor_email', '=', filter.actorEmail.toLowerCase());
  if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
  // `at` is fixed-width ISO-8601 UTC text on both engines, so text order is time order.
  if (filter.from) q = q.where('at', '>=', filter.from);
  if (filter.to) q = q.where('at', '<', filter.to);
  // ids are [a-z0-9_] only (the command's schema checks); `_` matching any one character merely widens the match, which the exact filter below undoes.
  if (filter.touching) q = q.where('touched', 'like', `%${JSON.stringify(filter.touching)}%`);
  const rows = (await q.execute()).map(toView);
  return filter.touching ? rows.filter((r) => r.touched.includes(filter.touching!)) : rows;
}

export type AuditVerification = { ok: true; entries: number; headHash: string } | { ok: false; entries: number; firstBroken: { seq: number; id: string; reason: string } };

/**
 * Recomputes the chain from the first entry and names the first entry that does not fit: its
 * own fields no longer match its hash (altered), its prev_hash is not its predecessor's hash
 * (an entry before it was altered or removed), or its seq leaves a gap.
 */
export async function verifyAuditChain(ctx: CoreContext, pageSize = 1000): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const rows = await ctx.db.kysely.selectFrom('audit_log').selectAll().where('seq', '>=', expectedSeq).orderBy('seq', 'asc').limit(pageSize).execute();
    for (const r of rows) {
      const seq = Number(r.seq);
      const broken = (reason: string): AuditVerification => ({ ok: false, entries: count, firstBroken: { seq, id: r.id, reason } });
      if (seq !== expectedSeq) return broken(`sequence gap: expected seq ${expectedSeq}, found ${seq} (entries removed)`);
      if (r.prev_hash !== prevHash) return broken('prev_hash does not match the previous entry (an earlier entry was altered or removed)');
      let expected: string;
      try {
        expected = auditEntryHash(r);
      } catch {
        return broken(`unknown hash version ${r.hash_version} (altered)`);
      }
      if (expected !== r.hash) return broken('entry content does not match its hash (altered)');
      prevHash = r.hash;
      expectedSeq++;
      count++;
    }
    if (rows.length < pageSize) break;
  }
  return { ok: true, entries: count, headHash: prevHash };
}
