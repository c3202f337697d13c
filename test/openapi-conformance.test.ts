import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiResponseChecker, type ObservedResponse, takeViolations } from './openapi-conformance.js';
import { signupMerchant, startTestServer, type TestServer } from './helpers.js';

const json = (method: string, url: string, status: number, body: unknown): ObservedResponse => ({
  method,
  url,
  status,
  contentType: 'application/json; charset=utf-8',
  body: Buffer.from(JSON.stringify(body)),
});

describe('OpenAPI response conformance (every test server response is checked)', () => {
  let server: TestServer;
  let checker: OpenApiResponseChecker;
  beforeAll(async () => {
    // This server's own wrapper answers like a drifted route would: the conformance observer
    // that startTestServer installs around it must catch both.
    server = await startTestServer({
      wrapListener: (listener) => (req, res) => {
        if (req.url === '/api/v1/products/prd_teapot') {
          res.writeHead(418, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: 'teapot', message: 'I am a teapot' }));
          return;
        }
        if (req.url === '/api/health?drift') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true, uptime: 12 }));
          return;
        }
        listener(req, res);
      },
    });
    checker = new OpenApiResponseChecker((await server.call('GET', '/api/openapi')).body);
  });
  afterAll(async () => server.stop());

  it('fails a test whose server answers an undocumented status or an undocumented field', async () => {
    const { sandboxKey } = await signupMerchant(server);
    expect((await server.call('GET', '/api/v1/products/prd_teapot', { headers: { authorization: `Bearer ${sandboxKey}` } })).status).toBe(418);
    expect((await server.call('GET', '/api/health?drift')).status).toBe(200);
    const found = takeViolations(); // taken here, so this test passes; left in place, afterEach fails it
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/GET \/api\/v1\/products\/prd_teapot → 418: status 418 is not documented for getProduct/);
    expect(found[1]).toMatch(/GET \/api\/health → 200 \(getHealth\): body does not match the documented schema: .*additional properties.*uptime/);
  });

  it('lets documented responses through, detail fields included, and checks each against its own status', () => {
    const product = { ok: false, error: 'product_key_taken', message: 'taken', key: 'chat_api' };
    expect(checker.check(json('POST', '/api/v1/products', 409, product))).toEqual([]);
    expect(checker.check(json('POST', '/api/v1/products', 409, { ...product, key: undefined, keys: 'x' }))).toHaveLength(1);
    // A detail field on an error that does not carry it is drift too.
    expect(checker.check(json('GET', '/api/v1/products/prd_1', 404, { ok: false, error: 'product_not_found', message: 'x', key: 'chat_api' }))).toHaveLength(1);
    const issues = [{ path: 'name', message: 'Required' }];
    expect(checker.check(json('POST', '/api/v1/products', 400, { ok: false, error: 'validation_failed', message: 'x', issues }))).toEqual([]);
    expect(checker.check(json('GET', '/api/v1/products/x', 400, { ok: false, error: 'validation_failed', message: 'x', issues }))).toEqual([]);
    // The /v1 aliases are paths of their own, with the same responses.
    expect(checker.check(json('POST', '/v1/auth/login', 401, { ok: false, error: 'invalid_credentials', message: 'x' }))).toEqual([]);
    expect(checker.check(json('POST', '/v1/auth/login', 418, { ok: false, error: 'x', message: 'x' }))).toHaveLength(1);
  });

  it('holds paths and methods outside the document to the Error shape and the global statuses', () => {
    expect(checker.check(json('GET', '/api/v1/nope', 404, { ok: false, error: 'route_not_found', message: 'No route' }))).toEqual([]);
    expect(checker.check(json('GET', '/api/v1/nope', 404, { error: 'route_not_found' }))).toHaveLength(1);
    expect(checker.check(json('GET', '/api/v1/nope', 200, { ok: true }))).toHaveLength(1);
    expect(checker.check(json('DELETE', '/api/v1/products', 405, { ok: false, error: 'method_not_allowed', message: 'x' }))).toEqual([]);
    expect(checker.check(json('DELETE', '/api/v1/products', 200, {}))).toHaveLength(1);
    expect(checker.check({ method: 'OPTIONS', url: '/api/v1/products', status: 204, contentType: undefined, body: Buffer.alloc(0) })).toEqual([]);
    expect(checker.check({ method: 'HEAD', url: '/api/health', status: 200, contentType: 'application/json', body: Buffer.alloc(0) })).toEqual([]);
    expect(checker.check({ ...json('GET', '/api/health', 200, {}), contentType: 'text/html' })).toHaveLength(1);
  });
});
