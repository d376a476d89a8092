/**
 * A mock of Twilio's `CreateMessage` (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`), built
 * from Twilio's own OpenAPI description: `test/fixtures/twilio/create-message.openapi.json`, a trimmed
 * copy of twilio/twilio-oai's `twilio_api_v2010.json` (see `SOURCE.md` there).
 *
 * Every request is checked against the described operation: the path template and its parameter
 * patterns, the method, the security scheme (HTTP Basic, whose user name must be the path's Account
 * SID), the request body's content type (`application/x-www-form-urlencoded`), its required fields and
 * the type, pattern and enum of every described field. A request that does not match answers 400 with
 * Twilio's error body, whose `message` starts with `Mock:` and names what is wrong. Twilio's own
 * documented checks answer Twilio's codes: no `To` 21604, neither `From` nor `MessagingServiceSid` 21603,
 * none of `Body`, `MediaUrl`, `ContentSid` 21602.
 *
 * A valid request answers 201 with a Message resource built from the description's `create` example
 * and the request's values (`sid` `SM...` or `MM...` with media, `status` `queued`, or `accepted` for a
 * Messaging Service without `From`, `date_created` now in RFC 2822), checked against the described
 * response schema before it is sent.
 *
 * Magic values (Twilio's test-credential magic numbers, https://www.twilio.com/docs/iam/test-credentials,
 * and words of this mock), in the order they are checked:
 *
 * | request carries | answer |
 * |---|---|
 * | Auth Token `invalid-auth-token-example` | 401, code 20003 (authentication failed) |
 * | `To=+15005550001` | 400, code 21211 (invalid 'To' number) |
 * | `To=+15005550002` | 400, code 21612 ('To' not reachable via SMS) |
 * | `To=+15005550003` | 400, code 21408 (no permission for the region) |
 * | `To=+15005550004` | 400, code 21610 (unsubscribed recipient) |
 * | `To=+15005550009` | 400, code 21614 ('To' not a mobile number) |
 * | `From=+15005550001` | 400, code 21212 (invalid 'From' number) |
 * | `From=+15005550007` | 400, code 21606 ('From' not owned or not SMS-capable) |
 * | `From=+15005550008` | 400, code 21611 ('From' queue full) |
 * | `Body=ratelimit-me` | 429, code 20429, `Retry-After: 1` |
 * | `Body=server-error` | 500, code 20500 |
 * | `Body=service-unavailable` | 503, code 20503 |
 * | `Body=not-found` | 404, code 20404 |
 * | `Body=problem-details` | 400 as RFC 9457 problem details (`application/problem+json`), code 21211 |
 * | `Body=malformed-response` | 201 with an HTML body (not JSON) |
 *
 * Error bodies follow https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions:
 * `{"code", "message", "more_info", "status"}`, `more_info` being the code's page in
 * https://www.twilio.com/docs/api/errors.
 *
 * By hand: `npm exec -- tsx -e "import('./local/stand-ins/twilio.ts').then((m) => m.startTwilioMock({ port: 4010 })).then((m) => console.log(m.url))"`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, type VendorMock } from './server.js';

export type { VendorMock };

/** Options of {@link startTwilioMock}. */
export interface TwilioMockOptions {
  /** Port on 127.0.0.1; `0` picks a free one. @default 0 */
  port?: number;
}

/** The mock's magic values (see the table at the top of this file). */
export const TWILIO_MAGIC = {
  invalidAuthToken: 'invalid-auth-token-example',
  to: {
    invalid: '+15005550001',
    unreachable: '+15005550002',
    noInternationalPermission: '+15005550003',
    unsubscribed: '+15005550004',
    notMobile: '+15005550009',
  },
  from: {
    invalid: '+15005550001',
    notOwned: '+15005550007',
    queueFull: '+15005550008',
    /** Passes every check (Twilio's magic valid sender). */
    valid: '+15005550006',
  },
  body: {
    rateLimit: 'ratelimit-me',
    serverError: 'server-error',
    unavailable: 'service-unavailable',
    notFound: 'not-found',
    problemDetails: 'problem-details',
    malformedResponse: 'malformed-response',
  },
} as const;

// ---------------------------------------------------------------------------------------------------
// The description
// ---------------------------------------------------------------------------------------------------

/** The parts of an OpenAPI 3.0 schema object the mock understands. */
interface Schema {
  $ref?: string;
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  enum?: unknown[];
  nullable?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  'x-twilio'?: { ignoreFormat?: boolean };
}

interface MediaType {
  schema: Schema;
  examples?: Record<string, { value: unknown }>;
}

interface OperationObject {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Schema }>;
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

interface OpenApiDocument {
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, unknown>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme?: string }>;
    schemas: Record<string, Schema>;
  };
}

/** The description the mock is built from. */
export const TWILIO_DESCRIPTION_FILE = new URL(
  '../../test/fixtures/twilio/create-message.openapi.json',
  import.meta.url,
);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** One described operation, ready to match requests against. */
interface DescribedOperation {
  method: string;
  template: string;
  pattern: RegExp;
  operation: OperationObject;
  securitySchemes: string[];
}

function loadDescription(): { document: OpenApiDocument; operations: DescribedOperation[] } {
  const document = JSON.parse(readFileSync(TWILIO_DESCRIPTION_FILE, 'utf8')) as OpenApiDocument;
  const operations: DescribedOperation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) =>
        part.startsWith('{') ? `(?<${part.slice(1, -1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OperationObject | undefined;
      if (!operation) continue;
      const requirements = operation.security ?? document.security ?? [];
      operations.push({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${source}$`),
        operation,
        securitySchemes: requirements.flatMap((requirement) => Object.keys(requirement)),
      });
    }
  }
  return { document, operations };
}

// ---------------------------------------------------------------------------------------------------
// Schema checks
// ---------------------------------------------------------------------------------------------------

function resolve(document: OpenApiDocument, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = document.components.schemas[name];
  if (!target) throw new Error(`The Twilio description has no schema ${schema.$ref}`);
  return resolve(document, target);
}

/** Why a string value does not match a string schema, or `undefined`. */
function stringProblem(schema: Schema, value: string): string | undefined {
  if (schema.minLength !== undefined && value.length < schema.minLength)
    return `is shorter than ${schema.minLength}`;
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    return `is longer than ${schema.maxLength}`;
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
    return `does not match ${schema.pattern}`;
  if (schema.enum !== undefined && !schema.enum.includes(value))
    return `must be one of ${schema.enum.join(', ')}`;
  if (schema.format === 'uri' && !schema['x-twilio']?.ignoreFormat && !URL.canParse(value))
    return 'must be an absolute URI';
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value)))
    return 'must be an ISO 8601 date-time';
  return undefined;
}

/** Why one form value does not match its described schema, or `undefined`. */
function formValueProblem(document: OpenApiDocument, described: Schema, value: string): string | undefined {
  const schema = resolve(document, described);
  switch (schema.type) {
    case 'integer':
      return /^-?\d+$/.test(value) ? undefined : 'must be an integer';
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? undefined : 'must be a number';
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : 'must be true or false';
    case 'string':
    case undefined:
      return stringProblem(schema, value);
    default:
      return `has the undescribed form type ${schema.type}`;
  }
}

/** The problems of a JSON value against a described schema (empty when it matches). */
function jsonProblems(document: OpenApiDocument, described: Schema, value: unknown, at: string): string[] {
  const schema = resolve(document, described);
  if (value === null) return schema.nullable ? [] : [`${at} must not be null`];
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return [`${at} must be a string`];
      return [stringProblem(schema, value)].flatMap((problem) => (problem ? [`${at} ${problem}`] : []));
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at} must be an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at} must be a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at} must be a boolean`];
    case 'array':
      if (!Array.isArray(value)) return [`${at} must be an array`];
      return value.flatMap((item, i) =>
        schema.items ? jsonProblems(document, schema.items, item, `${at}[${i}]`) : [],
      );
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at} must be an object`];
      const record = value as Record<string, unknown>;
      const missing = (schema.required ?? [])
        .filter((name) => !(name in record))
        .map((name) => `${at}.${name} is required`);
      const fields = Object.entries(schema.properties ?? {}).flatMap(([name, property]) =>
        name in record ? jsonProblems(document, property, record[name], `${at}.${name}`) : [],
      );
      return [...missing, ...fields];
    }
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------

/** An answer of the mock. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless a string. */
  body: unknown;
}

/** Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
function twilioError(
  status: number,
  code: number | null,
  message: string,
  headers?: Record<string, string>,
): Answer {
  return {
    status,
    ...(headers ? { headers } : {}),
    body: {
      code,
      message,
      more_info:
        code === null
          ? 'https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource'
          : `https://www.twilio.com/docs/errors/${code}`,
      status,
    },
  };
}

/** A request that does not match the described operation. */
function mismatch(what: string): Answer {
  return twilioError(400, null, `Mock: the request does not match Twilio's CreateMessage: ${what}`);
}

/** RFC 2822 in GMT, as Twilio writes dates: `Thu, 24 Aug 2023 05:01:45 +0000`. */
function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function hex32(): string {
  return randomBytes(16).toString('hex');
}

/** The form fields of a request, each with all its values. */
type Form = Map<string, string[]>;

function first(form: Form, name: string): string | undefined {
  return form.get(name)?.[0];
}

interface TwilioCheck {
  field: 'To' | 'From';
  value: string;
  code: number;
  message: string;
}

/** Twilio's test-credential magic numbers (https://www.twilio.com/docs/iam/test-credentials). */
const MAGIC_NUMBERS: TwilioCheck[] = [
  {
    field: 'To',
    value: TWILIO_MAGIC.to.invalid,
    code: 21211,
    message: "The 'To' number {} is not a valid phone number.",
  },
  {
    field: 'To',
    value: TWILIO_MAGIC.to.unreachable,
    code: 21612,
    message: "The 'To' phone number: {}, is not currently reachable using the 'From' phone number via SMS.",
  },
  {
    field: 'To',
    value: TWILIO_MAGIC.to.noInternationalPermission,
    code: 21408,
    message: 'Permission to send an SMS has not been enabled for the region indicated by the number: {}.',
  },
  {
    field: 'To',
    value: TWILIO_MAGIC.to.unsubscribed,
    code: 21610,
    message: 'Attempt to send to unsubscribed recipient {}.',
  },
  {
    field: 'To',
    value: TWILIO_MAGIC.to.notMobile,
    code: 21614,
    message: "'To' number {} is not a valid mobile number.",
  },
  {
    field: 'From',
    value: TWILIO_MAGIC.from.invalid,
    code: 21212,
    message: "The 'From' number {} is not a valid phone number, shortcode, or alphanumeric sender ID.",
  },
  {
    field: 'From',
    value: TWILIO_MAGIC.from.notOwned,
    code: 21606,
    message:
      "The 'From' phone number provided ({}) is not a valid message-capable Twilio phone number for this destination/account.",
  },
  {
    field: 'From',
    value: TWILIO_MAGIC.from.queueFull,
    code: 21611,
    message: "This 'From' number ({}) has exceeded the maximum number of queued messages.",
  },
];

/**
 * Starts the mock on 127.0.0.1.
 * @param options - `port` (default 0: a free one)
 */
export async function startTwilioMock(options: TwilioMockOptions = {}): Promise<VendorMock> {
  const { document, operations } = loadDescription();
  const requests: VendorMock['requests'] = [];

  /** Checks a request against the description; returns the answer. */
  const answer = (
    method: string,
    pathname: string,
    headers: IncomingMessage['headers'],
    raw: string,
  ): Answer => {
    const byPath = operations.filter((op) => op.pattern.test(pathname));
    if (byPath.length === 0) {
      const described = operations.map((op) => `${op.method} ${op.template}`).join(', ');
      return mismatch(`no described operation has the path ${pathname} (described: ${described})`);
    }
    const described = byPath.find((op) => op.method === method);
    if (!described) {
      return mismatch(
        `${method} is not described for ${byPath[0]?.template}; use ${byPath.map((op) => op.method).join(', ')}`,
      );
    }
    const { operation } = described;
    const pathValues = described.pattern.exec(pathname)?.groups ?? {};
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== 'path') continue;
      const value = decodeURIComponent(pathValues[parameter.name] ?? '');
      const problem = stringProblem(resolve(document, parameter.schema), value);
      if (problem) return mismatch(`path parameter ${parameter.name} '${value}' ${problem}`);
    }

    // Security: HTTP Basic (accountSid_authToken), the user name being the path's Account SID.
    let password = '';
    for (const name of described.securitySchemes) {
      const scheme = document.components.securitySchemes[name];
      if (scheme?.type !== 'http' || scheme.scheme !== 'basic')
        return mismatch(`security scheme ${name} is not supported by the mock`);
      const authorization = headers.authorization ?? '';
      const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization);
      if (!match?.[1]) {
        return mismatch(
          `security scheme ${name} needs 'Authorization: Basic base64(AccountSid:AuthToken)'${authorization ? `, got scheme '${authorization.split(' ')[0]}'` : ', got none'}`,
        );
      }
      const decoded = Buffer.from(match[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      password = colon < 0 ? '' : decoded.slice(colon + 1);
      if (user === '' || password === '')
        return mismatch(`security scheme ${name} needs a user name and a password`);
      if (user !== pathValues.AccountSid) {
        return mismatch(`the Basic user name must be the Account SID of the path (${pathValues.AccountSid})`);
      }
    }
    if (password === TWILIO_MAGIC.invalidAuthToken) {
      return twilioError(401, 20003, 'Authenticate');
    }

    // The request body: content type, then the form fields against the described schema.
    const body = operation.requestBody;
    const form: Form = new Map();
    if (body) {
      const contentType =
        String(headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase() ?? '';
      const media = body.content[contentType];
      if (!media) {
        return mismatch(
          `Content-Type must be ${Object.keys(body.content).join(' or ')}, got '${contentType || 'none'}'`,
        );
      }
      for (const [name, value] of new URLSearchParams(raw))
        form.set(name, [...(form.get(name) ?? []), value]);
      const schema = resolve(document, media.schema);
      for (const [name, values] of form) {
        const property = schema.properties?.[name];
        if (!property) continue; // Twilio ignores parameters it does not know.
        const resolved = resolve(document, property);
        if (resolved.type !== 'array' && values.length > 1)
          return mismatch(`field ${name} is sent ${values.length} times`);
        for (const value of values) {
          const problem = formValueProblem(
            document,
            resolved.type === 'array' ? (resolved.items ?? {}) : resolved,
            value,
          );
          if (problem) return mismatch(`field ${name} '${value}' ${problem}`);
        }
      }
      const missing = (schema.required ?? []).filter((name) => !form.has(name));
      if (missing.includes('To')) return twilioError(400, 21604, "A 'To' phone number is required.");
      if (missing.length > 0) return mismatch(`required field(s) ${missing.join(', ')} missing`);
    }

    // Twilio's documented rules beyond the schema.
    if (!form.has('From') && !form.has('MessagingServiceSid')) {
      return twilioError(400, 21603, "A 'From' phone number is required.");
    }
    if (!form.has('Body') && !form.has('MediaUrl') && !form.has('ContentSid')) {
      return twilioError(400, 21602, 'Message body is required.');
    }
    for (const check of MAGIC_NUMBERS) {
      if (first(form, check.field) === check.value) {
        return twilioError(400, check.code, check.message.replace('{}', check.value));
      }
    }
    switch (first(form, 'Body')) {
      case TWILIO_MAGIC.body.rateLimit:
        return twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '1' });
      case TWILIO_MAGIC.body.serverError:
        return twilioError(500, 20500, 'An internal server error has occurred');
      case TWILIO_MAGIC.body.unavailable:
        return twilioError(503, 20503, 'Service temporarily unavailable');
      case TWILIO_MAGIC.body.notFound:
        return twilioError(404, 20404, `The requested resource ${pathname} was not found`);
      case TWILIO_MAGIC.body.problemDetails:
        return {
          status: 400,
          headers: { 'content-type': 'application/problem+json' },
          body: {
            type: 'https://www.twilio.com/docs/api/errors/21211',
            title: "Invalid 'To' Phone Number",
            status: 400,
            code: 21211,
            detail: `The 'To' number ${first(form, 'To')} is not a valid phone number.`,
            instance: pathname,
          },
        };
      case TWILIO_MAGIC.body.malformedResponse:
        return {
          status: 201,
          headers: { 'content-type': 'text/html' },
          body: '<html><body>Gateway page</body></html>',
        };
    }
    return created(described, pathValues.AccountSid ?? '', form);
  };

  /** The 201 Message resource: the described example, filled with the request's values, then checked. */
  const created = (described: DescribedOperation, accountSid: string, form: Form): Answer => {
    const media = described.operation.responses['201']?.content?.['application/json'];
    if (!media) throw new Error('The Twilio description has no 201 application/json response');
    const example = media.examples?.create?.value ?? Object.values(media.examples ?? {})[0]?.value;
    if (typeof example !== 'object' || example === null) throw new Error('The 201 response has no example');
    const mediaUrls = form.get('MediaUrl') ?? [];
    const sid = `${mediaUrls.length > 0 ? 'MM' : 'SM'}${hex32()}`;
    const now = rfc2822(new Date());
    const from = first(form, 'From') ?? null;
    const service = first(form, 'MessagingServiceSid') ?? null;
    const text = first(form, 'Body') ?? '';
    const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}`;
    const message = {
      ...(example as Record<string, unknown>),
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: text,
      date_created: now,
      date_updated: now,
      date_sent: null,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: service,
      num_media: String(mediaUrls.length),
      num_segments: text === '' ? '0' : String(Math.ceil(text.length / 153) || 1),
      price: null,
      price_unit: 'USD',
      sid,
      status: service !== null && from === null ? 'accepted' : 'queued',
      subresource_uris: { media: `${uri}/Media.json` },
      to: first(form, 'To') ?? null,
      uri: `${uri}.json`,
    };
    const problems = jsonProblems(document, media.schema, message, 'response');
    if (problems.length > 0)
      throw new Error(`The mock built a Message the description refuses: ${problems.join('; ')}`);
    return { status: 201, headers: { 'twilio-request-id': `RQ${hex32()}` }, body: message };
  };

  const send = (res: ServerResponse, result: Answer) => {
    const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    res.writeHead(result.status, { 'content-type': 'application/json', ...result.headers });
    res.end(text);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? '';
      const pathname = new URL(req.url ?? '/', 'http://mock.invalid').pathname;
      requests.push({ method, path: req.url ?? '', headers: { ...req.headers }, body: raw });
      try {
        send(res, answer(method, pathname, req.headers, raw));
      } catch (error) {
        send(
          res,
          twilioError(500, null, `Mock failure: ${error instanceof Error ? error.message : String(error)}`),
        );
      }
    });
  });
  const { origin, close } = await listenOnLoopback(server, options.port);
  return {
    url: origin,
    requests,
    close,
  };
}
