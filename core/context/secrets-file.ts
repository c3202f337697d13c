import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CoreSecrets } from './index.js';

/**
 * Secrets: JWT_SECRET from the environment when given; otherwise generated once and kept in
 * <dataDir>/secrets.json (mode 0600), so restarts keep sessions valid. The data key seals TOTP
 * seeds and bank details at rest; BUFFMONEY_DATA_KEY (base64, 32 bytes) overrides it.
 */
export function loadSecretsFile(dataDir: string, env: Readonly<Record<string, string | undefined>>): CoreSecrets {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'secrets.json');
  let stored: { jwtSecret?: string; dataKey?: string } = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  let changed = false;
  if (!stored.jwtSecret) {
    stored.jwtSecret = randomBytes(32).toString('base64');
    changed = true;
  }
  if (!stored.dataKey) {
    stored.dataKey = randomBytes(32).toString('base64');
    changed = true;
  }
  if (changed) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  const jwtSecret = env.JWT_SECRET ? new TextEncoder().encode(env.JWT_SECRET) : Buffer.from(stored.jwtSecret, 'base64');
  const dataKey = env.BUFFMONEY_DATA_KEY ? Buffer.from(env.BUFFMONEY_DATA_KEY, 'base64') : Buffer.from(stored.dataKey, 'base64');
  if (dataKey.length !== 32) throw new Error('BUFFMONEY_DATA_KEY must be 32 bytes, base64-encoded');
  return { jwtSecret: new Uint8Array(jwtSecret), dataKey: new Uint8Array(dataKey) };
}
