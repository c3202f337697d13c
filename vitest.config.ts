import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'server/**/*.test.ts', 'migrations/**/*.test.ts', 'test/**/*.test.ts', 'renderer/**/*.test.ts'],
    // The browser suite (test/browser/*.spec.ts) runs under Playwright: npm run test:browser.
    // bcrypt at cost 12 and real HTTP make single tests slower than the default 5 s allows.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every response a test server sends is checked against its OpenAPI document.
    setupFiles: ['test/setup/openapi-responses.ts'],
  },
});
