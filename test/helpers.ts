import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { totpCode } from '../core/auth/totp.js';
import type { Clock } from '../core/context/index.js';
import { createTestDatabase } from '../core/testing/database.js';
import { SANDBOX_KEYS_FILE, loadSandboxChannelKeys } from '../server/payments/index.js';
import { type RunningServer, type StartOptions, startServer } from '../server/server.js';
import { conformanceObserver } from './openapi-conformance.js';

/** A fresh temporary folder (removed by the returned cleanup). */
export function tempDir(prefix = 'buffmoney-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface TestServer extends RunningServer {
  dbFile: string;
  /** fetch against the server; JSON bodies are serialised, the parsed body comes back. */
  call(
    method: string,
    urlPath: string,
    options?: { body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer | FormData },
  ): Promise<{
    status: number;
    body: any;
    text: string;
    headers: Headers;
  }>;
  stop(): Promise<void>;
}

/**
 * The real server on a fresh database (a SQLite file in a temp folder, or PostgreSQL under
 * test:pg), on an ephemeral loopback port.
 * Rate limits are raised unless a test asks for the real ones.
 */
export async function startTestServer(options: StartOptions & { realRateLimits?: boolean } = {}): Promise<TestServer> {
  // A SQLite file, or a fresh PostgreSQL database under test:pg (core/testing/database.ts).
  const database = await createTestDatabase();
  const { dir } = database;
  const dbFile = database.url;
  // The sandbox channel keys (four RSA pairs) are generated once per test process, not per server.
  fs.writeFileSync(path.join(dir, SANDBOX_KEYS_FILE), JSON.stringify(await testSandboxKeys()), { mode: 0o600 });
  const conformance = conformanceObserver();
  const running = await startServer({
    ...options,
    wrapListener: (listener) => conformance.wrap(options.wrapListener ? options.wrapListener(listener) : listener),
    config: {
      port: 0,
      host: '127.0.0.1',
      dbPath: dbFile,
      dataDir: dir,
      production: false,
      allowPrivateWebhooks: false,
      durable: false,
      // Tests run invoice generation themselves, at the instants they choose.
      invoiceScheduler: false,
      // …and reconcile payments themselves (core/payments reconcilePayments).
      paymentsReconcile: false,
      // …and deliver webhooks themselves (webhookDelivery.runOnce(), or config: { webhookDelivery: true }).
      webhookDelivery: false,
      // …and run the chain listener themselves (server/workers/chain-listener.ts), whatever CHAIN_* says.
      chainListener: false,
      ...(options.realRateLimits ? {} : { limits: { loginPerMinute: 10_000, signupPerMinute: 10_000, channelCallbacksPerMinute: 10_000 } }),
      ...options.config,
    },
  });
  // Every response of this server is checked against the document it serves (test/setup/openapi-responses.ts).
  conformance.activate(await (await fetch(`${running.url}/api/openapi`)).text());
  const call: TestServer['call'] = async (method, urlPath, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | Buffer | FormData | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${running.url}${urlPath}`, { method, headers, body: body as any });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return {
    ...running,
    dbFile,
    call,
    async stop() {
      await running.close();
      await database.cleanup();
    },
  };
}

let sandboxKeys: ReturnType<typeof loadSandboxChannelKeys> | undefined;
function testSandboxKeys(): ReturnType<typeof loadSandboxChannelKeys> {
  if (!sandboxKeys) {
    const { dir, cleanup } = tempDir('buffmoney-sandbox-keys-');
    sandboxKeys = loadSandboxChannelKeys(dir).finally(cleanup);
  }
  return sandboxKeys;
}

let counter = 0;
/** Signs a merchant up and returns its JWT and a sandbox API key with every scope. */
export async function signupMerchant(server: TestServer, overrides: Record<string, unknown> = {}) {
  counter++;
  const email = `merchant${counter}-${Date.now()}@example.com`;
  const signup = await server.call('POST', '/api/v1/merchants', {
    body: { name: `Merchant ${counter}`, email, password: 'correct horse battery', ...overrides },
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  const token: string = signup.body.token;
  const key = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: { authorization: `Bearer ${token}` }, body: {} });
  if (key.status !== 200) throw new Error(`generate-key failed: ${key.status} ${key.text}`);
  return { id: signup.body.id as string, email, password: 'correct horse battery', token, sandboxKey: key.body.apiKey as string };
}

export function currentTotp(secret: string, clock: Clock | Date = new Date()): string {
  return totpCode(secret, clock instanceof Date ? clock : clock.now());
}
