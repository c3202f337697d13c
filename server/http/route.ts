import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import type { CoreContext } from '../../core/context/index.js';
import { type ErrorKind, isDomainError, validationError } from '../../core/errors/index.js';
import { type MerchantAuthRequirement, type MerchantPrincipal, authenticateMerchant } from './auth.js';
import { INTERNAL_ERROR_BODY, errorResponse, logInternalError } from './errors.js';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Already-serialised JSON (replays of stored responses send the exact bytes). */
  rawJson?: string;
}

export interface RouteInput<B, Q, P> {
  ctx: CoreContext;
  auth: MerchantPrincipal | null;
  body: B;
  query: Q;
  params: P;
  req: Request;
  res: Response;
}

/**
 * One HTTP endpoint: its contract (schemas, auth, documented responses) and its handler. The
 * router validates with the same zod schemas the OpenAPI document is generated from.
 */
export interface RouteSpec<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  method: HttpMethod;
  /** Express-style path below /api/v1, e.g. '/customers/:externalId'. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** 'public' or what a merchant must present. */
  auth: 'public' | MerchantAuthRequirement;
  body?: B;
  /**
   * 'multipart' routes parse their own body; `multipartSchema` documents it. 'raw' routes read
   * the request stream themselves (hot paths that need the exact bytes and their own parser);
   * `body` still documents the JSON in OpenAPI.
   */
  bodyType?: 'json' | 'multipart' | 'raw';
  multipartSchema?: Record<string, unknown>;
  /** Largest JSON body accepted (default 1 MB). */
  bodyLimit?: string;
  query?: Q;
  params?: P;
  /** 400 by default; the usage-events contract answers 422 for malformed input. */
  invalidInputKind?: ErrorKind;
  /** Also served at /v1/... (the merchants API document's paths). */
  legacyV1?: boolean;
  /** Express middleware run before auth and parsing (rate limits). */
  before?: RequestHandler[];
  responses: Record<number, { description: string; schema?: z.ZodType; headers?: Record<string, string> }>;
  /** Documented error statuses, answered with the Error object. */
  errors: number[];
  handler: (input: RouteInput<z.infer<B>, z.infer<Q>, z.infer<P>>) => Promise<RouteResult>;
  /** Set by defineLeanRoute: the handler, served before Express (see there). */
  lean?: (input: LeanRouteInput) => Promise<RouteResult>;
}

/** What a lean handler gets: node's own request, without Express's additions. */
export interface LeanRouteInput {
  ctx: CoreContext;
  auth: MerchantPrincipal | null;
  req: IncomingMessage;
}

/** Headers every API response carries (Express adds them in app.ts, lean routes here). */
export const COMMON_HEADERS: Readonly<Record<string, string>> = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

export function defineRoute<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(spec: RouteSpec<B, Q, P>): RouteSpec {
  return spec as unknown as RouteSpec;
}

/**
 * A hot-path route, served straight from node's 'request' event before Express sees the request
 * (leanDispatcher): at ~200 usage batches/s, Express's router and response helpers were ~10% of
 * the HTTP thread. Same contract as any route — same auth, same error bodies and statuses, same
 * headers, same OpenAPI entry — so only routes that need nothing else qualify: a raw body
 * (the handler reads the stream), no path parameters, no query schema, no `before` middleware.
 * A request whose path is not exactly `/api/v1<path>` (a trailing slash, other letter case)
 * still reaches the same handler, through Express.
 */
export function defineLeanRoute<B extends z.ZodType>(
  spec: Omit<RouteSpec<B>, 'handler' | 'lean' | 'query' | 'params' | 'before' | 'bodyType'> & { handler: (input: LeanRouteInput) => Promise<RouteResult> },
): RouteSpec {
  const lean = spec.handler;
  const handler = ({ ctx, auth, req }: RouteInput<unknown, unknown, unknown>) => lean({ ctx, auth, req });
  return { ...spec, bodyType: 'raw', lean, handler } as unknown as RouteSpec;
}

function writeJson(res: ServerResponse, status: number, json: string, headers: Record<string, string> | undefined): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

async function serveLean(ctx: CoreContext, spec: RouteSpec, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const auth = spec.auth === 'public' ? null : await authenticateMerchant(ctx, req, spec.auth);
    const result = await spec.lean!({ ctx, auth, req });
    if (res.headersSent) return;
    if (result.rawJson !== undefined) writeJson(res, result.status, result.rawJson, result.headers);
    else if (result.body !== undefined) writeJson(res, result.status, JSON.stringify(result.body), result.headers);
    else {
      res.writeHead(result.status, { ...COMMON_HEADERS, ...result.headers });
      res.end();
    }
  } catch (e) {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (isDomainError(e)) {
      const { status, headers, body } = errorResponse(e);
      writeJson(res, status, JSON.stringify(body), headers);
    } else {
      logInternalError(req.method, req.url, e);
      writeJson(res, 500, JSON.stringify(INTERNAL_ERROR_BODY), undefined);
    }
  }
}

/**
 * The lean routes of `routes` under `prefix`: a function that serves the request and returns
 * true when it is one of theirs (exact method and path; any query string), else returns false
 * and leaves the request to Express.
 */
export function leanDispatcher(ctx: CoreContext, routes: RouteSpec[], prefix: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const table = new Map<string, RouteSpec>();
  for (const spec of routes) {
    if (!spec.lean) continue;
    if (spec.path.includes(':') || spec.before?.length || spec.query || spec.params) throw new Error(`lean route ${spec.path} uses router features`);
    table.set(`${spec.method.toUpperCase()} ${prefix}${spec.path}`, spec);
  }
  return (req, res) => {
    if (table.size === 0) return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const spec = table.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    if (spec === undefined) return false;
    void serveLean(ctx, spec, req, res);
    return true;
  };
}

function parseWith<T extends z.ZodType>(schema: T | undefined, value: unknown, kind: ErrorKind): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error.issues, kind);
  return parsed.data;
}

export function sendResult(res: Response, result: RouteResult): void {
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  if (result.rawJson !== undefined) {
    res.status(result.status).type('application/json').send(result.rawJson);
  } else if (result.body === undefined) {
    res.status(result.status).end();
  } else {
    res.status(result.status).json(result.body);
  }
}

export function buildRouter(ctx: CoreContext, routes: RouteSpec[]): Router {
  const router = Router();
  for (const spec of routes) {
    const kind = spec.invalidInputKind ?? 'invalid_input';
    const stack: RequestHandler[] = [...(spec.before ?? [])];
    if (spec.body && spec.bodyType !== 'multipart' && spec.bodyType !== 'raw') {
      // Parses any content type as JSON: a client that forgets the header still gets a clear answer.
      stack.push(express.json({ limit: spec.bodyLimit ?? '1mb', type: () => true, strict: false }));
    }
    stack.push(async (req, res, next) => {
      try {
        const auth = spec.auth === 'public' ? null : await authenticateMerchant(ctx, req, spec.auth);
        const body = spec.bodyType === 'multipart' || spec.bodyType === 'raw' ? req.body : parseWith(spec.body, req.body === undefined ? {} : req.body, kind);
        const query = parseWith(spec.query, req.query, kind);
        const params = parseWith(spec.params, req.params, kind);
        const result = await spec.handler({ ctx, auth, body, query, params, req, res });
        if (!res.headersSent) sendResult(res, result);
      } catch (e) {
        next(e);
      }
    });
    router[spec.method](spec.path, ...stack);
  }
  return router;
}
