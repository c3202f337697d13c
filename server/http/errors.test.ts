import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/helpers.js';

describe('error shape on the wire', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server.stop());

  it('malformed JSON → 400 malformed_json, no stack trace', async () => {
    const res = await server.call('POST', '/api/v1/merchants', { rawBody: '{"name": "A", ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: 'malformed_json', message: 'Request body is not valid JSON' });
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('an oversized body → 413 payload_too_large', async () => {
    const res = await server.call('POST', '/api/v1/auth/login', {
      rawBody: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ ok: false, error: 'payload_too_large', message: 'Request body is too large' });
  });

  it('a JSON value that is not an object → 400 validation_failed', async () => {
    for (const raw of ['[]', '"hello"', '42', 'null']) {
      const res = await server.call('POST', '/api/v1/auth/login', { rawBody: raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.ok).toBe(false);
      expect(res.body.error).toBe('validation_failed');
    }
  });

  it('an unknown route → 404 in the same shape', async () => {
    const res = await server.call('GET', '/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error: 'route_not_found', message: 'No route for GET /api/v1/nope' });
  });

  it('security headers are set and Express is not advertised', async () => {
    const res = await server.call('GET', '/api/health');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('a path with a malformed percent-escape → 400 path_invalid, not 500', async () => {
    const res = await server.call('GET', '/api/v1/products/%E0');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: 'path_invalid', message: 'The request path contains a malformed percent-escape' });
  });
});
