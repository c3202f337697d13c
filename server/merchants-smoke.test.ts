import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupMerchant, startTestServer, type TestServer } from '../test/helpers.js';

describe('server smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server.stop());

  it('signs up, issues a sandbox key, and authenticates with it', async () => {
    const m = await signupMerchant(server);
    const me = await server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } });
    expect(me.status).toBe(200);
    expect(me.body.apiKeyGenerated).toBe(true);
  });
});
