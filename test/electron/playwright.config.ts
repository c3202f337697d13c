import path from 'node:path';
import { defineConfig } from '@playwright/test';

/**
 * The desktop app's smoke test (npm run test:electron): Playwright's _electron launches the built
 * app on a temp data folder. Where Electron's binary is missing, the test is skipped and the run
 * says so in one line (global-setup.ts).
 */
const root = path.resolve(import.meta.dirname, '../..');

export default defineConfig({
  testDir: import.meta.dirname,
  testMatch: /.*\.spec\.ts$/,
  outputDir: path.join(root, 'artefacts/electron/results'),
  globalSetup: path.join(import.meta.dirname, 'global-setup.ts'),
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  forbidOnly: true,
  reporter: [['list']],
});
