import { queryRows } from '../../core/testing/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, ManualClock } from '../../core/context/index.js';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

const json = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

describe('signup (POST /api/v1/merchants and /v1/merchants)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ resolveHost: async () => ['93.184.216.34'] });
  });
  afterAll(async () => server.stop());

  it('creates the merchant and answers 201 with exactly the documented fields and a JWT', async () => {
    const res = await server.call('POST', '/v1/merchants', {
      body: {
        name: 'Acme Store',
        email: 'Hello@Acme.IO',
        password: 'supersecret',
        webhookUrl: 'https://acme.io/webhooks/butter',
        receivingAddresses: { arbitrum: '0xf962939089c02ca84dbc6ea320b8a77d0c2738ce' },
      },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'serviceFeeBps', 'token'].sort());
    expect(res.body).toMatchObject({ name: 'Acme Store', email: 'hello@acme.io', serviceFeeBps: 80 });
    expect(res.body.id).toMatch(/^mer_[0-9a-z]{26}$/);
    expect(res.body.token.split('.')).toHaveLength(3);

    const me = await server.call('GET', '/api/v1/merchants/me', { headers: json(res.body.token) });
    expect(me.status).toBe(200);
    expect(me.body.receivingAddresses).toEqual({ arbitrum: '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE' }); // EIP-55
    expect(me.body.webhookUrl).toBe('https://acme.io/webhooks/butter');
    for (const v2 of ['onChainMerchantId', 'chainId', 'chainActive', 'receiverAddress', 'adminAddress', 'metadataHash', 'registeredAt']) {
      expect(me.body[v2]).toBeNull();
    }
    expect(me.body.apiKeyGenerated).toBe(false);
    expect(me.body.apiKey).toBeNull();
  });

  it('refuses a second account for the same email, whatever its case (409)', async () => {
    await server.call('POST', '/api/v1/merchants', { body: { name: 'A', email: 'dup@example.com', password: 'supersecret' } });
    const again = await server.call('POST', '/api/v1/merchants', { body: { name: 'B', email: 'DUP@example.com', password: 'supersecret' } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ ok: false, error: 'email_already_registered', message: 'Email already registered' });
  });

  it.each([
    [{ name: 'A', email: 'short@example.com', password: 'seven77' }, /password: must be at least 8 characters/],
    [{ name: 'A', email: 'not-an-email', password: 'supersecret' }, /email/],
    [{ email: 'noname@example.com', password: 'supersecret' }, /name/],
    [{ name: 'A', email: 'bad-addr@example.com', password: 'supersecret', receivingAddresses: { arbitrum: '0x1234' } }, /receivingAddresses/],
    [{ name: 'A', email: 'fee@example.com', password: 'supersecret', serviceFeeBps: 1.5 }, /serviceFeeBps/],
    [{ name: 'A', email: 'extra@example.com', password: 'supersecret', role: 'admin' }, /role|Unrecognized/i],
  ])('refuses invalid input %# with 400 validation_failed', async (body, message) => {
    const res = await server.call('POST', '/api/v1/merchants', { body });
    expect(res.status).toBe(400);
    expect(res.body.ok).toBe(false);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.message).toMatch(message);
  });

  it('refuses a webhook URL that fails SSRF validation', async () => {
    const res = await server.call('POST', '/api/v1/merchants', {
      body: { name: 'A', email: 'ssrf@example.com', password: 'supersecret', webhookUrl: 'http://169.254.169.254/latest' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('webhook_url_invalid');
  });

  it('accepts a custom serviceFeeBps at or above the platform default, refuses one below it', async () => {
    const higher = await server.call('POST', '/api/v1/merchants', { body: { name: 'A', email: 'fee120@example.com', password: 'supersecret', serviceFeeBps: 120 } });
    expect(higher.status).toBe(201);
    expect(higher.body.serviceFeeBps).toBe(120);
    const lower = await server.call('POST', '/api/v1/merchants', { body: { name: 'A', email: 'fee10@example.com', password: 'supersecret', serviceFeeBps: 10 } });
    expect(lower.status).toBe(400);
    expect(lower.body.error).toBe('service_fee_below_minimum');
  });

  it('stores only a bcrypt (cost 12) hash of the password and never a plaintext secret', async () => {
    const m = await signupMerchant(server);
    {
      const [row] = await queryRows<{ password_hash: string }>(server.db, 'select password_hash from merchants where id = ?', m.id);
      expect(row.password_hash).toMatch(/^\$2[aby]\$12\$/);
      const secretPart = m.sandboxKey.split('.')[1];
      // Every text column of every table: neither the password nor the key's secret appears.
      const tables = await server.db.kysely.introspection.getTables({ withInternalKyselyTables: true });
      for (const { name } of tables) {
        const rows = await queryRows(server.db, `select * from "${name}"`);
        for (const r of rows) {
          for (const v of Object.values(r)) {
            const s = Buffer.isBuffer(v) ? v.toString('latin1') : String(v);
            expect(s.includes(m.password)).toBe(false);
            expect(s.includes(secretPart)).toBe(false);
            expect(s.includes(m.sandboxKey)).toBe(false);
          }
        }
      }
    }
  });
});

describe('login and sessions', () => {
  let server: TestServer;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    server = await startTestServer({ clock });
  });
  afterAll(async () => server.stop());

  it('returns a JWT and the merchant with only the key prefix; email is case-insensitive', async () => {
    const m = await signupMerchant(server);
    const res = await server.call('POST', '/v1/auth/login', { body: { email: m.email.toUpperCase(), password: m.password } });
    expect(res.status).toBe(200);
    expect(res.body.token).toBeTruthy();
    expect(res.body.merchant.id).toBe(m.id);
    expect(res.body.merchant.apiKey).toMatch(/^bm_sandbox_[0-9A-Za-z]{8}…$/);
    expect(res.body.merchant.apiKey).not.toContain(m.sandboxKey.split('.')[1]);
    const me = await server.call('GET', '/v1/auth/me', { headers: json(res.body.token) });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(m.email);
  });

  it('answers 401 identically for a wrong password and an unknown email (no user enumeration)', async () => {
    const m = await signupMerchant(server);
    const wrong = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: 'wrong-password' } });
    const unknown = await server.call('POST', '/api/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong-password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toBe(unknown.text);
    expect(wrong.body).toEqual({ ok: false, error: 'invalid_credentials', message: 'Invalid email or password' });
  });

  it('JWTs expire after 24 hours; garbage and missing tokens are 401', async () => {
    const m = await signupMerchant(server);
    clock.advance(23 * HOUR);
    expect((await server.call('GET', '/api/v1/auth/me', { headers: json(m.token) })).status).toBe(200);
    clock.advance(1 * HOUR + 1000);
    const expired = await server.call('GET', '/api/v1/auth/me', { headers: json(m.token) });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ ok: false, error: 'token_invalid', message: 'Invalid or expired token' });
    const garbage = await server.call('GET', '/api/v1/auth/me', { headers: json('not.a.jwt') });
    expect(garbage.status).toBe(401);
    const none = await server.call('GET', '/api/v1/auth/me');
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('auth_required');
    // a token signed with another secret is refused
    const forged = m.token.slice(0, m.token.lastIndexOf('.') + 1) + 'AAAA';
    expect((await server.call('GET', '/api/v1/auth/me', { headers: json(forged) })).status).toBe(401);
    clock.advance(-DAY);
  });

  it('auth/me is a JWT endpoint: an API key there is refused', async () => {
    const m = await signupMerchant(server);
    const res = await server.call('GET', '/api/v1/auth/me', { headers: { 'x-api-key': m.sandboxKey } });
    expect(res.status).toBe(401);
  });
});

describe('rate limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ realRateLimits: true });
  });
  afterAll(async () => server.stop());

  it('login: the 11th attempt in a minute from one IP gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await server.call('POST', '/api/v1/auth/login', { body: { email: 'x@example.com', password: 'whatever1' } })).status);
    }
    expect(statuses.every((s) => s === 401)).toBe(true);
    const limited = await server.call('POST', '/v1/auth/login', { body: { email: 'x@example.com', password: 'whatever1' } });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('signup: the 6th attempt in a minute from one IP gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await server.call('POST', '/api/v1/merchants', { body: { name: 'R', email: `rl${i}@example.com`, password: 'x' } })).status);
    }
    expect(statuses.every((s) => s === 400)).toBe(true); // counted even when the input is bad
    const limited = await server.call('POST', '/api/v1/merchants', { body: { name: 'R', email: 'rl-last@example.com', password: 'supersecret' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
