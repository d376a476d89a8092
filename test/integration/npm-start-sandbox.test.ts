/**
 * `npm start` as a new user runs it on a machine without internet (issue 11): no settings, no
 * secrets file of their own, every host name but loopback unresolvable. The README's first `curl`
 * and one documented call of each vendor connector (docs/connectors/*.md) answer 200, from the
 * local stand-ins of the sandbox (local/sandbox.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, HttpbinEcho } from '../support/integration-helpers.js';
import { type StartedGateway, startNpmStart } from '../support/npm-start.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What `npm start` runs, started with this Node. */
/**
 * The bound of starting `npm start`, in ms: about 5 s on an idle 2-core machine, more when the
 * cores are shared. The test waits for the process's own output; this only stops a start that hangs.
 */
const CLI_START_TIMEOUT_MS = 120_000;

/**
 * Preloaded into `npm start` (`NODE_OPTIONS=--import`): every host name but loopback fails to
 * resolve with `ENOTFOUND`, as on a machine without internet, so a call that leaves the machine fails.
 */
const OFFLINE_PRELOAD = `
import dns from 'node:dns';
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);
const unresolved = (hostname) =>
  Object.assign(new Error('getaddrinfo ENOTFOUND ' + hostname), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname });
const lookup = dns.lookup;
dns.lookup = function offlineLookup(hostname, options, callback) {
  if (LOOPBACK.has(hostname)) return lookup.apply(this, arguments);
  process.nextTick(typeof options === 'function' ? options : callback, unresolved(hostname));
  return {};
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async (hostname, options) => {
  if (LOOPBACK.has(hostname)) return promisesLookup(hostname, options);
  throw unresolved(hostname);
};
`;

/** Variables that would take a connector live, or change what `npm start` serves. */
const SETTINGS = [
  'HTTPBIN_URL',
  'STRIPE_BASE_URL',
  'SLACK_BASE_URL',
  'GITHUB_BASE_URL',
  'TWILIO_BASE_URL',
  'LIVE',
  'SUITE_CONFIG',
  'LOCAL_SECRETS_FILE',
  'POWERTOOLS_DEV',
];

let gateway: StartedGateway | undefined;
let gatewayUrl = '';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'connector-suite-sandbox-'));
  const preload = path.join(dir, 'offline.mjs');
  await writeFile(preload, OFFLINE_PRELOAD);
  // Free ports for the gateway and its DynamoDB: other test files may run npm start at the same time.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DYNAMODB_PORT: '0',
    // Its own state directory, not the checkout's .local/.
    LOCAL_STATE_DIR: path.join(dir, 'state'),
    NODE_OPTIONS: `--import ${preload}`,
  };
  for (const name of SETTINGS) delete env[name];
  gateway = await startNpmStart(ROOT, env);
  gatewayUrl = gateway.url;
}, CLI_START_TIMEOUT_MS);

afterAll(async () => {
  await gateway?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls `connector`'s `operation` through the gateway, as the docs' `curl` does. */
async function call(
  connector: string,
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Envelope<Record<string, unknown>> }> {
  const response = await fetch(`${gatewayUrl}/v1/connectors/${connector}/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Envelope<Record<string, unknown>> };
}

describe('npm start with no settings and no internet (the sandbox)', () => {
  it("answers the README's first curl with 200 from the local echo service, the token redacted", async () => {
    // Act
    const { status, body } = await call(
      'httpbin',
      'request',
      { method: 'GET', path: '/anything/hello', query: { page: '1' } },
      { 'Idempotency-Key': 'order-1234' },
    );

    // Assess
    expect(status).toBe(200);
    const echo = body.data as unknown as { status: number; body: HttpbinEcho & { args: unknown } };
    expect(echo.status).toBe(200);
    expect(echo.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/anything\/hello\?page=1$/);
    expect(echo.body.args).toEqual({ page: '1' });
    expect(echo.body.headers.Authorization).toBe('Bearer [REDACTED]');
    expect(echo.body.headers['Idempotency-Key']).toBe('order-1234');
    expect(gateway?.output()).not.toContain('tok-example');
  });

  it("reads the sandbox's example list over 5 pages whole with paginate (docs/connectors.md#pagination)", async () => {
    // Act
    const { status, body } = await call('httpbin', 'request', {
      method: 'GET',
      path: '/pages/link',
      paginate: { style: 'link', itemsPath: 'items', sizeParam: 'per_page', pageSize: 5, maxPages: 5 },
    });

    // Assess
    expect({ status, error: body.error }).toEqual({ status: 200, error: undefined });
    const data = body.data as unknown as { items: Array<{ id: number }>; pages: number; complete: boolean };
    expect({ pages: data.pages, complete: data.complete }).toEqual({ pages: 5, complete: true });
    expect(data.items.map((item) => item.id)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
  });

  it.each([
    [
      'stripe',
      'createPaymentIntent',
      { amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { 'Idempotency-Key': 'order-1234' },
    ],
    [
      'slack',
      'postMessage',
      {
        channel: 'C0123456789',
        text: 'Deploy finished',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Deploy* finished' } }],
      },
      {},
    ],
    [
      'github',
      'createIssue',
      { owner: 'octo-org', repo: 'hello-world', title: 'Found a bug', labels: ['bug'] },
      {},
    ],
    ['twilio', 'sendSms', { to: '+14155552345', from: '+15005550006', body: 'Hello from the suite' }, {}],
    ['stripe', 'listCustomers', { limit: 10, maxPages: 5 }, {}],
    ['github', 'listIssues', { owner: 'octo-org', repo: 'hello-world', per_page: 5, maxPages: 5 }, {}],
    ['slack', 'conversationsList', { limit: 5, maxPages: 5 }, {}],
  ])(
    'answers the documented %s %s call with 200 from its vendor stand-in',
    async (connector, operation, input, headers) => {
      // Act
      const { status, body } = await call(connector, operation, input, headers);

      // Assess
      expect({ status, error: body.error }).toEqual({ status: 200, error: undefined });
      expect(body.meta?.connector).toBe(connector);
      expect(body.data).toBeTypeOf('object');
    },
  );
});
