import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import type { CoreContext } from '../../core/context/index.js';
import { DomainError, type ErrorKind, isDomainError, validationError } from '../../core/errors/index.js';
import { type MerchantAuthRequirement, type MerchantPrincipal, authenticateMerchant } from './auth.js';
import { INTERNAL_ERROR_BODY, errorResponse, logInternalError, malformedPath } from './errors.js';
import { responseHeaders } from './headers.js';

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
  /** OpenAPI `encoding` of the multipart parts (e.g. the content types a file part accepts). */
  multipartEncoding?: Record<string, { contentType: string }>;
  /** Largest JSON body accepted (default 1 MB). */
  bodyLimit?: string;
  query?: Q;
  params?: P;
  /**
   * Checks the parsed JSON body before `body` validates it, for contracts that name their own
   * error for some invalid input (register-intent: 400 "receiverAddress required"): throws a
   * DomainError, or returns and lets the schema speak. List its codes in `errorCodes`.
   */
  precheckBody?: (body: unknown) => void;
  /** 400 by default; the usage-events contract answers 422 for malformed input. */
  invalidInputKind?: ErrorKind;
  /** Also served at /v1/... (the merchants API document's paths). */
  legacyV1?: boolean;
  /** Express middleware run before auth and parsing (rate limits). */
  before?: RequestHandler[];
  responses: Record<number, { description: string; schema?: z.ZodType; headers?: Record<string, string> }>;
  /**
   * Documented error statuses, answered with the Error object. The OpenAPI builder adds those the
   * route's features imply (invalid input, 401 behind auth, 413/415 for JSON bodies, 429 with
   * `before` middleware, 500): see errorStatusesFor in openapi.ts.
   */
  errors: number[];
  /**
   * Stable error codes per status worth naming in the document. Codes whose body carries extra
   * fields (openapi.ts ERROR_SCHEMAS: live_access_locked, rotation_cooldown, …) must be listed
   * here to be documented with their schema; a listed status is documented even if not in `errors`.
   */
  errorCodes?: Partial<Record<number, string[]>>;
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

/**
 * Headers every API response carries without HSTS (see headers.ts). The server builds its own
 * table from its configuration and hands the same one to Express (app.ts) and leanDispatcher.
 */
export const COMMON_HEADERS: Readonly<Record<string, string>> = responseHeaders({ hsts: false });

/*
 * Request bodies on the JSON API — one rule for every route but multipart ones that takes a
 * body (a `body` schema) or could be sent one (POST, PATCH, PUT, DELETE), Express or lean:
 *
 * - Content-Type. A request that carries a body (Transfer-Encoding, or a Content-Length other
 *   than 0) must declare JSON: `application/json`, or a `+json` structured-syntax type
 *   (RFC 6839, e.g. `application/merge-patch+json`: the same syntax), any letter case, any
 *   parameters; a `charset`, if given, must be utf-8 (else 415 `unsupported_encoding`).
 *   Anything else — text/plain, forms, multipart, no Content-Type at all — is 415
 *   `content_type_unsupported`, answered before credentials are checked (on lean routes too).
 * - No body. A request without one (no Transfer-Encoding; Content-Length absent or 0) is read
 *   as `{}` whatever it declares, so a bare `curl -X POST …/generate-key` works where the body
 *   is optional, and a missing required field is 400 `validation_failed`.
 * - Malformed JSON is `malformed_json` with the route's invalid-input status: 400, or 422 where
 *   the contract says so (`invalidInputKind`: usage events, whose parser lives in core).
 * - Routes without a body schema (publish, archive, 2FA enrol) never parse a body; one sent
 *   there must still be declared JSON, so no endpoint of the API takes a form or text body.
 *   Multipart routes (KYB) check their own Content-Type (415 `multipart_required`).
 */

const BODY_METHODS: ReadonlySet<HttpMethod> = new Set(['post', 'patch', 'put', 'delete']);

/** Whether the body rule above applies to a route (the OpenAPI document lists 415 for these). */
export const refusesNonJsonBody = (spec: Pick<RouteSpec, 'body' | 'bodyType' | 'method'>): boolean =>
  spec.bodyType !== 'multipart' && (spec.body !== undefined || BODY_METHODS.has(spec.method));

/** 415 for a body that is not declared JSON (null when the request may be read as JSON). */
export function jsonBodyRefusal(headers: IncomingHttpHeaders): DomainError | null {
  const type = headers['content-type'];
  if (type === 'application/json') return null; // the usual case, decided without allocating
  const length = headers['content-length'];
  if (headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) return null;
  return type === undefined ? contentTypeRefused() : jsonMediaTypeRefusal(type);
}

const contentTypeRefused = () => new DomainError('unsupported_media_type', 'content_type_unsupported', 'Send the request body as JSON, with Content-Type: application/json');
const JSON_SUFFIX_TYPE = /^application\/[a-z0-9!#$&^_.+-]+\+json$/;
const CHARSET_PARAMETER = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

function jsonMediaTypeRefusal(contentType: string): DomainError | null {
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (mediaType !== 'application/json' && !JSON_SUFFIX_TYPE.test(mediaType)) return contentTypeRefused();
  const charset = semicolon < 0 ? undefined : CHARSET_PARAMETER.exec(contentType);
  if (charset) {
    const name = (charset[1] ?? charset[2]).toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8') return new DomainError('unsupported_media_type', 'unsupported_encoding', 'Unsupported body encoding: send UTF-8 JSON');
  }
  return null;
}

/** Express middleware form of jsonBodyRefusal. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  next(jsonBodyRefusal(req.headers) ?? undefined);
};

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

function writeJson(res: ServerResponse, common: Readonly<Record<string, string>>, status: number, json: string, headers: Record<string, string> | undefined): void {
  res.writeHead(status, {
    ...common,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

async function serveLean(ctx: CoreContext, common: Readonly<Record<string, string>>, spec: RouteSpec, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    // The body rule above, in the router's order: media type, then credentials, then the body.
    if (refusesNonJsonBody(spec)) {
      const refusal = jsonBodyRefusal(req.headers);
      if (refusal) throw refusal;
    }
    const auth = spec.auth === 'public' ? null : await authenticateMerchant(ctx, req, spec.auth);
    const result = await spec.lean!({ ctx, auth, req });
    if (res.headersSent) return;
    if (result.rawJson !== undefined) writeJson(res, common, result.status, result.rawJson, result.headers);
    else if (result.body !== undefined) writeJson(res, common, result.status, JSON.stringify(result.body), result.headers);
    else {
      res.writeHead(result.status, { ...common, ...result.headers });
      res.end();
    }
  } catch (e) {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (isDomainError(e)) {
      const { status, headers, body } = errorResponse(e);
      writeJson(res, common, status, JSON.stringify(body), headers);
    } else {
      logInternalError(req.method, req.url, e);
      writeJson(res, common, 500, JSON.stringify(INTERNAL_ERROR_BODY), undefined);
    }
  }
}

/**
 * The lean routes of `routes` under `prefix`: a function that serves the request and returns
 * true when it is one of theirs (exact method and path; any query string), else returns false
 * and leaves the request to Express. `headers` are the ones every response carries (pass the
 * table Express sends, so both paths answer with the same set).
 */
export function leanDispatcher(
  ctx: CoreContext,
  routes: RouteSpec[],
  prefix: string,
  headers: Readonly<Record<string, string>> = COMMON_HEADERS,
): (req: IncomingMessage, res: ServerResponse) => boolean {
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
    void serveLean(ctx, headers, spec, req, res);
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

/** express.json for one route: the media type is already checked, malformed JSON gets the route's kind. */
function jsonParser(spec: RouteSpec, kind: ErrorKind): RequestHandler {
  const parse = express.json({ limit: spec.bodyLimit ?? '1mb', type: () => true, strict: false });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.parse.failed') next(new DomainError(kind, 'malformed_json', 'Request body is not valid JSON'));
      else next(err);
    });
}

/**
 * The router for `routes`. Bodies follow the rule above jsonBodyRefusal; a path the router
 * knows asked with another method is 405 `method_not_allowed` with `Allow` (see
 * methodNotAllowed), an unknown path falls through (404 `route_not_found` in app.ts).
 */
export function buildRouter(ctx: CoreContext, routes: RouteSpec[]): Router {
  const router = Router();
  for (const spec of routes) {
    const kind = spec.invalidInputKind ?? 'invalid_input';
    const stack: RequestHandler[] = [...(spec.before ?? [])];
    if (refusesNonJsonBody(spec)) stack.push(requireJsonBody);
    if (spec.body && spec.bodyType !== 'multipart' && spec.bodyType !== 'raw') stack.push(jsonParser(spec, kind));
    stack.push(async (req, res, next) => {
      try {
        const auth = spec.auth === 'public' ? null : await authenticateMerchant(ctx, req, spec.auth);
        const raw = req.body === undefined ? {} : req.body;
        if (spec.precheckBody && spec.bodyType !== 'multipart' && spec.bodyType !== 'raw') spec.precheckBody(raw);
        const body = spec.bodyType === 'multipart' || spec.bodyType === 'raw' ? req.body : parseWith(spec.body, raw, kind);
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
  router.use(methodNotAllowed(routes));
  return router;
}

const METHOD_ORDER = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT'];

/**
 * For requests no route answered: when the path is one of `routes`' (matched as Express does:
 * any letter case, an optional trailing slash, a parameter is one non-empty segment), answers
 * 405 `method_not_allowed` with `Allow`; otherwise passes on (404). Allow lists the path's
 * methods, and HEAD with GET (Express answers HEAD from the GET route). OPTIONS is one more
 * unsupported method (405 with Allow): the API serves no browsers, so no CORS preflight, and
 * Allow says what an OPTIONS answer would.
 */
export function methodNotAllowed(routes: ReadonlyArray<Pick<RouteSpec, 'method' | 'path'>>): RequestHandler {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    if (method === 'get') methods.add('HEAD');
    byPath.set(path, methods);
  }
  const patterns = [...byPath].map(([path, methods]) => ({ pattern: expressPathPattern(path), methods }));
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of patterns) if (pattern.test(req.path)) for (const m of methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(req.method)) {
      next();
      return;
    }
    res.setHeader('Allow', METHOD_ORDER.filter((m) => allowed.has(m)).join(', '));
    const where = `${req.baseUrl}${req.path}`;
    next(new DomainError('method_not_allowed', 'method_not_allowed', `${req.method} is not allowed on ${where}; allowed: ${res.getHeader('Allow')}`));
  };
}

function expressPathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`, 'i');
}

/**
 * A request path with a malformed percent-escape (`%E0`, `%ZZ`) cannot name anything: 400
 * `path_invalid` on every path, known or not, before routing (the router would otherwise fail
 * decoding a parameter). Lean routes never see one: their exact paths have no `%` in them.
 */
export const rejectMalformedPath: RequestHandler = (req, _res, next) => {
  const url = req.url;
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (path.includes('%')) {
    try {
      decodeURIComponent(path);
    } catch {
      next(malformedPath());
      return;
    }
  }
  next();
};
