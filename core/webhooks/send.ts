import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { isDomainError } from '../errors/index.js';
import { type Resolver, type WebhookUrlPolicy, checkWebhookUrl } from '../net/ssrf.js';

/**
 * One HTTP POST of a webhook, SSRF-safe: the host is resolved here, every address is checked
 * (core/net/ssrf.ts, the same rules as when the URL was saved), and the request connects to the
 * checked address itself (a `lookup` that answers with it), so a DNS answer that changes between
 * the check and the connection (rebinding) cannot send it elsewhere. TLS still verifies the
 * certificate against the URL's host name (SNI and hostname check use the URL, not the address).
 * Redirects are never followed (a 3xx is a failed attempt); the whole exchange is bounded by
 * `timeoutMs`; at most EXCERPT_BYTES of the answer are kept and at most MAX_READ_BYTES read.
 */
export const DELIVERY_TIMEOUT_MS = 15_000;
export const EXCERPT_BYTES = 1024;
const MAX_READ_BYTES = 64 * 1024;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  policy: WebhookUrlPolicy;
  resolve: Resolver;
  timeoutMs?: number;
}

export type SendResult =
  /** The URL or an address it resolved to is refused: nothing was sent. */
  | { kind: 'refused'; error: string; latencyMs: number }
  /** No HTTP answer (connection refused, TLS, timeout, reset). */
  | { kind: 'error'; address: string | null; error: string; latencyMs: number }
  | { kind: 'response'; address: string; statusCode: number; retryAfter: string | undefined; excerpt: string; latencyMs: number };

export async function sendWebhook(request: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  let address: string;
  let url: URL;
  try {
    const checked = await checkWebhookUrl(request.url, request.policy, request.resolve);
    address = checked.addresses[0];
    url = new URL(checked.url);
  } catch (e) {
    return { kind: 'refused', error: isDomainError(e) ? e.message : `refused: ${String(e)}`, latencyMs: latency() };
  }
  const family = ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4;
  // Answers every lookup with the checked address (one or all, as node asks).
  const pinned: LookupFunction = (_hostname, options, callback) => {
    const cb = callback as (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
    if (typeof options === 'object' && options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
  const transport = url.protocol === 'https:' ? https : http;
  const timeoutMs = request.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  return new Promise<SendResult>((resolve) => {
    let done = false;
    const finish = (result: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = transport.request(
      url,
      {
        method: 'POST',
        lookup: pinned,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        // No connection reuse: each attempt resolves, checks and connects afresh.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let read = 0;
        const answer = () =>
          finish({
            kind: 'response',
            address,
            statusCode: res.statusCode ?? 0,
            retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined,
            excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'),
            latencyMs: latency(),
          });
        res.on('data', (chunk: Buffer) => {
          if (read < EXCERPT_BYTES) chunks.push(chunk);
          read += chunk.length;
          if (read > MAX_READ_BYTES) {
            answer();
            res.destroy();
          }
        });
        res.on('end', answer);
        res.on('error', answer);
        res.on('close', answer);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => finish({ kind: 'error', address, error: e.message || String(e), latencyMs: latency() }));
    req.end(request.body);
  });
}
