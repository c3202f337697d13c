import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../core/auth/totp.js';
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
