import { randomBase62, sha256Hex } from '../auth/encoding.js';
import { dummyPasswordHash, verifyPassword } from '../auth/passwords.js';
import { open } from '../auth/secret-box.js';
import { acceptTotp } from '../auth/totp.js';
import { appendAudit } from '../audit/index.js';
import { type CoreContext, HOUR, MINUTE } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, forbidden, unauthenticated } from '../errors/index.js';
import { type StaffView, endStaffSessions, staffView, totpAad } from './accounts.js';
import type { StaffRole, StaffTable } from './tables.js';

export const SESSION_IDLE_TIMEOUT_MS = 30 * MINUTE;
export const SESSION_MAX_AGE_MS = 12 * HOUR;
export const MAX_FAILED_ATTEMPTS = 5;
export const LOCKOUT_MS = 15 * MINUTE;

/** Who is acting: what a command handler and the audit log know about the caller. */
export interface StaffIdentity {
  id: string;
  email: string;
  role: StaffRole;
  sessionId: string;
}

export const invalidCredentials = () => unauthenticated('invalid_credentials', 'Invalid email, password or two-factor code');

export function lockedError(lockedUntil: string, now: Date): DomainError {
  const seconds = Math.max(1, Math.ceil((Date.parse(lockedUntil) - now.getTime()) / 1000));
  return new DomainError('rate_limited', 'staff_locked', `Too many failed attempts; this account is locked until ${lockedUntil}`, {
    retryAfterSeconds: seconds,
  });
}

/**
 * One more failed attempt (wrong password, wrong or replayed code — at sign-in or step-up).
 * The fifth in a row locks the account for 15 minutes. Written outside any caller
 * transaction's rollback: a failure must count even though the attempt fails.
 */
export async function recordFailure(ctx: CoreContext, row: StaffTable, endSessions: boolean): Promise<{ locked: boolean }> {
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    const current = await tx.db.kysely.selectFrom('staff').select('failed_attempts').where('id', '=', row.id).executeTakeFirstOrThrow();
    const attempts = Number(current.failed_attempts) + 1;
    if (attempts >= MAX_FAILED_ATTEMPTS) {
      const until = new Date(now.getTime() + LOCKOUT_MS).toISOString();
      await tx.db.kysely.updateTable('staff').set({ failed_attempts: 0, locked_until: until, updated_at: now.toISOString() }).where('id', '=', row.id).execute();
      // Failed step-ups come from someone holding a session: that session is not to be trusted.
      if (endSessions) await endStaffSessions(tx, row.id, 'locked');
      return { locked: true };
    }
    await tx.db.kysely.updateTable('staff').set({ failed_attempts: attempts, updated_at: now.toISOString() }).where('id', '=', row.id).execute();
    return { locked: false };
  });
}

/**
 * Accepts a TOTP code once: valid now (±1 step), newer than the last accepted step, and won in a
 * conditional UPDATE — so two concurrent uses of the same code cannot both pass.
 */
async function consumeTotp(ctx: CoreContext, row: StaffTable, code: string): Promise<boolean> {
  const secret = open(ctx.secrets.dataKey, row.totp_secret_enc, totpAad(row.id));
  const now = ctx.clock.now();
  const step = acceptTotp(secret, code, now, row.totp_last_step === null ? null : Number(row.totp_last_step));
  if (step === null) return false;
  const res = await ctx.db.kysely
    .updateTable('staff')
    .set({
      totp_last_step: step,
      totp_enabled_at: row.totp_enabled_at ?? now.toISOString(),
      failed_attempts: 0,
      locked_until: null,
      updated_at: now.toISOString(),
    })
    .where('id', '=', row.id)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export const isLocked = (row: StaffTable, now: Date) => row.locked_until !== null && row.locked_until > now.toISOString();

/**
 * One sign-in step (the sign-in itself, or first-sign-in enrolment): its audit entry under
 * `command`, the account lookup that gives unknown emails the same bcrypt work as real ones (so
 * timing does not tell which emails exist) and refuses locked accounts, and the failure path
 * that counts towards the lockout. Both steps share it, so they cannot drift apart.
 */
export function signInAttempt(ctx: CoreContext, command: 'staff:login' | 'staff:enrol', rawEmail: string) {
  const email = rawEmail.trim().toLowerCase();
  const audit = (outcome: { ok: true } | { ok: false; code: string }, row?: StaffTable) =>
    appendAudit(ctx, {
      actor: row ? { id: row.id, email: row.email } : null,
      command,
      input: { email },
      outcome,
      touched: row ? [row.id] : [],
    });
  const fail = async (err: DomainError, row?: StaffTable): Promise<never> => {
    await audit({ ok: false, code: err.code }, row);
    throw err;
  };
  const now = ctx.clock.now();
  return {
    audit,
    fail,
    /** The account, unless the email is unknown (invalid_credentials) or the account is locked. */
    async account(password: string): Promise<{ row: StaffTable; now: Date }> {
      const row = await ctx.db.kysely.selectFrom('staff').selectAll().where('email', '=', email).executeTakeFirst();
      if (!row) {
        await verifyPassword(password, await dummyPasswordHash(ctx.bcryptCost));
        return fail(invalidCredentials());
      }
      if (isLocked(row, now)) return fail(lockedError(row.locked_until!, now), row);
      return { row, now };
    },
    /** A wrong password or code: counted towards the lockout; the lockout's error once it locks. */
    async failedAttempt(row: StaffTable, err: DomainError): Promise<never> {
      const { locked } = await recordFailure(ctx, row, false);
      if (locked) {
        const fresh = await ctx.db.kysely.selectFrom('staff').select('locked_until').where('id', '=', row.id).executeTakeFirstOrThrow();
        return fail(lockedError(fresh.locked_until!, now), row);
      }
      return fail(err, row);
    },
  };
}

export interface StaffLoginResult {
  session: string;
  staff: StaffView;
  idleTimeoutSeconds: number;
  expiresAt: string;
}

/**
 * Password and a current TOTP code, always (2FA is mandatory; the first successful sign-in is
 * what confirms the enrolment). Returns a bearer session token; only its SHA-256 is stored.
 */
export async function loginStaff(ctx: CoreContext, input: { email: string; password: string; otp: string }): Promise<StaffLoginResult> {
  const attempt = signInAttempt(ctx, 'staff:login', input.email);
  const { row, now } = await attempt.account(input.password);
  const { audit, fail } = attempt;

  const passwordOk = await verifyPassword(input.password, row.password_hash);
  if (passwordOk && row.status === 'disabled') return fail(forbidden('staff_disabled', 'This staff account is disabled'), row);
  if (!passwordOk || !(await consumeTotp(ctx, row, input.otp))) {
    return attempt.failedAttempt(row, passwordOk ? unauthenticated('otp_invalid', 'Invalid or already used two-factor code') : invalidCredentials());
  }

  const token = `bmst_${randomBase62(ctx.randomBytes, 43)}`;
  await ctx.db.kysely
    .insertInto('staff_sessions')
    .values({
      id: ctx.ids.next('sess'),
      staff_id: row.id,
      token_hash: sha256Hex(token),
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      ended_at: null,
      end_reason: null,
    })
    .execute();
  await audit({ ok: true }, row);
  const fresh = await ctx.db.kysely.selectFrom('staff').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  return {
    session: token,
    staff: staffView(fresh, now),
    idleTimeoutSeconds: SESSION_IDLE_TIMEOUT_MS / 1000,
    expiresAt: new Date(now.getTime() + SESSION_MAX_AGE_MS).toISOString(),
  };
}

/**
 * The staff member behind a session token. Sessions end after 30 minutes idle or 12 hours in
 * all; each use slides the idle window. A disabled staff member has no live sessions.
 */
export async function authenticateStaffSession(ctx: CoreContext, token: string | undefined): Promise<StaffIdentity> {
  if (!token) throw unauthenticated('session_required', 'Sign in first (buffmoney login) and pass the session token');
  const found = await ctx.db.kysely
    .selectFrom('staff_sessions as s')
    .innerJoin('staff as st', 'st.id', 's.staff_id')
    .select(['s.id as session_id', 's.created_at', 's.last_seen_at', 's.ended_at', 'st.id', 'st.email', 'st.role', 'st.status'])
    .where('s.token_hash', '=', sha256Hex(token))
    .executeTakeFirst();
  if (!found || found.ended_at !== null || found.status !== 'active') {
    throw unauthenticated('session_invalid', 'Invalid or ended session; sign in again');
  }
  const now = ctx.clock.now();
  const idle = now.getTime() - Date.parse(found.last_seen_at) > SESSION_IDLE_TIMEOUT_MS;
  const tooOld = now.getTime() - Date.parse(found.created_at) > SESSION_MAX_AGE_MS;
  if (idle || tooOld) {
    await ctx.db.kysely
      .updateTable('staff_sessions')
      .set({ ended_at: now.toISOString(), end_reason: idle ? 'idle' : 'max_age' })
      .where('id', '=', found.session_id)
      .execute();
    throw unauthenticated('session_expired', idle ? 'Session expired after 30 minutes idle; sign in again' : 'Session expired (12 hours); sign in again');
  }
  await ctx.db.kysely.updateTable('staff_sessions').set({ last_seen_at: now.toISOString() }).where('id', '=', found.session_id).execute();
  return { id: found.id, email: found.email, role: found.role, sessionId: found.session_id };
}

/**
 * Step-up for sensitive commands: a fresh TOTP code sent with the command, accepted once.
 * Failures count towards the lockout; a lockout also ends the staff member's sessions.
 */
export async function verifyStepUp(ctx: CoreContext, staffId: string, otp: string | undefined): Promise<void> {
  if (!otp) throw forbidden('step_up_required', 'This command needs a current two-factor code (--otp)');
  const row = await ctx.db.kysely.selectFrom('staff').selectAll().where('id', '=', staffId).executeTakeFirstOrThrow();
  const now = ctx.clock.now();
  if (isLocked(row, now)) throw lockedError(row.locked_until!, now);
  if (await consumeTotp(ctx, row, otp)) return;
  const { locked } = await recordFailure(ctx, row, true);
  if (locked) {
    const fresh = await ctx.db.kysely.selectFrom('staff').select('locked_until').where('id', '=', row.id).executeTakeFirstOrThrow();
    throw lockedError(fresh.locked_until!, now);
  }
  throw forbidden('otp_invalid', 'Invalid or already used two-factor code (each code is accepted once; wait for the next one)');
}

export async function logoutStaff(ctx: CoreContext, token: string): Promise<{ ended: boolean }> {
  const res = await ctx.db.kysely
    .updateTable('staff_sessions')
    .set({ ended_at: ctx.clock.now().toISOString(), end_reason: 'logout' })
    .where('token_hash', '=', sha256Hex(token))
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return { ended: Number(res.numUpdatedRows) === 1 };
}
