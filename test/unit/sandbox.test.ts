/**
 * The sandbox of `npm start` (local/sandbox.ts): which connectors call a local stand-in and which
 * stay live, the suite it hands the gateway, and the secrets sandboxed connectors read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnyConnectorConfig,
  type SuiteConfig,
  type SuiteConfigInput,
  suiteConfigSchema,
} from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { decideConnectorMode, isLiveRequested, type Sandbox, startSandbox } from '../../local/sandbox.js';

/** The connectors of the default `suite.config.ts` with no base-URL variable set. */
const DEFAULT_SUITE: SuiteConfigInput = {
  connectors: [
    {
      name: 'httpbin',
      kind: 'http',
      baseUrl: 'https://httpbin.org',
      auth: { type: 'bearer', secret: 'httpbin' },
      allowedPathPrefixes: ['/anything'],
    },
    { name: 'stripe', kind: 'stripe', secret: 'stripe' },
    { name: 'slack', kind: 'slack', secret: 'slack' },
    { name: 'github', kind: 'github', secret: 'github' },
    { name: 'twilio', kind: 'twilio', secret: 'twilio' },
  ],
};

function parse(input: SuiteConfigInput): SuiteConfig<AnyConnectorConfig> {
  return suiteConfigSchema({ allowLoopbackHttp: true }).parse(input) as SuiteConfig<AnyConnectorConfig>;
}

/** The connector `name` of the parsed default suite, with `changes` applied. */
function connector(name: string, changes: Record<string, unknown> = {}): AnyConnectorConfig {
  const entry = DEFAULT_SUITE.connectors.find((c) => c.name === name);
  return parse({ connectors: [{ ...entry, ...changes } as SuiteConfigInput['connectors'][number]] })
    .connectors[0] as AnyConnectorConfig;
}

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.close();
});

describe('decideConnectorMode', () => {
  it.each([
    ['httpbin', {}, { mode: 'sandbox', standIn: 'echo' }],
    ['stripe', {}, { mode: 'sandbox', standIn: 'stripe' }],
    ['slack', {}, { mode: 'sandbox', standIn: 'slack' }],
    ['github', {}, { mode: 'sandbox', standIn: 'github' }],
    ['twilio', {}, { mode: 'sandbox', standIn: 'twilio' }],
    ['httpbin', { baseUrl: 'http://127.0.0.1:8099' }, { mode: 'live', reason: 'base-url-given' }],
    ['stripe', { baseUrl: 'http://127.0.0.1:4010' }, { mode: 'live', reason: 'base-url-given' }],
    ['httpbin', { baseUrl: 'https://api.example.com' }, { mode: 'live', reason: 'base-url-given' }],
  ])('%s with %j is %j', (name, changes, expected) => {
    // Prepare
    const config = connector(name, changes);

    // Act
    const decision = decideConnectorMode(config);

    // Assess
    expect(decision).toEqual(expected);
  });

  it('makes a connector live when its base URL variable is set, even to the public API', () => {
    // Prepare
    const config = connector('stripe', { baseUrl: 'https://api.stripe.com' });

    // Act
    const decision = decideConnectorMode(config, { baseUrlGiven: true });

    // Assess
    expect(decision).toEqual({ mode: 'live', reason: 'base-url-given' });
  });

  it('makes every connector live when live is asked for', () => {
    // Prepare
    const configs = parse(DEFAULT_SUITE).connectors;

    // Act
    const decisions = configs.map((c) => decideConnectorMode(c, { live: true }));

    // Assess
    for (const decision of decisions) expect(decision).toEqual({ mode: 'live', reason: 'live-requested' });
  });
});

describe('isLiveRequested', () => {
  it.each([
    [{}, [], false],
    [{ LIVE: '1' }, [], true],
    [{ LIVE: 'true' }, [], true],
    [{ LIVE: 'TRUE' }, [], true],
    [{ LIVE: '0' }, [], false],
    [{ LIVE: '' }, [], false],
    [{}, ['--live'], true],
    [{}, ['--reset'], false],
  ])('env %j, argv %j: %s', (env, argv, expected) => {
    // Act
    const live = isLiveRequested(env, argv);

    // Assess
    expect(live).toBe(expected);
  });
});

describe('startSandbox', () => {
  it('points each connector of the default suite at a running stand-in and says how to go live', async () => {
    // Prepare
    const config = parse(DEFAULT_SUITE);

    // Act
    const sandbox = await startSandbox(config, { env: {}, argv: [] });
    sandboxes.push(sandbox);
    const echo = await fetch(`${sandbox.config.connectors[0]?.baseUrl}/anything/hello?page=1`, {
      headers: { authorization: 'Bearer tok-example' },
    });
    const echoed = (await echo.json()) as { args: unknown; headers: Record<string, string>; url: string };

    // Assess
    expect(sandbox.connectors.map((c) => [c.name, c.mode, c.standIn])).toEqual([
      ['httpbin', 'sandbox', 'echo'],
      ['stripe', 'sandbox', 'stripe'],
      ['slack', 'sandbox', 'slack'],
      ['github', 'sandbox', 'github'],
      ['twilio', 'sandbox', 'twilio'],
    ]);
    for (const [i, report] of sandbox.connectors.entries()) {
      expect(report.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(sandbox.config.connectors[i]?.baseUrl).toBe(report.baseUrl);
    }
    expect(sandbox.connectors[0]?.goLive).toBe(
      "set HTTPBIN_URL to its base URL, or LIVE=1 (npm start -- --live) for every connector, with a real secret 'httpbin' in local/secrets.json",
    );
    expect(sandbox.connectors[1]?.goLive).toContain('STRIPE_BASE_URL');
    expect(echo.status).toBe(200);
    expect(echoed.args).toEqual({ page: '1' });
    expect(echoed.headers.Authorization).toBe('Bearer tok-example');
    expect(echoed.url).toBe(`${sandbox.config.connectors[0]?.baseUrl}/anything/hello?page=1`);
  });

  it('keeps a connector with a base URL of its own live, as given, and starts no stand-in for it', async () => {
    // Prepare
    const config = parse({
      connectors: [
        {
          ...DEFAULT_SUITE.connectors[0],
          baseUrl: 'http://127.0.0.1:8099',
        } as SuiteConfigInput['connectors'][number],
        { name: 'stripe', kind: 'stripe', secret: 'stripe' },
      ],
    });

    // Act
    const sandbox = await startSandbox(config, { env: {}, argv: [] });
    sandboxes.push(sandbox);

    // Assess
    expect(sandbox.connectors[0]).toEqual({
      name: 'httpbin',
      kind: 'http',
      mode: 'live',
      baseUrl: 'http://127.0.0.1:8099',
      reason: 'base-url-given',
    });
    expect(sandbox.config.connectors[0]).toBe(config.connectors[0]);
    expect(Object.keys(sandbox.standIns)).toEqual(['stripe']);
  });

  it('keeps a connector live whose base-URL variable is set, even to the public API', async () => {
    // Prepare
    const config = parse(DEFAULT_SUITE);

    // Act
    const sandbox = await startSandbox(config, { env: { HTTPBIN_URL: 'https://httpbin.org' }, argv: [] });
    sandboxes.push(sandbox);

    // Assess
    expect(sandbox.connectors.map((c) => c.mode)).toEqual([
      'live',
      'sandbox',
      'sandbox',
      'sandbox',
      'sandbox',
    ]);
    expect(sandbox.config.connectors[0]?.baseUrl).toBe('https://httpbin.org');
    expect(sandbox.standIns.echo).toBeUndefined();
  });

  it('with LIVE=1 starts no stand-in and hands the suite on unchanged', async () => {
    // Prepare
    const config = parse(DEFAULT_SUITE);

    // Act
    const sandbox = await startSandbox(config, { env: { LIVE: '1' }, argv: [] });
    sandboxes.push(sandbox);

    // Assess
    expect(sandbox.standIns).toEqual({});
    expect(sandbox.config.connectors).toEqual(config.connectors);
    expect(sandbox.connectors.every((c) => c.mode === 'live' && c.reason === 'live-requested')).toBe(true);
  });

  it('reads the secrets of sandboxed connectors from the example file, the others from the given store', async () => {
    // Prepare
    const config = parse({
      connectors: [
        { name: 'stripe', kind: 'stripe', secret: 'stripe' },
        { name: 'slack', kind: 'slack', secret: 'slack', baseUrl: 'http://127.0.0.1:4010/api' },
      ],
    });
    const asked: string[] = [];
    const own: CredentialStore = {
      getSecret: async (name) => {
        asked.push(name);
        return { token: 'xoxb-own-example' };
      },
    };

    // Act
    const sandbox = await startSandbox(config, { env: {}, argv: [] });
    sandboxes.push(sandbox);
    const store = sandbox.credentials(own);
    const stripe = await store.getSecret('stripe');
    const slack = await store.getSecret('slack');

    // Assess
    expect(stripe).toEqual({ apiKey: 'sk_test_example_0001' });
    expect(slack).toEqual({ token: 'xoxb-own-example' });
    expect(asked).toEqual(['slack']);
  });
});
