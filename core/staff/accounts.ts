import { z } from 'zod';
import { randomBase62 } from '../auth/encoding.js';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH, hashPassword } from '../auth/passwords.js';
import { seal } from '../auth/secret-box.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import { appendAudit } from '../audit/index.js';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, forbidden, notFound, validationError } from '../errors/index.js';
import type { StaffRole, StaffTable } from './tables.js';

// Same rules as merchants' (core/merchants/schemas.ts), restated here because that module pulls
// in viem, which costs a CLI process seconds of start-up.
export const StaffEmail = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be a valid email address' }))
  .transform((e) => e.toLowerCase());
export const StaffPassword = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((p) => Buffer.byteLength(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`);

export const STAFF_ROLES = ['admin', 'finance', 'support'] as const satisfies readonly StaffRole[];
export const StaffRoleSchema = z.enum(STAFF_ROLES);

export const StaffView = z.object({
  id: z.string(),
  email: z.string(),
  role: StaffRoleSchema,
  status: z.enum(['active', 'disabled']),
  twoFactorEnrolled: z.boolean(),
  lockedUntil: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  disabledAt: z.string().nullable(),
});
export type StaffView = z.infer<typeof StaffView>;

/** A row of the staff list: the view plus when they last signed in (null: never). */
export const StaffListItem = StaffView.extend({ lastSignInAt: z.string().nullable() });
export type StaffListItem = z.infer<typeof StaffListItem>;

/** What a new staff member needs once: shown at creation, never again. */
export const NewStaffCredentials = z.object({
  staff: StaffView,
  totpSecret: z.string(),
  otpauthUri: z.string(),
  /** Only when no password was given: a generated one. */
  generatedPassword: z.string().optional(),
});
export type NewStaffCredentials = z.infer<typeof NewStaffCredentials>;

export const totpAad = (staffId: string) => `staff-totp:${staffId}`;

export function staffView(row: StaffTable, now: Date): StaffView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: row.status,
    twoFactorEnrolled: row.totp_enabled_at !== null,
    lockedUntil: row.locked_until && row.locked_until > now.toISOString() ? row.locked_until : null,
    createdAt: row.created_at,
    createdBy: row.created_by,
    disabledAt: row.disabled_at,
  };
}

const NewStaffInput = z.object({ email: StaffEmail, role: StaffRoleSchema, password: StaffPassword.optional() });

/** Creates a staff member with a fresh TOTP secret (2FA is mandatory; it is confirmed at first sign-in). */
export async function createStaff(ctx: CoreContext, input: { email: string; role: StaffRole; password?: string }, createdBy: string | null): Promise<NewStaffCredentials> {
  const parsed = NewStaffInput.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error.issues);
  const { email, role } = parsed.data;
  const generatedPassword = parsed.data.password === undefined ? randomBase62(ctx.randomBytes, 20) : undefined;
  const passwordHash = await hashPassword(parsed.data.password ?? generatedPassword!, ctx.bcryptCost);
  return inTransaction(ctx, async (tx) => {
    const existing = await tx.db.kysely.selectFrom('staff').select('id').where('email', '=', email).executeTakeFirst();
    if (existing) throw conflict('staff_email_taken', 'A staff member with this email already exists');
    const id = tx.ids.next('stf');
    const secret = newTotpSecret(tx.randomBytes);
    const now = tx.clock.now().toISOString();
    const row: StaffTable = {
      id,
      email,
      role,
      status: 'active',
      password_hash: passwordHash,
      totp_secret_enc: seal(tx.secrets.dataKey, secret, totpAad(id)),
      totp_enabled_at: null,
      totp_last_step: null,
      failed_attempts: 0,
      locked_until: null,
      created_by: createdBy,
      created_at: now,
      updated_at: now,
      disabled_at: null,
    };
    await tx.db.kysely.insertInto('staff').values(row).execute();
    return {
      staff: staffView(row, tx.clock.now()),
      totpSecret: secret,
      otpauthUri: otpauthUri(secret, email, 'BuffMoney back office'),
      ...(generatedPassword ? { generatedPassword } : {}),
    };
  });
}

/**
 * The first admin. Works only while no staff exists at all, so it cannot be used later to mint
 * an admin behind the others' backs; the check and the insert share one transaction.
 */
export async function bootstrapStaff(ctx: CoreContext, input: { email: string; password?: string }): Promise<NewStaffCredentials> {
  try {
    return await inTransaction(ctx, async (tx) => {
      const any = await tx.db.kysely.selectFrom('staff').select('id').limit(1).executeTakeFirst();
      if (any) throw conflict('staff_exists', 'Staff already exist; bootstrap works only on an empty staff table (use staff:add)');
      const created = await createStaff(tx, { email: input.email, role: 'admin', password: input.password }, null);
      await appendAudit(tx, {
        actor: { id: created.staff.id, email: created.staff.email },
        command: 'staff:bootstrap',
        input: { email: input.email, password: input.password },
        outcome: { ok: true },
        touched: [created.staff.id],
      });
      return created;
    });
  } catch (e) {
    await appendAudit(ctx, {
      actor: null,
      command: 'staff:bootstrap',
      input: { email: input.email, password: input.password },
      outcome: { ok: false, code: (e as { code?: string }).code ?? 'internal_error' },
    });
    throw e;
  }
}

export async function loadStaffRow(ctx: CoreContext, idOrEmail: string): Promise<StaffTable> {
  const key = idOrEmail.trim();
  const row = await ctx.db.kysely
    .selectFrom('staff')
    .selectAll()
    .where((eb) => (key.includes('@') ? eb('email', '=', key.toLowerCase()) : eb('id', '=', key)))
    .executeTakeFirst();
  if (!row) throw notFound('staff_not_found', 'Staff member not found');
  return row;
}

export async function listStaff(ctx: CoreContext): Promise<StaffListItem[]> {
  const k = ctx.db.kysely;
  const rows = await k.selectFrom('staff').selectAll().orderBy('created_at').orderBy('id').execute();
  // Every successful sign-in starts a session (sessions are ended, never deleted), so the newest
  // session is the last sign-in; one grouped read over the staff_id index.
  const last = await k
    .selectFrom('staff_sessions')
    .select(['staff_id', (eb) => eb.fn.max('created_at').as('at')])
    .groupBy('staff_id')
    .execute();
  const lastById = new Map(last.map((r) => [r.staff_id, r.at as string]));
  const now = ctx.clock.now();
  return rows.map((r) => ({ ...staffView(r, now), lastSignInAt: lastById.get(r.id) ?? null }));
}

/** Disables a staff member and ends every session they have, at once. */
export async function disableStaff(ctx: CoreContext, idOrEmail: string, actorId: string): Promise<StaffView & { sessionsEnded: number }> {
  return inTransaction(ctx, async (tx) => {
    const row = await loadStaffRow(tx, idOrEmail);
    // The actor is an active admin, so refusing self-disable also keeps at least one admin.
    if (row.id === actorId) throw forbidden('staff_cannot_disable_self', 'You cannot disable your own account');
    if (row.status === 'disabled') throw conflict('staff_already_disabled', 'This staff member is already disabled');
    const now = tx.clock.now().toISOString();
    await tx.db.kysely.updateTable('staff').set({ status: 'disabled', disabled_at: now, updated_at: now }).where('id', '=', row.id).execute();
    const ended = await endStaffSessions(tx, row.id, 'staff_disabled');
    return { ...staffView({ ...row, status: 'disabled', disabled_at: now }, tx.clock.now()), sessionsEnded: ended };
  });
}

export async function endStaffSessions(ctx: CoreContext, staffId: string, reason: string): Promise<number> {
  const res = await ctx.db.kysely
    .updateTable('staff_sessions')
    .set({ ended_at: ctx.clock.now().toISOString(), end_reason: reason })
    .where('staff_id', '=', staffId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
