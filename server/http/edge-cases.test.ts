import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { createTestDatabase } from '../../core/testing/database.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { createUsageIngest, installUsageIngest } from '../../core/usage/ingest.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { createRequestListener } from '../app.js';
import { loadConfig } from '../config.js';
import { allRoutes } from '../routes/index.js';
import { failingReadinessChecks } from './health.js';
import type { RouteSpec } from './route.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
}

/**
 * Sends exactly `head` (+ body) over a socket, so nothing normalises the path or adds a
 * Content-Type / Content-Length (fetch and node:http both would).
 */
function rawRequest(base: string, head: string, body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const split = raw.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = raw.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const text = raw.slice(split + 4);
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, body: parsed });
    });
    socket.write(`${head.trimEnd()}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/** node:http with an exact path (no URL normalisation) and whatever headers and body given. */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A body is sent with its Content-Length: node sends no framing for a DELETE body otherwise.
    const framed =
      body === undefined || Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(base, { method, path, headers: framed }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, text, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A concrete path for a route: every parameter filled with a plausible value. */
const concrete = (spec: Pick<RouteSpec, 'path'>) => spec.path.replace(/:[A-Za-z]+/g, 'x1');

const routes = allRoutes({ ctx: { db: { capabilities: { name: 'sqlite' }, exclusive: async () => undefined } } as never, config: loadConfig({}) });
const jsonBodyRoutes = routes.filter((r) => r.bodyType !== 'multipart' && (r.body || r.method !== 'get'));
const parsedJsonRoutes = routes.filter((r) => r.body && r.bodyType !== 'multipart' && r.bodyType !== 'raw');
const withAliases = <T extends RouteSpec>(list: T[]) => [
  ...list.map((r) => ({ spec: r, path: `/api/v1${concrete(r)}` })),
  ...list.filter((r) => r.legacyV1).map((r) => ({ spec: r, path: `/v1${concrete(r)}` })),
];

describe('HTTP edge cases', () => {
  let server: TestServer;
  let key: string;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    const m = await signupMerchant(server);
    key = m.sandboxKey;
    token = m.token;
  });
  afterAll(async () => server.stop());

  describe('a malformed percent-escape in the path', () => {
    const paths = [
      ['GET', '/api/v1/products/%E0'],
      ['GET', '/api/v1/customers/%ZZ/usage'],
      ['PATCH', '/api/v1/customers/%C3%28'],
      ['GET', '/v1/merchants/%E0'],
      ['GET', '/api/v1/nope/%ZZ'],
      ['GET', '/%ZZ'],
      ['POST', '/api/v1/usage-events%E0'],
      ['POST', '/api/v1/%E0/usage-events'],
      ['GET', '/healthz%ZZ'],
    ];
    it('is 400 path_invalid on every path, known or not, with or without credentials', async () => {
      for (const [method, path] of paths) {
        for (const headers of [{}, { authorization: `Bearer ${key}` }] as Record<string, string>[]) {
          const res = await send(server.url, method, path, headers);
          expect(res.status, `${method} ${path}`).toBe(400);
          expect(res.body).toEqual({ ok: false, error: 'path_invalid', message: expect.any(String) });
        }
      }
    });

    it('leaves well-formed escapes and lenient query strings alone', async () => {
      const encoded = await send(server.url, 'GET', '/api/v1/customers/no%20such', { authorization: `Bearer ${key}` });
      expect(encoded.status).toBe(404);
      expect(encoded.body.error).not.toBe('path_invalid');
      const query = await send(server.url, 'GET', '/api/v1/products?limit=%ZZ', { authorization: `Bearer ${key}` });
      expect(query.status).toBeLessThan(500);
    });
  });

  describe('request bodies must be JSON', () => {
    it('refuses text/plain, forms and undeclared bodies with 415 content_type_unsupported on every JSON route, before credentials', async () => {
      expect(jsonBodyRoutes.length).toBeGreaterThan(20);
      for (const { spec, path } of withAliases(jsonBodyRoutes)) {
        for (const type of [
          'text/plain',
          'text/plain;charset=UTF-8',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'application/jsonp',
        ]) {
          const res = await send(server.url, spec.method.toUpperCase(), path, { 'content-type': type }, '{}');
          expect(res.status, `${spec.method} ${path} ${type}`).toBe(415);
          expect(res.body).toEqual({ ok: false, error: 'content_type_unsupported', message: expect.any(String) });
        }
        const untyped = await rawRequest(server.url, `${spec.method.toUpperCase()} ${path} HTTP/1.1\r\nContent-Length: 2`, '{}');
        expect(untyped.status, `${spec.method} ${path} without Content-Type`).toBe(415);
        expect(untyped.body.error).toBe('content_type_unsupported');
      }
    });

    it('refuses a non-JSON body to usage events (the lean route and its Express twin), with credentials too', async () => {
      for (const path of ['/api/v1/usage-events', '/api/v1/usage-events/']) {
        for (const headers of [{}, { authorization: `Bearer ${key}` }] as Record<string, string>[]) {
          const res = await send(server.url, 'POST', path, { ...headers, 'content-type': 'text/plain' }, '{"events":[]}');
          expect(res.status, path).toBe(415);
          expect(res.body).toEqual({ ok: false, error: 'content_type_unsupported', message: expect.any(String) });
        }
      }
    });

    it('accepts application/json with or without charset, any letter case, and +json types', async () => {
      for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset="UTF-8"', 'application/merge-patch+json']) {
        const res = await send(
          server.url,
          'POST',
          '/api/v1/customers',
          { authorization: `Bearer ${key}`, 'content-type': type },
          JSON.stringify({ externalId: `ct-${type.length}-${type.charCodeAt(0)}`, name: 'X' }),
        );
        expect(res.status, type).toBe(201);
        const usage = await send(server.url, 'POST', '/api/v1/usage-events', { authorization: `Bearer ${key}`, 'content-type': type }, '{"events":[]}');
        expect(usage.status, type).toBe(422); // past the media type: an empty batch
      }
    });

    it('refuses a charset other than UTF-8 with 415 unsupported_encoding', async () => {
      for (const path of ['/api/v1/customers', '/api/v1/usage-events']) {
        const res = await send(server.url, 'POST', path, { authorization: `Bearer ${key}`, 'content-type': 'application/json; charset=iso-8859-1' }, '{}');
        expect(res.status, path).toBe(415);
        expect(res.body.error).toBe('unsupported_encoding');
      }
    });

    it('reads a request without a body as {} whatever it declares: optional bodies pass, required fields are 400', async () => {
      // curl -X POST without -d: no Content-Length, no Content-Type.
      const fresh = await server.call('POST', '/api/v1/merchants', { body: { name: 'Bare', email: `bare-${Date.now()}@example.com`, password: 'correct horse battery' } });
      const bare = await rawRequest(server.url, `POST /api/v1/merchants/me/generate-key HTTP/1.1\r\nAuthorization: Bearer ${fresh.body.token}`);
      expect(bare.status, bare.text).toBe(200);
      expect(bare.body.apiKey).toMatch(/^bm_sandbox_/);
      // An empty body declared as something else is still no body.
      const zero = await rawRequest(server.url, `PATCH /api/v1/merchants/me HTTP/1.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: 0\r\nContent-Type: text/plain`);
      expect(zero.status, zero.text).toBe(200);
      const required = await rawRequest(server.url, `POST /api/v1/customers HTTP/1.1\r\nAuthorization: Bearer ${key}`);
      expect(required.status).toBe(400);
      expect(required.body.error).toBe('validation_failed');
    });

    it('keeps multipart for KYB (415 multipart_required for JSON there)', async () => {
      const res = await send(server.url, 'POST', '/api/v1/merchants/me/kyb', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, '{}');
      expect(res.status).toBe(415);
      expect(res.body.error).toBe('multipart_required');
    });
  });

  describe('malformed JSON', () => {
    it('is 400 malformed_json on every JSON route and its /v1 alias', async () => {
      expect(parsedJsonRoutes.length).toBeGreaterThan(10);
      for (const { spec, path } of withAliases(parsedJsonRoutes)) {
        for (const raw of ['{"name": "A", ', '{bad}', 'nul']) {
          const res = await send(server.url, spec.method.toUpperCase(), path, { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, raw);
          expect(res.status, `${spec.method} ${path} ${raw}`).toBe(400);
          expect(res.body).toEqual({ ok: false, error: 'malformed_json', message: 'Request body is not valid JSON' });
        }
      }
    });

    it('stays 422 malformed_json on usage events (the seed contract), lean and through Express', async () => {
      for (const path of ['/api/v1/usage-events', '/api/v1/usage-events/']) {
        const res = await send(server.url, 'POST', path, { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, '{"events":[');
        expect(res.status, path).toBe(422);
        expect(res.body.error).toBe('malformed_json');
      }
    });
  });

  describe('methods', () => {
    it('answers a known path asked with another method 405 method_not_allowed with Allow (/api/v1 and /v1)', async () => {
      const cases: Array<[string, string, string]> = [
        ['PUT', '/api/v1/products', 'GET, HEAD, POST'],
        ['DELETE', '/api/v1/products/prd_x', 'GET, HEAD, PATCH'],
        ['GET', '/api/v1/usage-events', 'POST'],
        ['PUT', '/API/V1/Products/', 'GET, HEAD, POST'],
        ['DELETE', '/v1/auth/login', 'POST'],
        ['POST', '/v1/merchants/me', 'GET, HEAD, PATCH'],
        ['DELETE', '/healthz', 'GET, HEAD'],
        ['POST', '/api/health', 'GET, HEAD'],
        ['PUT', '/api/openapi', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await send(server.url, method, path);
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.allow, `${method} ${path}`).toBe(allow);
        expect(res.body).toEqual({ ok: false, error: 'method_not_allowed', message: expect.stringContaining(method) });
      }
    });

    it('lists exactly the methods each route path supports', async () => {
      const byPath = new Map<string, Set<string>>();
      for (const r of routes) byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method.toUpperCase()));
      for (const [path, methods] of byPath) {
        const other = ['PUT', 'DELETE', 'PATCH', 'POST'].find((m) => !methods.has(m))!;
        const res = await send(server.url, other, `/api/v1${concrete({ path })}`, { 'content-type': 'application/json' }, '{}');
        expect(res.status, `${other} ${path}`).toBe(405);
        const expected = new Set([...methods, ...(methods.has('GET') ? ['HEAD'] : [])]);
        expect(new Set(res.headers.allow.split(', ')), path).toEqual(expected);
      }
    });

    it('answers OPTIONS 405 with Allow too, HEAD like GET, and unknown paths 404 route_not_found', async () => {
      const options = await send(server.url, 'OPTIONS', '/api/v1/customers/abc');
      expect(options.status).toBe(405);
      expect(options.headers.allow).toBe('GET, HEAD, PATCH');
      expect(options.body.error).toBe('method_not_allowed');
      const head = await send(server.url, 'HEAD', '/api/v1/products');
      expect(head.status).toBe(401);
      for (const [method, path] of [
        ['PUT', '/api/v1/nope'],
        ['GET', '/api/v1/products/x/y/z'],
        ['DELETE', '/v1/products'], // not one of the /v1 aliases
      ]) {
        const res = await send(server.url, method, path);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error).toBe('route_not_found');
        expect(res.headers.allow).toBeUndefined();
      }
    });
  });

  describe('probes', () => {
    it('GET /healthz: 200 { ok: true }, no credentials, nothing else', async () => {
      const res = await send(server.url, 'GET', '/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
      const legacy = await send(server.url, 'GET', '/api/health');
      expect(legacy.status).toBe(200);
      expect(legacy.body).toEqual({ ok: true });
    });

    it('GET /readyz: 200 with its checks once the writer thread is up, no credentials', async () => {
      let res = await send(server.url, 'GET', '/readyz');
      for (let i = 0; i < 100 && res.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await send(server.url, 'GET', '/readyz');
      }
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, checks: { database: 'ok', migrations: 'ok', ingestWriter: 'ok' } });
    });
  });

  describe('response headers', () => {
    const VARYING = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'allow', 'retry-after', 'transfer-encoding']);
    const fixed = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !VARYING.has(k)));

    it('sends the defensive set on every response, the lean route exactly as Express', async () => {
      const lean = await send(server.url, 'POST', '/api/v1/usage-events', { 'content-type': 'application/json' }, '{"events":[]}');
      expect(lean.status).toBe(401);
      expect(fixed(lean.headers)).toEqual({
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'origin-agent-cluster': '?1',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'x-dns-prefetch-control': 'off',
        'x-download-options': 'noopen',
        'x-frame-options': 'DENY',
        'x-permitted-cross-domain-policies': 'none',
        'x-xss-protection': '0',
      });
      const accepted = await send(server.url, 'POST', '/api/v1/usage-events', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, '{"events":[]}');
      const leanRefused = await send(server.url, 'POST', '/api/v1/usage-events', { 'content-type': 'text/plain' }, 'x');
      const others = await Promise.all([
        send(server.url, 'GET', '/healthz'),
        send(server.url, 'GET', '/api/openapi'),
        send(server.url, 'GET', '/api/v1/products'),
        send(server.url, 'GET', '/api/v1/products', { authorization: `Bearer ${key}` }),
        send(server.url, 'GET', '/api/v1/nope'),
        send(server.url, 'PUT', '/api/v1/products'),
        send(server.url, 'OPTIONS', '/api/v1/products'),
        send(server.url, 'GET', '/api/v1/products/%E0'),
        send(server.url, 'POST', '/api/v1/customers', { 'content-type': 'text/plain' }, 'x'),
      ]);
      for (const res of [accepted, leanRefused, ...others]) {
        expect(fixed(res.headers), String(res.status)).toEqual(fixed(lean.headers));
        expect(res.headers['x-powered-by']).toBeUndefined();
        expect(res.headers['strict-transport-security']).toBeUndefined();
      }
    });

    it('adds HSTS on both paths only when configured (BUFFMONEY_HSTS=1)', async () => {
      const tls = await startTestServer({ config: { hsts: true } });
      try {
        const lean = await send(tls.url, 'POST', '/api/v1/usage-events', { 'content-type': 'application/json' }, '{}');
        const viaExpress = await send(tls.url, 'GET', '/healthz');
        for (const res of [lean, viaExpress]) expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
        expect(fixed(viaExpress.headers)).toEqual(fixed(lean.headers));
      } finally {
        await tls.stop();
      }
      expect(loadConfig({ BUFFMONEY_HSTS: '1' }).hsts).toBe(true);
      expect(loadConfig({ BUFFMONEY_TRUST_PROXY: '1' }).hsts).toBe(false);
    });
  });
});

describe('readiness checks', () => {
  it('name the failing checks in a 503, with no detail on the wire', async () => {
    const database = await createTestDatabase('buffmoney-ready-', 'ready.db');
    const db = openDatabase(database.url, { durable: false });
    try {
      if (!database.migrated) await migrateToLatest(db);
      const ctx = createContext({ db, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
      const real = createUsageIngest(ctx);
      let writer = { alive: true, restarts: 0, lastError: undefined as string | undefined };
      installUsageIngest(ctx, Object.assign(Object.create(real), { writerHealth: () => writer }));
      const config = { ...loadConfig({ BUFFMONEY_DB: database.url, BUFFMONEY_DATA_DIR: database.dir }), hsts: false };
      const server = http.createServer(createRequestListener({ ctx, config }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        expect((await send(base, 'GET', '/readyz')).status).toBe(200);

        writer = { alive: false, restarts: 3, lastError: 'SQLITE_CORRUPT /secret/path/ready.db' };
        const dead = await send(base, 'GET', '/readyz');
        expect(dead.status).toBe(503);
        expect(dead.body).toEqual({ ok: false, error: 'not_ready', message: 'Not ready: ingestWriter', failing: ['ingestWriter'] });
        expect(dead.text).not.toMatch(/secret|SQLITE|restarts/);
        expect((await send(base, 'GET', '/healthz')).status).toBe(200); // alive, not ready
        writer = { alive: true, restarts: 3, lastError: undefined };

        // A migration this build lists but the database lacks, then one this build does not know.
        const last = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db.kysely);
        await sql`delete from kysely_migration where name = ${last.rows[0].name}`.execute(db.kysely);
        expect((await send(base, 'GET', '/readyz')).body.failing).toEqual(['migrations']);
        await sql`insert into kysely_migration (name, timestamp) values (${last.rows[0].name}, '2026-01-01T00:00:00.000Z')`.execute(db.kysely);
        expect((await send(base, 'GET', '/readyz')).status).toBe(200);
        await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2026-01-01T00:00:00.000Z')`.execute(db.kysely);
        expect((await send(base, 'GET', '/readyz')).body.failing).toEqual(['migrations']);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await db.close();
      // The database gone: both database checks fail, the probe still answers.
      expect(await failingReadinessChecks(ctx)).toEqual(['database', 'migrations']);
    } finally {
      await database.cleanup();
    }
  });
});
