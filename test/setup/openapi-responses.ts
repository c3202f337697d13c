import { afterAll, afterEach } from 'vitest';
import { takeViolations } from '../openapi-conformance.js';

/**
 * Fails the test during which a test server sent a response its OpenAPI document does not
 * describe (see test/openapi-conformance.ts): fix the document, or the server.
 */
function failOnViolations(when: string): void {
  const found = takeViolations();
  if (found.length === 0) return;
  const shown = found.slice(0, 10).map((v) => `  - ${v}`);
  if (found.length > 10) shown.push(`  … and ${found.length - 10} more`);
  throw new Error(`${found.length} response(s) ${when} disagree with the served OpenAPI document:\n${shown.join('\n')}`);
}

afterEach(() => failOnViolations('during this test'));
afterAll(() => failOnViolations('in this file outside tests (beforeAll/afterAll)'));
