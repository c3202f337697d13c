import type { RequestHandler } from 'express';
import type { Clock } from '../../core/context/index.js';
import { DomainError } from '../../core/errors/index.js';

/**
 * Fixed-window counter per client IP. Per process by design: these limits blunt password
 * guessing and signup floods at each replica; behind N replicas the effective limit is N×
 * (documented in the README). Counters are dropped when their window has passed.
 */
export function rateLimit(options: { name: string; limit: number; windowMs: number; clock: Clock }): RequestHandler {
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = 0;
  return (req, _res, next) => {
    const now = options.clock.now().getTime();
    if (now - lastSweep > options.windowMs) {
      for (const [k, w] of windows) if (now - w.start >= options.windowMs) windows.delete(k);
      lastSweep = now;
    }
    const key = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    let w = windows.get(key);
    if (!w || now - w.start >= options.windowMs) {
      w = { start: now, count: 0 };
      windows.set(key, w);
    }
    w.count++;
    if (w.count > options.limit) {
      const retryAfter = Math.max(1, Math.ceil((w.start + options.windowMs - now) / 1000));
      next(
        new DomainError('rate_limited', 'rate_limited', `Too many ${options.name} attempts; try again in ${retryAfter} seconds.`, {
          retryAfterSeconds: retryAfter,
        }),
      );
      return;
    }
    next();
  };
}
