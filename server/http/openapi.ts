import { z } from 'zod';
import { API_KEY_SCOPES, SCOPE_DESCRIPTIONS } from '../../core/auth/api-keys.js';
import { type HttpMethod, type RouteSpec, refusesNonJsonBody } from './route.js';

/**
 * Paths the server answers that are not part of the merchant API and so not in this document:
 * the payment channels' callbacks (answered in WeChat Pay's and Alipay's own formats) and the
 * sandbox channel peers (WeChat Pay's v3 API and Alipay's gateway, as those channels speak them) and the
 * hosted checkout page (HTML for payers, server/checkout-page).
 * The README documents them ("Payment channels").
 */
export const CHANNEL_FACING_PATH_PREFIXES: readonly string[] = ['/api/webhooks/', '/sandbox/channels/', '/pay/'];

/** The error object every failure answers with; errors that carry more fields have their own schema below. */
export const ErrorSchema = z
  .object({
    ok: z.literal(false),
    error: z.string().meta({ description: 'Stable machine-readable code, e.g. api_key_invalid' }),
    message: z.string().meta({ description: 'Human-readable explanation' }),
  })
  .meta({ id: 'Error', description: 'An error without extra fields. Errors with extra fields have their own schema (ValidationError, …).' });

function errorWith<S extends z.ZodRawShape>(id: string, code: string, description: string, shape: S) {
  return z.object({ ok: z.literal(false), error: z.literal(code), message: z.string(), ...shape }).meta({ id, description });
}

/**
 * Error codes whose body carries fields besides ok/error/message (DomainError `details`, spread
 * into the body by errorResponse), each with its schema. A response that can carry one of these
 * codes is documented as `oneOf` the plain Error and these schemas; they exclude each other (the
 * plain Error forbids extra fields, each of these pins its `error` code).
 */
export const ERROR_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  validation_failed: errorWith('ValidationError', 'validation_failed', 'The request did not match its schema; `issues` names the offending fields (at most 20).', {
    issues: z.array(z.object({ path: z.string().meta({ description: 'Dotted path of the field, empty for the whole body' }), message: z.string() })).max(20),
  }),
  scope_missing: errorWith('ScopeMissingError', 'scope_missing', 'The API key lacks the scope the endpoint needs.', {
    requiredScope: z.enum(API_KEY_SCOPES),
  }),
  live_access_locked: errorWith(
    'LiveAccessLockedError',
    'live_access_locked',
    'Live keys unlock after KYB approval, 2FA and a settlement destination; `missing` says what is left.',
    {
      missing: z.array(z.enum(['kyb_approval', 'two_factor', 'settlement_destination'])).min(1),
    },
  ),
  rotation_cooldown: errorWith('RotationCooldownError', 'rotation_cooldown', 'A live key was rotated within the last 180 days (Retry-After in seconds, `daysRemaining` in days).', {
    daysRemaining: z.number().int().min(1),
  }),
  rate_card_prices_ambiguous: errorWith(
    'RateCardPricesAmbiguousError',
    'rate_card_prices_ambiguous',
    'Two prices could both apply to one event; `conflicts` lists the pairs (at most 20).',
    {
      conflicts: z.array(z.object({ reason: z.enum(['duplicate', 'ambiguous']), indexes: z.array(z.number().int().min(0)), message: z.string() })).max(20),
    },
  ),
  rate_card_not_published: errorWith(
    'RateCardNotPublishedError',
    'rate_card_not_published',
    "Contracts need a published rate-card version; `status` is the version's current status.",
    {
      status: z.enum(['draft', 'archived']),
    },
  ),
  contract_metric_overlap: errorWith(
    'ContractMetricOverlapError',
    'contract_metric_overlap',
    'Another contract of the customer prices one of the same metrics in part of the period (an event must bill on exactly one contract); `contractId` names it, `metrics` the metrics both price.',
    {
      contractId: z.string(),
      metrics: z.array(z.string()).min(1),
    },
  ),
  contract_overlap: errorWith('ContractOverlapError', 'contract_overlap', 'Another contract for the customer and product covers part of the period; `contractId` names it.', {
    contractId: z.string(),
  }),
  period_invoiced: errorWith('PeriodInvoicedError', 'period_invoiced', 'The instant falls in a period already invoiced, up to `invoicedUntil`.', {
    invoicedUntil: z.string().meta({ description: 'ISO-8601 UTC instant' }),
  }),
  product_key_taken: errorWith('ProductKeyTakenError', 'product_key_taken', 'A product with this `key` exists in this environment (keys are never reused).', {
    key: z.string(),
  }),
  rate_card_not_draft: errorWith('RateCardNotDraftError', 'rate_card_not_draft', "Only drafts change or publish; `status` is the version's current status.", {
    status: z.enum(['published', 'archived']),
  }),
  customer_exists: errorWith('CustomerExistsError', 'customer_exists', 'A customer with this `externalId` exists in this environment.', {
    externalId: z.string(),
  }),
  customer_has_active_contract: errorWith(
    'CustomerHasActiveContractError',
    'customer_has_active_contract',
    'A contract of the customer is running or scheduled; `contractId` names it.',
    {
      contractId: z.string(),
    },
  ),
  channel_unavailable: errorWith(
    'ChannelUnavailableError',
    'channel_unavailable',
    'The payment channel did not complete the request; `channelCode` is its own code (or `network` / `bad_response`), `retryable` whether the same request may succeed later (see Retry-After).',
    {
      channel: z.enum(['wechat', 'alipay']),
      channelCode: z.string(),
      retryable: z.boolean(),
    },
  ),
  ...Object.fromEntries(
    (
      [
        ['invoice_already_paid', 'InvoiceAlreadyPaidError', 'The invoice is already paid.'],
        ['invoice_void', 'InvoiceVoidError', 'The invoice was voided.'],
        ['invoice_refunded', 'InvoiceRefundedError', 'The invoice was refunded.'],
        ['invoice_not_payable', 'InvoiceNotPayableError', 'The invoice cannot be collected: a draft, or nothing to collect in CNY.'],
      ] as const
    ).map(([code, id, description]) => [
      code,
      errorWith(id, code, `${description} \`status\` is the invoice's status.`, {
        status: z.enum(['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded']),
      }),
    ]),
  ),
  payment_order_not_open: errorWith('PaymentOrderNotOpenError', 'payment_order_not_open', 'Only an open payment order takes payment; `status` is its status.', {
    status: z.enum(['creating', 'paid', 'closed', 'expired', 'failed']),
  }),
  not_ready: errorWith('NotReadyError', 'not_ready', 'A readiness check failed; `failing` names which.', {
    failing: z.array(z.enum(['database', 'migrations', 'ingestWriter'])).min(1),
  }),
};

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
  500: 'Internal error (never caused by the request; the log has the details)',
  503: 'Temporarily unavailable (see Retry-After)',
};

const RETRY_AFTER = { description: 'Seconds until a retry may succeed', schema: { type: 'string', pattern: '^[0-9]+$' } };

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

/**
 * The multipart/form-data schema of `fields` (the zod schema the route validates the text
 * fields with) plus file parts, and the per-part encoding. Sizes of binary parts have no JSON
 * Schema keyword: they are stated in the description and as `x-maxBytes`.
 */
export function multipartDocument(
  fields: z.ZodObject,
  files: { names: readonly string[]; contentTypes: readonly string[]; maxBytes: number; description: string; fieldDescriptions?: Record<string, string> },
): { schema: Record<string, unknown>; encoding: Record<string, { contentType: string }> } {
  const js = z.toJSONSchema(fields, { target: 'draft-2020-12', io: 'input' }) as { properties: Record<string, Record<string, unknown>>; required?: string[] };
  for (const [name, description] of Object.entries(files.fieldDescriptions ?? {})) js.properties[name] = { ...js.properties[name], description };
  const fileSchema = {
    type: 'string',
    contentMediaType: 'application/octet-stream',
    description: `${files.description} ${files.contentTypes.join(', ')} (checked by content), at most ${files.maxBytes / 1024 / 1024} MB.`,
    'x-maxBytes': files.maxBytes,
  };
  return {
    schema: {
      type: 'object',
      required: [...(js.required ?? []), ...files.names],
      properties: { ...js.properties, ...Object.fromEntries(files.names.map((n) => [n, fileSchema])) },
      additionalProperties: false,
    },
    encoding: Object.fromEntries(files.names.map((n) => [n, { contentType: files.contentTypes.join(', ') }])),
  };
}

function openApiPath(prefix: string, expressPath: string): string {
  return `${prefix}${expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

function parametersFor(spec: RouteSpec, components: Record<string, unknown>): unknown[] {
  const params: unknown[] = [];
  const add = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
    if (!schema) return;
    const js = convert(schema, 'input', components) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
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
      schema: { type: 'string', minLength: 1, maxLength: 255 },
      description: 'Optional. Caches the full HTTP response for 24h so duplicate requests with the same body produce the same response.',
    });
  }
  if (spec.auth !== 'public') {
    params.push({
      name: 'BuffMoney-Environment',
      in: 'header',
      required: false,
      schema: { type: 'string', enum: ['sandbox', 'live'] },
      description:
        'With a dashboard JWT: which environment to act in (sandbox when absent). API keys carry their own environment; a header naming the other one is 403 `environment_mismatch`. Any other value is 400 `environment_invalid`.',
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

const takesJson = (spec: RouteSpec) => spec.body !== undefined && (spec.bodyType ?? 'json') === 'json';
/** Routes whose request body, when one is sent, must be declared JSON (route.ts requireJsonBody; lean routes check when they take a body). */
const refusesNonJson = (spec: RouteSpec) => refusesNonJsonBody(spec);
const invalidInputStatus = (spec: RouteSpec) => (spec.invalidInputKind === 'unprocessable' ? 422 : 400);

/**
 * The error statuses of a route: those it declares, plus those its features imply, so a new
 * route cannot forget them: invalid input (body, query or path parameters — over-long or
 * malformed ids included), 401 behind auth, 413 for JSON bodies, 415 where a body must be
 * declared JSON, 429 behind rate limits (`before`), 500 everywhere.
 */
export function errorStatusesFor(spec: RouteSpec): number[] {
  const out = new Set<number>(spec.errors);
  if (takesJson(spec) || spec.query || spec.params) out.add(invalidInputStatus(spec));
  if (spec.auth !== 'public') {
    out.add(400); // environment_invalid
    out.add(401);
    if (spec.auth.apiKey || (spec.auth.jwt && !spec.auth.allowSuspended)) out.add(403); // environment_mismatch, merchant_suspended
    if (spec.auth.goneAs404) out.add(404);
  }
  if (takesJson(spec)) out.add(413);
  if (refusesNonJson(spec)) out.add(415);
  if (spec.before?.length) out.add(429);
  out.add(500);
  for (const status of Object.keys(spec.errorCodes ?? {})) out.add(Number(status));
  return [...out].filter((s) => !(s in spec.responses)).sort((a, b) => a - b);
}

/** The stable `error` codes worth naming for one status of a route: implied by its features, plus those it declares. */
export function errorCodesFor(spec: RouteSpec, status: number): string[] {
  const codes: string[] = [];
  const validated = spec.lean === undefined && (takesJson(spec) || spec.query !== undefined || spec.params !== undefined);
  if (status === invalidInputStatus(spec) && validated) codes.push('validation_failed');
  if (status === invalidInputStatus(spec) && takesJson(spec)) codes.push('malformed_json');
  if (status === 400 && spec.params) codes.push('path_invalid');
  if (spec.auth !== 'public') {
    const { jwt, apiKey, scope, allowSuspended, goneAs404, jwtOnlyMessage } = spec.auth;
    if (status === 400) codes.push('environment_invalid');
    if (status === 401) {
      codes.push(jwt && !apiKey && jwtOnlyMessage ? 'jwt_required' : 'auth_required');
      if (jwt) codes.push('token_invalid');
      if (apiKey) codes.push('api_key_invalid');
      if (jwt && !apiKey && !codes.includes('jwt_required')) codes.push('jwt_required');
      if (apiKey && !jwt) codes.push('api_key_required');
    }
    if (status === 403 && apiKey && scope) codes.push('scope_missing');
    if (status === 403 && apiKey) codes.push('environment_mismatch');
    if (status === 403 && (apiKey || (jwt && !allowSuspended))) codes.push('merchant_suspended');
    if (status === 404 && goneAs404) codes.push('merchant_not_found');
  }
  if (status === 413 && takesJson(spec)) codes.push('payload_too_large');
  if (status === 415 && refusesNonJson(spec)) codes.push('content_type_unsupported', 'unsupported_encoding');
  if (status === 429 && spec.before?.length) codes.push('rate_limited');
  if (status === 500) codes.push('internal_error');
  for (const c of spec.errorCodes?.[status] ?? []) if (!codes.includes(c)) codes.push(c);
  return codes;
}

function errorResponseObject(status: number, codes: string[], components: Record<string, unknown>, retryAfter = status === 429 || status === 503): Record<string, unknown> {
  const detailed = codes.filter((c) => ERROR_SCHEMAS[c] !== undefined);
  const schema = detailed.length
    ? { oneOf: [{ $ref: `${REF_PREFIX}Error` }, ...detailed.map((c) => convert(ERROR_SCHEMAS[c], 'output', components))] }
    : { $ref: `${REF_PREFIX}Error` };
  const named = codes.length ? ` \`error\` codes include: ${codes.map((c) => `\`${c}\``).join(', ')}.` : '';
  const entry: Record<string, unknown> = { description: `${ERROR_DESCRIPTIONS[status] ?? 'Error'}.${named}`, content: { 'application/json': { schema } } };
  if (retryAfter) entry.headers = { 'Retry-After': RETRY_AFTER };
  return entry;
}

function operationFor(spec: RouteSpec, components: Record<string, unknown>): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: spec.tags,
    security: securityFor(spec),
  };
  if (spec.description) op.description = spec.description;
  const parameters = parametersFor(spec, components);
  if (parameters.length) op.parameters = parameters;
  if (spec.bodyType === 'multipart' && spec.multipartSchema) {
    op.requestBody = {
      required: true,
      content: { 'multipart/form-data': { schema: spec.multipartSchema, ...(spec.multipartEncoding ? { encoding: spec.multipartEncoding } : {}) } },
    };
  } else if (spec.body) {
    op.requestBody = { required: !spec.body.safeParse({}).success, content: { 'application/json': { schema: convert(spec.body, 'input', components) } } };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const entry: Record<string, unknown> = { description: r.description };
    if (r.schema) entry.content = { 'application/json': { schema: convert(r.schema, 'output', components) } };
    const headers: Record<string, unknown> = Object.fromEntries(Object.entries(r.headers ?? {}).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]));
    if (Number(status) === 429 || Number(status) === 503) headers['Retry-After'] ??= RETRY_AFTER;
    if (Object.keys(headers).length) entry.headers = headers;
    responses[status] = entry;
  }
  for (const status of errorStatusesFor(spec)) responses[String(status)] = errorResponseObject(status, errorCodesFor(spec, status), components);
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  return op;
}

/** Endpoints outside the route table (served by app.ts itself), documented here. */
function platformOperations(components: Record<string, unknown>): Array<{ path: string; method: HttpMethod; op: Record<string, unknown> }> {
  const internal = errorResponseObject(500, ['internal_error'], components);
  const json = (schema: z.ZodType) => ({ 'application/json': { schema: convert(schema, 'output', components) } });
  const check = z.literal('ok');
  return [
    {
      path: '/healthz',
      method: 'get',
      op: {
        operationId: 'getLiveness',
        summary: 'Liveness probe: the process serves HTTP',
        description: 'Unauthenticated, touches nothing, carries no data.',
        tags: ['Platform'],
        security: [],
        responses: { 200: { description: 'Alive', content: json(z.strictObject({ ok: z.literal(true) })) }, 500: internal },
      },
    },
    {
      path: '/readyz',
      method: 'get',
      op: {
        operationId: 'getReadiness',
        summary: 'Readiness probe: database reachable, migrations current, usage-event writer alive',
        description: 'Unauthenticated; no versions, counts or error text.',
        tags: ['Platform'],
        security: [],
        responses: {
          200: {
            description: 'Ready',
            content: json(z.strictObject({ ok: z.literal(true), checks: z.strictObject({ database: check, migrations: check, ingestWriter: check }) })),
          },
          500: internal,
          503: errorResponseObject(503, ['not_ready'], components, false),
        },
      },
    },
    {
      path: '/api/openapi',
      method: 'get',
      op: {
        operationId: 'getOpenApiDocument',
        summary: 'This OpenAPI 3.1 document',
        tags: ['Platform'],
        security: [],
        responses: {
          200: { description: 'The document', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } } } },
          500: internal,
        },
      },
    },
    {
      path: '/api/health',
      method: 'get',
      op: {
        operationId: 'getHealth',
        summary: 'Liveness (kept for existing monitors; see /healthz and /readyz)',
        tags: ['Platform'],
        security: [],
        responses: {
          200: {
            description: 'The process is serving requests',
            content: { 'application/json': { schema: convert(z.strictObject({ ok: z.literal(true) }), 'output', components) } },
          },
          500: internal,
        },
      },
    },
  ];
}

const INFO_DESCRIPTION = `Usage-based billing and CNY collection for AI companies. Amounts are integer minor units carried as decimal strings.

Every error is \`{ ok: false, error, message }\` (the \`Error\` schema), some with extra fields documented per error (ValidationError, ScopeMissingError, …). Besides the statuses each operation lists, any path may answer:
- 404 \`route_not_found\` when no operation has that path;
- 405 \`method_not_allowed\` with an \`Allow\` header when the path exists but the method does not (OPTIONS included: no CORS preflight is served; HEAD is answered wherever GET is);
- 400 \`path_invalid\` when the path holds a malformed percent-escape.

The merchants API paths \`/v1/…\` are served too, for the operations listed under them (same behaviour, operationIds ending in \`V1\`).`;

/** One event type merchants receive by webhook: documented in the document's `webhooks` section. */
export interface WebhookEventDoc {
  type: string;
  description: string;
  /** The payload's `data`: the object as the API returns it. */
  data: z.ZodType;
}

const WEBHOOK_HEADERS = [
  { name: 'webhook-id', description: 'The message id (the payload `id`): the same at every retry and resend. Deduplicate on it.' },
  { name: 'webhook-timestamp', description: 'Unix seconds when this attempt was signed. Refuse it more than 5 minutes from your clock.' },
  {
    name: 'webhook-signature',
    description:
      '`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed by the base64-decoded part of the endpoint secret after `whsec_`. Space-separated when two secrets are live (24 hours after a rotation): accept any that matches.',
  },
];

function webhookOperation(doc: WebhookEventDoc, components: Record<string, unknown>): Record<string, unknown> {
  const payload = z
    .strictObject({
      id: z.string().meta({ description: 'The message id, as the webhook-id header.' }),
      type: z.literal(doc.type),
      timestamp: z.string().meta({ description: 'When the event happened (ISO-8601 UTC).' }),
      data: doc.data,
    })
    .meta({ description: doc.description });
  return {
    post: {
      operationId: `webhook_${doc.type.replace(/[^a-z0-9]+/gi, '_')}`,
      summary: `${doc.type} event`,
      description: `${doc.description}\n\nPOSTed to your endpoints subscribed to \`${doc.type}\` (test events to the endpoint asked). Answer 2xx within 15 seconds; anything else (redirects included) is retried with backoff over about three days, honouring Retry-After; 410 Gone disables the endpoint.`,
      tags: ['Webhooks'],
      parameters: WEBHOOK_HEADERS.map((h) => ({ name: h.name, in: 'header', required: true, description: h.description, schema: { type: 'string' } })),
      requestBody: { required: true, content: { 'application/json': { schema: convert(payload, 'output', components) } } },
      responses: { '2XX': { description: 'Received. Any 2xx; the body is ignored (its first 1 KB is kept in the attempt log).' } },
    },
  };
}

export function buildOpenApiDocument(routes: RouteSpec[], info: { version: string }, webhookEvents: readonly WebhookEventDoc[] = []): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, unknown> = {};
  convert(ErrorSchema, 'output', components);
  const webhooks = Object.fromEntries(webhookEvents.map((doc) => [doc.type, webhookOperation(doc, components)]));
  const addOperation = (path: string, method: string, op: Record<string, unknown>) => {
    paths[path] ??= {};
    const item = paths[path];
    if (item[method]) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} documented twice`);
    item[method] = op;
  };
  for (const spec of routes) {
    const op = operationFor(spec, components);
    addOperation(openApiPath('/api/v1', spec.path), spec.method, op);
    if (spec.legacyV1) {
      addOperation(openApiPath('/v1', spec.path), spec.method, {
        ...op,
        operationId: `${spec.operationId}V1`,
        description: [`The merchants API path of \`${spec.operationId}\` (\`${openApiPath('/api/v1', spec.path)}\`): same behaviour.`, spec.description]
          .filter(Boolean)
          .join('\n\n'),
      });
    }
  }
  for (const { path, method, op } of platformOperations(components)) addOperation(path, method, op);
  const operationIds = Object.values(paths).flatMap((item) => Object.values(item).map((op) => (op as { operationId: string }).operationId));
  const duplicate = operationIds.find((id, i) => operationIds.indexOf(id) !== i);
  if (duplicate) throw new Error(`OpenAPI: operationId ${duplicate} used twice`);
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const sortedSchemas = Object.fromEntries(Object.entries(components).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    openapi: '3.1.0',
    info: { title: 'BuffMoney API', version: info.version, description: INFO_DESCRIPTION },
    servers: [{ url: '/' }],
    tags: [...new Set([...routes.flatMap((r) => r.tags), 'Platform'])].map((name) => ({ name })),
    paths: sortedPaths,
    ...(webhookEvents.length > 0 ? { webhooks } : {}),
    components: {
      schemas: sortedSchemas,
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
