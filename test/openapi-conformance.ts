import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { CHANNEL_FACING_PATH_PREFIXES } from '../server/http/openapi.js';

/**
 * Response conformance: every response a test server sends is checked against the OpenAPI
 * document that server serves. The server's request listener is wrapped (startServer's
 * `wrapListener`, installed by startTestServer), so every client — fetch, node:http, the CLI —
 * is covered; test/setup/openapi-responses.ts fails the test during which a violation happened.
 */

export interface ObservedResponse {
  method: string;
  /** The request target as received (path and query). */
  url: string;
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

type Chunk = string | Buffer | Uint8Array;

function toBuffer(chunk: Chunk, encoding?: BufferEncoding): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk);
}

function headerValue(headers: OutgoingHttpHeaders | readonly unknown[] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (Array.isArray(headers)) {
    // writeHead's flat [name, value, name, value] form
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(', ') : String(v);
  return undefined;
}

/**
 * Wraps a request listener so `onResponse` sees each response (status, content type, body bytes)
 * synchronously when it ends — before the client can have read it, so a test that awaited a
 * response has its check recorded.
 */
export function observeResponses(listener: RequestListener, onResponse: (r: ObservedResponse) => void): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    // Express rewrites req.url inside mounted routers: keep the target as received.
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const chunks: Buffer[] = [];
    let writeHeadType: string | undefined;
    const { writeHead, write, end } = res;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      const headers = typeof args[1] === 'string' ? args[2] : args[1];
      writeHeadType ??= headerValue(headers as OutgoingHttpHeaders | undefined, 'content-type');
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['writeHead'];
    res.write = function (this: ServerResponse, chunk: Chunk, ...rest: unknown[]) {
      if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined));
      return (write as (...a: unknown[]) => boolean).apply(this, [chunk, ...rest]);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      const [chunk, encoding] = args;
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function')
        chunks.push(toBuffer(chunk as Chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined));
      const contentType = writeHeadType ?? (res.getHeader('content-type') as string | undefined);
      try {
        onResponse({ method, url, status: res.statusCode, contentType, body: Buffer.concat(chunks) });
      } catch (e) {
        recordViolation(`response observer failed for ${method} ${url}: ${(e as Error).stack ?? e}`);
      }
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['end'];
    listener(req, res);
  };
}

interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

interface PathMatcher {
  template: string;
  regex: RegExp;
  literalLength: number;
  item: Record<string, Operation>;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const DOC_ID = 'openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Statuses any path may answer outside its operations (see the document's info.description). */
const UNDOCUMENTED_PATH_STATUSES = new Set([400, 404, 405]);

/** Checks responses against one OpenAPI 3.1 document. */
export class OpenApiResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly matchers: PathMatcher[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } }) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: DOC_ID, components: { schemas: doc.components.schemas } });
    this.matchers = Object.entries(doc.paths)
      .map(([template, item]) => ({
        template,
        // Express routes match any letter case and an optional trailing slash.
        regex: new RegExp(
          `^${template
            .split(/\{[^}]+\}/)
            .map(escapeRegExp)
            .join('[^/]+')}/?$`,
          'i',
        ),
        literalLength: template.replace(/\{[^}]+\}/g, '').length,
        item,
      }))
      // The most literal template first: /merchants/me beats /merchants/{id}.
      .sort((a, b) => b.literalLength - a.literalLength);
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    let v = this.validators.get(key);
    if (!v) {
      const absolute = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`));
      v = this.ajv.compile(typeof absolute === 'object' && absolute !== null && !Array.isArray(absolute) ? absolute : {});
      this.validators.set(key, v);
    }
    return v;
  }

  private errorSchemaCheck(r: ObservedResponse, what: string): string[] {
    const body = parseJson(r);
    if (typeof body === 'string') return [`${what}: ${body}`];
    const v = this.validator('#Error', { $ref: '#/components/schemas/Error' });
    return v(body.value) ? [] : [`${what}: body does not match the Error schema: ${describeErrors(v)} — body ${preview(r.body)}`];
  }

  /** The document's violations by one response (empty when it conforms). */
  check(r: ObservedResponse): string[] {
    const path = r.url.split('?')[0];
    const method = r.method.toLowerCase();
    const label = `${r.method} ${path} → ${r.status}`;
    // Channel-facing paths speak the channels' formats, outside the merchant API document (server/http/openapi.ts).
    if (CHANNEL_FACING_PATH_PREFIXES.some((prefix) => path.toLowerCase().startsWith(prefix))) return [];
    const matcher = this.matchers.find((m) => m.regex.test(path));
    if (!matcher) {
      if (!UNDOCUMENTED_PATH_STATUSES.has(r.status))
        return [`${label}: the path is not in the OpenAPI document, and ${r.status} is not a status undocumented paths may answer (400, 404, 405)`];
      return this.errorSchemaCheck(r, `${label} (undocumented path)`);
    }
    const opMethod = method === 'head' && !matcher.item.head && matcher.item.get ? 'get' : method;
    const op = METHODS.includes(opMethod) ? matcher.item[opMethod] : undefined;
    if (!op) {
      if (method === 'options' && r.status === 204 && r.body.length === 0) return []; // Allow, no body (info.description)
      if (r.status !== 405 && r.status !== 404 && r.status !== 400)
        return [`${label}: ${r.method} is not documented for ${matcher.template}; expected 405 (or 404/400) with the Error schema`];
      return this.errorSchemaCheck(r, `${label} (undocumented method on ${matcher.template})`);
    }
    const documented = op.responses[String(r.status)] ?? op.responses[`${String(r.status)[0]}XX`] ?? op.responses.default;
    if (!documented) {
      return [
        `${label}: status ${r.status} is not documented for ${op.operationId} (${opMethod.toUpperCase()} ${matcher.template}); documented: ${Object.keys(op.responses).join(', ')} — body ${preview(r.body)}`,
      ];
    }
    const json = documented.content?.['application/json'];
    if (!json) {
      if (r.body.length > 0 && method !== 'head') return [`${label}: ${op.operationId} documents no body for ${r.status}, got ${preview(r.body)}`];
      return [];
    }
    if (method === 'head') return [];
    const body = parseJson(r);
    if (typeof body === 'string') return [`${label} (${op.operationId}): ${body}`];
    const key = `${matcher.template} ${opMethod} ${r.status}`;
    const v = this.validator(key, json.schema);
    if (v(body.value)) return [];
    return [`${label} (${op.operationId}): body does not match the documented schema: ${describeErrors(v)} — body ${preview(r.body)}`];
  }
}

function parseJson(r: ObservedResponse): { value: unknown } | string {
  if (!r.contentType || !/^application\/(?:[a-z0-9.+-]+\+)?json\b/i.test(r.contentType))
    return `documented as application/json, sent Content-Type ${r.contentType ?? '(none)'} with ${preview(r.body)}`;
  try {
    return { value: JSON.parse(r.body.toString('utf8')) };
  } catch {
    return `body is not JSON: ${preview(r.body)}`;
  }
}

function describeErrors(v: ValidateFunction): string {
  return (v.errors ?? [])
    .slice(0, 6)
    .map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}

function preview(body: Buffer): string {
  const text = body.toString('utf8');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text || '(empty)';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- violations of this test process, drained by the vitest setup file ----

const violations: string[] = [];

export function recordViolation(message: string): void {
  violations.push(message);
}

/** The violations recorded since the last call (and forgets them). */
export function takeViolations(): string[] {
  return violations.splice(0, violations.length);
}

const checkers = new Map<string, OpenApiResponseChecker>();

/** One checker per distinct document (servers of one test process normally serve the same one). */
export function checkerFor(documentJson: string): OpenApiResponseChecker {
  let checker = checkers.get(documentJson);
  if (!checker) {
    checker = new OpenApiResponseChecker(JSON.parse(documentJson));
    checkers.set(documentJson, checker);
  }
  return checker;
}

/**
 * A listener wrapper that checks every response against the document the server serves at
 * /api/openapi, fetched once it listens (`activate`). Responses before that (none in practice:
 * startTestServer activates before returning) are checked when the document arrives.
 */
export function conformanceObserver(): { wrap: (l: RequestListener) => RequestListener; activate: (documentJson: string) => void } {
  let checker: OpenApiResponseChecker | undefined;
  const pending: ObservedResponse[] = [];
  const check = (r: ObservedResponse) => {
    for (const v of checker?.check(r) ?? []) recordViolation(v);
  };
  return {
    wrap: (listener) =>
      observeResponses(listener, (r) => {
        if (checker) check(r);
        else pending.push(r);
      }),
    activate(documentJson) {
      checker = checkerFor(documentJson);
      for (const r of pending.splice(0)) check(r);
    },
  };
}
