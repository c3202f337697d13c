import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { totpCode } from '../../core/auth/totp.js';
import { UsageError } from './args.js';

/**
 * `buffmoney totp --secret BASE32 [--wait-fresh]`: the code an authenticator app would show, for
 * scripts and for trying the API from a shell (the README walk-through uses it).
 *
 * BuffMoney accepts each code once, and only codes of a later 30 s window than the last one
 * accepted. So the helper remembers, per secret, the last window it printed a code for (a file
 * named by a hash of the secret, holding only the window number) and `--wait-fresh` never prints
 * the same window twice: it prints the current code if this helper has not printed it yet, else
 * waits for the next window to begin and prints that one (at most 30 s). Codes typed from an
 * authenticator app are unknown to it.
 */

export const TOTP_PERIOD_MS = 30_000;

export interface TotpHelperOptions {
  secret: string;
  waitFresh: boolean;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Where the last printed window per secret is kept; default `<tmpdir>/buffmoney-totp-<uid>`. */
  stateDir?: string;
}

export interface TotpHelperResult {
  code: string;
  /** The 30 s window (seconds since the epoch / 30) the code belongs to. */
  step: number;
  /** Seconds until the window ends (the server also accepts the code one window later). */
  secondsLeft: number;
  /** How long the helper waited for a fresh window, in milliseconds. */
  waitedMs: number;
}

/** Base32 as authenticator apps show it: spaces and case do not matter, `=` padding is optional. */
export function normaliseTotpSecret(secret: string): string {
  const clean = secret.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]{16,}$/.test(clean)) throw new UsageError('--secret must be a base32 TOTP secret (A–Z, 2–7, at least 16 characters)');
  return clean;
}

export function defaultTotpStateDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `buffmoney-totp-${uid}`);
}

/** The file remembering the last window printed for a secret: named by a hash, never the secret. */
export function totpStateFile(secret: string, dir = defaultTotpStateDir()): string {
  return path.join(
    dir,
    createHash('sha256')
      .update(`buffmoney-totp:${normaliseTotpSecret(secret)}`)
      .digest('hex')
      .slice(0, 32),
  );
}

export async function totpHelper(options: TotpHelperOptions): Promise<TotpHelperResult> {
  const secret = normaliseTotpSecret(options.secret);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const dir = options.stateDir ?? defaultTotpStateDir();
  const file = totpStateFile(secret, dir);

  const lastPrinted = readStep(file);
  let waitedMs = 0;
  let step = Math.floor(now() / TOTP_PERIOD_MS);
  if (options.waitFresh && lastPrinted !== null && step <= lastPrinted) {
    // Sleep until the window after the last printed one begins (+50 ms so the clock is inside it).
    while (step <= lastPrinted) {
      const ms = (lastPrinted + 1) * TOTP_PERIOD_MS - now() + 50;
      if (ms > 0) {
        await sleep(ms);
        waitedMs += ms;
      }
      step = Math.floor(now() / TOTP_PERIOD_MS);
    }
  }
  const at = now();
  step = Math.floor(at / TOTP_PERIOD_MS);
  writeStep(dir, file, Math.max(step, lastPrinted ?? step));
  return {
    code: totpCode(secret, new Date(at)),
    step,
    secondsLeft: Math.ceil(((step + 1) * TOTP_PERIOD_MS - at) / 1000),
    waitedMs,
  };
}

function readStep(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function writeStep(dir: string, file: string, step: number): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${step}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
