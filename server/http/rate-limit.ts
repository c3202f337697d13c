import type { RequestHandler } from 'express';
import type { Clock } from '../../core/context/index.js';
import { type RateLimitStore, countAttempt } from '../../core/rate-limits/index.js';

/**
 * Fixed-window limit per client IP (`req.ip`: behind a load balancer set BUFFMONEY_TRUST_PROXY so
 * it is the client's, not the balancer's). Counted in `store` (core/rate-limits): in the database
 * when several replicas share it (PostgreSQL), so the limit holds across them; in memory on
 * SQLite's one machine. Past the limit: 429 `rate_limited` with Retry-After.
 */
export function rateLimit(options: { name: string; limit: number; windowMs: number; clock: Clock; store: RateLimitStore }): RequestHandler {
  const rule = { name: options.name, limit: options.limit, windowMs: options.windowMs };
  return (req, _res, next) => {
    const key = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    countAttempt(options.store, rule, key, options.clock.now().getTime()).then(() => next(), next);
  };
}
