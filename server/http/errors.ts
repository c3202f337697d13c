import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { DomainError, type ErrorKind, isDomainError } from '../../core/errors/index.js';

/** The one table from error kind to HTTP status. */
export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
};

export function sendError(res: Response, err: DomainError): void {
  const status = STATUS_BY_KIND[err.kind];
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res.status(status).json({ ok: false, error: err.code, message: err.message, ...(err.details ?? {}) });
}

/** Errors thrown by body parsers and upload middleware, mapped to the same shape. */
function fromMiddlewareError(err: any): DomainError | null {
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
  // Never a stack trace on the wire; the log keeps it.
  console.error(`[buffmoney] ${req.method} ${req.originalUrl} failed:`, err);
  res.status(500).json({ ok: false, error: 'internal_error', message: 'Internal server error' });
};

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ ok: false, error: 'route_not_found', message: `No route for ${req.method} ${req.path}` });
};
