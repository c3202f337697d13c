import path from 'node:path';
import { z } from 'zod';
import type { CoreSecrets } from '../core/context/index.js';
import { loadSecretsFile } from '../core/context/secrets-file.js';
import { parseDatabaseUrl, poolSizeFromEnv } from '../core/db/index.js';

export interface ServerConfig {
  port: number;
  host: string;
  /** The database: a SQLite file path (the embedded default) or a postgres:// URL (BUFFMONEY_DB). */
  dbPath: string;
  /** PostgreSQL connections per process (BUFFMONEY_DB_POOL); undefined: the default. */
  dbPoolSize?: number;
  /** Where generated secrets live: the SQLite file's folder, or BUFFMONEY_DATA_DIR (default ./data) with PostgreSQL. */
  dataDir: string;
  production: boolean;
  allowPrivateWebhooks: boolean;
  /** Express "trust proxy": set when behind a load balancer, so rate limits see client IPs. */
  trustProxy: boolean | number | string;
  /** Per client IP and minute; `channelCallbacksPerMinute` guards /api/webhooks/wechat|alipay (BUFFMONEY_CALLBACK_RATE_LIMIT). */
  limits: { loginPerMinute: number; signupPerMinute: number; channelCallbacksPerMinute: number };
  bcryptCost: number;
  /** fsync every commit (default on: a 200 means stored even through a power cut). */
  durable: boolean;
  /** Commit usage events on a writer thread of their own (default on; BUFFMONEY_INGEST_THREAD=0 keeps them inline). */
  ingestThread: boolean;
  /**
   * The Linux nice value of the background threads of an embedded database — the usage reader,
   * the WAL checkpointer (BUFFMONEY_BACKGROUND_NICE, 0–19, default 0: left alone).
   * See core/db/thread-priority.ts.
   */
  backgroundNice: number;
  /**
   * Send Strict-Transport-Security (BUFFMONEY_HSTS=1): only when clients reach the server over
   * https (a TLS proxy in front). Not inferred from BUFFMONEY_TRUST_PROXY: a proxy may speak http.
   */
  hsts: boolean;
  /**
   * Take part in the invoice job (BUFFMONEY_INVOICE_SCHEDULER=0 turns it off). On PostgreSQL the
   * replicas elect one leader that runs it (core/db/leader.ts); on SQLite this process runs it.
   */
  invoiceScheduler: boolean;
  /** How long after a period ends late events are still awaited before invoicing it (BUFFMONEY_INVOICE_GRACE_MINUTES, default 60). */
  invoiceGraceMinutes: number;
  /**
   * The base URL WeChat Pay, Alipay and payers reach this server at (BUFFMONEY_PUBLIC_URL): notify
   * URLs and hosted checkout pages are built on it. Undefined: `http://127.0.0.1:<port>`.
   */
  publicUrl?: string;
  /** Serve the sandbox channel peers under /sandbox/channels (BUFFMONEY_SANDBOX_CHANNELS=0 turns the sandbox channels off). */
  sandboxChannels: boolean;
  /** Take part in payment reconciliation (BUFFMONEY_PAYMENTS_RECONCILE=0 turns it off); the leader of `payments-reconcile` runs it. */
  paymentsReconcile: boolean;
  /** Seconds between reconciliation runs (BUFFMONEY_PAYMENTS_RECONCILE_SECONDS, default 60). */
  paymentsReconcileSeconds: number;
  /**
   * Run the webhook delivery worker in this process (BUFFMONEY_WEBHOOK_DELIVERY=0 turns it off).
   * Every replica may run one: deliveries are claimed with leases, never sent twice at once.
   */
  webhookDelivery: boolean;
  /** Milliseconds between the worker's looks for new events and due deliveries (BUFFMONEY_WEBHOOK_POLL_MS, default 1000). */
  webhookPollMs: number;
}

/** BUFFMONEY_PUBLIC_URL: an absolute http(s) URL without query or fragment; a trailing slash is dropped. */
export const PublicUrlSchema = z
  .url({ protocol: /^https?$/, message: 'BUFFMONEY_PUBLIC_URL must be an absolute http:// or https:// URL' })
  .refine((url) => {
    const parsed = new URL(url);
    return parsed.search === '' && parsed.hash === '' && parsed.username === '' && parsed.password === '';
  }, 'BUFFMONEY_PUBLIC_URL must not carry a query, a fragment or credentials')
  .transform((url) => url.replace(/\/+$/, ''));

function parsePublicUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = PublicUrlSchema.safeParse(value.trim());
  if (!parsed.success) throw new Error(`${parsed.error.issues[0].message}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** A whole number within bounds from the environment; refuses anything else at start. */
function wholeNumber(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = z.coerce
    .number()
    .int()
    .min(min)
    .max(max)
    .safeParse(/^\d+$/.test(value) ? value : Number.NaN);
  if (!parsed.success) throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** A whole number of minutes from the environment; refuses anything else at start rather than guessing. */
function wholeMinutes(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,6}$/.test(value)) throw new Error(`BUFFMONEY_INVOICE_GRACE_MINUTES must be a whole number of minutes, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // A postgres:// URL stays a URL (never a file path: "postgres:" must not become a folder).
  const location = parseDatabaseUrl(env.BUFFMONEY_DB ?? './data/buffmoney.db');
  const dbPath = location.engine === 'postgres' ? location.url : location.file;
  // Replicas on one PostgreSQL database share secrets through BUFFMONEY_DATA_DIR (a shared
  // volume) or JWT_SECRET + BUFFMONEY_DATA_KEY in the environment.
  const dataDir = location.engine === 'postgres' || location.file === ':memory:' ? path.resolve(env.BUFFMONEY_DATA_DIR ?? './data') : path.dirname(location.file);
  const production = env.NODE_ENV === 'production';
  const trust = env.BUFFMONEY_TRUST_PROXY;
  return {
    port: env.PORT !== undefined ? Number(env.PORT) : 8787,
    host: env.HOST ?? '127.0.0.1',
    dbPath,
    dbPoolSize: poolSizeFromEnv(env.BUFFMONEY_DB_POOL),
    dataDir,
    production,
    // The developer escape hatch is ignored in production, whatever it says.
    allowPrivateWebhooks: !production && env.BUFFMONEY_ALLOW_PRIVATE_WEBHOOKS === '1',
    trustProxy: trust === undefined ? false : /^\d+$/.test(trust) ? Number(trust) : trust === 'true' ? true : trust,
    limits: {
      loginPerMinute: 10,
      signupPerMinute: 5,
      channelCallbacksPerMinute: wholeNumber('BUFFMONEY_CALLBACK_RATE_LIMIT', env.BUFFMONEY_CALLBACK_RATE_LIMIT, 1200, 1, 1_000_000),
    },
    bcryptCost: 12,
    durable: env.BUFFMONEY_DURABLE !== '0',
    ingestThread: env.BUFFMONEY_INGEST_THREAD !== '0',
    backgroundNice: wholeNumber('BUFFMONEY_BACKGROUND_NICE', env.BUFFMONEY_BACKGROUND_NICE, 0, 0, 19),
    hsts: env.BUFFMONEY_HSTS === '1',
    invoiceScheduler: env.BUFFMONEY_INVOICE_SCHEDULER !== '0',
    invoiceGraceMinutes: wholeMinutes(env.BUFFMONEY_INVOICE_GRACE_MINUTES, 60),
    publicUrl: parsePublicUrl(env.BUFFMONEY_PUBLIC_URL),
    sandboxChannels: env.BUFFMONEY_SANDBOX_CHANNELS !== '0',
    paymentsReconcile: env.BUFFMONEY_PAYMENTS_RECONCILE !== '0',
    paymentsReconcileSeconds: wholeNumber('BUFFMONEY_PAYMENTS_RECONCILE_SECONDS', env.BUFFMONEY_PAYMENTS_RECONCILE_SECONDS, 60, 5, 86_400),
    webhookDelivery: env.BUFFMONEY_WEBHOOK_DELIVERY !== '0',
    webhookPollMs: wholeNumber('BUFFMONEY_WEBHOOK_POLL_MS', env.BUFFMONEY_WEBHOOK_POLL_MS, 1000, 50, 60_000),
  };
}

/**
 * The server's secrets, kept in <dataDir>/secrets.json (core/context/secrets-file.ts): the same
 * file the CLI and the desktop app read, so a TOTP seed sealed by one opens in the others.
 */
export function loadSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): CoreSecrets {
  return loadSecretsFile(dataDir, env);
}
