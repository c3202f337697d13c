import { queryRows } from '../../core/testing/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../core/context/index.js';
import { decideKyb } from '../../core/merchants/kyb.js';
import { currentTotp, signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const KEY_FORMAT = /^bm_(sandbox|live)_[0-9A-Za-z]{12}\.[0-9A-Za-z]{43}$/;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

/** A code from the next TOTP step (moves the clock 30 s): never used before. */
function nextOtp(clock: ManualClock, secret: string): string {
  clock.advance(30_000);
  return currentTotp(secret, clock);
}

/**
 * Brings a merchant to live readiness: 2FA, a receiving address, KYB submitted and approved.
 * Returns a source of fresh TOTP codes (live keys need one).
 */
async function unlockLive(server: TestServer, clock: ManualClock, m: { id: string; token: string }): Promise<() => string> {
  const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
  await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(enroll.body.secret, clock) } });
  const otp = () => nextOtp(clock, enroll.body.secret);
  const patched = await server.call('PATCH', '/api/v1/merchants/me', {
    headers: bearer(m.token),
    body: { receivingAddresses: { arbitrum: '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE' }, otp: otp() },
  });
  expect(patched.status, patched.text).toBe(200);
  const form = new FormData();
  form.set('companyName', 'Acme Ltd');
  form.set('registrationNumber', '91310000MA1FL0000X');
  form.set('country', 'CN');
  for (const kind of ['companyRegistration', 'ownerId', 'bankProof']) form.set(kind, new Blob([PDF]), `${kind}.pdf`);
  const kyb = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: form });
  expect(kyb.status).toBe(201);
  await decideKyb(server.ctx, m.id, 'stf_test_reviewer', { decision: 'approve' });
  return otp;
}

describe('API keys: generate, authenticate, rotate', () => {
  let server: TestServer;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    server = await startTestServer({ clock });
  });
  afterAll(async () => server.stop());

  it('a sandbox key works right after signup, as Bearer and as X-Api-Key, shown in full once', async () => {
    const m = await signupMerchant(server);
    expect(m.sandboxKey).toMatch(KEY_FORMAT);
    expect(m.sandboxKey.startsWith('bm_sandbox_')).toBe(true);
    for (const headers of [{ 'x-api-key': m.sandboxKey }, bearer(m.sandboxKey)]) {
      const me = await server.call('GET', '/v1/merchants/me', { headers });
      expect(me.status).toBe(200);
      expect(me.body.apiKeyGenerated).toBe(true);
      expect(me.body.apiKey).toBe(`bm_sandbox_${m.sandboxKey.slice(11, 19)}…`);
      expect(JSON.stringify(me.body)).not.toContain(m.sandboxKey.split('.')[1]);
    }
  });

  it('generate-key answers with the documented message, and refuses a second key of the same environment', async () => {
    const signup = await server.call('POST', '/api/v1/merchants', { body: { name: 'K', email: 'gen@example.com', password: 'supersecret' } });
    const first = await server.call('POST', '/v1/merchants/me/generate-key', { headers: bearer(signup.body.token) });
    expect(first.status).toBe(200);
    expect(first.body.message).toBe('Store this key securely. It will not be shown again.');
    expect(first.body.environment).toBe('sandbox');
    expect(first.body.scopes).toEqual([
      'catalog:read',
      'catalog:write',
      'checkout:write',
      'customers:read',
      'customers:write',
      'invoice:read',
      'usage:read',
      'usage:write',
      'webhooks:read',
      'webhooks:write',
    ]);
    const second = await server.call('POST', '/v1/merchants/me/generate-key', { headers: { 'x-api-key': first.body.apiKey } });
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ ok: false, error: 'api_key_exists', message: 'API Key already exists. Use the Rotate button to generate a new one.' });
  });

  it('wrong, malformed or unknown keys are 401 api_key_invalid', async () => {
    const m = await signupMerchant(server);
    const tampered = m.sandboxKey.slice(0, -1) + (m.sandboxKey.endsWith('A') ? 'B' : 'A');
    for (const key of [tampered, 'bm_sandbox_nope', 'bm_live_AAAAAAAAAAAA.' + 'a'.repeat(43), m.sandboxKey.replace('bm_sandbox_', 'bm_live_')]) {
      const res = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': key } });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('api_key_invalid');
    }
  });

  it('a live key is refused, naming what is missing, until KYB, 2FA and a destination are all in place', async () => {
    const m = await signupMerchant(server);
    const refused = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('live_access_locked');
    expect(refused.body.missing).toEqual(['kyb_approval', 'two_factor', 'settlement_destination']);
    expect(refused.body.message).toContain('KYB approval');
    expect(refused.body.message).toContain('2FA');
    expect(refused.body.message).toContain('Activate on-chain (or set a receiving address) before generating an API key.');

    // Only the destination missing → the merchants API document's own message.
    const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
    await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(enroll.body.secret, clock) } });
    await queryRows(server.db, "update merchants set kyb_status = 'approved' where id = ?", m.id);
    const onlyDestination = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live' } });
    expect(onlyDestination.body).toEqual({
      ok: false,
      error: 'live_access_locked',
      message: 'Activate on-chain (or set a receiving address) before generating an API key.',
      missing: ['settlement_destination'],
    });
    // A bank account is a destination too (2FA is on: changing it takes a fresh code).
    const patched = await server.call('PATCH', '/api/v1/merchants/me', {
      headers: bearer(m.token),
      body: {
        bankAccount: { holderName: 'Acme Ltd', iban: 'DE89 3704 0044 0532 0130 00', bankName: 'Commerzbank', swiftBic: 'COBADEFFXXX', currency: 'EUR' },
        otp: nextOtp(clock, enroll.body.secret),
      },
    });
    expect(patched.body.liveAccess).toEqual({ unlocked: true, missing: [] });
    const live = await server.call('POST', '/api/v1/merchants/me/generate-key', {
      headers: bearer(m.token),
      body: { environment: 'live', otp: nextOtp(clock, enroll.body.secret) },
    });
    expect(live.status).toBe(200);
    expect(live.body.apiKey).toMatch(/^bm_live_/);
  });

  it('sandbox and live keys are separate credentials of separate environments', async () => {
    const m = await signupMerchant(server);
    const otp = await unlockLive(server, clock, m);
    const live = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', scopes: ['usage:write'], otp: otp() } });
    expect(live.status).toBe(200);
    expect(live.body.scopes).toEqual(['usage:write']);
    const me = await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) });
    expect(me.body.apiKey).toBe(live.body.prefix); // the live prefix is shown once a live key exists
    expect(me.body.apiKeys.map((k: any) => k.environment)).toEqual(['live', 'sandbox']);
    // a key sees only its own environment's keys
    const asLive = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live.body.apiKey } });
    expect(asLive.body.apiKeys.map((k: any) => k.environment)).toEqual(['live']);
    // Rotating the sandbox key leaves the live key working, and vice versa.
    const rotated = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { environment: 'sandbox' } });
    expect(rotated.status).toBe(200);
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': live.body.apiKey } })).status).toBe(200);
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } })).status).toBe(401);
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': rotated.body.apiKey } })).status).toBe(200);
  });

  it('rotation needs a JWT: an API key or no credentials get the documented 401', async () => {
    const m = await signupMerchant(server);
    for (const headers of [{ 'x-api-key': m.sandboxKey }, bearer(m.sandboxKey), {}] as Array<Record<string, string>>) {
      const res = await server.call('POST', '/v1/merchants/me/rotate-key', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ ok: false, error: 'jwt_required', message: 'JWT required for key rotation (Dashboard login)' });
    }
    const badJwt = await server.call('POST', '/v1/merchants/me/rotate-key', { headers: bearer('eyJhbGciOiJIUzI1NiJ9.e30.x') });
    expect(badJwt.body).toEqual({ ok: false, error: 'token_invalid', message: 'Invalid or expired token' });
  });

  it('rotation invalidates the old key at once and returns the new one with the documented message', async () => {
    const m = await signupMerchant(server);
    const res = await server.call('POST', '/v1/merchants/me/rotate-key', { headers: bearer(m.token) });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Store this key securely. It cannot be retrieved again.');
    expect(res.body.apiKey).toMatch(KEY_FORMAT);
    expect(res.body.apiKey).not.toBe(m.sandboxKey);
    const old = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } });
    expect(old.status).toBe(401);
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': res.body.apiKey } })).status).toBe(200);
    // Sandbox keys have no cooldown.
    expect((await server.call('POST', '/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { environment: 'sandbox' } })).status).toBe(200);
  });

  it('live keys rotate at most once every 180 days: 429 with the days left and Retry-After', async () => {
    const m = await signupMerchant(server);
    const otp = await unlockLive(server, clock, m);
    await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', otp: otp() } });
    const first = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { otp: otp() } }); // defaults to live
    expect(first.status).toBe(200);
    expect(first.body.environment).toBe('live');
    const second = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token) });
    expect(second.status).toBe(429);
    expect(second.body.error).toBe('rotation_cooldown');
    expect(second.body.message).toBe('API Key can only be rotated once every 180 days. Try again in 180 days.');
    expect(Number(second.headers.get('retry-after'))).toBe(180 * 86400);
    // The first key of the pair still works: a refused rotation changes nothing.
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': first.body.apiKey } })).status).toBe(200);

    clock.advance(100 * DAY);
    const login = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: '000000' } });
    expect(login.status).toBe(401); // 2FA on: a wrong code is refused…
    const fresh = (await import('../../core/auth/jwt.js')).issueMerchantJwt(server.ctx.secrets.jwtSecret, m.id, clock.now());
    const later = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(await fresh) });
    expect(later.body.message).toBe('API Key can only be rotated once every 180 days. Try again in 80 days.');
    clock.advance(80 * DAY);
    const code = otp();
    const allowed = await server.call('POST', '/api/v1/merchants/me/rotate-key', {
      headers: bearer(await (await import('../../core/auth/jwt.js')).issueMerchantJwt(server.ctx.secrets.jwtSecret, m.id, clock.now())),
      body: { otp: code },
    });
    expect(allowed.status).toBe(200);
    clock.advance(-180 * DAY);
  });

  it('scopes can be narrowed on rotation and unknown scopes are refused', async () => {
    const m = await signupMerchant(server);
    const narrowed = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { environment: 'sandbox', scopes: ['invoice:read'] } });
    expect(narrowed.body.scopes).toEqual(['invoice:read']);
    const bad = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { scopes: ['root'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('validation_failed');
  });

  it('a suspended merchant’s key is refused with 403 at once; its JWT may still read its profile', async () => {
    const m = await signupMerchant(server);
    await queryRows(server.db, "update merchants set status = 'suspended' where id = ?", m.id);
    const res = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('merchant_suspended');
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) })).status).toBe(200);
    expect((await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { name: 'x' } })).status).toBe(403);
  });
});

describe('deactivated merchants', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server.stop());

  it('GetMe answers 404; auth/me and every other call answer 401', async () => {
    const m = await signupMerchant(server);
    await queryRows(server.db, "update merchants set status = 'deactivated' where id = ?", m.id);
    for (const headers of [{ 'x-api-key': m.sandboxKey }, bearer(m.token)]) {
      const me = await server.call('GET', '/v1/merchants/me', { headers });
      expect(me.status).toBe(404);
      expect(me.body.error).toBe('merchant_not_found');
    }
    expect((await server.call('GET', '/v1/auth/me', { headers: bearer(m.token) })).status).toBe(401);
    expect((await server.call('PATCH', '/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey }, body: { name: 'x' } })).status).toBe(401);
    expect((await server.call('POST', '/v1/auth/login', { body: { email: m.email, password: m.password } })).status).toBe(401);
  });
});
