/**
 * A mock of Slack's Web API, built from Slack's own API description: the trimmed Swagger 2.0 file
 * `test/fixtures/slack/slack_web_openapi_v2.chat.json` (see its `SOURCE.md`). It serves the
 * operations that file describes, `POST {basePath}/chat.postMessage` and `POST {basePath}/chat.update`,
 * on 127.0.0.1.
 *
 * Every request is checked against its described operation: the method and path, no query
 * parameters (the description puts them in the form body), a `Content-Type` the operation
 * `consumes` (`application/x-www-form-urlencoded` or `application/json`), the `token` header
 * parameter as `Authorization: Bearer <token>` (how Slack reads it), the required parameters
 * (`channel`, and `ts` for chat.update), no parameter the operation does not describe, and
 * booleans that are booleans. A request that does not match is answered
 * `400 {"ok": false, "error": "mock_request_mismatch", "message": "<what is wrong>"}`.
 *
 * A matching request is answered like Slack: `200 {"ok": true, "channel", "ts", "message", ...}`,
 * the described example filled with the request's values (its channel when it is an ID, its text,
 * blocks and thread_ts, a fresh `ts` for a new message), or `200 {"ok": false, "error": "..."}`;
 * every answer is checked against the described `200`/`default` schema before it is sent.
 *
 * Magic values, checked in this order ({@link SLACK_MOCK_MAGIC}):
 * - token `xoxb-invalid-example` → `200 {"ok": false, "error": "invalid_auth"}`
 * - text `ratelimit-me` → `429` with `Retry-After: 1` and `{"ok": false, "error": "ratelimited"}`
 * - text `server-error` → `500` (plain text)
 * - text `service-unavailable` → `503` (plain text, no `Retry-After`)
 * - text `error:<code>` → `200 {"ok": false, "error": "<code>"}` for any code of the operation's
 *   described error enum or of {@link DOCUMENTED_EXTRA_ERRORS} (e.g. `error:not_in_channel`,
 *   `error:token_revoked`, `error:internal_error`, `error:message_not_found`)
 * - channel `C0NOTFOUND` → `200 {"ok": false, "error": "channel_not_found"}`
 * - `blocks` that are not a JSON array of objects with a string `type` → `invalid_blocks`
 * - neither `text`, `blocks` nor `attachments` → `no_text`
 *
 * One method is not in that file (the trimmed description has the chat methods only):
 * `{basePath}/conversations.list`, written from Slack's reference
 * (https://api.slack.com/methods/conversations.list and
 * https://api.slack.com/docs/pagination). It lists {@link SLACK_MOCK_LISTED_CHANNELS} public
 * channels by Slack's cursor: `limit` (default 100, at most 1000) and `cursor` (from the last
 * page's `response_metadata.next_cursor`, empty on the last page; another answers
 * `ok: false, error: invalid_cursor`), from a GET query or a POST form or JSON body, with
 * `Authorization: Bearer <token>` (the invalid token answers `invalid_auth`).
 *
 * By hand: `npm run mock -- slack --port 4010`, or `npm exec -- tsx -e "import('./local/stand-ins/slack.ts').then((m) => m.startSlackMock({ port: 4010 })).then((mock) => console.log(mock.url))"`
 * then point a `slack` connector's `baseUrl` at the printed URL (`http://127.0.0.1:4010/api`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, type VendorMock } from './server.js';

export type { VendorMock };

/** Options of {@link startSlackMock}. */
export interface SlackMockOptions {
  /** Port on 127.0.0.1; @default 0 (any free port) */
  port?: number;
}

/** A Swagger 2.0 schema, as far as the description uses it. */
export interface SwaggerSchema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  pattern?: string;
  required?: string[];
  properties?: Record<string, SwaggerSchema>;
  additionalProperties?: boolean | SwaggerSchema;
  items?: SwaggerSchema | SwaggerSchema[];
  minItems?: number;
  title?: string;
  description?: string;
}

/** A Swagger 2.0 parameter. */
export interface SwaggerParameter {
  name: string;
  in: 'header' | 'formData' | 'query' | 'path' | 'body';
  required?: boolean;
  type?: string;
  description?: string;
}

/** A described response. */
export interface SwaggerResponse {
  description: string;
  examples?: Record<string, unknown>;
  schema?: SwaggerSchema;
}

/** A described operation. */
export interface SwaggerOperation {
  operationId: string;
  consumes: string[];
  produces: string[];
  parameters: SwaggerParameter[];
  responses: Record<string, SwaggerResponse>;
  security?: Array<Record<string, string[]>>;
  externalDocs?: { url: string };
}

/** The trimmed description the mock is built from. */
export interface SlackDescription {
  basePath: string;
  paths: Record<string, Record<string, SwaggerOperation>>;
  definitions: Record<string, SwaggerSchema>;
}

/** The fixture: Slack's description of chat.postMessage and chat.update. */
export const SLACK_DESCRIPTION_FILE = new URL(
  '../../test/fixtures/slack/slack_web_openapi_v2.chat.json',
  import.meta.url,
);

/** Slack's description, parsed. */
export const slackDescription: SlackDescription = JSON.parse(
  readFileSync(SLACK_DESCRIPTION_FILE, 'utf8'),
) as SlackDescription;

/** The described operation at `path` (e.g. `/chat.postMessage`) for `method`. */
export function describedOperation(path: string, method = 'post'): SwaggerOperation {
  const operation = slackDescription.paths[path]?.[method];
  if (!operation) throw new Error(`The Slack description has no ${method.toUpperCase()} ${path}`);
  return operation;
}

/** The magic request values that make the mock answer an error (see the module comment). */
/** The public channels `conversations.list` lists: 5 pages of 5, less 2. */
export const SLACK_MOCK_LISTED_CHANNELS = 23;

export const SLACK_MOCK_MAGIC = {
  /** Token answered `ok: false, error: invalid_auth`. */
  invalidToken: 'xoxb-invalid-example',
  /** Text answered HTTP 429 with `Retry-After: 1`. */
  rateLimitText: 'ratelimit-me',
  /** Text answered HTTP 500. */
  serverErrorText: 'server-error',
  /** Text answered HTTP 503. */
  unavailableText: 'service-unavailable',
  /** Text prefix: `error:<code>` is answered `ok: false, error: <code>`. */
  errorTextPrefix: 'error:',
  /** Channel answered `ok: false, error: channel_not_found`. */
  channelNotFound: 'C0NOTFOUND',
  /** `Retry-After` of the 429, in seconds. */
  retryAfterSeconds: 1,
} as const;

/**
 * Error codes Slack documents on the method pages but the description's error enums leave out:
 * https://api.slack.com/methods/chat.postMessage#errors, https://api.slack.com/methods/chat.update#errors
 * and https://api.slack.com/apis/rate-limits (`ratelimited`). The mock answers them for `error:<code>`.
 */
export const DOCUMENTED_EXTRA_ERRORS: readonly string[] = [
  'ratelimited',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
  'invalid_blocks',
  'invalid_blocks_format',
  'restricted_action',
  'ekm_access_denied',
  'internal_error',
  'service_unavailable',
  'request_timeout',
  'fatal_error',
  'team_added_to_org',
  'org_login_required',
];

/** What the mock answers when a request does not match its described operation. */
export const MISMATCH_ERROR = 'mock_request_mismatch';

/** Slack channel IDs (`defs_channel`). */
const CHANNEL_ID = /^[CGD][A-Z0-9]{8,}$/;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The problems of `value` against a Swagger 2.0 `schema` (`$ref`, `type`, `enum`, `pattern`,
 * `required`, `properties`, `additionalProperties`, `items`, `minItems`); empty when it conforms.
 * @param where - the path of `value`, for the messages
 */
export function schemaProblems(schema: SwaggerSchema, value: unknown, where = '$'): string[] {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/definitions/', '');
    const target = slackDescription.definitions[name];
    if (!target) return [`${where}: unknown $ref ${schema.$ref}`];
    return schemaProblems(target, value, where);
  }
  const problems: string[] = [];
  if (schema.type !== undefined && !hasType(schema.type, value)) {
    return [`${where}: must be of type ${schema.type}, got ${JSON.stringify(value)}`];
  }
  if (schema.enum && !schema.enum.some((allowed) => allowed === value)) {
    problems.push(`${where}: must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  }
  if (schema.pattern !== undefined && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) {
    problems.push(`${where}: must match ${schema.pattern}, got ${JSON.stringify(value)}`);
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name)) problems.push(`${where}: missing required property ${name}`);
    }
    for (const [name, item] of Object.entries(value)) {
      const property = schema.properties?.[name];
      if (property) problems.push(...schemaProblems(property, item, `${where}.${name}`));
      else if (schema.additionalProperties === false && schema.properties) {
        problems.push(`${where}: property ${name} is not described`);
      } else if (typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(schema.additionalProperties, item, `${where}.${name}`));
      }
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      problems.push(`${where}: must have at least ${schema.minItems} items`);
    }
    const items = schema.items;
    if (items && !Array.isArray(items)) {
      value.forEach((item, i) => {
        problems.push(...schemaProblems(items, item, `${where}[${i}]`));
      });
    }
  }
  return problems;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return true;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A request that does not match the description. */
class Mismatch extends Error {}

/** One answer of the mock. */
interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A checked request: its operation and its form parameters as strings. */
interface CheckedRequest {
  path: string;
  operation: SwaggerOperation;
  token: string;
  params: Map<string, string>;
}

/**
 * Starts the Slack mock on 127.0.0.1 (see the module comment for what it checks and answers).
 * @returns the running mock; `url` is the base URL for a connector (basePath included)
 */
export async function startSlackMock(options: SlackMockOptions = {}): Promise<VendorMock> {
  const requests: VendorMock['requests'] = [];
  const firstSecond = Math.floor(Date.now() / 1000);
  let messages = 0;
  const nextTs = () => {
    messages += 1;
    return `${firstSecond}.${String(messages).padStart(6, '0')}`;
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        requests.push({ method: req.method ?? '', path: url.pathname, headers: { ...req.headers }, body });
        let answer: Answer;
        if (url.pathname === `${slackDescription.basePath}/conversations.list`) {
          send(res, conversationsList(req, url, body, firstSecond));
          return;
        }
        try {
          answer = respond(check(req, url, body), nextTs);
        } catch (error) {
          if (!(error instanceof Mismatch)) throw error;
          answer = { status: 400, body: { ok: false, error: MISMATCH_ERROR, message: error.message } };
        }
        send(res, answer);
      })
      .catch((error: unknown) => {
        send(res, { status: 500, body: { ok: false, error: 'mock_failure', message: String(error) } });
      });
  });
  const { origin, close } = await listenOnLoopback(server, options.port);
  return {
    url: `${origin}${slackDescription.basePath}`,
    requests,
    close,
  };
}

/**
 * `conversations.list`: a page of {@link SLACK_MOCK_LISTED_CHANNELS} public channels by Slack's
 * cursor (an opaque base64 string here, as Slack's).
 */
function conversationsList(req: IncomingMessage, url: URL, body: string, created: number): Answer {
  const params = new Map<string, string>(url.searchParams);
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (req.method === 'POST' && body !== '') {
    try {
      for (const [key, value] of parseParams('conversations.list', mediaType, body)) params.set(key, value);
    } catch (error) {
      return { status: 400, body: { ok: false, error: MISMATCH_ERROR, message: (error as Error).message } };
    }
  }
  const token = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? params.get('token');
  if (token === undefined) return { status: 200, body: { ok: false, error: 'not_authed' } };
  if (token === SLACK_MOCK_MAGIC.invalidToken)
    return { status: 200, body: { ok: false, error: 'invalid_auth' } };
  const limit = Number(params.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return { status: 200, body: { ok: false, error: 'invalid_limit' } };
  }
  const cursor = params.get('cursor') ?? '';
  const decoded = /^next:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (cursor !== '' && !decoded) return { status: 200, body: { ok: false, error: 'invalid_cursor' } };
  const from = decoded ? Number(decoded[1]) : 0;
  const to = Math.min(from + limit, SLACK_MOCK_LISTED_CHANNELS);
  const channels = [];
  for (let n = from + 1; n <= to; n++) {
    channels.push({
      id: `C${String(n).padStart(10, '0')}`,
      name: `channel-${n}`,
      is_channel: true,
      is_group: false,
      is_im: false,
      is_private: false,
      is_archived: false,
      is_general: n === 1,
      created: created - n,
      creator: 'U0123456789',
      name_normalized: `channel-${n}`,
      num_members: n,
    });
  }
  const next = to < SLACK_MOCK_LISTED_CHANNELS ? Buffer.from(`next:${to}`).toString('base64') : '';
  return { status: 200, body: { ok: true, channels, response_metadata: { next_cursor: next } } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body over 1 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, answer: Answer): void {
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type':
      typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  res.end(text);
}

/**
 * Checks a request against its described operation.
 * @throws Mismatch naming what does not match
 */
function check(req: IncomingMessage, url: URL, body: string): CheckedRequest {
  const method = (req.method ?? '').toLowerCase();
  const described = Object.entries(slackDescription.paths).flatMap(([path, item]) =>
    Object.keys(item).map((m) => `${m.toUpperCase()} ${slackDescription.basePath}${path}`),
  );
  const base = slackDescription.basePath;
  const path = url.pathname.startsWith(`${base}/`) ? url.pathname.slice(base.length) : undefined;
  const item = path === undefined ? undefined : slackDescription.paths[path];
  if (path === undefined || !item) {
    throw new Mismatch(`No operation is described at ${url.pathname}; described: ${described.join(', ')}.`);
  }
  const operation = item[method];
  if (!operation) {
    throw new Mismatch(
      `${base}${path} is described for ${Object.keys(item).join(', ').toUpperCase()} only, not ${method.toUpperCase()}.`,
    );
  }
  const name = operation.operationId;
  if ([...url.searchParams.keys()].length > 0) {
    throw new Mismatch(
      `${name}: query parameters (${[...url.searchParams.keys()].join(', ')}) are not described; send them in the body.`,
    );
  }

  const contentType = req.headers['content-type'];
  if (contentType === undefined) {
    throw new Mismatch(`${name}: Content-Type is missing; described: ${operation.consumes.join(', ')}.`);
  }
  const [mediaType = '', ...mediaParams] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (!operation.consumes.includes(mediaType)) {
    throw new Mismatch(
      `${name}: Content-Type ${mediaType} is not described; described: ${operation.consumes.join(', ')}.`,
    );
  }
  const charset = mediaParams.find((param) => param.startsWith('charset='));
  if (charset !== undefined && !['charset=utf-8', 'charset="utf-8"'].includes(charset)) {
    throw new Mismatch(`${name}: only the utf-8 charset is accepted, got ${charset}.`);
  }

  let token = '';
  for (const parameter of operation.parameters.filter((p) => p.in === 'header')) {
    if (parameter.name !== 'token') continue;
    const authorization = req.headers.authorization;
    const match = authorization === undefined ? null : /^Bearer ([\x21-\x7e]+)$/.exec(authorization);
    if (!match?.[1]) {
      throw new Mismatch(
        `${name}: the token (header parameter 'token', security slackAuth) must come as 'Authorization: Bearer <token>'${
          authorization === undefined ? '; the header is missing' : '; another scheme was sent'
        }.`,
      );
    }
    token = match[1];
  }

  const params = parseParams(name, mediaType, body);
  const formParameters = operation.parameters.filter((p) => p.in === 'formData');
  const unknown = [...params.keys()].filter((key) => !formParameters.some((p) => p.name === key));
  if (unknown.length > 0) {
    throw new Mismatch(
      `${name}: parameter(s) ${unknown.join(', ')} not described; described: ${formParameters.map((p) => p.name).join(', ')}.`,
    );
  }
  for (const parameter of formParameters) {
    const value = params.get(parameter.name);
    if (value === undefined) {
      if (parameter.required)
        throw new Mismatch(`${name}: required parameter '${parameter.name}' is missing.`);
      continue;
    }
    if (parameter.type === 'boolean' && !/^(true|false|1|0)$/.test(value)) {
      throw new Mismatch(`${name}: parameter '${parameter.name}' is described as boolean, got '${value}'.`);
    }
    if (parameter.type === 'integer' && !/^-?\d+$/.test(value)) {
      throw new Mismatch(`${name}: parameter '${parameter.name}' is described as integer, got '${value}'.`);
    }
  }
  return { path, operation, token, params };
}

/** The body's parameters as strings (JSON values that are not strings are re-serialized, as Slack reads them). */
function parseParams(name: string, mediaType: string, body: string): Map<string, string> {
  const params = new Map<string, string>();
  if (mediaType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new Mismatch(`${name}: the body is not valid JSON.`);
    }
    if (!isObject(parsed)) throw new Mismatch(`${name}: the JSON body must be an object.`);
    for (const [key, value] of Object.entries(parsed)) {
      if (value === null || value === undefined) continue;
      params.set(key, typeof value === 'string' ? value : JSON.stringify(value));
    }
    return params;
  }
  for (const [key, value] of new URLSearchParams(body)) {
    if (params.has(key)) throw new Mismatch(`${name}: parameter '${key}' is given more than once.`);
    params.set(key, value);
  }
  return params;
}

/** Slack's answer to a checked request: a magic error, or the described example filled in. */
function respond(request: CheckedRequest, nextTs: () => string): Answer {
  const { operation, params, token } = request;
  const text = params.get('text');
  const magic = SLACK_MOCK_MAGIC;
  if (token === magic.invalidToken) return slackError(operation, 'invalid_auth');
  if (text === magic.rateLimitText) {
    return {
      status: 429,
      body: { ok: false, error: 'ratelimited' },
      headers: { 'retry-after': String(magic.retryAfterSeconds) },
    };
  }
  if (text === magic.serverErrorText) return { status: 500, body: 'Internal Server Error' };
  if (text === magic.unavailableText) return { status: 503, body: 'Service Unavailable' };
  if (text?.startsWith(magic.errorTextPrefix)) {
    const code = text.slice(magic.errorTextPrefix.length);
    const known = [...describedErrors(operation), ...DOCUMENTED_EXTRA_ERRORS];
    if (!known.includes(code)) {
      throw new Mismatch(
        `${operation.operationId}: '${code}' is not an error code of the description or the method page; known: ${known.join(', ')}.`,
      );
    }
    return slackError(operation, code);
  }
  if (params.get('channel') === magic.channelNotFound) return slackError(operation, 'channel_not_found');

  const blocksText = params.get('blocks');
  let blocks: unknown[] | undefined;
  if (blocksText !== undefined) {
    try {
      blocks = JSON.parse(blocksText) as unknown[];
    } catch {
      return slackError(operation, 'invalid_blocks_format');
    }
    const blocksSchema = slackDescription.definitions.blocks ?? {};
    if (!Array.isArray(blocks) || schemaProblems(blocksSchema, blocks).length > 0) {
      return slackError(operation, 'invalid_blocks');
    }
  }
  if (text === undefined && blocks === undefined && !params.has('attachments')) {
    return slackError(operation, 'no_text');
  }
  const body =
    request.path === '/chat.update'
      ? updated(operation, params, text)
      : posted(operation, params, text, blocks, nextTs());
  return checked(operation, '200', { status: 200, body });
}

/** chat.postMessage's described example, filled with the request's values. */
function posted(
  operation: SwaggerOperation,
  params: Map<string, string>,
  text: string | undefined,
  blocks: unknown[] | undefined,
  ts: string,
): Record<string, unknown> {
  const example = exampleOf(operation);
  const { attachments: _attachments, ...message } = (example.message ?? {}) as Record<string, unknown>;
  const channel = params.get('channel') ?? '';
  const threadTs = params.get('thread_ts');
  return {
    ...example,
    channel: CHANNEL_ID.test(channel) ? channel : example.channel,
    ts,
    message: {
      ...message,
      text: text ?? '',
      ts,
      ...(blocks === undefined ? {} : { blocks }),
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
    },
  };
}

/** chat.update's described example, filled with the request's values. */
function updated(
  operation: SwaggerOperation,
  params: Map<string, string>,
  text: string | undefined,
): Record<string, unknown> {
  const example = exampleOf(operation);
  const message = (example.message ?? {}) as Record<string, unknown>;
  // The description types the message's `blocks` as an object; they are left out of the answer.
  return {
    ...example,
    channel: params.get('channel'),
    ts: params.get('ts'),
    text: text ?? '',
    message: { ...message, text: text ?? '' },
  };
}

function exampleOf(operation: SwaggerOperation): Record<string, unknown> {
  const example = operation.responses['200']?.examples?.['application/json'];
  return structuredClone(isObject(example) ? example : {});
}

/** The error codes of the operation's described `default` response. */
export function describedErrors(operation: SwaggerOperation): string[] {
  const schema = operation.responses.default?.schema;
  return (schema?.properties?.error?.enum ?? []).filter((code): code is string => typeof code === 'string');
}

/** `200 {"ok": false, "error": code}`, Slack's way, checked against the described `default` schema. */
function slackError(operation: SwaggerOperation, code: string): Answer {
  return checked(
    operation,
    'default',
    { status: 200, body: { ok: false, error: code } },
    DOCUMENTED_EXTRA_ERRORS,
  );
}

/**
 * `answer` after checking it against the operation's described response `key`; an answer the mock
 * builds wrong is a bug of the mock and fails loudly (500 naming the problems).
 */
function checked(
  operation: SwaggerOperation,
  key: string,
  answer: Answer,
  extraErrors: readonly string[] = [],
): Answer {
  let schema = operation.responses[key]?.schema;
  if (!schema) return answer;
  if (extraErrors.length > 0 && schema.properties?.error?.enum) {
    const error = { ...schema.properties.error, enum: [...schema.properties.error.enum, ...extraErrors] };
    schema = { ...schema, properties: { ...schema.properties, error } };
  }
  const problems = schemaProblems(schema, answer.body);
  if (problems.length === 0) return answer;
  return {
    status: 500,
    body: { ok: false, error: 'mock_answer_violates_description', message: problems.join('; ') },
  };
}
