import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type { Db } from '../db/index.js';
import { createUlidSource, type IdSource, type RandomBytes } from '../ids/index.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can move: `clock.advance(180 * DAY)`. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string = '2026-05-01T00:00:00.000Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date | string): void {
    this.t = new Date(to).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export type Environment = 'sandbox' | 'live';
export const ENVIRONMENTS = ['sandbox', 'live'] as const;

/**
 * What every core function receives instead of reaching for globals: the database, the time,
 * where ids and random bytes come from, and the secrets it may need. Transports build one.
 */
export interface CoreContext {
  db: Db;
  clock: Clock;
  ids: IdSource;
  randomBytes: RandomBytes;
  secrets: CoreSecrets;
  /** bcrypt cost; 12 everywhere in production (see product brief). */
  bcryptCost: number;
  policy: CorePolicy;
  /** DNS port: every address a hostname resolves to (SSRF checks resolve before trusting). */
  resolveHost: (hostname: string) => Promise<string[]>;
}

export interface CorePolicy {
  /** NODE_ENV=production: webhook URLs must be https. */
  production: boolean;
  /** BUFFMONEY_ALLOW_PRIVATE_WEBHOOKS=1 outside production: developers' own machines allowed. */
  allowPrivateWebhooks: boolean;
}

export interface CoreSecrets {
  /** HMAC key for merchant session JWTs (HS256). */
  jwtSecret: Uint8Array;
  /** AES-256-GCM key for secrets kept at rest that must be readable again (TOTP seeds). */
  dataKey: Uint8Array;
}

export function createContext(parts: {
  db: Db;
  secrets: CoreSecrets;
  clock?: Clock;
  randomBytes?: RandomBytes;
  bcryptCost?: number;
  policy?: Partial<CorePolicy>;
  resolveHost?: (hostname: string) => Promise<string[]>;
}): CoreContext {
  const clock = parts.clock ?? systemClock;
  const randomBytes = parts.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
  return {
    db: parts.db,
    clock,
    ids: createUlidSource(() => clock.now().getTime(), randomBytes),
    randomBytes,
    secrets: parts.secrets,
    bcryptCost: parts.bcryptCost ?? 12,
    policy: {
      production: parts.policy?.production ?? false,
      // ignored in production, whatever the setting says
      allowPrivateWebhooks: !(parts.policy?.production ?? false) && (parts.policy?.allowPrivateWebhooks ?? false),
    },
    resolveHost: parts.resolveHost ?? defaultResolveHost,
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

async function defaultResolveHost(hostname: string): Promise<string[]> {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Everything a merchant owns lives in one environment; sandbox and live never see each other. */
export interface MerchantScope {
  merchantId: string;
  environment: Environment;
}
