import { generateKeyPair, randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/**
 * The sandbox channels' keys: both sides of WeChat Pay (our merchant key, its platform key, the
 * APIv3 key) and of Alipay (our app key pair, the "Alipay" key pair), generated on the first start
 * and kept in <dataDir>/sandbox-channels.json (mode 0600) beside secrets.json, so a restart keeps
 * verifying what the sandbox signed before it. They are throwaway keys for the local peers —
 * never a live credential — but still private: whoever holds them can forge sandbox payments.
 */
export interface SandboxChannelKeys {
  version: 1;
  wechat: {
    mchid: string;
    appid: string;
    merchantPrivateKeyPem: string;
    merchantPublicKeyPem: string;
    merchantCertSerial: string;
    platformPrivateKeyPem: string;
    platformPublicKeyPem: string;
    platformSerial: string;
    apiV3Key: string;
  };
  alipay: {
    appId: string;
    sellerId: string;
    appPrivateKeyPem: string;
    appPublicKeyPem: string;
    alipayPrivateKeyPem: string;
    alipayPublicKeyPem: string;
  };
}

const pem = z.string().startsWith('-----BEGIN');
const SandboxChannelKeysSchema = z.object({
  version: z.literal(1),
  wechat: z.object({
    mchid: z.string().regex(/^\d{1,32}$/),
    appid: z.string().min(1).max(32),
    merchantPrivateKeyPem: pem,
    merchantPublicKeyPem: pem,
    merchantCertSerial: z.string().regex(/^[0-9A-Za-z]{1,64}$/),
    platformPrivateKeyPem: pem,
    platformPublicKeyPem: pem,
    platformSerial: z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
    apiV3Key: z.string().length(32),
  }),
  alipay: z.object({
    appId: z.string().regex(/^[0-9]{16}$/),
    sellerId: z.string().regex(/^2088[0-9]{12}$/),
    appPrivateKeyPem: pem,
    appPublicKeyPem: pem,
    alipayPrivateKeyPem: pem,
    alipayPublicKeyPem: pem,
  }),
});

export const SANDBOX_KEYS_FILE = 'sandbox-channels.json';

const generateRsa = promisify(generateKeyPair);

async function rsaPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function digits(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(randomInt(10));
  return out;
}

async function generateSandboxChannelKeys(): Promise<SandboxChannelKeys> {
  // Four RSA-2048 pairs, generated in parallel off the main thread.
  const [merchant, platform, app, alipay] = await Promise.all([rsaPair(), rsaPair(), rsaPair(), rsaPair()]);
  return {
    version: 1,
    wechat: {
      mchid: `19${digits(8)}`,
      appid: `wx${randomBytes(8).toString('hex')}`,
      merchantPrivateKeyPem: merchant.privateKeyPem,
      merchantPublicKeyPem: merchant.publicKeyPem,
      merchantCertSerial: randomBytes(20).toString('hex').toUpperCase(),
      platformPrivateKeyPem: platform.privateKeyPem,
      platformPublicKeyPem: platform.publicKeyPem,
      // The "WeChat Pay public key" form of a platform key id; SANDBOX marks it in logs.
      platformSerial: `PUB_KEY_ID_SANDBOX_${randomBytes(12).toString('hex').toUpperCase()}`,
      apiV3Key: randomBytes(24).toString('base64'),
    },
    alipay: {
      appId: `9021${digits(12)}`,
      sellerId: `2088${digits(12)}`,
      appPrivateKeyPem: app.privateKeyPem,
      appPublicKeyPem: app.publicKeyPem,
      alipayPrivateKeyPem: alipay.privateKeyPem,
      alipayPublicKeyPem: alipay.publicKeyPem,
    },
  };
}

/**
 * The sandbox keys of `dataDir`, generated and stored on first use. The file is created
 * exclusively (a hard link of a complete temporary file), so two processes starting at once on
 * one data dir (replicas on a shared volume) end up with the same keys: the loser reads the
 * winner's file.
 */
export async function loadSandboxChannelKeys(dataDir: string): Promise<SandboxChannelKeys> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SANDBOX_KEYS_FILE);
  const read = (): SandboxChannelKeys => {
    const parsed = SandboxChannelKeysSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    // Names the file and fields, never a key.
    if (!parsed.success)
      throw new Error(`${file} is not a sandbox channel key file (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}); move it away to generate new keys`);
    return parsed.data as SandboxChannelKeys;
  };
  if (fs.existsSync(file)) return read();
  const keys = await generateSandboxChannelKeys();
  const text = JSON.stringify(keys, null, 2);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return read();
    // A file system without hard links: an exclusive create (a reader may see it half-written for an instant).
    try {
      fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST') return read();
      throw again;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return keys;
}
