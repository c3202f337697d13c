import { z } from 'zod';
import { SCOPE_DESCRIPTIONS } from '../../core/auth/api-keys.js';
import type { RouteSpec } from './route.js';

export const ErrorSchema = z
  .object({
    ok: z.literal(false),
    error: z.string().meta({ description: 'Stable machine-readable code, e.g. api_key_invalid' }),
    message: z.string().meta({ description: 'Human-readable explanation' }),
  })
  .meta({ id: 'Error' });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid credentials',
  403: 'Scope or merchant status check failed',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Validation failure',
  429: 'Too many requests (see Retry-After)',
};

const REF_PREFIX = '#/components/schemas/';

/**
 * JSON Schema for one zod schema. Named schemas (`.meta({ id })`) come back from zod as $defs;
 * they are moved into components and the references rewritten to point there.
 */
function convert(schema: z.ZodType, io: 'input' | 'output', components: Record<string, unknown>): Record<string, unknown> {
  const raw = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  const out = JSON.parse(JSON.stringify(raw).replaceAll('"#/$defs/', `"${REF_PREFIX}`)) as Record<string, unknown>;
  const defs = (out.$defs ?? {}) as Record<string, unknown>;
  for (const [id, def] of Object.entries(defs)) components[id] ??= def;
  delete out.$schema;
  delete out.$defs;
  return out;
}

function openApiPath(expressPath: string): string {
  return `/api/v1${expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

function parametersFor(spec: RouteSpec, components: Record<string, unknown>): unknown[] {
  const params: unknown[] = [];
  const add = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
    if (!schema) return;
    const js = convert(schema, 'input', components) as { properties?: Record<string, any>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = prop as Record<string, unknown>;
      params.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  };
  add(spec.params, 'path');
  add(spec.query, 'query');
  if (spec.operationId === 'ingestUsageEvents' || spec.description?.includes('Idempotency-Key')) {
    params.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      schema: { type: 'string', maxLength: 255 },
      description: 'Optional. Caches the full HTTP response for 24h so duplicate requests with the same body produce the same response.',
    });
  }
  if (spec.auth !== 'public' && spec.auth.jwt) {
    params.push({
      name: 'BuffMoney-Environment',
      in: 'header',
      required: false,
      schema: { type: 'string', enum: ['sandbox', 'live'], default: 'sandbox' },
      description: 'With a dashboard JWT: which environment to act in. API keys carry their own environment.',
    });
  }
  return params;
}

function securityFor(spec: RouteSpec): unknown[] {
  if (spec.auth === 'public') return [];
  const out: unknown[] = [];
  const scopes = spec.auth.scope ? [spec.auth.scope] : [];
  if (spec.auth.apiKey) out.push({ bearerApiKey: scopes }, { apiKeyHeader: scopes });
  if (spec.auth.jwt) out.push({ bearerJwt: [] });
  return out;
}

export function buildOpenApiDocument(routes: RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, unknown> = {};
  convert(ErrorSchema, 'output', components);
  for (const spec of routes) {
    const op: Record<string, unknown> = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: spec.tags,
      security: securityFor(spec),
    };
    const desc = [spec.description, spec.legacyV1 ? `Also served at \`${spec.path.replace(/^/, '/v1')}\` (merchants API document path).` : undefined]
      .filter(Boolean)
      .join('\n\n');
    if (desc) op.description = desc;
    const parameters = parametersFor(spec, components);
    if (parameters.length) op.parameters = parameters;
    if (spec.bodyType === 'multipart' && spec.multipartSchema) {
      op.requestBody = { required: true, content: { 'multipart/form-data': { schema: spec.multipartSchema } } };
    } else if (spec.body) {
      op.requestBody = { required: !spec.body.safeParse({}).success, content: { 'application/json': { schema: convert(spec.body, 'input', components) } } };
    }
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      const entry: Record<string, unknown> = { description: r.description };
      if (r.schema) {
        entry.content = { 'application/json': { schema: convert(r.schema, 'output', components) } };
      }
      if (r.headers) entry.headers = Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]));
      responses[status] = entry;
    }
    for (const status of spec.errors) {
      responses[String(status)] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: { 'application/json': { schema: { $ref: `${REF_PREFIX}Error` } } } };
    }
    op.responses = responses;
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'BuffMoney API',
      version: info.version,
      description:
        'Usage-based billing and CNY collection for AI companies. Amounts are integer minor units carried as decimal strings. Every error is `{ ok: false, error, message }`.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.flatMap((r) => r.tags))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: '24-hour session token from signup or login.' },
        bearerApiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'bm_<env>_<keyId>.<secret>',
          description: `API key as a Bearer token. Scopes: ${Object.entries(SCOPE_DESCRIPTIONS)
            .map(([s, d]) => `\`${s}\` (${d})`)
            .join(', ')}.`,
        },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same API key in the X-Api-Key header.' },
      },
    },
  };
}
