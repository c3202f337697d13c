import ipaddr from 'ipaddr.js';
import { invalidInput } from '../errors/index.js';

/**
 * SSRF rules for URLs BuffMoney will call (merchant webhooks): http(s) only, https in
 * production, no credentials in the URL, and every address the host resolves to must be public
 * unicast. Checked when the URL is saved and again, on the freshly resolved addresses, at every
 * delivery (DNS can change between the two: rebinding).
 */
export interface WebhookUrlPolicy {
  production: boolean;
  allowPrivateWebhooks: boolean;
}

export type Resolver = (hostname: string) => Promise<string[]>;

/** Names refused before any lookup: they only ever mean "this machine" or a cloud's metadata. */
const BLOCKED_HOSTNAMES = [/^localhost$/i, /\.localhost$/i, /^metadata\.google\.internal$/i, /^metadata$/i, /\.internal$/i];

/**
 * Why an address is not a public unicast destination, or null when it is. ipaddr.js classifies
 * ranges (loopback, private, linkLocal — which holds 169.254.169.254, the metadata address —
 * carrierGradeNat — which holds Alibaba Cloud's 100.100.100.200 — multicast, unspecified,
 * broadcast, reserved, uniqueLocal, ipv4Mapped, 6to4, teredo, rfc6052/NAT64, …); only plain
 * `unicast` passes.
 */
export function addressRefusal(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return 'not an IP address';
  }
  const range = parsed.range();
  if (parsed.kind() === 'ipv6') {
    // IPv4-compatible (::a.b.c.d, deprecated) and documentation space are not caught as ranges everywhere.
    const v6 = parsed as ipaddr.IPv6;
    const parts = v6.parts;
    if (parts.slice(0, 6).every((p) => p === 0) && range !== 'unicast') return range;
    if (parts[0] === 0x2001 && parts[1] === 0x0db8) return 'documentation';
    if (parts.slice(0, 6).every((p) => p === 0)) return 'ipv4Compatible';
  } else {
    const o = (parsed as ipaddr.IPv4).octets;
    // TEST-NETs and 192.0.0.0/24 are documentation / protocol space: nobody's webhook lives there.
    if ((o[0] === 192 && o[1] === 0 && (o[2] === 0 || o[2] === 2)) || (o[0] === 198 && o[1] === 51 && o[2] === 100) || (o[0] === 203 && o[1] === 0 && o[2] === 113)) {
      return 'documentation';
    }
  }
  return range === 'unicast' ? null : range;
}

export interface CheckedWebhookUrl {
  url: string;
  hostname: string;
  /** The addresses checked; a delivery connects to one of these, not to a fresh lookup. */
  addresses: string[];
}

export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy, resolve: Resolver): Promise<CheckedWebhookUrl> {
  const refuse = (why: string) => invalidInput('webhook_url_invalid', `webhookUrl refused: ${why}`);
  const allowPrivate = policy.allowPrivateWebhooks && !policy.production;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('only http and https URLs are allowed');
  if (policy.production && url.protocol !== 'https:') throw refuse('https is required');
  if (url.username || url.password) throw refuse('credentials in the URL are not allowed');
  if (raw.length > 2048) throw refuse('longer than 2048 characters');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (!hostname) throw refuse('no host');

  let addresses: string[];
  if (ipaddr.isValid(hostname)) {
    addresses = [hostname];
  } else {
    if (!allowPrivate && BLOCKED_HOSTNAMES.some((re) => re.test(hostname))) throw refuse(`host ${hostname} is internal`);
    try {
      addresses = await resolve(hostname);
    } catch {
      throw refuse(`host ${hostname} does not resolve`);
    }
    if (addresses.length === 0) throw refuse(`host ${hostname} does not resolve`);
  }
  if (!allowPrivate) {
    for (const address of addresses) {
      const why = addressRefusal(address);
      if (why) throw refuse(`${address} is not a public address (${why})`);
    }
  }
  return { url: url.toString(), hostname, addresses };
}
