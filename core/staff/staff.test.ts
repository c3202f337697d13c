import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../auth/encoding.js';
import { totpCode } from '../auth/totp.js';
import { MINUTE, HOUR } from '../context/index.js';
import { type Harness, openHarness } from '../backoffice/testing/harness.js';
import { isDomainError } from '../errors/index.js';
import { authenticateStaffSession, bootstrapStaff, createStaff, listStaff, loginStaff, logoutStaff, verifyStepUp } from './index.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isDomainError(e)) return e.code;
    throw e;
  }
  return 'ok';
}

describe('staff accounts, sign-in and sessions', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => h.close());

  it('bootstraps the first admin only while no staff exists', async () => {
    const first = await bootstrapStaff(h.ctx, { email: 'Root@BuffMoney.test' });
    expect(first.staff).toMatchObject({ email: 'root@buffmoney.test', role: 'admin', twoFactorEnrolled: false });
    expect(first.generatedPassword).toMatch(/^[0-9A-Za-z]{20}$/);
    expect(first.otpauthUri).toContain(`secret=${first.totpSecret}`);
    expect(await codeOf(bootstrapStaff(h.ctx, { email: 'second@buffmoney.test', password: 'long enough pw' }))).toBe('staff_exists');
    const rows = await h.db.kysely.selectFrom('staff').select(['email', 'role']).execute();
    expect(rows).toEqual([{ email: 'root@buffmoney.test', role: 'admin' }]);
    // the TOTP secret is kept sealed, never in clear
    const stored = await h.db.kysely.selectFrom('staff').select('totp_secret_enc').executeTakeFirstOrThrow();
    expect(stored.totp_secret_enc).not.toContain(first.totpSecret);
  });

  it('refuses bootstrap when any staff exists, even without an admin', async () => {
    await createStaff(h.ctx, { email: 'support@buffmoney.test', role: 'support', password: 'long enough pw' }, null);
    expect(await codeOf(bootstrapStaff(h.ctx, { email: 'x@buffmoney.test' }))).toBe('staff_exists');
  });

  it('signs in with password and TOTP, completing 2FA enrolment, and stores only a hash of the session', async () => {
    const created = await bootstrapStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery' });
    const otp = totpCode(created.totpSecret, h.clock.now());
    const login = await loginStaff(h.ctx, { email: 'A@buffmoney.test', password: 'correct horse battery', otp });
    expect(login.session).toMatch(/^bmst_[0-9A-Za-z]{43}$/);
    expect(login.staff.twoFactorEnrolled).toBe(true);
    const sessions = await h.db.kysely.selectFrom('staff_sessions').select('token_hash').execute();
    expect(sessions).toEqual([{ token_hash: sha256Hex(login.session) }]);
    const who = await authenticateStaffSession(h.ctx, login.session);
    expect(who).toMatchObject({ id: created.staff.id, email: 'a@buffmoney.test', role: 'admin' });

    // the same code cannot sign in twice
    expect(await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp }))).toBe('otp_invalid');
    // a missing or wrong code never signs in
    expect(await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: '000000' }))).toBe('otp_invalid');
    expect(await codeOf(loginStaff(h.ctx, { email: 'nobody@buffmoney.test', password: 'whatever pw', otp }))).toBe('invalid_credentials');
  });

  it('lists staff with their last sign-in (null until they first sign in; the newest of several)', async () => {
    const created = await bootstrapStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery' });
    await createStaff(h.ctx, { email: 'support@buffmoney.test', role: 'support', password: 'long enough pw' }, null);
    expect((await listStaff(h.ctx)).map((m) => [m.email, m.lastSignInAt])).toEqual([
      ['a@buffmoney.test', null],
      ['support@buffmoney.test', null],
    ]);
    await loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: totpCode(created.totpSecret, h.clock.now()) });
    h.clock.advance(HOUR);
    const second = h.clock.now().toISOString();
    await loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: totpCode(created.totpSecret, h.clock.now()) });
    expect((await listStaff(h.ctx)).map((m) => [m.email, m.lastSignInAt])).toEqual([
      ['a@buffmoney.test', second],
      ['support@buffmoney.test', null],
    ]);
  });

  it('locks the account for 15 minutes after 5 consecutive failures', async () => {
    const created = await bootstrapStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery' });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'wrong password', otp: '123456' })));
    expect(codes).toEqual(Array(4).fill('invalid_credentials'));
    // the fifth failure (here a wrong code with the right password) locks
    expect(await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: '000000' }))).toBe('staff_locked');
    // locked: even the right password and code are refused
    h.clock.advance(MINUTE);
    const good = () => loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: totpCode(created.totpSecret, h.clock.now()) });
    const refused = await good().catch((e) => e);
    expect(refused.code).toBe('staff_locked');
    expect(refused.retryAfterSeconds).toBe(14 * 60);
    h.clock.advance(14 * MINUTE + 1000);
    expect((await good()).staff.lockedUntil).toBeNull();
  });

  it('resets the failure count after a successful sign-in', async () => {
    const created = await bootstrapStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery' });
    for (let i = 0; i < 4; i++) await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'wrong password', otp: '1' }));
    await loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'correct horse battery', otp: totpCode(created.totpSecret, h.clock.now()) });
    for (let i = 0; i < 4; i++) {
      expect(await codeOf(loginStaff(h.ctx, { email: 'a@buffmoney.test', password: 'wrong password', otp: '1' }))).toBe('invalid_credentials');
    }
  });

  it('ends a session after 30 minutes idle, and slides the window on each use', async () => {
    const a = await h.staff('admin');
    h.clock.advance(29 * MINUTE);
    await authenticateStaffSession(h.ctx, a.session);
    h.clock.advance(29 * MINUTE); // 58 min since sign-in, 29 since last use
    await authenticateStaffSession(h.ctx, a.session);
    h.clock.advance(30 * MINUTE + 1000);
    expect(await codeOf(authenticateStaffSession(h.ctx, a.session))).toBe('session_expired');
    // and it stays ended
    h.clock.advance(-31 * MINUTE);
    expect(await codeOf(authenticateStaffSession(h.ctx, a.session))).toBe('session_invalid');
  });

  it('ends a session 12 hours after sign-in however active it is', async () => {
    const a = await h.staff('finance');
    for (let t = 0; t < 12 * HOUR - 20 * MINUTE; t += 20 * MINUTE) {
      h.clock.advance(20 * MINUTE);
      await authenticateStaffSession(h.ctx, a.session);
    }
    h.clock.advance(25 * MINUTE);
    expect(await codeOf(authenticateStaffSession(h.ctx, a.session))).toBe('session_expired');
  });

  it('logs out', async () => {
    const a = await h.staff('support');
    expect(await logoutStaff(h.ctx, a.session)).toEqual({ ended: true });
    expect(await codeOf(authenticateStaffSession(h.ctx, a.session))).toBe('session_invalid');
  });

  it('step-up accepts a fresh code once, and five bad codes lock the account and end its sessions', async () => {
    const a = await h.staff('admin');
    expect(await codeOf(verifyStepUp(h.ctx, a.id, undefined))).toBe('step_up_required');
    const fresh = a.nextOtp();
    expect(await codeOf(verifyStepUp(h.ctx, a.id, fresh))).toBe('ok');
    expect(await codeOf(verifyStepUp(h.ctx, a.id, fresh))).toBe('otp_invalid');
    for (let i = 0; i < 3; i++) expect(await codeOf(verifyStepUp(h.ctx, a.id, '999999'))).toBe('otp_invalid');
    expect(await codeOf(verifyStepUp(h.ctx, a.id, '999999'))).toBe('staff_locked');
    expect(await codeOf(authenticateStaffSession(h.ctx, a.session))).toBe('session_invalid');
  });

  it('refuses two concurrent uses of one code: exactly one wins', async () => {
    const a = await h.staff('admin');
    const code = a.nextOtp();
    const results = await Promise.all([codeOf(verifyStepUp(h.ctx, a.id, code)), codeOf(verifyStepUp(h.ctx, a.id, code))]);
    expect(results.sort()).toEqual(['ok', 'otp_invalid']);
  });
});
