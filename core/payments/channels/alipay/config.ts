import { createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';

export const alipayProductionGateway = 'https://openapi.alipay.com/gateway.do';

/** Keys are normalised to PEM (PKCS#8 private, SPKI public) so the SDK sees one shape only. */
function privateKeyPem(text: string): string | null {
  try {
    const key = createPrivateKey({ key: text.trim(), format: 'pem' });
    if (key.asymmetricKeyType !== 'rsa') return null;
    return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch {
    return null;
  }
}

/** Alipay's console hands out its public key as bare base64 as often as PEM: accept both. */
function publicKeyPem(text: string): string | null {
  const trimmed = text.trim();
  try {
    const key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey({ key: trimmed, format: 'pem' })
      : createPublicKey({ key: Buffer.from(trimmed.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') return null;
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    return null;
  }
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const alipayConfigSchema = z.object({
  /** The open-platform application id (e.g. 2021000000000000). */
  appId: z.string().regex(/^[0-9]{16}$/, 'an Alipay app id is 16 digits'),
  /** The application's RSA2 private key (PEM, PKCS#1 or PKCS#8): signs our requests. */
  privateKey: z.string().transform((text, ctx) => {
    const pem = privateKeyPem(text);
    if (!pem) {
      ctx.addIssue({ code: 'custom', message: 'the app private key is not an RSA private key in PEM (PKCS#1 or PKCS#8)' });
      return z.NEVER;
    }
    return pem;
  }),
  /** Alipay's public key (PEM or bare base64 SPKI): checks responses and notifications. */
  alipayPublicKey: z.string().transform((text, ctx) => {
    const pem = publicKeyPem(text);
    if (!pem) {
      ctx.addIssue({ code: 'custom', message: 'the Alipay public key is not an RSA public key (PEM or base64 SPKI)' });
      return z.NEVER;
    }
    return pem;
  }),
  /** The merchant's PID: notifications for any other seller are refused. */
  sellerId: z.string().regex(/^2088[0-9]{12}$/, 'a seller id (PID) is 16 digits starting 2088'),
  gateway: z
    .url()
    .default(alipayProductionGateway)
    // Plain HTTP only to a local peer (tests, the sandbox): keys and money never cross a network in clear.
    .refine((url) => {
      const parsed = new URL(url);
      return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && loopbackHosts.has(parsed.hostname));
    }, 'the gateway must be https (plain http only on 127.0.0.1 / localhost)'),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export type AlipayConfigInput = z.input<typeof alipayConfigSchema>;
export type AlipayConfig = z.output<typeof alipayConfigSchema>;

export function parseAlipayConfig(input: AlipayConfigInput): AlipayConfig {
  return alipayConfigSchema.parse(input);
}

const envNames = {
  appId: 'BUFFMONEY_ALIPAY_APP_ID',
  privateKeyFile: 'BUFFMONEY_ALIPAY_PRIVATE_KEY_FILE',
  publicKeyFile: 'BUFFMONEY_ALIPAY_PUBLIC_KEY_FILE',
  sellerId: 'BUFFMONEY_ALIPAY_SELLER_ID',
  gateway: 'BUFFMONEY_ALIPAY_GATEWAY',
  timeoutMs: 'BUFFMONEY_ALIPAY_TIMEOUT_MS',
} as const;

/**
 * The channel's configuration from an environment object (core never reads process.env) and a
 * file reader (keys live in files, not in the environment, so they stay out of `ps` and logs).
 * Returns null when no BUFFMONEY_ALIPAY_* variable is set: the channel is simply not configured.
 * A partial configuration throws, naming what is missing, rather than starting half a channel.
 */
export function alipayConfigFromEnv(env: Readonly<Record<string, string | undefined>>, readFile: (path: string) => string): AlipayConfig | null {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  if (Object.values(envNames).every((name) => value(name) === undefined)) return null;
  const missing = [envNames.appId, envNames.privateKeyFile, envNames.publicKeyFile, envNames.sellerId].filter((name) => value(name) === undefined);
  if (missing.length > 0) throw new Error(`Alipay channel half configured: ${missing.join(', ')} not set`);
  const timeout = value(envNames.timeoutMs);
  if (timeout !== undefined && !/^[0-9]+$/.test(timeout)) throw new Error(`${envNames.timeoutMs} must be a whole number of milliseconds`);
  return parseAlipayConfig({
    appId: value(envNames.appId)!,
    privateKey: readFile(value(envNames.privateKeyFile)!),
    alipayPublicKey: readFile(value(envNames.publicKeyFile)!),
    sellerId: value(envNames.sellerId)!,
    gateway: value(envNames.gateway),
    timeoutMs: timeout === undefined ? undefined : Number.parseInt(timeout, 10),
  });
}
