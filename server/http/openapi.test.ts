import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/helpers.js';

describe('GET /api/openapi', () => {
  let server: TestServer;
  let doc: any;
  beforeAll(async () => {
    server = await startTestServer();
    const res = await server.call('GET', '/api/openapi');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => server.stop());

  it('is a valid OpenAPI 3.1 document (checked by a real validator)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    if (!result.valid) console.error(JSON.stringify(result.errors, null, 2).slice(0, 4000));
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every merchant accounts endpoint with the three security schemes', () => {
    const expected: Array<[string, string]> = [
      ['/api/v1/merchants', 'post'],
      ['/api/v1/auth/login', 'post'],
      ['/api/v1/auth/me', 'get'],
      ['/api/v1/merchants/me', 'get'],
      ['/api/v1/merchants/me', 'patch'],
      ['/api/v1/merchants/me/generate-key', 'post'],
      ['/api/v1/merchants/me/rotate-key', 'post'],
      ['/api/v1/merchants/me/kyb', 'post'],
      ['/api/v1/merchants/me/kyb', 'get'],
      ['/api/v1/merchants/me/2fa/enroll', 'post'],
      ['/api/v1/merchants/me/2fa/verify', 'post'],
    ];
    for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerApiKey', 'bearerJwt']);
    expect(doc.paths['/api/v1/merchants/me/rotate-key'].post.security).toEqual([{ bearerJwt: [] }]);
    expect(doc.paths['/api/v1/merchants/me'].get.security).toEqual(expect.arrayContaining([{ apiKeyHeader: [] }, { bearerJwt: [] }]));
  });

  it('describes request and response bodies from the same zod schemas the routes validate with', () => {
    const signup = doc.components.schemas.SignupRequest;
    expect(signup.required).toEqual(expect.arrayContaining(['name', 'email', 'password']));
    expect(signup.properties.password.minLength).toBe(8);
    const merchant = doc.components.schemas.Merchant;
    expect(merchant.properties.onChainMerchantId).toBeDefined();
    expect(merchant.properties.apiKeyGenerated.type).toBe('boolean');
    expect(doc.components.schemas.Error.required).toEqual(['ok', 'error', 'message']);
    expect(doc.paths['/api/v1/merchants/me/kyb'].post.requestBody.content['multipart/form-data']).toBeDefined();
  });
});
