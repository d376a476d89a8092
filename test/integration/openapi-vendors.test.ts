/**
 * The `openapi` kind proven on real descriptions (issue 14): the examples of Twilio's 2010 API
 * (OpenAPI 3.0.1, `examples/openapi-twilio/suite.platform.config.ts`), Slack's Web API (Swagger 2.0,
 * `examples/openapi-slack/`) and GitHub's REST API (OpenAPI 3.0.3, `examples/openapi-github/`),
 * served by one `npm start` (the real CLI in a child process, as test/integration/npm-start.test.ts
 * runs it) in front of mocks served from the same descriptions (local/stand-ins/openapi.ts). For
 * each vendor: valid calls of several operations answer 200 with the mock's answer and reach it as
 * the description says; an invalid input answers 400 `VALIDATION_ERROR` naming the field, and the
 * mock receives nothing; an answer that violates the documented schema is logged (`warn`, the
 * examples' default) and refused with `RESPONSE_VALIDATION_ERROR` (`enforce`).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DescriptionMock, startDescriptionMock } from '../../local/stand-ins/openapi.js';
import { type StartedGateway, startNpmStart } from '../support/npm-start.js';
import { waitForOutput } from '../support/wait-for-output.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What `npm start` runs, started with this Node. */
/**
 * The bound of starting the mocks and `npm start`, in ms: the gateway reads three descriptions
 * (Slack's and GitHub's trimmed ones are 200 KB each once inlined) and compiles their validators, about
 * 15 s on an idle 2-core machine. The test waits for the process's own output; this only stops a start
 * that hangs.
 */
const START_TIMEOUT_MS = 180_000;

/** The examples under test: their suite file, secrets and the description their mock serves. */
const VENDORS = {
  twilio: {
    suite: 'examples/openapi-twilio/suite.platform.config.ts',
    secrets: 'examples/openapi-twilio/secrets.example.json',
    spec: 'test/fixtures/twilio/api_v2010.openapi.json',
  },
  slack: {
    suite: 'examples/openapi-slack/suite.config.ts',
    secrets: 'examples/openapi-slack/secrets.example.json',
    spec: 'test/fixtures/slack/slack_web_openapi_v2.json',
  },
  github: {
    suite: 'examples/openapi-github/suite.config.ts',
    secrets: 'examples/openapi-github/secrets.example.json',
    spec: 'test/fixtures/github/api.github.com.openapi.json',
  },
} as const;
type Vendor = keyof typeof VENDORS;

const ACCOUNT = `AC${'a'.repeat(32)}`;
const MESSAGE = `SM${'b'.repeat(32)}`;
/** The operation each vendor answers with a schema violation, and its input. */
const VIOLATED: Record<Vendor, { operation: string; input: unknown }> = {
  twilio: { operation: 'FetchMessage', input: { path: { AccountSid: ACCOUNT, Sid: MESSAGE } } },
  slack: { operation: 'users_info', input: { query: { user: 'U0123456789' } } },
  github: { operation: 'repos/get', input: { path: { owner: 'octo-org', repo: 'deploys' } } },
};

/** Valid calls of several operations of each example: operation, input, the request the mock gets. */
const VALID_CALLS: Array<[Vendor, string, unknown, { method: string; path: RegExp; body?: RegExp }]> = [
  [
    'twilio',
    'CreateMessage',
    { path: { AccountSid: ACCOUNT }, body: { To: '+15005550006', From: '+15005550001', Body: 'Deployed' } },
    {
      method: 'POST',
      path: /^\/2010-04-01\/Accounts\/AC[a]{32}\/Messages\.json$/,
      body: /^To=%2B15005550006&From=/,
    },
  ],
  [
    'twilio',
    'ListMessage',
    { path: { AccountSid: ACCOUNT }, query: { To: '+15005550006', PageSize: 20 } },
    {
      method: 'GET',
      path: /^\/2010-04-01\/Accounts\/AC[a]{32}\/Messages\.json\?To=%2B15005550006&PageSize=20$/,
    },
  ],
  [
    'twilio',
    'CreateCall',
    {
      path: { AccountSid: ACCOUNT },
      body: { To: '+15005550006', From: '+15005550001', Url: 'https://example.com/twiml' },
    },
    { method: 'POST', path: /\/Calls\.json$/, body: /Url=https%3A%2F%2Fexample\.com%2Ftwiml/ },
  ],
  ['twilio', 'FetchBalance', { path: { AccountSid: ACCOUNT } }, { method: 'GET', path: /\/Balance\.json$/ }],
  [
    'slack',
    'chat_postMessage',
    { body: { channel: 'C0123456789', text: 'Deploy finished' } },
    {
      method: 'POST',
      path: /^\/api\/chat\.postMessage$/,
      body: /^channel=C0123456789&text=Deploy\+finished$/,
    },
  ],
  [
    'slack',
    'conversations_list',
    { query: { limit: 10, types: 'public_channel' } },
    // in the description's order of its parameters
    { method: 'GET', path: /^\/api\/conversations\.list\?types=public_channel&limit=10$/ },
  ],
  [
    'slack',
    'reactions_add',
    { body: { channel: 'C0123456789', name: 'rocket', timestamp: '1503435956.000247' } },
    { method: 'POST', path: /^\/api\/reactions\.add$/, body: /name=rocket/ },
  ],
  [
    'github',
    'issues/create',
    { path: { owner: 'octo-org', repo: 'deploys' }, body: { title: 'Deploy failed', labels: ['ops'] } },
    { method: 'POST', path: /^\/repos\/octo-org\/deploys\/issues$/, body: /"title":"Deploy failed"/ },
  ],
  [
    'github',
    'issues/list-for-repo',
    { path: { owner: 'octo-org', repo: 'deploys' }, query: { state: 'open', per_page: 5 } },
    { method: 'GET', path: /^\/repos\/octo-org\/deploys\/issues\?state=open&per_page=5$/ },
  ],
  ['github', 'users/get-authenticated', {}, { method: 'GET', path: /^\/user$/ }],
];

/** An invalid input of each example, and the fields its 400 must name. */
const INVALID_CALLS: Array<[Vendor, string, unknown, string[]]> = [
  [
    'twilio',
    'CreateMessage',
    { path: { AccountSid: 'AC123' }, body: { From: '+15005550001', Body: 'Deployed' } },
    ['path.AccountSid', 'body.To'],
  ],
  ['slack', 'chat_postMessage', { body: { text: 'Deploy finished' } }, ['body.channel']],
  // The credential is auth's to send, never the caller's (docs/connectors/openapi.md#credential-parameters).
  ['slack', 'conversations_list', { query: { token: 'xoxb-caller-example' } }, ['query.token']],
  [
    'github',
    'issues/list-for-repo',
    { path: { owner: 'octo-org', repo: 'deploys' }, query: { state: 'everything' } },
    ['query.state'],
  ],
];

const mocks = {} as Record<Vendor, DescriptionMock>;
let gateway: StartedGateway | undefined;
let gatewayUrl = '';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'openapi-vendors-'));
  const started = await Promise.all(
    Object.entries(VENDORS).map(async ([vendor, { spec }]) => {
      return [vendor, await startDescriptionMock({ spec: path.join(ROOT, spec) })] as const;
    }),
  );
  Object.assign(mocks, Object.fromEntries(started));

  // One suite of the three examples as written, each aimed at its mock, each with an `enforce` twin
  // serving the operation whose answer is made to violate its schema.
  const connectors: unknown[] = [];
  const secrets: Record<string, unknown> = {};
  for (const [vendor, example] of Object.entries(VENDORS) as [Vendor, (typeof VENDORS)[Vendor]][]) {
    const suite = (await import(path.join(ROOT, example.suite))) as {
      default: { connectors: Array<Record<string, unknown>> };
    };
    for (const connector of suite.default.connectors) {
      const written = {
        ...connector,
        spec: path.resolve(ROOT, path.dirname(example.suite), String(connector.spec)),
        baseUrl: mocks[vendor].url,
        // One attempt, however long a loaded machine takes (the mock compiles a response schema when
        // it first answers it): a retry would take the answer queued for the next call.
        timeoutMs: 60_000,
        retry: { maxAttempts: 1 },
        // The test's calls come faster than Slack's one message a second.
        rateLimit: { requestsPerSecond: 100, burst: 100 },
      };
      connectors.push(written, {
        ...written,
        name: `${String(connector.name)}-strict`,
        operations: [VIOLATED[vendor].operation],
        responseValidation: 'enforce',
      });
    }
    Object.assign(secrets, JSON.parse(await readFile(path.join(ROOT, example.secrets), 'utf8')));
  }
  const suiteFile = path.join(dir, 'suite.config.json');
  const secretsFile = path.join(dir, 'secrets.json');
  await writeFile(suiteFile, JSON.stringify({ connectors }));
  await writeFile(secretsFile, JSON.stringify(secrets));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SUITE_CONFIG: suiteFile,
    LOCAL_SECRETS_FILE: secretsFile,
    // Free ports for the gateway and its DynamoDB: other test files may run npm start at the same time.
    PORT: '0',
    DYNAMODB_PORT: '0',
    LOCAL_STATE_DIR: path.join(dir, 'state'),
  };
  delete env.LIVE;
  delete env.POWERTOOLS_DEV;
  gateway = await startNpmStart(ROOT, env);
  gatewayUrl = gateway.url;
}, START_TIMEOUT_MS);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface OpenApiEnvelope {
  data?: { status: number; headers: Record<string, string>; body: unknown };
  error?: { code: string; message: string; details?: unknown; upstreamStatus?: number };
}

/** Calls an operation through `npm start`'s gateway, as the examples' READMEs do with curl. */
async function call(connector: string, operation: string, input: unknown) {
  const response = await fetch(`${gatewayUrl}/v1/connectors/${connector}/${encodeURIComponent(operation)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as OpenApiEnvelope };
}

/** The JSON log lines of `npm start` so far that carry `message`. */
function logLines(message: string): Array<Record<string, unknown>> {
  return (gateway?.output() ?? '')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(message))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Resolves with the log lines carrying `message` once there are `count` of them: a line is written
 * before the answer is sent, but reaches this process through a pipe, perhaps after the answer.
 */
function logLinesOnceThere(message: string, count: number): Promise<Array<Record<string, unknown>>> {
  const started = gateway as StartedGateway;
  return waitForOutput(
    started.child,
    started.output,
    () => {
      const lines = logLines(message);
      return lines.length < count ? undefined : lines;
    },
    `${count} log line(s) '${message}'`,
  );
}

const WARNING = 'The upstream answer does not match the documented schema.';

describe('the openapi examples under npm start, against mocks served from their descriptions', () => {
  it.each(VALID_CALLS)(
    '%s %s: a valid call answers 200 with the mock answer, sent as the description says',
    async (vendor, operation, input, expected) => {
      // Prepare
      const mock = mocks[vendor];
      const before = mock.requests.length;
      const warnings = logLines(WARNING).length;

      // Act
      const { status, body } = await call(`${vendor}-openapi`, operation, input);

      // Assess
      expect({ status, error: body.error }).toEqual({ status: 200, error: undefined });
      const received = mock.requests.slice(before);
      expect(received).toHaveLength(1);
      const [request] = received;
      expect(request).toMatchObject({ method: expected.method, operationId: operation, issues: [] });
      expect(request?.path).toMatch(expected.path);
      if (expected.body) expect(request?.body).toMatch(expected.body);
      expect(request?.headers.authorization).toMatch(/^(Basic|Bearer) /);
      expect(body.data?.status).toBe(request?.answer?.status);
      expect(body.data?.body).toEqual(request?.answer?.body);
      // The mock's answers are the descriptions' examples or samples: they match the documented schema.
      expect(logLines(WARNING).slice(warnings)).toEqual([]);
    },
  );

  it.each(INVALID_CALLS)(
    '%s %s: an invalid input answers 400 VALIDATION_ERROR naming the field, and nothing leaves',
    async (vendor, operation, input, fields) => {
      // Prepare
      const before = mocks[vendor].requests.length;

      // Act
      const { status, body } = await call(`${vendor}-openapi`, operation, input);

      // Assess
      expect(status).toBe(400);
      expect(body.error?.code).toBe('VALIDATION_ERROR');
      const details = (body.error?.details ?? []) as Array<{ path: string }>;
      const paths = details.map((detail) => detail.path);
      for (const field of fields) expect(paths).toContain(field);
      expect(mocks[vendor].requests).toHaveLength(before);
    },
  );

  it.each(Object.keys(VENDORS) as Vendor[])(
    '%s: an answer that violates the documented schema is logged under warn and refused under enforce',
    async (vendor) => {
      // Prepare
      const { operation, input } = VIOLATED[vendor];
      const warnings = logLines(WARNING).length;
      mocks[vendor].answerNext({ violateSchema: true });
      mocks[vendor].answerNext({ violateSchema: true });

      // Act
      const warned = await call(`${vendor}-openapi`, operation, input);
      const enforced = await call(`${vendor}-openapi-strict`, operation, input);

      // Assess
      expect(warned.status).toBe(200);
      const logged = (await logLinesOnceThere(WARNING, warnings + 1)).slice(warnings);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'WARN', operationId: operation });
      const issues = logged[0]?.responseIssues as Array<{ path: string; message: string }>;
      expect(issues.length).toBeGreaterThan(0);
      // Paths and reasons, never the values: the violating value is 42 or a marker string.
      expect(JSON.stringify(issues)).not.toContain('not-of-the-documented-type');
      expect(enforced.status).toBe(502);
      expect(enforced.body.error).toMatchObject({ code: 'RESPONSE_VALIDATION_ERROR' });
      expect(enforced.body.error?.details).toEqual(issues);
    },
  );

  it('never prints the example secrets', () => {
    expect(gateway?.output()).not.toContain('fake-auth-token-example');
    expect(gateway?.output()).not.toContain('xoxb-fake-example');
    expect(gateway?.output()).not.toContain('ghp_example_not_a_real_token');
  });
});
