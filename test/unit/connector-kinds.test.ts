/**
 * Connector kinds of a user's own: the config schema (`kinds`), the registry of built-in kinds,
 * `connectorKind`, and `defineConnector` with `settings` (typed, validated, the kind's `auth` on
 * every request).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import * as z from 'zod';
import { BUILTIN_KINDS, kindOf, registeredKinds } from '../../functions/builtin-kinds.js';
import {
  ConfigValidationError,
  type CustomConnectorConfig,
  clientAuthOf,
  parseConnectorConfig,
  parseSuiteConfig,
  secretNameOf,
} from '../../functions/shared/config.js';
import { LocalFileCredentialStore } from '../../functions/shared/credentials/local-file.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { ENV, readConnectorEnvironment } from '../../functions/shared/runtime/environment.js';
import { connectorKind, defineConnector, defineOperation } from '../../functions/shared/runtime/index.js';
import { HANDLER_ENTRIES, handlerEntry, PROJECT_ROOT } from '../../lib/connector-kinds.js';
import { startLocalGateway as startGateway } from '../../local/gateway.js';
import { weatherConnector } from '../fixtures/custom-kind/connector.js';
import { weatherKind } from '../fixtures/custom-kind/kind.js';
import { lambdaContext, proxyEvent } from '../support/integration-helpers.js';

/** An obviously fake token. */
const TOKEN = 'tok-example';

/** A `weather` entry as a user writes it. */
function weatherEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'weather',
    kind: 'weather',
    baseUrl: 'https://api.weather.example',
    auth: { type: 'bearer', secret: 'weather' },
    ...overrides,
  };
}

/** A minimal valid http entry. */
const httpEntry = {
  name: 'billing-api',
  kind: 'http',
  baseUrl: 'https://api.example.com',
  auth: { type: 'bearer', secret: 'billing-api' },
  allowedPathPrefixes: ['/v1'],
};

/** The issues of a configuration that must be rejected. */
function issuesOf(act: () => unknown): readonly string[] {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('config schema with kinds of your own', () => {
  it('accepts an entry of a registered kind, with the common defaults and its settings defaults', () => {
    // Act
    const config = parseSuiteConfig({ connectors: [httpEntry, weatherEntry()] }, 'suite.json', {
      kinds: [weatherKind],
    });

    // Assess
    const weather = config.connectors[1];
    expect(weather).toMatchObject({
      name: 'weather',
      kind: 'weather',
      baseUrl: 'https://api.weather.example',
      auth: { type: 'bearer', secret: 'weather' },
      settings: { units: 'metric' },
      timeoutMs: 5_000,
      forwardIdempotencyKey: false,
      retry: { maxAttempts: 3 },
      async: { maxReceiveCount: 5 },
    });
    expect(weather && secretNameOf(weather)).toBe('weather');
    expect(weather && clientAuthOf(weather)).toEqual({ type: 'bearer', secret: 'weather' });
  });

  it("validates settings with the kind's schema, naming the field", () => {
    // Act
    const issues = issuesOf(() =>
      parseSuiteConfig(
        { connectors: [weatherEntry({ settings: { units: 'kelvin', extra: 1 } })] },
        'suite.json',
        { kinds: [weatherKind] },
      ),
    );

    // Assess
    expect(issues).toEqual([
      expect.stringMatching(/^connectors\[0\]\.settings\.units: .*"metric"\|"imperial"/),
      expect.stringMatching(/^connectors\[0\]\.settings: Unrecognized key: "extra"/),
    ]);
  });

  it('holds a custom kind to the common rules: https, auth, no request rules of http', () => {
    // Act
    const issues = issuesOf(() =>
      parseSuiteConfig(
        {
          connectors: [
            weatherEntry({
              baseUrl: 'http://api.weather.example',
              auth: { type: 'bearer' },
              allowedPathPrefixes: ['/v1'],
              timeoutMs: 0,
            }),
          ],
        },
        'suite.json',
        { kinds: [weatherKind] },
      ),
    );

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        'connectors[0].baseUrl: must use https',
        expect.stringMatching(/^connectors\[0\]\.auth\.secret: /),
        expect.stringMatching(/^connectors\[0\]\.timeoutMs: /),
        expect.stringMatching(/^connectors\[0\]: Unrecognized key: "allowedPathPrefixes"/),
      ]),
    );
  });

  it('refuses settings on a kind that declares none', () => {
    // Prepare
    const bare = { kind: 'bare' };

    // Act
    const config = parseConnectorConfig(weatherEntry({ kind: 'bare' }), 'test', { kinds: [bare] });
    const issues = issuesOf(() =>
      parseConnectorConfig(weatherEntry({ kind: 'bare', settings: { units: 'metric' } }), 'test', {
        kinds: [bare],
      }),
    );

    // Assess
    expect(config).toMatchObject({ kind: 'bare', settings: {} });
    expect(issues).toEqual(['settings: Unrecognized key: "units"']);
  });

  it('refuses an unknown kind, naming the field and the kinds known', () => {
    // Act
    const unregistered = issuesOf(() => parseSuiteConfig({ connectors: [weatherEntry()] }, 'suite.json'));
    const unknown = issuesOf(() =>
      parseSuiteConfig({ connectors: [weatherEntry({ kind: 'grpc' })] }, 'suite.json', {
        kinds: [weatherKind],
      }),
    );

    // Assess
    expect(unregistered).toEqual([
      "connectors[0].kind: 'weather' is not a registered connector kind; the kinds known are http, stripe, slack, github, twilio, openapi (register a kind of your own with kinds: [connectorKind(...)])",
    ]);
    expect(unknown).toEqual([
      expect.stringMatching(
        /^connectors\[0\]\.kind: 'grpc' is not a registered connector kind; the kinds known are http, stripe, slack, github, twilio, openapi, weather /,
      ),
    ]);
  });

  it('keeps the schemas and messages of the built-in kinds whatever is registered', () => {
    // Prepare
    const bad = {
      connectors: [{ ...httpEntry, baseUrl: 'http://api.example.com', allowedPathPrefixes: [] }],
    };
    const good = { connectors: [httpEntry, { name: 'payments', kind: 'stripe', secret: 'stripe' }] };

    // Act
    const without = issuesOf(() => parseSuiteConfig(bad, 'suite.json'));
    const withKinds = issuesOf(() => parseSuiteConfig(bad, 'suite.json', { kinds: [weatherKind] }));

    // Assess
    expect(withKinds).toEqual(without);
    expect(without).toEqual([
      'connectors[0].baseUrl: must use https',
      expect.stringMatching(/^connectors\[0\]\.allowedPathPrefixes: /),
    ]);
    expect(parseSuiteConfig(good, 'suite.json', { kinds: [weatherKind] })).toEqual(
      parseSuiteConfig(good, 'suite.json'),
    );
  });

  it('refuses two different kinds of one name, and names that are not kind names', () => {
    // Act
    const twice = issuesOf(() =>
      parseSuiteConfig({ connectors: [weatherEntry()] }, 'suite.json', {
        kinds: [weatherKind, { kind: 'weather' }],
      }),
    );
    const badName = issuesOf(() =>
      parseSuiteConfig({ connectors: [httpEntry] }, 'suite.json', { kinds: [{ kind: 'Weather API' }] }),
    );

    // Assess
    expect(twice).toEqual(["kinds[1].kind: two different kinds are registered as 'weather'"]);
    expect(badName).toEqual([expect.stringMatching(/^kinds\[0\]\.kind: must start with a lowercase letter/)]);
  });
});

describe('kind registry', () => {
  it('registers each built-in kind once, with an entry file that exists', () => {
    // Act
    const registry = registeredKinds();

    // Assess
    expect([...registry.keys()]).toEqual(['http', 'stripe', 'slack', 'github', 'twilio', 'openapi']);
    for (const kind of registry.values()) expect(existsSync(kind.entry)).toBe(true);
    expect(HANDLER_ENTRIES).toEqual({
      http: 'functions/http/handler.ts',
      stripe: 'functions/stripe/handler.ts',
      slack: 'functions/slack/handler.ts',
      github: 'functions/github/handler.ts',
      twilio: 'functions/twilio/handler.ts',
      openapi: 'functions/openapi/handler.ts',
    });
    expect(handlerEntry('stripe')).toBe(path.join(PROJECT_ROOT, 'functions/stripe/handler.ts'));
    expect(handlerEntry(BUILTIN_KINDS.http)).toBe(path.join(PROJECT_ROOT, 'functions/http/handler.ts'));
  });

  it('adds the kinds of your own and looks entries up by kind', async () => {
    // Act
    const registry = registeredKinds([weatherKind]);
    const [config] = parseSuiteConfig({ connectors: [weatherEntry()] }, 'suite.json', {
      kinds: [weatherKind],
    }).connectors;

    // Assess
    expect(config && kindOf(registry, config)).toBe(weatherKind);
    expect(handlerEntry(weatherKind)).toBe(path.join(PROJECT_ROOT, 'test/fixtures/custom-kind/handler.ts'));
    expect(await weatherKind.load()).toBe(weatherConnector);
    expect((await BUILTIN_KINDS.http.load()).kind).toBe('http');
  });

  it("refuses a kind of your own under a built-in kind's name, and an unregistered kind", () => {
    // Prepare
    const impostor = connectorKind({
      connector: { ...weatherConnector, kind: 'http' } as unknown as typeof weatherConnector,
      entry: weatherKind.entry,
    });

    // Act
    const builtinName = issuesOf(() => registeredKinds([impostor]));
    const unregistered = issuesOf(() =>
      kindOf(registeredKinds(), { name: 'w', kind: 'weather' } as unknown as Parameters<typeof kindOf>[1]),
    );

    // Assess
    expect(builtinName).toEqual(["kinds[0].kind: 'http' is a built-in kind; give your kind another name"]);
    expect(unregistered).toEqual([
      "kind: 'weather' is not a registered connector kind; the kinds known are http, stripe, slack, github, twilio, openapi",
    ]);
  });

  it('the gateway refuses a connector whose kind it was not handed, before starting anything', async () => {
    // Prepare
    const config = parseSuiteConfig(
      { connectors: [weatherEntry({ baseUrl: 'http://127.0.0.1:9' })] },
      'test',
      {
        allowLoopbackHttp: true,
        kinds: [weatherKind],
      },
    );

    // Act
    const start = startGateway({ config, credentials: new LocalFileCredentialStore('unused.json'), port: 0 });

    // Assess
    await expect(start).rejects.toThrow(ConfigValidationError);
    await expect(start).rejects.toThrow(
      "kind: 'weather' is not a registered connector kind; the kinds known are http, stripe, slack, github, twilio, openapi",
    );
  });

  it('refuses a relative entry file', () => {
    // Act
    const issues = issuesOf(() => connectorKind({ connector: weatherConnector, entry: './handler.ts' }));

    // Assess
    expect(issues).toEqual(['entry: must be the absolute path of the Lambda entry file (use fileURLToPath)']);
  });
});

describe('defineConnector with settings', () => {
  const secretsDir = mkdtempSync(path.join(os.tmpdir(), 'connector-kinds-'));
  const secretsFile = path.join(secretsDir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ weather: { token: TOKEN } }));

  afterAll(() => {
    rmSync(secretsDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  });

  /** A fetch that answers httpbin-like echoes and keeps the requests. */
  function echoFetch() {
    const requests: Request[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      requests.push(request);
      const url = new URL(request.url);
      return Response.json({ args: Object.fromEntries(url.searchParams), headers: {} });
    };
    return { fetch: fetch as typeof globalThis.fetch, requests };
  }

  it('types config.settings from the schema', () => {
    // Act
    const defined = defineConnector({
      kind: 'typed',
      settings: z.strictObject({ region: z.enum(['eu', 'us']).default('eu') }),
      operations: (config) => {
        expectTypeOf(config.settings.region).toEqualTypeOf<'eu' | 'us'>();
        expectTypeOf(config.kind).toEqualTypeOf<'typed'>();
        return {
          region: defineOperation({
            description: 'The region.',
            input: z.strictObject({}),
            run: async () => config.settings.region,
          }),
        };
      },
    });

    const bare = defineConnector({
      kind: 'bare',
      operations: (config) => {
        expectTypeOf(config.settings).toEqualTypeOf<Record<string, never>>();
        return {};
      },
    });

    // Assess
    expect(bare.settings).toBeUndefined();
    expectTypeOf(defined.operations)
      .parameter(0)
      .toEqualTypeOf<CustomConnectorConfig<{ region: 'eu' | 'us' }, 'typed'>>();
    expect(defined.settings?.parse({})).toEqual({ region: 'eu' });
  });

  it('compiles the example of the kit as a user writes it (no description)', () => {
    // Act
    const example = defineConnector({
      kind: 'weather',
      settings: z.strictObject({ units: z.enum(['metric', 'imperial']).default('metric') }),
      operations: (config) => ({
        forecast: defineOperation({
          input: z.strictObject({ city: z.string().min(1) }),
          run: async (input, ctx) =>
            (
              await ctx.send({
                method: 'GET',
                path: '/forecast',
                query: { city: input.city, units: config.settings.units },
              })
            ).body,
        }),
      }),
    });
    const config = parseConnectorConfig(weatherEntry(), 'test', { kinds: [example] });

    // Assess
    expect(Object.keys(example.operations(config as Parameters<typeof example.operations>[0]))).toEqual([
      'forecast',
    ]);
  });

  it("sends with the connector's auth scheme and sees its settings", async () => {
    // Prepare
    const config = parseConnectorConfig(weatherEntry({ settings: { units: 'imperial' } }), 'test', {
      kinds: [weatherKind],
    });
    const redactor = new Redactor();
    const { fetch, requests } = echoFetch();
    const handler = weatherConnector.createHandler({
      config,
      credentials: new LocalFileCredentialStore(secretsFile, redactor),
      powertools: createPowertools({ serviceName: 'test', redactor }),
      redactor,
      fetch,
    });

    // Act
    const result = (await handler(
      proxyEvent({ connector: 'weather', operation: 'forecast', body: { city: 'Lyon' } }),
      lambdaContext(),
    )) as APIGatewayProxyResult;

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).data.args).toEqual({ city: 'Lyon', units: 'imperial' });
    expect(requests[0]?.url).toBe('https://api.weather.example/anything/forecast?city=Lyon&units=imperial');
    expect(requests[0]?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
  });

  it("reads CONNECTOR_CONFIG with its own kind's schema", async () => {
    // Prepare
    const env = {
      [ENV.connectorConfig]: JSON.stringify(weatherEntry({ settings: { units: 'kelvin' } })),
      [ENV.idempotencyTable]: 'idempotency',
    };
    vi.stubEnv(ENV.connectorConfig, env[ENV.connectorConfig]);
    vi.stubEnv(ENV.idempotencyTable, 'idempotency');

    // Act
    const good = readConnectorEnvironment(
      { ...env, [ENV.connectorConfig]: JSON.stringify(weatherEntry()) },
      { kinds: [weatherConnector] },
    );
    const handler = weatherConnector.lambdaHandler();
    const result = (await handler(
      proxyEvent({ connector: 'weather', operation: 'forecast', body: { city: 'Lyon' } }),
      lambdaContext(),
    )) as APIGatewayProxyResult;

    // Assess
    expect(good.config).toMatchObject({ kind: 'weather', settings: { units: 'metric' } });
    expect(good.secretIds).toEqual({ weather: 'weather' });
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body).error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect(JSON.parse(result.body).error.message).toContain('settings.units');
  });
});
