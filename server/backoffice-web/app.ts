import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { BridgeError, BridgeResult } from '../../core/backoffice/bridge.js';
import { createBridgeHost } from '../../core/backoffice/host.js';
import { throttleProgress } from '../../core/backoffice/progress.js';
import type { CoreContext } from '../../core/context/index.js';
import { type ErrorKind, isDomainError } from '../../core/errors/index.js';
import { countAttempt, rateLimitStoreFor } from '../../core/rate-limits/index.js';
import { STATUS_BY_KIND } from '../http/errors.js';

/**
 * The back office in a browser: a loopback-only HTTP transport of the bridge
 * (`core/backoffice/bridge.ts`), serving the built renderer and one RPC route per registry
 * command, through the bridge host (`core/backoffice/host.ts`), which runs `backOffice.execute`
 * exactly as the CLI does. It exists for `npm start`
 * where Electron is not installed and for the browser tests; Electron itself uses IPC.
 *
 * Security, because any web page the officer visits can make their browser talk to loopback:
 * - bound to 127.0.0.1 only, and the Host header must name that address and port (DNS rebinding);
 * - every POST must carry `Origin` equal to this server's own origin, and `Sec-Fetch-Site`, when
 *   sent, must be `same-origin` (cross-site requests are refused, not negotiated: no CORS at all);
 * - bodies are JSON only (`Content-Type: application/json`, so no HTML form can post here) and
 *   the envelope is zod-parsed strictly (by the host);
 * - the session token lives in an HttpOnly, SameSite=Strict cookie: page scripts never see it;
 * - a strict CSP, no-store on every API answer, and nothing from a request body is logged.
 *
 * Progress: a command request with `Accept: application/x-ndjson` may be answered as a stream of
 * lines, `{"progress":{"done":…,"total":…}}` (at most ~20 a second) and then the result itself,
 * `{"ok":…}`. The stream starts only with the first progress report, so anything refused before
 * the work starts (session, role, input, step-up) still gets its ordinary JSON answer and status.
 */

export const SESSION_COOKIE = 'bm_backoffice_session';
const API = '/backoffice';

export interface BackOfficeWebOptions {
  ctx: CoreContext;
  /** The built renderer (`vite build` output); without it only the API is served. */
  staticDir?: string;
  /** Sees errors that are not DomainErrors (bugs); never request bodies. */
  onUnexpectedError?: (e: unknown) => void;
  /** Sign-in attempts per minute per client IP (default 10, as merchant login). */
  signInPerMinute?: number;
}

export interface RunningBackOfficeWeb {
  url: string;
  port: number;
  close(): Promise<void>;
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Failure = { status: number; body: { ok: false; error: BridgeError } };

function fail(status: number, code: string, message: string): Failure {
  return { status, body: { ok: false, error: { code, message } } };
}

function fromBridgeError(error: BridgeError): Failure {
  return { status: STATUS_BY_KIND[error.kind as ErrorKind] ?? 500, body: { ok: false, error } };
}

function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Whether the caller reads a progress stream (NDJSON) rather than one JSON answer. */
function wantsProgress(req: Request): boolean {
  return (req.headers.accept ?? '').split(',').some((part) => part.trim().split(';')[0] === 'application/x-ndjson');
}

function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=${API}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}
const clearedCookie = `${SESSION_COOKIE}=; Path=${API}; HttpOnly; SameSite=Strict; Max-Age=0`;

/** The request listener; `allowedHosts` are the Host header values this server answers to. */
export function createBackOfficeWebApp(options: BackOfficeWebOptions, own: () => { origins: string[]; hosts: string[] }): express.Express {
  const { ctx } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const send = (res: Response, r: Failure | { status: number; body: BridgeResult<unknown> }) => res.status(r.status).json(r.body);

  // Every answer: the same strict headers; refuse any Host but our own (DNS rebinding).
  app.use((req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (!own().hosts.includes(req.headers.host ?? '')) return send(res, fail(421, 'host_refused', 'This server answers only to its own loopback address'));
    next();
  });

  // The API: POST only, same origin only, JSON only.
  app.use(API, (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, fail(405, 'method_not_allowed', 'Use POST'));
    }
    const origin = req.headers.origin;
    if (origin === undefined || !own().origins.includes(origin)) return send(res, fail(403, 'origin_refused', 'Requests must come from the back office itself'));
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return send(res, fail(403, 'origin_refused', 'Requests must come from the back office itself'));
    if (!req.is('application/json')) return send(res, fail(415, 'unsupported_media_type', 'Send JSON (Content-Type: application/json)'));
    next();
  });
  // fx:import takes CSV text of up to 5 MiB inside the JSON envelope.
  app.use(API, express.json({ limit: '6mb', strict: true, type: 'application/json' }));

  const host = createBridgeHost(ctx, options);
  const reply = (res: Response, result: BridgeResult<unknown>) => send(res, result.ok ? { status: 200, body: result } : fromBridgeError(result.error));

  // Per client IP, as merchant login: blunts password guessing before the per-account lockout
  // (core/staff/sessions.ts) has to. Sign-in and enrolment (which checks the password too) count
  // against one limit. Counted in the database when replicas share one (core/rate-limits), in
  // memory on SQLite.
  const passwordRule = { name: 'sign-in', limit: options.signInPerMinute ?? 10, windowMs: 60_000 };
  const passwordStore = rateLimitStoreFor(ctx.db);
  /** Counts the attempt; false (the 429 sent) when over the limit. */
  const passwordAttemptAllowed = async (req: Request, res: Response): Promise<boolean> => {
    try {
      await countAttempt(passwordStore, passwordRule, req.ip ?? req.socket.remoteAddress ?? 'unknown', ctx.clock.now().getTime());
      return true;
    } catch (e) {
      if (!isDomainError(e)) throw e;
      if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
      send(res, fail(429, e.code, e.message));
      return false;
    }
  };

  app.post(`${API}/sign-in`, async (req, res) => {
    if (!(await passwordAttemptAllowed(req, res))) return;
    const { result, session } = await host.signIn(req.body ?? {});
    if (session) {
      const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - ctx.clock.now().getTime()) / 1000));
      res.setHeader('Set-Cookie', sessionCookie(session.token, maxAge));
    }
    return reply(res, result);
  });

  app.post(`${API}/sign-out`, async (req, res) => {
    res.setHeader('Set-Cookie', clearedCookie);
    return reply(res, await host.signOut(readCookie(req, SESSION_COOKIE), req.body ?? {}));
  });

  app.post(`${API}/session`, async (req, res) => reply(res, await host.session(readCookie(req, SESSION_COOKIE), req.body)));

  app.post(`${API}/enrol`, async (req, res) => {
    if (!(await passwordAttemptAllowed(req, res))) return;
    return reply(res, await host.enrol(req.body ?? {}));
  });

  app.post(`${API}/rpc/:command`, async (req, res) => {
    const token = readCookie(req, SESSION_COOKIE);
    const name = String(req.params.command);
    if (!wantsProgress(req)) return reply(res, await host.command(token, name, req.body ?? {}));
    let streaming = false;
    const line = (value: unknown) => {
      // The officer may have closed the tab: the command still runs to its end (and is audited).
      if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(value)}\n`);
    };
    const onProgress = throttleProgress((done, total) => {
      if (!streaming) {
        streaming = true;
        res.status(200).setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.flushHeaders();
      }
      line({ progress: { done, total } });
    });
    const result = await host.command(token, name, req.body ?? {}, { onProgress });
    if (!streaming) return reply(res, result);
    line(result);
    res.end();
  });

  app.use(API, (_req, res) => send(res, fail(404, 'not_found', 'No such back-office route')));

  if (options.staticDir && fs.existsSync(path.join(options.staticDir, 'index.html'))) {
    const dir = path.resolve(options.staticDir);
    app.use(express.static(dir, { index: 'index.html', fallthrough: true, dotfiles: 'deny' }));
    // The renderer routes with the URL hash, so any other GET gets the page itself.
    app.get(/.*/, (_req, res) => res.sendFile(path.join(dir, 'index.html')));
  } else {
    app.get(/.*/, (_req, res) => res.status(503).type('text/plain').send('The back office is not built: run npm run build:renderer'));
  }

  // Bodies that are not JSON, or too large: the parser's errors, in our shape.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') return send(res, fail(413, 'payload_too_large', 'The request body is too large'));
    if (e?.type === 'entity.parse.failed') return send(res, fail(400, 'json_invalid', 'The request body is not valid JSON'));
    options.onUnexpectedError?.(err);
    return send(res, fail(500, 'internal_error', 'Internal error'));
  });
  return app;
}

/** Serves the back office on 127.0.0.1 (never another interface); port 0 picks a free one. */
export async function startBackOfficeWeb(options: BackOfficeWebOptions & { port?: number }): Promise<RunningBackOfficeWeb> {
  let port = 0;
  const own = () => ({ origins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`], hosts: [`127.0.0.1:${port}`, `localhost:${port}`] });
  const server = http.createServer(createBackOfficeWebApp(options, own));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
