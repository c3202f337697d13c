import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/helpers.js';
import { API_VERSION } from '../app.js';
import { allRoutes } from '../routes/index.js';
import { webhookEventDocs } from '../routes/webhook-endpoints.js';
import { buildOpenApiDocument } from './openapi.js';

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
    // The invoice's collection state: nullable ISO timestamps and the refunded total as a decimal string.
    const invoice = doc.components.schemas.Invoice;
    expect(invoice.required).toEqual(expect.arrayContaining(['paidAt', 'refundedAt', 'refundedMinor']));
    for (const field of ['paidAt', 'refundedAt']) expect(invoice.properties[field].type).toEqual(['string', 'null']);
    expect(invoice.properties.refundedMinor).toMatchObject({ type: 'string', pattern: '^(0|[1-9][0-9]*)$' });
  });

  it('documents the extra fields of errors per error, and references them where they can occur', () => {
    const { schemas } = doc.components;
    expect(schemas.Error.additionalProperties).toBe(false);
    expect(schemas.ValidationError.required).toEqual(expect.arrayContaining(['ok', 'error', 'message', 'issues']));
    expect(schemas.ValidationError.properties.error.const).toBe('validation_failed');
    expect(schemas.LiveAccessLockedError.properties.missing.items.enum).toEqual(['kyb_approval', 'two_factor', 'settlement_destination']);
    expect(schemas.RotationCooldownError.properties.daysRemaining.type).toBe('integer');
    expect(schemas.ScopeMissingError.properties.requiredScope.enum).toContain('usage:write');
    const schemaOf = (path: string, method: string, status: number) => doc.paths[path][method].responses[status].content['application/json'].schema;
    const refs = (schema: any) => (schema.oneOf ?? [schema]).map((s: any) => s.$ref.split('/').pop());
    expect(refs(schemaOf('/api/v1/merchants/me/generate-key', 'post', 400))).toEqual(expect.arrayContaining(['Error', 'ValidationError', 'LiveAccessLockedError']));
    expect(refs(schemaOf('/api/v1/merchants/me/rotate-key', 'post', 429))).toEqual(['Error', 'RotationCooldownError']);
    expect(doc.paths['/api/v1/merchants/me/rotate-key'].post.responses[429].headers['Retry-After']).toBeDefined();
    expect(refs(schemaOf('/api/v1/products', 'get', 403))).toEqual(['Error', 'ScopeMissingError']);
    expect(refs(schemaOf('/api/v1/products/{productId}/rate-cards', 'post', 400))).toEqual(['Error', 'ValidationError', 'RateCardPricesAmbiguousError']);
    expect(refs(schemaOf('/api/v1/contracts', 'post', 409))).toEqual(expect.arrayContaining(['Error', 'ContractOverlapError', 'ContractMetricOverlapError']));
    // A customer's usage summary no longer needs a contract chosen: no 409 left to document.
    expect(doc.paths['/api/v1/customers/{externalId}/usage'].get.responses[409]).toBeUndefined();
    expect(refs(schemaOf('/api/v1/products/{productId}', 'get', 404))).toEqual(['Error']);
    expect(doc.paths['/api/v1/merchants/me/rotate-key'].post.responses[429].description).toMatch(/`rotation_cooldown`/);
  });

  it('lists every status an operation can answer', () => {
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const statuses = Object.keys(op.responses);
        expect(statuses, `${method} ${path}`).toContain('500');
        if (path.includes('{')) expect(statuses, `${method} ${path}: invalid or malformed path ids`).toContain('400');
        if (op.security.length > 0) expect(statuses, `${method} ${path}`).toContain('401');
        if (op.requestBody?.content['application/json']) expect(statuses, `${method} ${path}`).toContain('415');
      }
    }
    for (const [path, method] of [
      ['/api/v1/products/{productId}', 'get'],
      ['/api/v1/products/{productId}/archive', 'post'],
      ['/api/v1/contracts/{contractId}/archive', 'post'],
    ]) {
      expect(doc.paths[path][method].responses[400].description, `${method} ${path}`).toMatch(/`path_invalid`/);
    }
    const usage = doc.paths['/api/v1/usage-events'].post.responses;
    expect(Object.keys(usage)).toEqual(expect.arrayContaining(['200', '401', '403', '409', '413', '415', '422', '503']));
    expect(usage[503].headers['Retry-After']).toBeDefined();
    expect(doc.info.description).toMatch(/405 `method_not_allowed`/);
  });

  it('documents the /v1 aliases, the probes and the document itself as paths, with unique operationIds', () => {
    expect(doc.paths['/v1/auth/login'].post.operationId).toBe('loginV1');
    expect(doc.paths['/v1/auth/login'].post.responses).toEqual(doc.paths['/api/v1/auth/login'].post.responses);
    expect(doc.paths['/v1/merchants/me'].patch.operationId).toBe('updateMeV1');
    expect(doc.paths['/v1/products']).toBeUndefined(); // only the merchants API document's paths have aliases
    for (const path of ['/healthz', '/readyz', '/api/health', '/api/openapi']) expect(doc.paths[path]?.get?.security, path).toEqual([]);
    expect(doc.paths['/readyz'].get.responses[503].content['application/json'].schema.oneOf[1].$ref).toBe('#/components/schemas/NotReadyError');
    const ids = Object.values<any>(doc.paths).flatMap((item) => Object.values<any>(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('states the KYB form field constraints and document types', () => {
    const form = doc.paths['/api/v1/merchants/me/kyb'].post.requestBody.content['multipart/form-data'];
    expect(form.schema.properties.companyName).toMatchObject({ type: 'string', minLength: 1, maxLength: 300 });
    expect(form.schema.properties.registrationNumber).toMatchObject({ maxLength: 100 });
    expect(form.schema.properties.country).toMatchObject({ pattern: '^[A-Za-z]{2}$', description: expect.stringMatching(/ISO 3166-1 alpha-2/) });
    expect(form.schema.properties.ownerId['x-maxBytes']).toBe(10 * 1024 * 1024);
    expect(form.encoding.bankProof.contentType).toBe('application/pdf, image/png, image/jpeg');
  });

  it('is the same document on every build (deterministic)', () => {
    const build = () => JSON.stringify(buildOpenApiDocument(allRoutes({ ctx: server.ctx, config: server.config }), { version: API_VERSION }, webhookEventDocs()));
    expect(build()).toBe(JSON.stringify(doc));
    expect(build()).toBe(build());
  });
});
