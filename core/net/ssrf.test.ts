import { describe, expect, it } from 'vitest';
import { addressRefusal, checkWebhookUrl } from './ssrf.js';

const dev = { production: false, allowPrivateWebhooks: false };
const prod = { production: true, allowPrivateWebhooks: false };
const devAllowPrivate = { production: false, allowPrivateWebhooks: true };

/** A resolver that answers from a table, like a DNS server would. */
const dns: Record<string, string[]> = {
  'hooks.example.com': ['93.184.216.34'],
  'dual.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'rebind.example.com': ['93.184.216.34', '10.0.0.5'],
  'internal.example.com': ['192.168.1.10'],
  'metadata.example.com': ['169.254.169.254'],
  'v6-loopback.example.com': ['::1'],
  'v6-ula.example.com': ['fd00:ec2::254'],
};
const resolve = async (host: string) => {
  const found = dns[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

describe('addressRefusal classifies every address range the issue names', () => {
  const cases: Array<[string, string | null]> = [
    ['93.184.216.34', null],
    ['8.8.8.8', null],
    ['2606:4700:4700::1111', null],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // cloud metadata (AWS, GCP, Azure)
    ['169.254.0.1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.100.100.200', 'carrierGradeNat'], // Alibaba Cloud metadata
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'], // AWS IMDS over IPv6
    ['fe80::1', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'ipv4Mapped'],
    ['::ffff:8.8.8.8', 'ipv4Mapped'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::', '6to4'],
    ['2001:db8::1', 'documentation'],
    ['::127.0.0.1', 'ipv4Mapped'], // IPv4-compatible (deprecated), classified with the mapped range
    ['::8.8.8.8', 'ipv4Mapped'],
  ];
  it.each(cases)('%s → %s', (address, expected) => {
    const got = addressRefusal(address);
    if (expected === null) expect(got).toBeNull();
    else expect(got).not.toBeNull();
    if (expected) expect(got).toBe(expected);
  });
});

describe('checkWebhookUrl', () => {
  const table: Array<{ url: string; policy: typeof dev; ok: boolean; why?: RegExp }> = [
    { url: 'https://hooks.example.com/buffmoney', policy: prod, ok: true },
    { url: 'https://dual.example.com/h', policy: prod, ok: true },
    { url: 'http://hooks.example.com/h', policy: dev, ok: true },
    { url: 'http://hooks.example.com/h', policy: prod, ok: false, why: /https is required/ },
    { url: 'ftp://hooks.example.com/h', policy: dev, ok: false, why: /only http and https/ },
    { url: 'not a url', policy: dev, ok: false, why: /not a valid absolute URL/ },
    { url: 'https://user:pw@hooks.example.com/h', policy: dev, ok: false, why: /credentials/ },
    { url: 'https://127.0.0.1/h', policy: dev, ok: false, why: /loopback/ },
    { url: 'https://2130706433/h', policy: dev, ok: false, why: /loopback/ }, // decimal 127.0.0.1
    { url: 'https://0x7f.0.0.1/h', policy: dev, ok: false, why: /loopback/ },
    { url: 'https://0177.0.0.1/h', policy: dev, ok: false, why: /loopback/ },
    { url: 'https://[::1]/h', policy: dev, ok: false, why: /loopback/ },
    { url: 'https://[::ffff:7f00:1]/h', policy: dev, ok: false, why: /ipv4Mapped/ },
    { url: 'https://[fd00::1]/h', policy: dev, ok: false, why: /uniqueLocal/ },
    { url: 'https://[fe80::1]/h', policy: dev, ok: false, why: /linkLocal/ },
    { url: 'http://169.254.169.254/latest/meta-data', policy: dev, ok: false, why: /linkLocal/ },
    { url: 'http://100.100.100.200/latest/meta-data', policy: dev, ok: false, why: /carrierGradeNat/ },
    { url: 'https://10.0.0.1/h', policy: dev, ok: false, why: /private/ },
    { url: 'https://0.0.0.0/h', policy: dev, ok: false, why: /unspecified/ },
    { url: 'https://224.0.0.1/h', policy: dev, ok: false, why: /multicast/ },
    { url: 'https://localhost/h', policy: dev, ok: false, why: /internal/ },
    { url: 'https://api.localhost/h', policy: dev, ok: false, why: /internal/ },
    { url: 'http://metadata.google.internal/computeMetadata/v1/', policy: dev, ok: false, why: /internal/ },
    { url: 'https://internal.example.com/h', policy: dev, ok: false, why: /192\.168\.1\.10.*private/ },
    { url: 'https://metadata.example.com/h', policy: dev, ok: false, why: /linkLocal/ },
    { url: 'https://rebind.example.com/h', policy: dev, ok: false, why: /10\.0\.0\.5/ }, // every address is checked
    { url: 'https://v6-loopback.example.com/h', policy: dev, ok: false, why: /loopback/ },
    { url: 'https://v6-ula.example.com/h', policy: dev, ok: false, why: /uniqueLocal/ },
    { url: 'https://nowhere.example.com/h', policy: dev, ok: false, why: /does not resolve/ },
    // the developer escape hatch…
    { url: 'http://127.0.0.1:9000/h', policy: devAllowPrivate, ok: true },
    { url: 'http://localhost:9000/h', policy: { ...devAllowPrivate }, ok: false, why: /does not resolve/ }, // still resolved
    // …is ignored in production
    { url: 'https://127.0.0.1/h', policy: { production: true, allowPrivateWebhooks: true }, ok: false, why: /loopback/ },
  ];
  it.each(table)('$url ($policy) → ok=$ok', async ({ url, policy, ok, why }) => {
    const attempt = checkWebhookUrl(url, policy, resolve);
    if (ok) {
      await expect(attempt).resolves.toMatchObject({ hostname: expect.any(String) });
    } else {
      await expect(attempt).rejects.toMatchObject({ code: 'webhook_url_invalid', message: expect.stringMatching(why!) });
    }
  });
});
