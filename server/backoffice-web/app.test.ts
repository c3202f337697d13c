import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../core/auth/totp.js';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { signup } from '../../core/merchants/accounts.js';
import { createStaff } from '../../core/staff/index.js';
import { type Harness, type TestStaff, openHarness } from '../../core/backoffice/testing/harness.js';
import { type RunningBackOfficeWeb, SESSION_COOKIE, startBackOfficeWeb } from './app.js';

/** Real HTTP on loopback against a real SQLite file: the transport the browser build uses. */

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

let h: Harness;
let web: RunningBackOfficeWeb;
let admin: TestStaff;

function request(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; cookie?: string } = {}): Promise<Reply> {
  const payload = options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  const headers: Record<string, string> = {
    origin: web.url,
    'content-type': 'application/json',
    ...(options.cookie ? { cookie: options.cookie } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(`${web.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

const freshOtp = (who: TestStaff) => {
  h.clock.advance(30_000);
  return totpCode(who.totpSecret, h.clock.now());
};

async function signIn(who: TestStaff): Promise<string> {
  const res = await request('POST', '/backoffice/sign-in', { body: { email: who.email, password: who.password, otp: freshOtp(who) } });
  expect(res.status).toBe(200);
  const cookie = String(res.headers['set-cookie']?.[0] ?? '');
  return cookie.split(';')[0];
}

beforeAll(async () => {
  h = await openHarness();
  admin = await h.staff('admin');
  web = await startBackOfficeWeb({ ctx: h.ctx });
});
afterAll(async () => {
  await web?.close();
  await h?.close();
});

describe('the back office over loopback HTTP', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('signs in with password and TOTP, keeping the session in an HttpOnly SameSite=Strict cookie the page never sees', async () => {
    const res = await request('POST', '/backoffice/sign-in', { body: { email: admin.email, password: admin.password, otp: freshOtp(admin) } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, data: { staff: { email: admin.email, role: 'admin' } } });
    expect(JSON.stringify(res.body)).not.toContain('session');
    const cookie = String(res.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/backoffice');
    const me = await request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie: cookie.split(';')[0] });
    expect(me.body).toMatchObject({ ok: true, data: { email: admin.email } });
    const restored = await request('POST', '/backoffice/session', { body: {}, cookie: cookie.split(';')[0] });
    expect(restored.body).toMatchObject({ ok: true, data: { staff: { email: admin.email } } });
  });

  it('refuses a wrong code with a typed error, not an exception', async () => {
    const res = await request('POST', '/backoffice/sign-in', { body: { email: admin.email, password: admin.password, otp: '000000' } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ ok: false, error: expect.objectContaining({ code: 'otp_invalid', message: expect.any(String) }) });
  });

  it('runs commands through the registry: no session, step-up, then the command itself', async () => {
    const anonymous = await request('POST', '/backoffice/rpc/fx:list', { body: { input: {} } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.ok).toBe(false);

    const cookie = await signIn(admin);
    const input = { from: 'USD', to: 'CNY', rate: '7.1234' };
    const noCode = await request('POST', '/backoffice/rpc/fx:set', { body: { input }, cookie });
    expect(noCode.body).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    const set = await request('POST', '/backoffice/rpc/fx:set', { body: { input, otp: freshOtp(admin) }, cookie });
    expect(set.body).toMatchObject({ ok: true, data: { pair: 'USD/CNY', rate: '7.1234' } });
    const list = await request('POST', '/backoffice/rpc/fx:list', { body: { input: { pair: 'USD/CNY' } }, cookie });
    expect(list.body.data.items.map((r: { rate: string }) => r.rate)).toContain('7.1234');

    const invalid = await request('POST', '/backoffice/rpc/fx:list', { body: { input: { limit: 'many' } }, cookie });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
  });

  it('parses the envelope strictly and knows only the registry’s commands', async () => {
    const cookie = await signIn(admin);
    expect((await request('POST', '/backoffice/rpc/fx:list', { body: { input: {}, extra: 1 }, cookie })).body.error.code).toBe('validation_failed');
    expect((await request('POST', '/backoffice/rpc/fx:list', { body: { input: [] }, cookie })).body.error.code).toBe('validation_failed');
    expect((await request('POST', '/backoffice/rpc/fx:list', { raw: '{not json', cookie })).body.error.code).toBe('json_invalid');
    const unknown = await request('POST', '/backoffice/rpc/constructor', { body: {}, cookie });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('command_unknown');
  });

  it('refuses other origins, other sites, other hosts, other methods and non-JSON bodies, and never answers with CORS', async () => {
    const cookie = await signIn(admin);
    const cases: Array<[Promise<Reply>, number, string]> = [
      [request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie, headers: { origin: 'https://evil.example' } }), 403, 'origin_refused'],
      [request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie, headers: { origin: 'null' } }), 403, 'origin_refused'],
      [request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'origin_refused'],
      [request('POST', '/backoffice/rpc/staff:me', { raw: '{}', cookie, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
      [request('GET', '/backoffice/rpc/staff:me', { cookie }), 405, 'method_not_allowed'],
      [request('OPTIONS', '/backoffice/rpc/staff:me', { cookie, headers: { 'access-control-request-method': 'POST' } }), 405, 'method_not_allowed'],
      [request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie, headers: { host: 'attacker.example' } }), 421, 'host_refused'],
    ];
    const noOrigin = request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie, headers: { origin: '' } });
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect((await noOrigin).status).toBe(403);
  });

  it('sends a strict CSP and no-store', async () => {
    const res = await request('POST', '/backoffice/rpc/staff:me', { body: {} });
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('signs out: the cookie is cleared and the session ends', async () => {
    const cookie = await signIn(admin);
    const out = await request('POST', '/backoffice/sign-out', { body: {}, cookie });
    expect(out.body).toEqual({ ok: true, data: { ended: true } });
    expect(String(out.headers['set-cookie']?.[0])).toContain('Max-Age=0');
    const after = await request('POST', '/backoffice/rpc/staff:me', { body: {}, cookie });
    expect(after.status).toBe(401);
  });
});

/** A streamed answer (Accept: application/x-ndjson): its lines, parsed, in arrival order. */
function streamed(path: string, cookie: string, body: unknown): Promise<{ status: number; contentType: string; lines: any[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${web.url}${path}`,
      { method: 'POST', headers: { origin: web.url, 'content-type': 'application/json', accept: 'application/x-ndjson', cookie } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            lines: text
              .split('\n')
              .filter((l) => l.trim())
              .map((l) => JSON.parse(l)),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function expectProgressThenResult(lines: any[]) {
  const progress = lines.slice(0, -1);
  expect(progress.length).toBeGreaterThan(0);
  for (const line of progress) expect(Object.keys(line)).toEqual(['progress']);
  expect(progress.at(-1).progress.done).toBe(progress.at(-1).progress.total);
  const dones = progress.map((l: any) => l.progress.done);
  expect(dones).toEqual([...dones].sort((a, b) => a - b));
  expect(lines.at(-1).ok).toBe(true);
}

describe('progress of long commands, streamed as NDJSON lines before the result', () => {
  it('fx:import reports its rows as they are written, then answers', async () => {
    const cookie = await signIn(admin);
    const rows = Array.from(
      { length: 1200 },
      (_, i) => `USD,CNY,7.${String(1000 + i)},2025-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z,test`,
    );
    const csv = ['from,to,rate,effectiveAt,source', ...rows].join('\n');
    const res = await streamed('/backoffice/rpc/fx:import', cookie, { input: { csv }, otp: freshOtp(admin) });
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('application/x-ndjson');
    expectProgressThenResult(res.lines);
    expect(res.lines[0].progress).toEqual({ done: 0, total: 1200 });
    expect(res.lines.at(-1).data).toMatchObject({ imported: 1200, pairs: ['USD/CNY'] });
  });

  it('invoices:generate reports each period, then answers with the run', async () => {
    const m = await signup(h.ctx, { name: 'Progress Co', email: 'progress@merchant.test', password: 'merchant password' } as never);
    const scope = { merchantId: m.id, environment: 'sandbox' as const };
    await setFxRate(h.ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1', effectiveAt: '2026-01-01T00:00:00Z' }), null);
    const product = await createProduct(h.ctx, scope, { key: 'chat', name: 'Chat' } as never);
    const card = await createRateCard(h.ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' }] } as never);
    await publishRateCard(h.ctx, scope, card.id);
    for (const c of ['c1', 'c2', 'c3']) {
      await createCustomer(h.ctx, scope, { externalId: c, name: c } as never);
      await createContract(h.ctx, scope, { customerExternalId: c, rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-04-01T00:00:00Z' } as never);
    }
    const cookie = await signIn(admin);
    const res = await streamed('/backoffice/rpc/invoices:generate', cookie, { input: { merchant: m.id } });
    expect(res.status).toBe(200);
    expectProgressThenResult(res.lines);
    expect(res.lines.at(-2).progress).toEqual({ done: 3, total: 3 });
    expect(res.lines.at(-1).data.created).toHaveLength(3);
  });

  it('answers refusals before the work starts as ordinary JSON with their status, and ignores progress without the header', async () => {
    const cookie = await signIn(admin);
    const noCode = await streamed('/backoffice/rpc/fx:import', cookie, { input: { csv: 'from,to,rate\nUSD,CNY,7.2' } });
    expect(noCode.status).toBe(403);
    expect(noCode.contentType).toContain('application/json');
    expect(noCode.lines).toEqual([{ ok: false, error: expect.objectContaining({ code: 'step_up_required' }) }]);
    const plain = await request('POST', '/backoffice/rpc/fx:import', { body: { input: { csv: 'from,to,rate\nUSD,CNY,7.2' }, otp: freshOtp(admin) }, cookie });
    expect(plain.headers['content-type']).toContain('application/json');
    expect(plain.body).toMatchObject({ ok: true, data: { imported: 1 } });
  });
});

describe('first sign-in enrolment over loopback HTTP', () => {
  it('gives a new staff member a fresh secret for their QR code, then signs in with it; refuses once enrolled', async () => {
    const created = await createStaff(h.ctx, { email: 'newcomer@buffmoney.test', role: 'support', password: 'newcomer password' }, admin.id);
    const enrol = await request('POST', '/backoffice/enrol', { body: { email: 'newcomer@buffmoney.test', password: 'newcomer password' } });
    expect(enrol.status).toBe(200);
    expect(enrol.body.ok).toBe(true);
    expect(enrol.body.data.otpauthUri).toContain(`secret=${enrol.body.data.secret}`);
    expect(enrol.body.data.secret).not.toBe(created.totpSecret);
    expect(enrol.headers['set-cookie']).toBeUndefined();
    h.clock.advance(30_000);
    const signedIn = await request('POST', '/backoffice/sign-in', {
      body: { email: 'newcomer@buffmoney.test', password: 'newcomer password', otp: totpCode(enrol.body.data.secret, h.clock.now()) },
    });
    expect(signedIn.body).toMatchObject({ ok: true, data: { staff: { twoFactorEnrolled: true } } });
    const again = await request('POST', '/backoffice/enrol', { body: { email: 'newcomer@buffmoney.test', password: 'newcomer password' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'already_enrolled']);
  });

  it('refuses a wrong password as sign-in does, strict envelopes, and other origins', async () => {
    const wrong = await request('POST', '/backoffice/enrol', { body: { email: admin.email, password: 'not it' } });
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'invalid_credentials']);
    const extra = await request('POST', '/backoffice/enrol', { body: { email: admin.email, password: 'x', otp: '123456' } });
    expect(extra.body.error.code).toBe('validation_failed');
    const foreign = await request('POST', '/backoffice/enrol', { body: { email: admin.email, password: 'x' }, headers: { origin: 'https://evil.example' } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'origin_refused']);
  });
});

describe('staff sign-in rate limit over loopback HTTP', () => {
  it('refuses the 11th sign-in (or enrolment) attempt in a minute from one IP with 429 rate_limited and Retry-After, before checking credentials', async () => {
    h.clock.advance(120_000); // a fresh window, whatever the tests above counted
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await request('POST', '/backoffice/sign-in', { body: { email: 'nobody@buffmoney.test', password: 'guess', otp: '000000' } })).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
    // Even the right credentials are refused now: the limit is per IP, not per account.
    const limited = await request('POST', '/backoffice/sign-in', { body: { email: admin.email, password: admin.password, otp: totpCode(admin.totpSecret, h.clock.now()) } });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ ok: false, error: { code: 'rate_limited', message: expect.stringMatching(/^Too many sign-in attempts/) } });
    expect(Number(limited.headers['retry-after'])).toBe(60);
    // Enrolment checks the password too: the same limit.
    const enrol = await request('POST', '/backoffice/enrol', { body: { email: 'nobody@buffmoney.test', password: 'guess' } });
    expect([enrol.status, enrol.body.error.code]).toEqual([429, 'rate_limited']);
    h.clock.advance(60_000);
    await signIn(admin);
  });
});
