import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { totpCode } from '../auth/totp.js';
import { type Harness, openHarness } from '../backoffice/testing/harness.js';
import { MINUTE } from '../context/index.js';
import { isDomainError } from '../errors/index.js';
import { createStaff, disableStaff, enrolStaffTotp, loginStaff } from './index.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isDomainError(e)) return e.code;
    throw e;
  }
  return 'ok';
}

const PASSWORD = 'correct horse battery';

describe('first sign-in enrolment (a fresh TOTP secret behind the password)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => h.close());

  const newMember = () => createStaff(h.ctx, { email: 'new@buffmoney.test', role: 'finance', password: PASSWORD }, null);

  it('issues a fresh secret the creating admin never saw; only codes of the fresh secret sign in', async () => {
    const created = await newMember();
    const enrolment = await enrolStaffTotp(h.ctx, { email: 'New@BuffMoney.test', password: PASSWORD });
    expect(enrolment.email).toBe('new@buffmoney.test');
    expect(enrolment.secret).not.toBe(created.totpSecret);
    expect(enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(enrolment.otpauthUri).toContain(`secret=${enrolment.secret}`);
    // the secret the admin saw at creation no longer works
    h.clock.advance(30_000);
    const adminsCode = totpCode(created.totpSecret, h.clock.now());
    expect(await codeOf(loginStaff(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD, otp: adminsCode }))).toBe('otp_invalid');
    h.clock.advance(30_000);
    const login = await loginStaff(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD, otp: totpCode(enrolment.secret, h.clock.now()) });
    expect(login.staff.twoFactorEnrolled).toBe(true);
  });

  it('may be repeated before the first sign-in (a lost QR), each time replacing the secret', async () => {
    await newMember();
    const first = await enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD });
    const second = await enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD });
    expect(second.secret).not.toBe(first.secret);
    h.clock.advance(30_000);
    expect(await codeOf(loginStaff(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD, otp: totpCode(first.secret, h.clock.now()) }))).toBe('otp_invalid');
    h.clock.advance(30_000);
    expect(await codeOf(loginStaff(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD, otp: totpCode(second.secret, h.clock.now()) }))).toBe('ok');
  });

  it('is refused once enrolled, so a stolen password cannot swap the second factor', async () => {
    const a = await h.staff('admin');
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: a.email, password: a.password }))).toBe('already_enrolled');
    // the enrolled secret still works
    expect(await codeOf(loginStaff(h.ctx, { email: a.email, password: a.password, otp: a.nextOtp() }))).toBe('ok');
  });

  it('answers a wrong password or an unknown email alike, counts failures, and locks like sign-in', async () => {
    await newMember();
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'nobody@buffmoney.test', password: PASSWORD }))).toBe('invalid_credentials');
    for (let i = 0; i < 4; i++) expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password' }))).toBe('invalid_credentials');
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password' }))).toBe('staff_locked');
    // locked: even the right password is refused, by enrolment and sign-in alike
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD }))).toBe('staff_locked');
    h.clock.advance(15 * MINUTE + 1000);
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD }))).toBe('ok');
  });

  it('shares the failure count with sign-in', async () => {
    await newMember();
    for (let i = 0; i < 4; i++) await codeOf(loginStaff(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password', otp: '123456' }));
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password' }))).toBe('staff_locked');
  });

  it('refuses a disabled account, after the password only', async () => {
    const a = await h.staff('admin');
    const created = await newMember();
    await disableStaff(h.ctx, created.staff.id, a.id);
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password' }))).toBe('invalid_credentials');
    expect(await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD }))).toBe('staff_disabled');
  });

  it('is audited as staff:enrol, without the password or the secret', async () => {
    await newMember();
    const enrolment = await enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: PASSWORD });
    await codeOf(enrolStaffTotp(h.ctx, { email: 'new@buffmoney.test', password: 'wrong password' }));
    const rows = await h.db.kysely.selectFrom('audit_log').selectAll().where('command', '=', 'staff:enrol').orderBy('seq').execute();
    expect(rows.map((r) => [r.outcome, r.error_code])).toEqual([
      ['ok', null],
      ['error', 'invalid_credentials'],
    ]);
    const all = JSON.stringify(rows);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(enrolment.secret);
  });
});
