import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { _electron, expect, test } from '@playwright/test';
import * as OTPAuth from 'otpauth';
import { findElectronBinary, notRunMessage } from './electron-binary.js';

/**
 * The desktop app, launched for real: a temp data folder seeded with one admin, sign-in with
 * password and TOTP, the navigation, the bundled server answering on its port, then quit (which
 * stops the server). Skipped, saying so, where Electron's binary is not installed.
 */
const root = path.resolve(import.meta.dirname, '../..');
const found = findElectronBinary();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const answers = async (url: string) => {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
};

test('launch, sign in, see the navigation, quit', async () => {
  test.skip('missing' in found, 'missing' in found ? notRunMessage(found.missing) : '');
  if (!('binary' in found)) return;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-electron-'));
  const dataDir = path.join(dir, 'data');
  const userData = path.join(dir, 'userData');
  fs.mkdirSync(userData, { recursive: true });
  const port = await freePort();
  fs.writeFileSync(path.join(userData, 'settings.json'), JSON.stringify({ database: { kind: 'default' }, server: { enabled: true, port } }));
  const staff = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'test/electron/seed.ts', dataDir], { cwd: root, encoding: 'utf8' })) as {
    email: string;
    password: string;
    totpSecret: string;
  };

  const app = await _electron.launch({
    executablePath: found.binary,
    args: [root],
    cwd: root,
    env: { ...process.env, BUFFMONEY_DATA_DIR: dataDir, BUFFMONEY_USER_DATA: userData } as Record<string, string>,
  });
  try {
    const page = await app.firstWindow();
    await expect(page.getByRole('heading', { name: 'BuffMoney back office' })).toBeVisible();
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(staff.totpSecret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
    await page.getByLabel('Email').fill(staff.email);
    await page.getByLabel('Password').fill(staff.password);
    await page.getByLabel('Two-factor code').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('navigation', { name: 'Back office' })).toContainText(staff.email);
    await page.screenshot({ path: path.join(root, 'artefacts/electron/smoke-signed-in.png') });
    // The bundled server runs on the same database, on the port from the settings.
    await expect.poll(() => answers(`http://127.0.0.1:${port}/`), { timeout: 20_000 }).toBe(true);
  } finally {
    await app.close();
  }
  // Quitting stopped it.
  await expect.poll(() => answers(`http://127.0.0.1:${port}/`), { timeout: 10_000 }).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
});
