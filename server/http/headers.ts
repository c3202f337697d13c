import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export interface ResponseHeaderOptions {
  /** Strict-Transport-Security: only when the server is reached over TLS (BUFFMONEY_HSTS=1). */
  hsts: boolean;
}

/** One year, helmet's default: browsers keep using https for the host and its subdomains. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * The headers every response carries, Express or lean route alike, computed once at start.
 * helmet writes them; running its middleware once against a recording response gives a plain
 * header table that the lean route can write without a per-request middleware, and Express
 * sets from the same table, so both paths send exactly the same set.
 *
 * The API serves JSON only, so nothing may be framed, scripted or embedded:
 * `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`, `X-Frame-Options: DENY`,
 * `Referrer-Policy: no-referrer`, plus helmet's other defaults (nosniff, same-origin COOP/CORP,
 * Origin-Agent-Cluster, X-DNS-Prefetch-Control off, X-Download-Options, X-Permitted-Cross-Domain-
 * Policies none, X-XSS-Protection 0). HSTS only when configured: sent over plain http (tests,
 * a loopback desktop server) it is ignored at best and misleading at worst. Responses are never
 * cached (`Cache-Control: no-store`): they carry account data and keys.
 */
export function responseHeaders(options: ResponseHeaderOptions): Readonly<Record<string, string>> {
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.hsts ? { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true } : false,
  });
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader() {},
  };
  let finished = false;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  headers['Cache-Control'] = 'no-store';
  return Object.freeze(headers);
}
