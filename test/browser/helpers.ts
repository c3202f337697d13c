import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Page, expect } from '@playwright/test';
import * as OTPAuth from 'otpauth';

/**
 * What every browser spec shares: the seeded staff (written by the global set-up's seed into the
 * file named by an environment variable), screenshots into artefacts/browser/screenshots, codes as
 * an authenticator app shows them, and signing in through the real sign-in screen.
 */
export interface Staff {
  email: string;
  password: string;
  totpSecret: string;
}

/** The seed's facts, from the JSON file the environment variable names. */
export function readSeedInfo<T extends { url: string; staff: Record<string, Staff> }>(variable = 'BACKOFFICE_INFO'): T {
  const file = process.env[variable];
  if (!file) throw new Error(`${variable} is not set: run the browser tests with npm run test:browser`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

const shots = path.resolve(import.meta.dirname, '../../artefacts/browser/screenshots');

/** Screenshots named `<prefix><name>.png`; full-page unless said otherwise. */
export function screenshotter(prefix: string, options: { fullPage?: boolean } = {}) {
  return (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${prefix}${name}.png`), fullPage: options.fullPage ?? true });
}

const STEP_MS = 30_000;
const stepNow = () => Math.floor(Date.now() / STEP_MS);

/**
 * Codes as an authenticator app shows them. The server accepts a code within ±1 step of now,
 * once, and only if newer than the last one it accepted: sign-in takes the current step's code,
 * the first step-up the next step's, and a later step-up waits (up to one step) until its step
 * is within reach, as an officer waits for the next code in their app.
 */
export function authenticator(secret: string): () => Promise<string> {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  let step: number | undefined;
  return async () => {
    step = step === undefined ? stepNow() : Math.max(step + 1, stepNow() - 1);
    while (step > stepNow() + 1) await new Promise((r) => setTimeout(r, 250));
    return totp.generate({ timestamp: step * STEP_MS });
  };
}

/** Signs in on the sign-in screen; returns the authenticator for the step-ups that follow. */
export async function signIn(page: Page, url: string, who: Staff): Promise<() => Promise<string>> {
  const code = authenticator(who.totpSecret);
  await page.goto(url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Two-factor code').fill(await code());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Back office' })).toContainText(who.email);
  return code;
}

/**
 * Starts a spec's own server script (`node --import tsx <script> <info.json>`), waits for the info
 * file it writes once ready, and returns what it wrote with a stop that ends it (SIGTERM).
 */
export async function startSpecServer<T>(script: string, timeoutMs = 60_000): Promise<{ info: T; stop(): Promise<void> }> {
  const root = path.resolve(import.meta.dirname, '../..');
  const infoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-spec-info-'));
  const file = path.join(infoDir, 'info.json');
  const child = spawn(process.execPath, ['--import', 'tsx', script, file], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`${script} did not start within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    info: JSON.parse(fs.readFileSync(file, 'utf8')) as T,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(infoDir, { recursive: true, force: true });
    },
  };
}
