import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { excludedOnPostgres } from './test/pg/excluded.js';

/**
 * `npm run test:pg`: the same test files as `npm test`, on a private PostgreSQL cluster that
 * test/pg/global-setup.ts starts (and tears down), one fresh database per test context.
 * Files listed in test/pg/excluded.ts do not run here yet; the count is printed at the end.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      globalSetup: ['test/pg/global-setup.ts'],
      exclude: ['**/node_modules/**', ...excludedOnPostgres.map((e) => e.file)],
      // Each test file runs its own pools against one server: two workers keep it within the
      // cluster's connections and this machine's cores.
      maxWorkers: 2,
      minWorkers: 1,
    },
  }),
);
