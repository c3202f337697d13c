import { queryRows } from '../../core/testing/database.js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, openHarness } from '../../core/backoffice/testing/harness.js';
import { HOUR, ManualClock } from '../../core/context/index.js';
import { DESTINATION_COOLING_OFF_HOURS, decideKyb, destinationCoolingOff } from '../../core/merchants/index.js';
import { currentTotp, signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

/**
 * Issue 9, "Money and environment boundaries": a key acts in its own environment only; live keys
 * and money destinations need the dashboard session with a fresh TOTP code (or, for destinations,
 * a live key); every destination change is recorded and starts a cooling-off window; sessions
 * have a bounded life; an unknown environment header is an error.
 */

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const ADDRESS = '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE';
const OTHER_ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const BANK = { holderName: 'Acme Ltd', accountNumber: '6222020200112233445', bankName: 'ICBC Shanghai', cnapsCode: '102290002345', currency: 'CNY' };

type Merchant = Awaited<ReturnType<typeof signupMerchant>> & { totpSecret: string; otp(): string };

describe('money and environment boundaries', () => {
  let server: TestServer;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    server = await startTestServer({ clock });
  });
  afterAll(async () => server.stop());

  /** A fresh code from the next TOTP step: never used before. */
  const nextOtp = (secret: string) => {
    clock.advance(30_000);
    return currentTotp(secret, clock);
  };

  /** 2FA on, a receiving address, KYB approved: live access unlocked. */
  async function liveReady(): Promise<Merchant> {
    const m = await signupMerchant(server, { receivingAddresses: { arbitrum: ADDRESS } });
    const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
    const secret: string = enroll.body.secret;
    const verify = await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(secret, clock) } });
    expect(verify.status).toBe(200);
    const form = new FormData();
    form.set('companyName', 'Acme Ltd');
    form.set('registrationNumber', '91310000MA1FL0000X');
    form.set('country', 'CN');
    for (const kind of ['companyRegistration', 'ownerId', 'bankProof']) form.set(kind, new Blob([PDF]), `${kind}.pdf`);
    expect((await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: form })).status).toBe(201);
    await decideKyb(server.ctx, m.id, 'stf_test_reviewer', { decision: 'approve' });
    return { ...m, totpSecret: secret, otp: () => nextOtp(secret) };
  }

  async function liveKey(m: Merchant): Promise<string> {
    const res = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', otp: m.otp() } });
    expect(res.status, res.text).toBe(200);
    return res.body.apiKey;
  }

  describe('a key acts only in its own environment', () => {
    it('a sandbox key cannot create the first live key, even for a merchant ready for live (403 environment_mismatch)', async () => {
      const m = await liveReady();
      const res = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: { 'x-api-key': m.sandboxKey }, body: { environment: 'live' } });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ ok: false, error: 'environment_mismatch', message: 'A sandbox API key cannot act on live keys or data' });
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) })).body.apiKeys.map((k: any) => k.environment)).toEqual(['sandbox']);
    });

    it('a live key cannot create a sandbox key, nor another live key (live keys come from the dashboard only)', async () => {
      const m = await liveReady();
      const live = await liveKey(m);
      const sandbox = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: { 'x-api-key': live }, body: { environment: 'sandbox' } });
      expect(sandbox.status).toBe(403);
      expect(sandbox.body.error).toBe('environment_mismatch');
      const again = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(live), body: { environment: 'live' } });
      expect(again.status).toBe(401);
      expect(again.body.error).toBe('jwt_required');
    });

    it('a sandbox key cannot rotate the live key; the live key keeps working', async () => {
      const m = await liveReady();
      const live = await liveKey(m);
      const res = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: { 'x-api-key': m.sandboxKey }, body: { environment: 'live' } });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('jwt_required');
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live } })).status).toBe(200);
    });

    it('a sandbox key lists only sandbox keys; a live key only live keys; the dashboard sees both', async () => {
      const m = await liveReady();
      const live = await liveKey(m);
      const asSandbox = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } });
      expect(asSandbox.body.apiKeys.map((k: any) => k.environment)).toEqual(['sandbox']);
      expect(asSandbox.body.apiKey).toMatch(/^bm_sandbox_/);
      expect(asSandbox.text).not.toContain('bm_live_');
      const asLive = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live } });
      expect(asLive.body.apiKeys.map((k: any) => k.environment)).toEqual(['live']);
      const asSession = await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) });
      expect(asSession.body.apiKeys.map((k: any) => k.environment)).toEqual(['live', 'sandbox']);
      // PATCH answers with the same view
      const patched = await server.call('PATCH', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey }, body: { name: 'Renamed by sandbox' } });
      expect(patched.body.apiKeys.map((k: any) => k.environment)).toEqual(['sandbox']);
    });

    it('an API key with a BuffMoney-Environment header naming the other environment is refused', async () => {
      const m = await signupMerchant(server);
      const res = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey, 'buffmoney-environment': 'live' } });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('environment_mismatch');
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey, 'buffmoney-environment': 'sandbox' } })).status).toBe(200);
    });
  });

  describe('live keys need the dashboard session and a fresh TOTP code', () => {
    it('generate-key live: otp missing → 401 otp_required, wrong → otp_invalid, fresh → 200, replayed → otp_invalid', async () => {
      const m = await liveReady();
      const url = '/api/v1/merchants/me/generate-key';
      const missing = await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live' } });
      expect(missing.status).toBe(401);
      expect(missing.body.error).toBe('otp_required');
      const wrong = await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live', otp: '000000' } });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('otp_invalid');
      // the code the 2FA verification used, still inside its 30 s window, is spent already
      const verifyCode = currentTotp(m.totpSecret, clock);
      expect((await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live', otp: verifyCode } })).body.error).toBe('otp_invalid');
      const code = m.otp();
      const ok = await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live', otp: code } });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.apiKey).toMatch(/^bm_live_/);
      // the same code cannot be replayed, e.g. to log in
      const login = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: code } });
      expect(login.body.error).toBe('otp_invalid');
    });

    it('a refused live key (locked) does not spend the code', async () => {
      const m = await signupMerchant(server);
      const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
      await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(enroll.body.secret, clock) } });
      const code = nextOtp(enroll.body.secret);
      const locked = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', otp: code } });
      expect(locked.body.error).toBe('live_access_locked');
      expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: code } })).status).toBe(200);
    });

    it('rotate-key live: needs a fresh otp; a sandbox rotation does not', async () => {
      const m = await liveReady();
      const live = await liveKey(m);
      const url = '/api/v1/merchants/me/rotate-key';
      const missing = await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live' } });
      expect(missing.status).toBe(401);
      expect(missing.body.error).toBe('otp_required');
      expect((await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live', otp: '123456' } })).body.error).toBe('otp_invalid');
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live } })).status).toBe(200); // refused rotations change nothing
      const rotated = await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'live', otp: m.otp() } });
      expect(rotated.status, rotated.text).toBe(200);
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live } })).status).toBe(401);
      expect((await server.call('POST', url, { headers: bearer(m.token), body: { environment: 'sandbox' } })).status).toBe(200);
    });
  });

  describe('where money goes', () => {
    it('a sandbox key can never change receiving addresses, bank account or settlement currency (403 destination_change_forbidden)', async () => {
      const m = await signupMerchant(server, { receivingAddresses: { arbitrum: ADDRESS } });
      for (const body of [
        { receivingAddresses: { arbitrum: OTHER_ADDRESS } },
        { receivingAddresses: {} },
        { bankAccount: BANK },
        { bankAccount: null },
        { settlementCurrency: 'USDT' },
        { name: 'x', settlementCurrency: 'USDC' },
      ]) {
        const res = await server.call('PATCH', '/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey }, body });
        expect(res.status, JSON.stringify(body)).toBe(403);
        expect(res.body.error).toBe('destination_change_forbidden');
      }
      const me = await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) });
      expect(me.body).toMatchObject({ name: expect.stringMatching(/^Merchant/), receivingAddresses: { arbitrum: ADDRESS }, bankAccount: null, settlementCurrency: null });
      // everything else still changes with any key
      const ok = await server.call('PATCH', '/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey }, body: { name: 'Still mine', autoCreateCustomers: true } });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ name: 'Still mine', autoCreateCustomers: true });
    });

    it('from the dashboard: free before 2FA, a fresh otp after; from a live key: no otp (the seed’s UpdateMe path)', async () => {
      const early = await signupMerchant(server);
      expect((await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(early.token), body: { settlementCurrency: 'USDC' } })).status).toBe(200);

      const m = await liveReady();
      const missing = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: { arbitrum: OTHER_ADDRESS } } });
      expect(missing.status).toBe(401);
      expect(missing.body.error).toBe('otp_required');
      const wrong = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: { arbitrum: OTHER_ADDRESS }, otp: '000000' } });
      expect(wrong.body.error).toBe('otp_invalid');
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) })).body.receivingAddresses).toEqual({ arbitrum: ADDRESS });
      // non-money fields need no code
      expect((await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { name: 'Acme renamed' } })).status).toBe(200);
      const withOtp = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: { arbitrum: OTHER_ADDRESS }, otp: m.otp() } });
      expect(withOtp.status, withOtp.text).toBe(200);
      expect(withOtp.body.receivingAddresses).toEqual({ arbitrum: OTHER_ADDRESS });

      const live = await liveKey(m);
      const byLiveKey = await server.call('PATCH', '/v1/merchants/me', { headers: { 'x-api-key': live }, body: { settlementCurrency: 'USDT', bankAccount: BANK } });
      expect(byLiveKey.status, byLiveKey.text).toBe(200);
      expect(byLiveKey.body.settlementCurrency).toBe('USDT');
    });

    it('records every change (who, what, when), masks bank accounts, and starts the 72 h cooling-off', async () => {
      const m = await liveReady();
      const live = await liveKey(m);
      const livePrefix = (await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live } })).body.apiKey;
      const t0 = clock.now().toISOString();

      await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { bankAccount: BANK, otp: m.otp() } });
      const t1 = clock.now().toISOString();
      clock.advance(1000);
      await server.call('PATCH', '/api/v1/merchants/me', {
        headers: { 'x-api-key': live },
        body: { bankAccount: { ...BANK, accountNumber: '6222020200999993445' }, settlementCurrency: 'CNY' },
      });
      const t2 = clock.now().toISOString();
      clock.advance(1000);
      // the same values again: asked for, but nothing changes and nothing is recorded
      const same = await server.call('PATCH', '/api/v1/merchants/me', {
        headers: { 'x-api-key': live },
        body: { settlementCurrency: 'CNY', receivingAddresses: { arbitrum: ADDRESS } },
      });
      expect(same.status).toBe(200);

      const history = await server.call('GET', '/api/v1/merchants/me/destination-history', { headers: bearer(m.token) });
      expect(history.status).toBe(200);
      const masked = { holderName: 'Acme Ltd', accountNumberMasked: '••••3445', bankName: 'ICBC Shanghai', swiftBic: null, cnapsCode: '102290002345', currency: 'CNY' };
      expect(history.body.nextCursor).toBeNull();
      expect(history.body.data.map(({ id, ...rest }: any) => rest)).toEqual([
        // newest first: one row per changed field
        // same last four digits, different account: still a change
        { field: 'bankAccount', before: masked, after: masked, changedAt: t2, credential: 'api_key', apiKeyPrefix: livePrefix },
        { field: 'settlementCurrency', before: null, after: 'CNY', changedAt: t2, credential: 'api_key', apiKeyPrefix: livePrefix },
        { field: 'bankAccount', before: null, after: masked, changedAt: t1, credential: 'jwt', apiKeyPrefix: null },
        { field: 'receivingAddresses', before: {}, after: { arbitrum: ADDRESS }, changedAt: expect.any(String), credential: 'signup', apiKeyPrefix: null },
      ]);
      expect(history.body.data[3].changedAt < t0).toBe(true);
      // readable with any of the merchant's credentials, paginated
      const page1 = await server.call('GET', '/api/v1/merchants/me/destination-history?limit=1', { headers: { 'x-api-key': m.sandboxKey } });
      expect(page1.body.data).toHaveLength(1);
      const page2 = await server.call('GET', `/api/v1/merchants/me/destination-history?limit=3&cursor=${page1.body.nextCursor}`, { headers: { 'x-api-key': live } });
      expect([...page1.body.data, ...page2.body.data]).toEqual(history.body.data);
      expect((await server.call('GET', '/api/v1/merchants/me/destination-history?cursor=bogus', { headers: bearer(m.token) })).body.error).toBe('invalid_cursor');

      // never a plaintext account number at rest
      const rows = await queryRows(server.db, 'select * from merchant_destination_changes where merchant_id = ?', m.id);
      const [stamp] = await queryRows<{ destination_changed_at: string }>(server.db, 'select destination_changed_at from merchants where id = ?', m.id);
      expect(JSON.stringify(rows)).not.toContain('6222020200');
      expect(stamp.destination_changed_at).toBe(t2);

      // settlement's question: held until 72 h after the last change
      expect(DESTINATION_COOLING_OFF_HOURS).toBe(72);
      const hold = await destinationCoolingOff(server.ctx, m.id);
      expect(hold).toEqual({ changedAt: t2, holdUntil: new Date(Date.parse(t2) + 72 * HOUR).toISOString(), coolingOff: true });
      clock.advance(72 * HOUR);
      expect((await destinationCoolingOff(server.ctx, m.id)).coolingOff).toBe(false);
      clock.advance(-72 * HOUR);
      const fresh = await signupMerchant(server);
      expect(await destinationCoolingOff(server.ctx, fresh.id)).toEqual({ changedAt: null, holdUntil: null, coolingOff: false });
    });

    it('the history is append-only in the database itself', async () => {
      const m = await signupMerchant(server, { receivingAddresses: { arbitrum: ADDRESS } });
      await expect(queryRows(server.db, "update merchant_destination_changes set after_value = '{}' where merchant_id = ?", m.id)).rejects.toThrow(/append-only/);
      await expect(queryRows(server.db, 'delete from merchant_destination_changes where merchant_id = ?', m.id)).rejects.toThrow(/append-only/);
    });

    it('staff see the history and the hold: merchants:destination-history, for finance and admin', async () => {
      const h: Harness = await openHarness({ ctx: server.ctx, clock });
      try {
        const m = await signupMerchant(server, { receivingAddresses: { arbitrum: ADDRESS } });
        await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: { arbitrum: OTHER_ADDRESS } } });
        const finance = await h.staff('finance');
        const res = await h.run(finance, 'merchants:destination-history', { merchant: m.id });
        expect(res).toMatchObject({ ok: true, data: { merchantId: m.id, coolingOff: true } });
        expect(res.ok && res.data.items.map((i: any) => [i.field, i.credential, i.after])).toEqual([
          ['receivingAddresses', 'jwt', { arbitrum: OTHER_ADDRESS }],
          ['receivingAddresses', 'signup', { arbitrum: ADDRESS }],
        ]);
        const support = await h.staff('support');
        expect(await h.run(support, 'merchants:destination-history', { merchant: m.id })).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
      } finally {
        await h.close();
      }
    });
  });

  describe('sessions and the environment header', () => {
    const sign = (claims: { iat?: number; exp?: number }, sub: string) => {
      let jwt = new SignJWT({ typ: 'merchant' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuer('buffmoney');
      if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
      return jwt.sign(server.ctx.secrets.jwtSecret);
    };

    it('refuses a JWT without exp, without iat, living over 24 h, or issued in the future (401 token_invalid)', async () => {
      const m = await signupMerchant(server);
      const now = Math.floor(clock.now().getTime() / 1000);
      for (const claims of [
        { iat: now },
        { exp: now + 3600 },
        { iat: now, exp: now + 24 * 3600 + 1 },
        { iat: now - 3600, exp: now + 365 * 86400 },
        { iat: now + 86400, exp: now + 2 * 86400 },
      ]) {
        const res = await server.call('GET', '/api/v1/merchants/me', { headers: bearer(await sign(claims, m.id)) });
        expect(res.status, JSON.stringify(claims)).toBe(401);
        expect(res.body).toEqual({ ok: false, error: 'token_invalid', message: 'Invalid or expired token' });
      }
      expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(await sign({ iat: now, exp: now + 24 * 3600 }, m.id)) })).status).toBe(200);
    });

    it('an unknown BuffMoney-Environment value is 400 environment_invalid, not silently sandbox; only lowercase sandbox and live', async () => {
      const m = await signupMerchant(server);
      for (const value of ['production', 'Live', 'SANDBOX', 'sandbox,live', '']) {
        const res = await server.call('GET', '/api/v1/customers', { headers: { ...bearer(m.token), 'buffmoney-environment': value } });
        expect(res.status, JSON.stringify(value)).toBe(400);
        expect(res.body.error).toBe('environment_invalid');
      }
      for (const value of ['sandbox', 'live']) {
        expect((await server.call('GET', '/api/v1/customers', { headers: { ...bearer(m.token), 'buffmoney-environment': value } })).status).toBe(200);
      }
    });
  });
});
