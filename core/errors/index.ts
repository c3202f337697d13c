/**
 * One error type for the whole domain. `code` is the stable, machine-readable identifier
 * merchants and scripts branch on; `message` is for humans; `kind` says what sort of failure it
 * is, so each transport (HTTP, IPC, CLI) maps kinds to its own wire format in one place.
 */
export type ErrorKind =
  | 'invalid_input' // 400: the request itself is wrong
  | 'unprocessable' // 422: well-formed but cannot be processed (usage-event batches)
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'method_not_allowed' // 405: the path exists, the method does not (the transport says which are allowed)
  | 'conflict' // 409
  | 'payload_too_large' // 413
  | 'unsupported_media_type' // 415
  | 'rate_limited' // 429
  | 'unavailable' // 503: a dependency is down for now; retry after `retryAfterSeconds`
  | 'internal'; // 500: never for bad input

export class DomainError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** Extra machine-readable fields returned next to code and message (never secrets). */
  readonly details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed (rate limits, cooldowns). */
  readonly retryAfterSeconds?: number;

  constructor(kind: ErrorKind, code: string, message: string, options: { details?: Record<string, unknown>; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.code = code;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

/** Shorthands keep call sites readable: `throw notFound('merchant_not_found', 'Merchant not found')`. */
export const invalidInput = (code: string, message: string, details?: Record<string, unknown>) => new DomainError('invalid_input', code, message, { details });
export const unauthenticated = (code: string, message: string) => new DomainError('unauthenticated', code, message);
export const forbidden = (code: string, message: string, details?: Record<string, unknown>) => new DomainError('forbidden', code, message, { details });
export const notFound = (code: string, message: string) => new DomainError('not_found', code, message);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) => new DomainError('conflict', code, message, { details });

/** Turns a zod error into a DomainError with a message naming the first offending fields. */
export function validationError(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, kind: ErrorKind = 'invalid_input'): DomainError {
  const described = issues.slice(0, 5).map((i) => {
    const path = i.path.map(String).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
  return new DomainError(kind, 'validation_failed', `Invalid request: ${described.join('; ')}`, {
    details: { issues: issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
  });
}
