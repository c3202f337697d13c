import { HOUR, MINUTE } from '../context/index.js';

/**
 * When a failed delivery is tried again: after attempt n (1-based) fails, the next waits
 * RETRY_DELAYS_MS[n-1], ±20 % jitter (so endpoints that fail together do not retry in lockstep).
 * Ten attempts over about three days (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h:
 * 71 h 35 min without jitter); after the tenth the delivery is `failed` and the merchant can
 * resend it. A `Retry-After` answer (seconds or an HTTP date) is honoured — never retried
 * sooner — up to RETRY_AFTER_CAP_MS.
 */
export const RETRY_DELAYS_MS: readonly number[] = [5_000, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 20 * HOUR];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
export const RETRY_AFTER_CAP_MS = 24 * HOUR;
export const JITTER = 0.2;

/**
 * The wait before the attempt after `attemptsSoFar` failed ones, or null when none is left.
 * `random` is a number in [0, 1) (from the context's random bytes: tests fix it).
 */
export function retryDelayMs(attemptsSoFar: number, random: number, retryAfterMs: number | null = null): number | null {
  if (attemptsSoFar >= MAX_ATTEMPTS) return null;
  const base = RETRY_DELAYS_MS[attemptsSoFar - 1];
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random));
  if (retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) return null;
  return Math.max(0, at - now.getTime());
}
