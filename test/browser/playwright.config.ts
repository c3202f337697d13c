import path from 'node:path';
import { defineConfig } from '@playwright/test';

/**
 * The browser suite: the built renderer in Debian's Chromium against the real loopback transport
 * and a real SQLite file (test/browser/serve.ts). `npm run test:browser` builds and runs it.
 */
const root = path.resolve(import.meta.dirname, '../..');
export const artefacts = path.join(root, 'artefacts/browser');

export default defineConfig({
  testDir: import.meta.dirname,
  testMatch: /.*\.spec\.ts$/,
  outputDir: path.join(artefacts, 'results'),
  globalSetup: path.join(import.meta.dirname, 'global-setup.ts'),
  fullyParallel: true,
  workers: 2,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: process.env.BROWSER_REPORT_JSON ?? path.join(artefacts, 'report.json') }]],
  use: {
    viewport: { width: 1360, height: 860 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    },
  },
});
