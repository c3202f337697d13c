import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CoreContext } from '../../core/context/index.js';
import { DomainError } from '../../core/errors/index.js';
import { type RouteSpec, defineLeanRoute, jsonBodyRefusal, leanDispatcher } from './route.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('leanDispatcher', () => {
  const ctx = {} as CoreContext; // public routes: the dispatcher never touches the context
  let mode: 'ok' | 'domain' | 'crash' = 'ok';
  const fast = defineLeanRoute({
    method: 'post',
    path: '/fast',
    operationId: 'fast',
    summary: 'fast',
    tags: ['Test'],
    auth: 'public',
    responses: { 201: { description: 'created' } },
    errors: [],
    handler: async () => {
      if (mode === 'domain') throw new DomainError('rate_limited', 'slow_down', 'Slow down', { retryAfterSeconds: 7 });
      if (mode === 'crash') throw new Error('boom');
      return { status: 201, rawJson: '{"lean":"ünïcode"}', headers: { 'X-Extra': '1' } };
    },
  });
  const dispatch = leanDispatcher(ctx, [fast], '/api/v1');
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (dispatch(req, res)) return;
      res.writeHead(299, { 'content-type': 'text/plain' });
      res.end('express');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves its exact method and path (any query string) and leaves everything else to the fallback', async () => {
    mode = 'ok';
    const hit = await fetch(`${base}/api/v1/fast?x=1`, { method: 'POST', headers: JSON_TYPE, body: '{}' });
    expect(hit.status).toBe(201);
    expect(await hit.text()).toBe('{"lean":"ünïcode"}');
    expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(hit.headers.get('content-length')).toBe(String(Buffer.byteLength('{"lean":"ünïcode"}')));
    expect(hit.headers.get('x-content-type-options')).toBe('nosniff');
    expect(hit.headers.get('cache-control')).toBe('no-store');
    expect(hit.headers.get('x-extra')).toBe('1');
    for (const [method, path] of [
      ['GET', '/api/v1/fast'],
      ['POST', '/api/v1/fast/'],
      ['POST', '/API/v1/fast'],
      ['POST', '/v1/fast'],
    ]) {
      const res = await fetch(`${base}${path}`, { method, headers: JSON_TYPE, body: method === 'GET' ? undefined : '{}' });
      expect(res.status, `${method} ${path}`).toBe(299);
    }
  });

  it('answers domain errors in the API error shape, and anything else as a logged 500', async () => {
    mode = 'domain';
    const limited = await fetch(`${base}/api/v1/fast`, { method: 'POST', headers: JSON_TYPE, body: '{}' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toEqual({ ok: false, error: 'slow_down', message: 'Slow down' });
    mode = 'crash';
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const crashed = await fetch(`${base}/api/v1/fast`, { method: 'POST', headers: JSON_TYPE, body: '{}' });
    expect(crashed.status).toBe(500);
    expect(await crashed.json()).toEqual({ ok: false, error: 'internal_error', message: 'Internal server error' });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('POST /api/v1/fast'), expect.any(Error));
    log.mockRestore();
  });

  it('refuses a body not declared JSON on a route with a JSON body, before credentials and the handler', async () => {
    let ran = 0;
    const withBody = defineLeanRoute({
      ...fast,
      path: '/typed',
      auth: { apiKey: true },
      body: z.object({ events: z.array(z.unknown()) }),
      handler: async () => {
        ran++;
        return { status: 200, body: { ok: true } };
      },
    });
    const typed = leanDispatcher(ctx, [withBody], '/api/v1', { 'X-Test-Header': 'yes' });
    const typedServer = http.createServer((req, res) => {
      if (!typed(req, res)) res.writeHead(599).end();
    });
    await new Promise<void>((resolve) => typedServer.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(typedServer.address() as AddressInfo).port}/api/v1/typed`;
    try {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body: '{"events":[]}' });
        expect(res.status, type).toBe(415);
        expect(res.headers.get('x-test-header')).toBe('yes');
        expect(await res.json()).toEqual({ ok: false, error: 'content_type_unsupported', message: expect.any(String) });
      }
      expect(ran).toBe(0);
    } finally {
      await new Promise<void>((resolve) => typedServer.close(() => resolve()));
    }
  });

  it('decides the JSON media type the documented way', () => {
    const has = (type: string | undefined, extra: Record<string, string> = { 'content-length': '2' }) =>
      jsonBodyRefusal({ ...(type ? { 'content-type': type } : {}), ...extra })?.code ?? 'ok';
    expect(has('application/json')).toBe('ok');
    expect(has('application/json; charset=utf-8')).toBe('ok');
    expect(has('APPLICATION/JSON ;CHARSET="utf8"')).toBe('ok');
    expect(has('application/problem+json')).toBe('ok');
    expect(has('application/json; charset=utf-16')).toBe('unsupported_encoding');
    expect(has('text/json')).toBe('content_type_unsupported');
    expect(has('application/jsonx')).toBe('content_type_unsupported');
    expect(has('text/plain')).toBe('content_type_unsupported');
    expect(has(undefined)).toBe('content_type_unsupported');
    expect(has(undefined, { 'transfer-encoding': 'chunked' })).toBe('content_type_unsupported');
    // no body: nothing to misread
    expect(has(undefined, {})).toBe('ok');
    expect(has('text/plain', { 'content-length': '0' })).toBe('ok');
  });

  it('refuses lean routes that need the router (path parameters, middleware)', () => {
    const withParam = { ...fast, path: '/fast/:id' } as RouteSpec;
    expect(() => leanDispatcher(ctx, [withParam], '/api/v1')).toThrow(/router features/);
    const withBefore = { ...fast, before: [(_req: unknown, _res: unknown, next: () => void) => next()] } as RouteSpec;
    expect(() => leanDispatcher(ctx, [withBefore], '/api/v1')).toThrow(/router features/);
  });
});
