/**
 * Fuzzing of the chaos suite (fast-check): random bodies for every operation of every connector kind
 * through the real API handler, and random `POST /v1/events` bodies through the local gateway.
 * Shared by `test/chaos/fuzz.test.ts` and `npm run chaos`.
 *
 * The bodies: random JSON (`fc.jsonValue`), an operation's valid example with one field given a
 * value of the wrong type, deep nesting (1,000 to 5,000 levels, built as a string), `__proto__`,
 * `constructor` and `prototype` keys, non-JSON text, truncated JSON, and base64 bodies
 * (`isBase64Encoded`) of all of these. Every answer must be the success or the error envelope
 * (docs/design.md §3), and never a 500.
 *
 * Valid inputs reach the vendor mocks of `local/stand-ins/` (and an http upstream answering 200),
 * so that they succeed. The `openapi` kind is fuzzed over test/fixtures/openapi/items.openapi.yaml,
 * with one field at any depth of its examples given a wrong value too, against a mock that checks
 * every request it receives against that description (openapi-backend): a request the description
 * refuses, or without the connector's key, counts as invalid input that left (`invalidSent`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import formats from 'ajv-formats';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { OpenAPIBackend } from 'openapi-backend';
import { loadDescription, withDescription } from '../../../functions/openapi/description.js';
import { parseDescriptionText } from '../../../functions/openapi/parse.js';
import {
  type ConnectorConfig,
  parseConnectorConfig,
  parseSuiteConfig,
} from '../../../functions/shared/config.js';
import { acceptSecret, type CredentialStore } from '../../../functions/shared/credentials/store.js';
import { ERROR_CODES } from '../../../functions/shared/errors.js';
import { redactor } from '../../../functions/shared/redaction.js';
import type { ConnectorHandler } from '../../../functions/shared/runtime/index.js';
import { CONNECTOR_KINDS } from '../../../local/connectors.js';
import { startLocalGateway } from '../../../local/gateway.js';
import { connectorProxyEvent, lambdaContext } from '../../../local/lambda-events.js';
import { startGithubMock } from '../../../local/stand-ins/github.js';
import type { VendorMock } from '../../../local/stand-ins/server.js';
import { listenOnLoopback } from '../../../local/stand-ins/server.js';
import { startSlackMock } from '../../../local/stand-ins/slack.js';
import { startStripeMock } from '../../../local/stand-ins/stripe.js';
import { startTwilioMock } from '../../../local/stand-ins/twilio.js';

/** The seed of every fuzz run, so that a failure can be replayed (`CHAOS_SEED=... npm run chaos`). */
export const FUZZ_SEED = Number(process.env.CHAOS_SEED ?? 20_261_201);

/** One request body as API Gateway hands it over. */
export interface FuzzBody {
  body: string | null;
  isBase64Encoded: boolean;
}

/** One row of the fuzzing table. */
export interface FuzzReport {
  /** `kind operation`, or `POST /v1/events`. */
  target: string;
  runs: number;
  /** Answers by status. */
  answers: Record<string, number>;
  /** Answers of 500. Must be 0. */
  status500: number;
  /** Answers whose body is neither envelope. Must be 0. */
  notEnvelope: number;
  /** A fuzzed `__proto__` or `constructor` key reached `Object.prototype`. Must be false. */
  prototypePolluted: boolean;
  /**
   * Requests that reached the vendor although its description refuses them (or without the
   * connector's credential): invalid input that left. Must be 0. Counted for the `openapi` kind only.
   */
  invalidSent?: number;
  /** The first failing body (cut to 300 characters) and answer, to replay. */
  firstFailure?: { body: string; status: number; answer: string };
}

/** Whether the report has no 500 and no answer outside the envelopes. */
export function fuzzPasses(report: FuzzReport): boolean {
  return (
    report.status500 === 0 &&
    report.notEnvelope === 0 &&
    !report.prototypePolluted &&
    (report.invalidSent ?? 0) === 0
  );
}

/** A body nested `depth` levels deep (arrays or objects), built iteratively: no recursion here. */
export function deeplyNested(depth: number, kind: 'array' | 'object', leaf = '1'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
}

/**
 * The valid example of each operation, by `kind operation`: the base of the wrong-type mutations,
 * and a body that must succeed against the mocks (`pi_1Pga…` is the Stripe fixture's PaymentIntent).
 */
export const OPERATION_EXAMPLES: Readonly<Record<string, Record<string, unknown>>> = {
  'http request': { method: 'POST', path: '/items', body: { name: 'example' } },
  'stripe createCustomer': { email: 'jenny.rosen@example.com', name: 'Jenny Rosen' },
  'stripe createPaymentIntent': { amount: 2000, currency: 'usd' },
  'stripe retrievePaymentIntent': { id: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' },
  'stripe createRefund': { payment_intent: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' },
  'stripe listCustomers': { limit: 10, maxPages: 2 },
  'slack postMessage': { channel: 'C0123456789', text: 'Hello from the chaos suite' },
  'slack updateMessage': { channel: 'C0123456789', ts: '1503435956.000247', text: 'Updated' },
  'slack conversationsList': { limit: 5, maxPages: 2 },
  'github createIssue': { owner: 'octocat', repo: 'hello-world', title: 'Found a bug' },
  'github createComment': { owner: 'octocat', repo: 'hello-world', issue_number: 1, body: 'Me too' },
  'github dispatchWorkflow': { owner: 'octocat', repo: 'hello-world', workflow_id: 'ci.yml', ref: 'main' },
  'github listIssues': { owner: 'octocat', repo: 'hello-world', per_page: 5, maxPages: 2 },
  'twilio sendSms': { to: '+15558675310', from: '+15017122661', body: 'Hi there' },
  'openapi listItems': { query: { limit: 5, kind: ['tool', 'kit'], created: 1_700_000_000 } },
  'openapi createItem': {
    headers: { 'X-Request-Tag': 'chaos' },
    body: {
      name: 'Wrench',
      quantity: 3,
      tags: ['steel', 'small'],
      kind: 'tool',
      dueDate: '2026-12-24',
      owner: { email: 'jenny.rosen@example.com' },
    },
  },
  'openapi getItem': { path: { itemId: 'it_abcd1234' }, query: { fields: ['name', 'tags'], verbose: true } },
  'openapi renameItem': { path: { itemId: 'it_abcd1234' }, body: { Name: 'Spanner', Labels: ['a', 'b'] } },
};

/** The description the `openapi` kind is fuzzed over, and the operations fuzzed. */
const OPENAPI_FIXTURE = fileURLToPath(new URL('../../fixtures/openapi/items.openapi.yaml', import.meta.url));
const OPENAPI_OPERATIONS = ['listItems', 'createItem', 'getItem', 'renameItem'];
/** The connector's `apiKey` (obviously fake), which the description mock requires on every request. */
const OPENAPI_KEY = 'key-example-chaos';

const wrongValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** JSON text with a `__proto__`, `constructor` or `prototype` key somewhere (JSON.stringify cannot write `__proto__`). */
function protoKeys(example: Record<string, unknown>): fc.Arbitrary<string> {
  return fc
    .record({
      key: fc.constantFrom('__proto__', 'constructor', 'prototype'),
      value: fc.oneof(
        fc.constant('{"polluted":true}'),
        fc.constant('{"prototype":{"polluted":true}}'),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      ),
      where: fc.constantFrom('top', ...Object.keys(example)),
    })
    .map(({ key, value, where }) => {
      const pairs = Object.entries(example).map(([name, v]) => {
        const json = JSON.stringify(v);
        return name === where && v !== null && typeof v === 'object'
          ? `${JSON.stringify(name)}:{${JSON.stringify(key)}:${value},${json.slice(1)}`
          : `${JSON.stringify(name)}:${json}`;
      });
      return `{${JSON.stringify(key)}:${value}${pairs.length ? ',' : ''}${pairs.join(',')}}`;
    });
}

/** Every path to a value of `value` (`['body', 'owner', 'email']`), objects and arrays included. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const at = [...prefix, Array.isArray(value) ? Number(key) : key];
    return [at, ...pathsOf(child, at)];
  });
}

/** `example` with the value at `at` replaced by `value`, or `extra` added next to it. */
function withValueAt(example: unknown, at: (string | number)[], value: unknown, extra: boolean): unknown {
  const copy = structuredClone(example) as Record<string | number, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = at.at(-1) as string | number;
  if (extra && !Array.isArray(node)) node.extra = value;
  else node[last] = value;
  return copy;
}

/**
 * The arbitrary bodies for an operation whose valid example is `example`.
 * @param nested - also give one field at any depth a wrong value, or add an unknown field there
 *   (the `openapi` kind's input `{path, query, headers, body}` nests what the description checks)
 */
export function operationBodies(example: Record<string, unknown>, nested = false): fc.Arbitrary<FuzzBody> {
  const keys = Object.keys(example);
  const paths = pathsOf(example);
  const deep = fc
    .record({
      at: fc.constantFrom(...(paths.length > 0 ? paths : [['extra']])),
      value: wrongValue,
      extra: fc.boolean(),
    })
    .map(({ at, value, extra }) => JSON.stringify(withValueAt(example, at, value, extra)));
  const json = fc.oneof(
    // One field at any depth given a wrong value (weighted as the other kinds of body together).
    ...(nested ? [{ weight: 8, arbitrary: deep }] : []),
    // The valid example itself (it must succeed).
    fc.constant(JSON.stringify(example)),
    // Random JSON.
    fc.jsonValue().map((value) => JSON.stringify(value)),
    // The example with one field of a wrong type, or one extra field.
    fc
      .record({ field: fc.constantFrom(...keys, 'extra'), value: wrongValue })
      .map(({ field, value }) => JSON.stringify({ ...example, [field]: value })),
    // Deep nesting, at the top or as a field's value.
    fc
      .record({
        depth: fc.integer({ min: 1_000, max: 5_000 }),
        kind: fc.constantFrom('array' as const, 'object' as const),
        field: fc.constantFrom('', ...keys),
      })
      .map(({ depth, kind, field }) => {
        const nested = deeplyNested(depth, kind);
        if (field === '') return nested;
        const rest = JSON.stringify({ ...example, [field]: null });
        return rest.replace(`${JSON.stringify(field)}:null`, `${JSON.stringify(field)}:${nested}`);
      }),
    protoKeys(example),
    // Not JSON at all, or cut short.
    fc.string(),
    fc.integer({ min: 1, max: 60 }).map((cut) => JSON.stringify(example).slice(0, cut)),
    fc.constantFrom('', 'null', 'true', '0', '""', '[]', '{}', 'NaN', 'undefined', '{"a":1}}', '\u0000'),
  );
  return fc.oneof(
    { weight: 4, arbitrary: json.map((body) => ({ body, isBase64Encoded: false })) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        json.map((body) => ({ body: Buffer.from(body, 'utf8').toString('base64'), isBase64Encoded: true })),
        fc.string().map((body) => ({ body, isBase64Encoded: true })),
      ),
    },
  );
}

/** Whether `text` is the success envelope `{data, meta}` or the error envelope `{error: {code, message, ...}}`. */
export function isEnvelope(text: string): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof body !== 'object' || body === null) return false;
  const record = body as Record<string, unknown>;
  if ('data' in record && typeof record.meta === 'object' && record.meta !== null) return true;
  const error = record.error as Record<string, unknown> | undefined;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    Object.hasOwn(ERROR_CODES, error.code) &&
    typeof error.message === 'string' &&
    typeof error.retryable === 'boolean'
  );
}

function emptyFuzzReport(target: string): FuzzReport {
  return { target, runs: 0, answers: {}, status500: 0, notEnvelope: 0, prototypePolluted: false };
}

function countAnswer(
  report: FuzzReport,
  sent: string,
  status: number,
  answer: string,
  envelope: boolean,
): void {
  report.runs += 1;
  report.answers[String(status)] = (report.answers[String(status)] ?? 0) + 1;
  if (status === 500) report.status500 += 1;
  if (!envelope) report.notEnvelope += 1;
  if ((status === 500 || !envelope) && !report.firstFailure) {
    report.firstFailure = { body: sent.slice(0, 300), status, answer: answer.slice(0, 300) };
  }
}

/** A credential store holding obviously fake credentials for every kind. */
function fuzzCredentials(): CredentialStore {
  const secrets: Record<string, Record<string, string>> = {
    http: { token: 'tok-example' },
    stripe: { apiKey: 'sk_test_example_chaos' },
    slack: { token: 'xoxb-example-chaos' },
    github: { token: 'ghp_example_chaos' },
    twilio: { accountSid: 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', authToken: 'fake-auth-token-for-chaos' },
    openapi: { apiKey: OPENAPI_KEY },
  };
  return {
    getSecret: async (name) => acceptSecret(name, 'the chaos suite', secrets[name] ?? {}, redactor),
  };
}

/** A loopback http upstream answering 200 JSON to everything. */
async function okUpstream() {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  const { origin, close } = await listenOnLoopback(server);
  return { url: origin, close };
}

/** A loopback mock of a description's API: what it received, checked against the description. */
interface DescriptionMock {
  url: string;
  close(): Promise<void>;
  /** Requests the description refuses (or without the connector's key) so far, and the last one's reason. */
  invalid: { count: number; last?: string };
}

/**
 * A mock of the API `definition` describes (OpenAPI 3.x, parsed), on loopback: each request is
 * matched to its operation and validated by openapi-backend (its own Ajv, its own parameter
 * parsing: not the connector's code), and must carry the connector's key in `X-Api-Key`. A valid
 * one is answered with a fixed JSON body that its description's success schema accepts; an invalid
 * one is counted and answered 400.
 * @param basePath - the path of the server URL (`/v1`), which every request must start with
 */
async function startDescriptionMock(
  definition: Record<string, unknown>,
  basePath: string,
): Promise<DescriptionMock> {
  const api = new OpenAPIBackend({
    definition: definition as ConstructorParameters<typeof OpenAPIBackend>[0]['definition'],
    quick: false,
    validate: true,
    customizeAjv: (ajv) => formats.default(ajv) as typeof ajv,
  });
  await api.init();
  const item = { id: 'it_abcd1234', name: 'Wrench', quantity: 3, tags: ['steel'], kind: 'tool' };
  const answers: Record<string, { status: number; body: unknown }> = {
    listItems: { status: 200, body: { items: [item] } },
    createItem: { status: 201, body: item },
    getItem: { status: 200, body: item },
    renameItem: { status: 200, body: item },
  };
  const invalid: DescriptionMock['invalid'] = { count: 0 };
  const refuse = (res: ServerResponse, reason: string) => {
    invalid.count += 1;
    invalid.last = reason.slice(0, 300);
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'invalid request' }));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mock');
      const text = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      if (!url.pathname.startsWith(`${basePath}/`))
        return refuse(res, `outside ${basePath}: ${url.pathname}`);
      if (req.headers['x-api-key'] !== OPENAPI_KEY) return refuse(res, `${url.pathname}: no X-Api-Key`);
      let body: unknown;
      if (text !== '' && type.startsWith('application/json')) body = JSON.parse(text);
      else if (text !== '' && type.startsWith('application/x-www-form-urlencoded')) {
        // Repeated fields are a list; so is a single one the description's schema says is a list.
        const form: Record<string, string | string[]> = {};
        for (const [name, value] of new URLSearchParams(text)) {
          const seen = form[name];
          form[name] = seen === undefined ? (name === 'Labels' ? [value] : value) : [...[seen].flat(), value];
        }
        body = form;
      }
      const request = {
        method: String(req.method),
        path: url.pathname.slice(basePath.length),
        query: url.search.slice(1),
        headers: req.headers as Record<string, string | string[]>,
        ...(body === undefined ? {} : { body }),
      };
      const operation = api.matchOperation(request);
      if (!operation) return refuse(res, `no operation for ${request.method} ${request.path}`);
      const result = api.validateRequest(request, operation);
      if (!result.valid) {
        return refuse(
          res,
          `${operation.operationId}: ${JSON.stringify(result.errors?.map((e) => `${e.instancePath} ${e.message}`))}`,
        );
      }
      const answer = answers[String(operation.operationId)] ?? { status: 200, body: {} };
      res.writeHead(answer.status, { 'content-type': 'application/json', 'x-ratelimit-remaining': '99' });
      res.end(JSON.stringify(answer.body));
    });
  });
  const { origin, close } = await listenOnLoopback(server);
  return { url: origin, close, invalid };
}

/** The config of the fuzzed connector of `kind` over `baseUrl`. */
function fuzzConfig(kind: ConnectorConfig['kind'], baseUrl: string): ConnectorConfig {
  const common = { name: `fuzz-${kind}`, kind, baseUrl, timeoutMs: 2_000, retry: { maxAttempts: 1 } };
  const entry =
    kind === 'http'
      ? {
          ...common,
          auth: { type: 'bearer', secret: 'http' },
          allowedMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
          allowedPathPrefixes: ['/'],
        }
      : { ...common, secret: kind };
  return parseConnectorConfig(entry, 'fuzz', { allowLoopbackHttp: true });
}

/** Options of {@link fuzzOperations}. */
export interface FuzzOptions {
  /** Bodies per operation. */
  runs: number;
  /** Called with each operation's report as it is done. */
  onReport?: (report: FuzzReport) => void;
  /** Only operations whose `kind operation` name contains this. */
  only?: string;
}

/**
 * Sends `options.runs` fuzzed bodies to every operation of every connector kind, through the real
 * API handler (one handler per kind, no idempotency store), one after the other.
 */
export async function fuzzOperations(options: FuzzOptions): Promise<FuzzReport[]> {
  const upstream = await okUpstream();
  const mocks: VendorMock[] = [];
  try {
    const [stripe, slack, github, twilio] = await Promise.all([
      startStripeMock(),
      startSlackMock(),
      startGithubMock(),
      startTwilioMock(),
    ]);
    mocks.push(stripe, slack, github, twilio);
    const urls: Record<Exclude<ConnectorConfig['kind'], 'openapi'>, string> = {
      http: upstream.url,
      stripe: stripe.url,
      slack: slack.url,
      github: github.url,
      twilio: twilio.url,
    };
    const credentials = fuzzCredentials();
    const reports: FuzzReport[] = [];
    // The `openapi` kind's operations come from a description: fuzzed below, by fuzzOpenApi.
    const kinds = Object.keys(CONNECTOR_KINDS).filter((kind) => kind !== 'openapi') as (keyof typeof urls)[];
    for (const kind of kinds) {
      const config = fuzzConfig(kind, urls[kind]);
      const definition = CONNECTOR_KINDS[kind] as unknown as {
        operations(config: ConnectorConfig): Record<string, unknown>;
        createHandler(deps: {
          config: ConnectorConfig;
          credentials: CredentialStore;
          allowLoopbackHttp: boolean;
        }): ConnectorHandler;
      };
      const handler = definition.createHandler({ config, credentials, allowLoopbackHttp: true });
      for (const operation of Object.keys(definition.operations(config))) {
        const target = `${kind} ${operation}`;
        if (options.only && !target.includes(options.only)) continue;
        const example = OPERATION_EXAMPLES[target];
        if (!example) throw new Error(`No example body for ${target}: add one to OPERATION_EXAMPLES.`);
        const report = await fuzzOperation(handler, config.name, operation, example, options.runs, target);
        reports.push(report);
        options.onReport?.(report);
      }
    }
    reports.push(...(await fuzzOpenApi(options, credentials)));
    return reports;
  } finally {
    await Promise.all([upstream.close(), ...mocks.map((mock) => mock.close())]);
  }
}

/**
 * Fuzzes every operation of an `openapi` connector over test/fixtures/openapi/items.openapi.yaml
 * (read as `loadSuiteConfig` reads it), against {@link startDescriptionMock}: each report counts
 * the requests the description refuses that reached the mock (`invalidSent`).
 */
async function fuzzOpenApi(options: FuzzOptions, credentials: CredentialStore): Promise<FuzzReport[]> {
  const targets = OPENAPI_OPERATIONS.filter(
    (operation) => !options.only || `openapi ${operation}`.includes(options.only),
  );
  if (targets.length === 0) return [];
  const document = (await parseDescriptionText(
    readFileSync(OPENAPI_FIXTURE, 'utf8'),
    OPENAPI_FIXTURE,
  )) as Record<string, unknown>;
  const mock = await startDescriptionMock(document, '/v1');
  try {
    const description = await loadDescription(
      path.basename(OPENAPI_FIXTURE),
      OPENAPI_OPERATIONS,
      path.dirname(OPENAPI_FIXTURE),
    );
    const entry = withDescription(
      {
        name: 'fuzz-openapi',
        kind: 'openapi',
        spec: OPENAPI_FIXTURE,
        operations: OPENAPI_OPERATIONS,
        baseUrl: `${mock.url}/v1`,
        // `in` and `name` from the description's securitySchemes (X-Api-Key).
        auth: { type: 'apiKey', secret: 'openapi' },
        responseValidation: 'enforce',
        timeoutMs: 2_000,
        retry: { maxAttempts: 1 },
      },
      description,
    );
    const config = parseConnectorConfig(entry, 'fuzz', { allowLoopbackHttp: true });
    const handler = CONNECTOR_KINDS.openapi.createHandler({
      config: config as never,
      credentials,
      allowLoopbackHttp: true,
    } as never) as ConnectorHandler;
    const reports: FuzzReport[] = [];
    for (const operation of targets) {
      const target = `openapi ${operation}`;
      const example = OPERATION_EXAMPLES[target] as Record<string, unknown>;
      const report = await fuzzOperation(
        handler,
        config.name,
        operation,
        example,
        options.runs,
        target,
        true,
        mock.invalid,
      );
      reports.push(report);
      options.onReport?.(report);
    }
    return reports;
  } finally {
    await mock.close();
  }
}

/** Generates bodies in chunks (a few hundred deep bodies at a time, not 10,000). */
function* samples<T>(arbitrary: fc.Arbitrary<T>, runs: number, seed: number): Generator<T> {
  const chunk = 250;
  for (let done = 0; done < runs; done += chunk) {
    yield* fc.sample(arbitrary, { numRuns: Math.min(chunk, runs - done), seed: seed + done });
  }
}

async function fuzzOperation(
  handler: ConnectorHandler,
  connector: string,
  operation: string,
  example: Record<string, unknown>,
  runs: number,
  target: string,
  nested = false,
  invalid?: DescriptionMock['invalid'],
): Promise<FuzzReport> {
  const report = emptyFuzzReport(target);
  const invalidBefore = invalid?.count ?? 0;
  if (invalid) report.invalidSent = 0;
  for (const sample of samples(operationBodies(example, nested), runs, FUZZ_SEED)) {
    const event: APIGatewayProxyEvent = {
      ...connectorProxyEvent({
        connector,
        operation,
        headers: [['content-type', 'application/json']],
        body: sample.body,
        stage: 'fuzz',
      }),
      isBase64Encoded: sample.isBase64Encoded,
    };
    let status: number;
    let answer: string;
    try {
      const result = await handler(event, lambdaContext(`connector-suite-fuzz-${connector}`, 29_000));
      status = result.statusCode;
      answer = result.body;
    } catch (error) {
      status = 500;
      answer = `the handler threw: ${String(error)}`;
    }
    countAnswer(report, sample.body ?? '', status, answer, status !== 500 && isEnvelope(answer));
    // The description mock counts what it refused; this body is the one that let it through.
    if (invalid && invalid.count > (report.invalidSent ?? 0) + invalidBefore) {
      report.invalidSent = invalid.count - invalidBefore;
      report.firstFailure ??= {
        body: (sample.body ?? '').slice(0, 300),
        status,
        answer: `reached the vendor, which refused it: ${invalid.last ?? ''}`.slice(0, 300),
      };
    }
  }
  return report;
}

/** The arbitrary bodies of `POST /v1/events`, for a gateway serving connector `connector`. */
export function eventsBodies(connector: string): fc.Arbitrary<string> {
  const example = { method: 'POST', path: '/items', body: { name: 'example' } };
  const detail = fc.oneof(
    fc.constant({ connector, operation: 'request', input: example }),
    fc.record({
      connector: fc.constant(connector),
      operation: fc.constant('request'),
      input: fc.jsonValue(),
    }),
    fc.record({ connector: wrongValue, operation: wrongValue, input: wrongValue }),
    fc.jsonValue(),
  );
  const entry = fc.oneof(
    fc.record({
      source: fc.constantFrom('fuzz.app', ''),
      'detail-type': fc.constantFrom('Connector Invocation Requested', 'Something Else', ''),
      detail,
    }),
    fc.record(
      { id: wrongValue, time: wrongValue, source: wrongValue, 'detail-type': wrongValue, detail: wrongValue },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );
  const deepEntry = fc
    .record({
      depth: fc.integer({ min: 1_000, max: 5_000 }),
      kind: fc.constantFrom('array' as const, 'object' as const),
    })
    .map(
      ({ depth, kind }) =>
        `{"source":"fuzz.app","detail-type":"Connector Invocation Requested","detail":{"connector":${JSON.stringify(connector)},"operation":"request","input":{"method":"POST","path":"/items","body":${deeplyNested(depth, kind)}}}}`,
    );
  const protoEntry = fc
    .constantFrom('__proto__', 'constructor', 'prototype')
    .map(
      (key) =>
        `{${JSON.stringify(key)}:{"polluted":true},"source":"fuzz.app","detail-type":"Connector Invocation Requested","detail":{${JSON.stringify(key)}:{"connector":"x"},"connector":${JSON.stringify(connector)},"operation":"request","input":{"method":"POST","path":"/items","body":{${JSON.stringify(key)}:{"polluted":true}}}}}`,
    );
  const entryText = fc.oneof(
    { weight: 3, arbitrary: entry.map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: deepEntry },
    { weight: 1, arbitrary: protoEntry },
  );
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .array(entryText, { minLength: 0, maxLength: 5 })
        .map((entries) => `[${entries.join(',')}]`),
    },
    { weight: 2, arbitrary: entryText },
    { weight: 1, arbitrary: fc.string() },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1_000, max: 5_000 }).map((depth) => deeplyNested(depth, 'array')),
    },
  );
}

/** The number of events a `POST /v1/events` body carries when it is JSON (1 for a single event). */
function entriesSent(text: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.length : 1;
  } catch {
    return undefined;
  }
}

/**
 * Whether a 200 answer of `POST /v1/events` answers per entry as PutEvents does: as many entries as
 * sent, and a failed-entry count equal to the entries carrying an error code. Field names are
 * matched without regard to case (`FailedEntryCount` / `failedEntryCount`).
 */
export function isPerEntryAnswer(text: string, sent: number | undefined): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof body !== 'object' || body === null) return false;
  const field = (record: object, name: string): unknown =>
    Object.entries(record).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  const entries = field(body, 'entries');
  const failedCount = field(body, 'failedEntryCount');
  if (!Array.isArray(entries) || typeof failedCount !== 'number') return false;
  if (sent !== undefined && entries.length !== sent) return false;
  const failed = entries.filter(
    (entry) => typeof entry === 'object' && entry !== null && typeof field(entry, 'errorCode') === 'string',
  ).length;
  return failed === failedCount;
}

/**
 * Posts `options.runs` fuzzed bodies to `POST /v1/events` of a local gateway serving one http
 * connector (over an upstream answering 200), then waits until its inbox is empty. Every answer
 * must be 200 with one entry per event (see {@link isPerEntryAnswer}) or the error envelope; a
 * dead letter with `INTERNAL_ERROR` counts as a 500.
 */
export async function fuzzEvents(options: { runs: number }): Promise<FuzzReport> {
  const upstream = await okUpstream();
  const connector = 'fuzz-events';
  const config = parseSuiteConfig(
    {
      connectors: [
        {
          name: connector,
          kind: 'http',
          baseUrl: upstream.url,
          allowedMethods: ['GET', 'POST'],
          allowedPathPrefixes: ['/'],
          retry: { maxAttempts: 1 },
          async: { maxReceiveCount: 2, backoffBaseSeconds: 0.01, backoffMaxSeconds: 0.02, maxConcurrency: 2 },
        },
      ],
    },
    'fuzz',
    { allowLoopbackHttp: true },
  );
  const gateway = await startLocalGateway({
    config,
    credentials: fuzzCredentials(),
    port: 0,
    pollIntervalMs: 5,
  });
  const report = emptyFuzzReport('POST /v1/events');
  try {
    for (const text of samples(eventsBodies(connector), options.runs, FUZZ_SEED)) {
      let status: number;
      let answer: string;
      try {
        const response = await fetch(`${gateway.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
        status = response.status;
        answer = await response.text();
      } catch (error) {
        status = 500;
        answer = `the gateway failed: ${String(error)}`;
      }
      const valid =
        status === 200 ? isPerEntryAnswer(answer, entriesSent(text)) : status !== 500 && isEnvelope(answer);
      countAnswer(report, text, status, answer, valid);
    }
    // Wait for the inbox to drain (events, not wall-clock guesses), then look at the dead letters.
    const queue = gateway.queues.get(connector);
    const drainedBy = Date.now() + 60_000 + options.runs * 20;
    let waiting = 0;
    while (queue && Date.now() < drainedBy) {
      const { visible, inFlight, delayed } = queue.stats();
      waiting = visible + inFlight + delayed;
      if (waiting === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Shown, not failed: the dead letters below are checked either way.
    if (waiting > 0) report.answers['events still in the inbox'] = waiting;
    const deadLetters = (await (await fetch(`${gateway.url}/v1/dead-letters`)).json()) as {
      deadLetters: Array<{ error: { code: string; message: string } | null; event: unknown }>;
    };
    for (const letter of deadLetters.deadLetters) {
      if (letter.error?.code !== 'INTERNAL_ERROR') continue;
      report.status500 += 1;
      report.answers['dead letter INTERNAL_ERROR'] = (report.answers['dead letter INTERNAL_ERROR'] ?? 0) + 1;
      report.firstFailure ??= {
        body: JSON.stringify(letter.event).slice(0, 300),
        status: 500,
        answer: `dead-lettered: ${letter.error.message}`.slice(0, 300),
      };
    }
  } finally {
    await gateway.close();
    await upstream.close();
  }
  return report;
}

/** Formats fuzz reports as a fixed-width table. */
export function formatFuzzTable(reports: readonly FuzzReport[]): string {
  const header = [
    'operation',
    'bodies',
    'answers by status',
    '500',
    'not an envelope',
    'polluted',
    'invalid sent',
    'first failure',
  ];
  const rows = reports.map((report) => [
    report.target,
    String(report.runs),
    Object.entries(report.answers)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', '),
    String(report.status500),
    String(report.notEnvelope),
    report.prototypePolluted ? 'yes' : 'no',
    report.invalidSent === undefined ? '-' : String(report.invalidSent),
    report.firstFailure
      ? `${report.firstFailure.status} for ${JSON.stringify(report.firstFailure.body.slice(0, 80))}: ${report.firstFailure.answer.slice(0, 120)}`
      : '-',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
