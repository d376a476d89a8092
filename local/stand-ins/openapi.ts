/**
 * A mock of any API, served from its description (OpenAPI 3.0 or 3.1, or Swagger 2.0 converted with
 * `swagger2openapi`, JSON or YAML), with openapi-backend: the stand-in the `openapi` kind's proofs
 * run against (docs/connectors/openapi.md#proven-on-real-descriptions), and what
 * `npm run mock -- --spec FILE [--port N]` starts.
 *
 * - **Routes**: every operation of the description, under the path of its first server's URL
 *   (`/api` for Slack's `https://slack.com/api`); the mock's `url` is that base URL on 127.0.0.1, the
 *   `baseUrl` to give a connector. Anything else answers `404`.
 * - **Checks**, before answering: the request against the operation's parameters and request body
 *   (openapi-backend on Ajv; a form body's fields are read as the types their schema declares), and
 *   its credential: where the operation's `security` (else the document's) requires a scheme, an
 *   `Authorization: Basic`/`Bearer` header, or the `apiKey`'s header or query parameter. A parameter
 *   that carries the credential is not asked for, as the `openapi` kind does not send it
 *   (`credentialParameterOf`, docs/connectors/openapi.md#credential-parameters). A request that
 *   fails answers `400 {"message": "Mock: ...", "errors": [...]}` (a missing credential: `401`).
 * - **Answers**: the operation's first documented success status with its documented example, the
 *   fields its documented schema refuses left out ({@link repair}: vendors' examples drift from their
 *   schemas), or, when that is not enough, a sample generated from the schema (openapi-backend's
 *   `mockResponseForOperation`). Formats are ajv-formats', as the `openapi` kind checks them.
 * - **Switches for tests**: {@link DescriptionMock.answerNext} queues the answer of the next request
 *   that passes the checks, {@link DescriptionMock.answerEvery} sets the answer of every one: a
 *   status, headers and body of the test's choosing (a `429` with `Retry-After`, a `404`), or
 *   `{ violateSchema: true }`, the usual answer with one field of the wrong type, which the
 *   documented schema refuses.
 * - **Counts**: {@link DescriptionMock.requests} holds every request received, with the operation
 *   it matched and the problems found, so a test can prove that an invalid input never left.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import path from 'node:path';
import formats from 'ajv-formats';
import { OpenAPIBackend, type Operation } from 'openapi-backend';
import { credentialParameterOf } from '../../functions/openapi/description.js';
import { listenOnLoopback, type VendorMock } from './server.js';

type Json = Record<string, unknown>;

/** ajv-formats is CommonJS: its plugin is the module's `default` under Node's ESM and TypeScript alike. */
const addFormats = formats.default;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One request the mock received. */
export interface DescriptionMockRequest {
  method: string;
  /** The path and query string, as received. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The `operationId` it matched; `undefined` when it matched none. */
  operationId: string | undefined;
  /** What the checks found (`query.limit: must be integer`, `credential: ...`); empty when it passed. */
  issues: string[];
  /** What the mock answered, once it has. */
  answer?: { status: number; body: unknown };
}

/** An answer chosen by a test: as given, or the usual one made to violate the documented schema. */
export type DescriptionMockAnswer =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { violateSchema: true };

/** A running description mock. */
export interface DescriptionMock extends VendorMock {
  requests: DescriptionMockRequest[];
  /** The `operationId`s it serves, in the description's order. */
  operationIds: readonly string[];
  /** Queues the answer of the next request that passes the checks (first queued, first used). */
  answerNext(answer: DescriptionMockAnswer): void;
  /**
   * Answers every request that passes the checks (once the queue is empty) with `answer`, until
   * called again; `undefined` goes back to the usual answers. For answers whose count a test cannot
   * know in advance (a connector's retries, a forced credential refresh).
   */
  answerEvery(answer: DescriptionMockAnswer | undefined): void;
}

/** Options of {@link startDescriptionMock}. */
export interface DescriptionMockOptions {
  /** The description file: absolute, or relative to the working directory. */
  spec: string;
  /** The port on 127.0.0.1; `0` picks a free one. @default 0 */
  port?: number;
}

/**
 * Reads a description file as an OpenAPI 3.x document: JSON (or YAML for `.yaml`/`.yml`), Swagger 2.0
 * converted with `swagger2openapi`.
 * @throws Error naming the file when it cannot be read or is not an OpenAPI 3.x or Swagger 2.0 description
 */
export async function readOpenApiDocument(file: string): Promise<Json> {
  const text = await readFile(file, 'utf8');
  const parsed: unknown = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
  if (!isObject(parsed)) throw new Error(`${file} is not an API description`);
  if (typeof parsed.swagger === 'string' && parsed.swagger.startsWith('2.')) {
    const { convertObj } = await import('swagger2openapi');
    return (await convertObj(parsed as never, { patch: true, warnOnly: true })).openapi as unknown as Json;
  }
  if (typeof parsed.openapi !== 'string' || !/^3\.[01]\./.test(parsed.openapi)) {
    throw new Error(`${file} is not an OpenAPI 3.0, 3.1 or Swagger 2.0 description`);
  }
  return parsed;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** What a request must carry to pass the credential check: one of these ways. */
type CredentialWay = { header: 'authorization'; prefix: string } | { in: 'header' | 'query'; name: string };

/** The ways an operation accepts a credential, from its (or the document's) `security`; empty: none needed. */
function credentialWaysOf(document: Json, operation: Json): CredentialWay[] {
  const schemes = isObject(document.components) ? document.components.securitySchemes : undefined;
  const requirements = Array.isArray(operation.security) ? operation.security : document.security;
  if (!Array.isArray(requirements) || requirements.some((r) => isObject(r) && Object.keys(r).length === 0)) {
    return [];
  }
  const ways: CredentialWay[] = [];
  for (const requirement of requirements) {
    for (const name of Object.keys(isObject(requirement) ? requirement : {})) {
      const scheme = isObject(schemes) ? schemes[name] : undefined;
      if (!isObject(scheme)) continue;
      if (scheme.type === 'apiKey' && (scheme.in === 'header' || scheme.in === 'query')) {
        ways.push({ in: scheme.in, name: String(scheme.name) });
      } else if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'basic') {
        ways.push({ header: 'authorization', prefix: 'basic ' });
      } else if (scheme.type === 'http' || scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
        ways.push({ header: 'authorization', prefix: 'bearer ' });
      }
    }
  }
  return ways;
}

/**
 * The description as the mock serves it: each operation without the parameters that carry the
 * credential (they are checked as credentials instead), and the ways each accepts a credential.
 */
function withoutCredentialParameters(document: Json): { document: Json; ways: Map<string, CredentialWay[]> } {
  const ways = new Map<string, CredentialWay[]>();
  const resolve = (value: unknown): unknown => {
    if (!isObject(value) || typeof value.$ref !== 'string' || !value.$ref.startsWith('#/')) return value;
    let target: unknown = document;
    for (const part of value.$ref.slice(2).split('/')) target = isObject(target) ? target[part] : undefined;
    return target;
  };
  const paths: Json = {};
  for (const [template, item] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    if (!isObject(item)) continue;
    const out: Json = { ...item };
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const isCredential = credentialParameterOf(document, operation);
      const keep = (parameters: unknown) =>
        Array.isArray(parameters)
          ? parameters.filter((parameter) => {
              const resolved = resolve(parameter);
              return !isObject(resolved) || !isCredential(String(resolved.in), String(resolved.name));
            })
          : parameters;
      out[method] = {
        ...operation,
        ...(operation.parameters ? { parameters: keep(operation.parameters) } : {}),
      };
      if (item.parameters) out.parameters = keep(item.parameters);
      if (typeof operation.operationId === 'string')
        ways.set(operation.operationId, credentialWaysOf(document, operation));
    }
    paths[template] = out;
  }
  return { document: { ...document, paths }, ways };
}

/** The path of the description's first server URL (`/api`), or `/`. */
function basePathOf(document: Json): string {
  const servers = document.servers;
  const url = Array.isArray(servers) && isObject(servers[0]) ? String(servers[0].url ?? '') : '';
  try {
    const pathname = new URL(url, 'http://mock.invalid').pathname.replace(/\/+$/, '');
    return pathname === '' ? '/' : pathname;
  } catch {
    return '/';
  }
}

/** A form field's text as the type its schema declares: `'10'` → `10` for an integer, `'true'` → `true`. */
function typed(value: string, schema: unknown): unknown {
  const type = isObject(schema) ? schema.type : undefined;
  const types = Array.isArray(type) ? type : [type];
  if (
    (types.includes('integer') || types.includes('number')) &&
    value.trim() !== '' &&
    !Number.isNaN(Number(value))
  ) {
    return Number(value);
  }
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** A form body as the object its schema describes: repeated fields as arrays where the schema says array. */
function formBody(raw: string, schema: unknown): Json {
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const form = new URLSearchParams(raw);
  const out: Json = {};
  for (const name of new Set(form.keys())) {
    const property = properties[name];
    const values = form.getAll(name);
    out[name] =
      isObject(property) && property.type === 'array'
        ? values.map((value) => typed(value, property.items))
        : typed(values[values.length - 1] ?? '', property);
  }
  return out;
}

/** The JSON schema documented for `status` of an operation (dereferenced), if any. */
function responseSchemaOf(operation: Operation, status: number): unknown {
  const responses = (operation.responses ?? {}) as Json;
  const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  const content = isObject(response) && isObject(response.content) ? response.content : {};
  const json = Object.keys(content).find((type) => /json/i.test(type));
  return json === undefined ? undefined : (content[json] as Json | undefined)?.schema;
}

/** The most fields {@link repair} leaves out of an example. */
const MAX_REPAIRS = 20;

/**
 * `example` with the fields its schema refuses left out (vendors' examples drift from their schemas:
 * Slack's `chat.postMessage` example has an attachment `text` its schema does not allow), or
 * `undefined` when leaving fields out does not make it valid.
 * @param errorsOf - the schema's Ajv errors for a body; `null` or empty when it is valid
 */
export function repair(
  example: unknown,
  errorsOf: (
    body: unknown,
  ) => ReadonlyArray<{ instancePath: string; keyword: string; params: unknown }> | null | undefined,
): unknown {
  const body: unknown = structuredClone(example);
  for (let removed = 0; removed <= MAX_REPAIRS; removed++) {
    const errors = errorsOf(body) ?? [];
    if (errors.length === 0) return body;
    const error = errors.find((e) => e.instancePath !== '' || e.keyword === 'additionalProperties');
    if (error === undefined || error.keyword === 'required') return undefined;
    const parts = error.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    if (error.keyword === 'additionalProperties') {
      parts.push(String((error.params as { additionalProperty?: unknown }).additionalProperty));
    }
    const name = parts.pop();
    let parent: unknown = body;
    for (const part of parts)
      parent = isObject(parent) || Array.isArray(parent) ? (parent as Json)[part] : undefined;
    if (name === undefined || !isObject(parent) || !(name in parent)) return undefined;
    delete parent[name];
  }
  return undefined;
}

/** A value of another type than `schema` declares. */
function wrongValueFor(schema: unknown): unknown {
  const type = isObject(schema) ? schema.type : undefined;
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('string')) return 42;
  return 'not-of-the-documented-type';
}

/**
 * `body` with one field of the wrong type for `schema`: the first property that declares a `type`
 * (or the whole body when none does), so that the documented schema refuses it.
 */
export function violating(body: unknown, schema: unknown): unknown {
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const typedProperty = Object.entries(properties).find(
    ([, property]) => isObject(property) && property.type,
  );
  if (isObject(body) && typedProperty) {
    const [name, property] = typedProperty;
    return { ...body, [name]: wrongValueFor(property) };
  }
  return isObject(schema) && schema.type === 'array' ? { not: 'an array' } : ['not', 'an', 'object'];
}

/**
 * `value` without the `nullable: true|false` of schemas that have no `type` (swagger2openapi writes
 * them for Slack's `x-nullable`): OpenAPI 3.0.3 gives them no effect, and Ajv refuses them.
 */
function withoutUntypedNullable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUntypedNullable);
  if (!isObject(value)) return value;
  const drop = typeof value.nullable === 'boolean' && value.type === undefined;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !(drop && key === 'nullable'))
      .map(([key, inner]) => [key, withoutUntypedNullable(inner)]),
  );
}

/** An initialized openapi-backend over `document`, its routes under `basePath`. */
async function startBackend(document: Json, basePath: string): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({
    definition: document as never,
    apiRoot: basePath,
    strict: false,
    validate: true,
    // Descriptions carry formats and keywords Ajv does not know (Twilio's `phone-number`): ignored.
    ajvOpts: { strict: false, logger: false, allErrors: true },
    // The formats of ajv-formats, as the `openapi` kind checks them (`uri` is an absolute URI).
    customizeAjv: (ajv) => addFormats(ajv as never) as never,
  });
  await api.init();
  return api;
}

/**
 * `document` without the `example`/`examples` of its responses' media types, so that
 * `mockResponseForOperation` generates a sample from the schema.
 */
function withoutResponseExamples(document: Json): Json {
  const strip = (responses: unknown): unknown =>
    isObject(responses)
      ? Object.fromEntries(
          Object.entries(responses).map(([status, response]) => [
            status,
            isObject(response) && isObject(response.content)
              ? {
                  ...response,
                  content: Object.fromEntries(
                    Object.entries(response.content).map(([type, media]) => {
                      if (!isObject(media)) return [type, media];
                      const { example: _example, examples: _examples, ...rest } = media;
                      return [type, rest];
                    }),
                  ),
                }
              : response,
          ]),
        )
      : responses;
  const paths: Json = {};
  for (const [template, item] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    if (!isObject(item)) continue;
    paths[template] = Object.fromEntries(
      Object.entries(item).map(([key, operation]) =>
        METHODS.includes(key) && isObject(operation)
          ? [key, { ...operation, responses: strip(operation.responses) }]
          : [key, operation],
      ),
    );
  }
  const components = isObject(document.components) ? document.components : undefined;
  return {
    ...document,
    paths,
    ...(components ? { components: { ...components, responses: strip(components.responses) } } : {}),
  };
}

/**
 * Starts a mock of the API `spec` describes on 127.0.0.1 (see the module's documentation).
 * @returns the running mock; its `url` is the description's server URL on the mock
 * @throws Error when the description cannot be read or openapi-backend cannot load it
 */
export async function startDescriptionMock(options: DescriptionMockOptions): Promise<DescriptionMock> {
  const file = path.resolve(options.spec);
  const served = withoutCredentialParameters(withoutUntypedNullable(await readOpenApiDocument(file)) as Json);
  const basePath = basePathOf(served.document);
  const api = await startBackend(served.document, basePath);
  const operationIds = api.getOperations().flatMap((operation) => operation.operationId ?? []);

  /** The usual answer of an operation: its documented example when the schema accepts it, else a sample. */
  let samples: Promise<OpenAPIBackend> | undefined;
  const usualAnswer = async (operation: Operation): Promise<{ status: number; body: unknown }> => {
    const id = operation.operationId as string;
    const example = api.mockResponseForOperation(id);
    const status = example.status;
    if (responseSchemaOf(operation, status) === undefined) return { status, body: example.mock };
    const repaired = repair(example.mock, (body) => api.validateResponse(body, operation, status).errors);
    if (repaired !== undefined) return { status, body: repaired };
    samples ??= startBackend(withoutResponseExamples(served.document), basePath);
    const { mock } = (await samples).mockResponseForOperation(id, { code: status });
    return { status, body: api.validateResponse(mock, operation, status).valid ? mock : example.mock };
  };

  const queued: DescriptionMockAnswer[] = [];
  let standing: DescriptionMockAnswer | undefined;
  const requests: DescriptionMockRequest[] = [];

  const answer = async (
    req: IncomingMessage,
    raw: string,
    received: DescriptionMockRequest,
  ): Promise<{ status: number; headers?: Record<string, string>; body?: unknown }> => {
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    const request = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers: req.headers as Record<string, string | string[]>,
      body: raw as unknown,
    };
    const operation = api.matchOperation(request);
    if (!operation) {
      received.issues.push(`no operation of the description at ${request.method} ${url.pathname}`);
      return {
        status: 404,
        body: { message: `Mock: no operation of the description at ${request.method} ${url.pathname}` },
      };
    }
    received.operationId = operation.operationId;
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    if (raw !== '') {
      if (contentType === 'application/x-www-form-urlencoded') {
        const content = (operation.requestBody as Json | undefined)?.content;
        const schema = isObject(content) ? (content[contentType] as Json | undefined)?.schema : undefined;
        request.body = formBody(raw, schema);
      } else if (/json/.test(contentType ?? '')) {
        try {
          request.body = JSON.parse(raw);
        } catch {
          received.issues.push('body: not JSON');
        }
      }
    }
    const ways = served.ways.get(operation.operationId ?? '') ?? [];
    const carries = ways.some((way) =>
      'header' in way
        ? String(req.headers.authorization ?? '')
            .toLowerCase()
            .startsWith(way.prefix)
        : way.in === 'header'
          ? req.headers[way.name.toLowerCase()] !== undefined
          : url.searchParams.has(way.name),
    );
    if (ways.length > 0 && !carries) {
      received.issues.push('credential: missing');
      return {
        status: 401,
        body: { message: 'Mock: no credential of the kinds the description secures it with' },
      };
    }
    const validation = api.validateRequest(request, operation);
    for (const error of validation.errors ?? []) {
      const where = error.instancePath
        .replace(/^\/requestBody/, '/body')
        .split('/')
        .filter(Boolean)
        .join('.');
      const missing = error.keyword === 'required' ? `.${String(error.params.missingProperty)}` : '';
      received.issues.push(`${where}${missing}: ${error.message ?? 'is invalid'}`);
    }
    if (received.issues.length > 0) {
      return {
        status: 400,
        body: { message: 'Mock: the request does not match the description', errors: received.issues },
      };
    }
    const next = queued.shift() ?? standing;
    if (next && !('violateSchema' in next)) return next;
    const usual = await usualAnswer(operation);
    if (next)
      return { status: usual.status, body: violating(usual.body, responseSchemaOf(operation, usual.status)) };
    return usual;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const received: DescriptionMockRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: { ...req.headers },
        body: raw,
        operationId: undefined,
        issues: [],
      };
      requests.push(received);
      answer(req, raw, received).then(
        ({ status, headers, body }) => {
          received.answer = { status, body };
          const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
          res.writeHead(status, {
            ...(body === undefined || typeof body === 'string' ? {} : { 'content-type': 'application/json' }),
            ...headers,
          });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: `Mock failure: ${(error as Error).message}` }));
        },
      );
    });
  });
  const { origin, close } = await listenOnLoopback(server, options.port ?? 0);
  return {
    url: `${origin}${basePath === '/' ? '' : basePath}`,
    requests,
    operationIds,
    answerNext: (next) => {
      queued.push(next);
    },
    answerEvery: (answer) => {
      standing = answer;
    },
    close,
  };
}
