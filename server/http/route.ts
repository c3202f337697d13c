import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import type { CoreContext } from '../../core/context/index.js';
import { type ErrorKind, validationError } from '../../core/errors/index.js';
import { type MerchantAuthRequirement, type MerchantPrincipal, authenticateMerchant } from './auth.js';

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
}

export function defineRoute<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(spec: RouteSpec<B, Q, P>): RouteSpec {
  return spec as unknown as RouteSpec;
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
