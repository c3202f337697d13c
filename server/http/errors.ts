import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { DomainError, type ErrorKind, isDomainError } from '../../core/errors/index.js';

/** The one table from error kind to HTTP status. */
export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** The wire form of a domain error: status, extra headers, the `{ ok: false, error, message }` body. */
export function errorResponse(err: DomainError): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  return {
    status: STATUS_BY_KIND[err.kind],
    headers: err.retryAfterSeconds !== undefined ? { 'Retry-After': String(err.retryAfterSeconds) } : {},
    body: { ok: false, error: err.code, message: err.message, ...(err.details ?? {}) },
  };
}

/** 400 for a request path with a malformed percent-escape (route.ts rejectMalformedPath). */
export const malformedPath = () => new DomainError('invalid_input', 'path_invalid', 'The request path contains a malformed percent-escape');

export const INTERNAL_ERROR_BODY = { ok: false, error: 'internal_error', message: 'Internal server error' } as const;

export function sendError(res: Response, err: DomainError): void {
  const { status, headers, body } = errorResponse(err);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).json(body);
}

/** Errors thrown by body parsers and upload middleware, mapped to the same shape. */
// biome-ignore lint/suspicious/noExplicitAny: errors from body parsers and multer are untyped objects; each check below is optional-chained
function fromMiddlewareError(err: any): DomainError | null {
  // The router failing to decode a path parameter (app.ts refuses such paths first; a safety net).
  if (err?.status === 400 && err instanceof URIError) return malformedPath();
  if (err?.type === 'entity.parse.failed') return new DomainError('invalid_input', 'malformed_json', 'Request body is not valid JSON');
  if (err?.type === 'entity.too.large') return new DomainError('payload_too_large', 'payload_too_large', 'Request body is too large');
  if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported') {
    return new DomainError('unsupported_media_type', 'unsupported_encoding', 'Unsupported body encoding');
  }
  if (err?.name === 'MulterError') {
    if (err.code === 'LIMIT_FILE_SIZE') return new DomainError('payload_too_large', 'kyb_document_too_large', `${err.field ?? 'A document'} is larger than 10 MB`);
    return new DomainError('invalid_input', 'upload_invalid', `Upload refused: ${err.message}${err.field ? ` (${err.field})` : ''}`);
  }
  if (typeof err?.message === 'string' && /Multipart: Boundary not found|Unexpected end of form|Malformed part header/i.test(err.message)) {
    return new DomainError('invalid_input', 'upload_invalid', 'Malformed multipart body');
  }
  return null;
}

/** Errors from anything but our own code: what the log and the client see. */
export function logInternalError(method: string | undefined, url: string | undefined, err: unknown): void {
  // Never a stack trace on the wire; the log keeps it.
  console.error(`[buffmoney] ${method} ${url} failed:`, err);
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) {
    res.end();
    return;
  }
  const known = isDomainError(err) ? err : fromMiddlewareError(err);
  if (known) {
    sendError(res, known);
    return;
  }
  logInternalError(req.method, req.originalUrl, err);
  res.status(500).json(INTERNAL_ERROR_BODY);
};

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ ok: false, error: 'route_not_found', message: `No route for ${req.method} ${req.path}` });
};
