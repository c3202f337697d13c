import { z } from 'zod';
import {
  NewStaffCredentials,
  StaffEmail,
  StaffListItem,
  StaffPassword,
  StaffRoleSchema,
  StaffView,
  createStaff,
  disableStaff,
  listStaff,
  loadStaffRow,
  staffView,
} from '../../staff/accounts.js';
import { defineCommand } from '../registry.js';

/**
 * Staff administration: admins only. The staff directory (who holds which role, who is locked)
 * is a map for an attacker, so it is not a read for everyone. Adding and disabling staff need
 * step-up: a new admin can do anything, and disabling is how a compromised account is stopped.
 */

export const staffMe = defineCommand({
  name: 'staff:me',
  summary: 'Who the session belongs to',
  input: z.object({}),
  output: StaffView,
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  handler: async (ctx) => staffView(await loadStaffRow(ctx, ctx.staff.id), ctx.clock.now()),
});

export const staffList = defineCommand({
  name: 'staff:list',
  summary: 'Every staff member with role, status, lock state and last sign-in',
  input: z.object({}),
  output: z.object({ items: z.array(StaffListItem) }),
  roles: ['admin'],
  stepUp: false,
  mutates: false,
  handler: async (ctx) => ({ items: await listStaff(ctx) }),
});

export const staffAdd = defineCommand({
  name: 'staff:add',
  summary: 'Add a staff member; prints their TOTP secret (and a generated password) once',
  input: z.object({
    email: StaffEmail,
    role: StaffRoleSchema,
    password: StaffPassword.optional().meta({ description: 'Generated when omitted' }),
  }),
  output: NewStaffCredentials,
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    const created = await createStaff(ctx, input, ctx.staff.id);
    ctx.touch(created.staff.id);
    return created;
  },
});

export const staffDisable = defineCommand({
  name: 'staff:disable',
  summary: 'Disable a staff member; their sessions end at once',
  input: z.object({ staff: z.string().trim().min(1).meta({ description: 'Staff id (stf_…) or email' }) }),
  output: StaffView.extend({ sessionsEnded: z.number() }),
  roles: ['admin'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    const disabled = await disableStaff(ctx, input.staff, ctx.staff.id);
    ctx.touch(disabled.id);
    return disabled;
  },
});
