import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ConfigSchemaOptions,
  ConfigValidationError,
  DEFAULT_ALLOWED_REQUEST_HEADERS,
  parseSuiteConfig,
} from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';

/** A minimal valid http connector entry. */
function connector(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'vendor',
    kind: 'http',
    baseUrl: 'https://api.example.com',
    allowedPathPrefixes: ['/v1'],
    ...overrides,
  };
}

/** The issues of a configuration that must be rejected. */
function issuesOf(value: unknown, options: ConfigSchemaOptions = {}): readonly string[] {
  try {
    parseSuiteConfig(value, 'suite.json', options);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseSuiteConfig', () => {
  it('applies the defaults of docs/design.md §6', () => {
    // Prepare
    const input = { connectors: [connector()] };

    // Act
    const config = parseSuiteConfig(input, 'suite.json');

    // Assess
    expect(config.connectors).toEqual([
      {
        name: 'vendor',
        kind: 'http',
        baseUrl: 'https://api.example.com',
        allowedPathPrefixes: ['/v1'],
        allowedMethods: ['GET'],
        allowedRequestHeaders: [...DEFAULT_ALLOWED_REQUEST_HEADERS],
        auth: { type: 'none' },
        timeoutMs: 5_000,
        functionTimeoutSeconds: 29,
        memorySizeMb: 512,
        deadlineMarginMs: 500,
        retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterSeconds: 20 },
        circuitBreaker: {
          failureRateThreshold: 0.5,
          minimumCalls: 10,
          windowSeconds: 60,
          openSeconds: 30,
          scope: 'instance',
          refreshMs: 1_000,
        },
        rateLimit: { requestsPerSecond: 50, burst: 100 },
        cacheTtlSeconds: 0,
        cacheMaxBytes: 16 * 1024 * 1024,
        forwardIdempotencyKey: false,
        idempotencyTtlSeconds: 3_600,
        async: {
          maxReceiveCount: 5,
          backoffBaseSeconds: 2,
          backoffMaxSeconds: 900,
          batchSize: 10,
          maxBatchingWindowSeconds: 0,
          maxConcurrency: 5,
          resultEvents: true,
        },
      },
    ]);
    expect(config.eventBus).toBe('suite');
    expect(config.api).toEqual({ authorization: 'iam', throttlingRateLimit: 100, throttlingBurstLimit: 200 });
    expect(config.secrets).toEqual({});
  });

  it('refuses an empty suite, and names that would share a resource id', () => {
    // Prepare
    const clashing = {
      connectors: [
        connector({ name: 'a1b', auth: { type: 'bearer', secret: 'my-secret' } }),
        connector({ name: 'a-1b', auth: { type: 'bearer', secret: 'my.secret' } }),
      ],
    };

    // Act
    const empty = () => parseSuiteConfig({ connectors: [] }, 'suite.json');
    const clash = () => parseSuiteConfig(clashing, 'suite.json');

    // Assess
    expect(empty).toThrow(/connectors: must list at least one connector/);
    expect(clash).toThrow(/connectors\[1\]\.name: 'a-1b' and 'a1b' would share the resource id A1b/);
    expect(clash).toThrow(
      /connectors\[1\]\.auth\.secret: 'my\.secret' and 'my-secret' would share the resource id MySecret/,
    );
  });

  it('accepts secrets to import by ARN or name, and refuses one no connector uses', () => {
    // Prepare
    const bearer = (name: string, secret: string) => connector({ name, auth: { type: 'bearer', secret } });
    const input = {
      connectors: [bearer('one', 'one-secret'), bearer('two', 'two-secret')],
      secrets: {
        'one-secret': { arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:one-secret-AbCdEf' },
        'two-secret': { name: 'prod/two-secret' },
        unused: { name: 'prod/unused' },
      },
    };

    // Act
    const act = () => parseSuiteConfig(input, 'suite.json');

    // Assess
    expect(act).toThrow(ConfigValidationError);
    expect(act).toThrow(/secrets\.unused: no connector uses this secret/);
    const { unused: _unused, ...used } = input.secrets;
    expect(parseSuiteConfig({ ...input, secrets: used }, 'suite.json').secrets).toEqual(used);
  });

  it('fills the defaults of a partly given block', () => {
    // Prepare
    const input = {
      connectors: [connector({ retry: { maxAttempts: 5 }, circuitBreaker: { openSeconds: 0.5 } })],
    };

    // Act
    const [parsed] = parseSuiteConfig(input, 'suite.json').connectors;

    // Assess
    expect(parsed?.retry).toEqual({
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      maxRetryAfterSeconds: 20,
    });
    expect(parsed?.circuitBreaker).toEqual({
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      windowSeconds: 60,
      openSeconds: 0.5,
      scope: 'instance',
      refreshMs: 1_000,
    });
  });

  it('defaults OAuth2 client authentication to basic', () => {
    // Prepare
    const input = {
      connectors: [
        connector({
          auth: {
            type: 'oauth2ClientCredentials',
            tokenUrl: 'https://auth.example.com/token',
            secret: 'vendor',
          },
        }),
      ],
    };

    // Act
    const [parsed] = parseSuiteConfig(input, 'suite.json').connectors;

    // Assess
    expect(parsed?.kind === 'http' && parsed.auth).toEqual({
      type: 'oauth2ClientCredentials',
      tokenUrl: 'https://auth.example.com/token',
      clientAuthentication: 'basic',
      secret: 'vendor',
    });
  });

  it('accepts the example of docs/design.md §6', () => {
    // Prepare
    const input = {
      connectors: [
        {
          name: 'httpbin',
          kind: 'http',
          baseUrl: 'https://httpbin.org',
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['GET', 'POST'],
          allowedPathPrefixes: ['/anything', '/status'],
          timeoutMs: 5000,
          retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2000 },
          circuitBreaker: {
            failureRateThreshold: 0.5,
            minimumCalls: 10,
            windowSeconds: 60,
            openSeconds: 30,
            scope: 'instance',
            refreshMs: 1_000,
          },
          rateLimit: { requestsPerSecond: 50, burst: 100 },
          cacheTtlSeconds: 0,
          forwardIdempotencyKey: true,
          async: { maxReceiveCount: 5, backoffBaseSeconds: 2, backoffMaxSeconds: 900 },
        },
      ],
    };

    // Act
    const config = parseSuiteConfig(input, 'suite.json');

    // Assess
    expect(config.connectors[0]).toMatchObject({
      name: 'httpbin',
      auth: { type: 'bearer', secret: 'httpbin' },
      forwardIdempotencyKey: true,
      async: { maxReceiveCount: 5, backoffBaseSeconds: 2, backoffMaxSeconds: 900 },
    });
  });

  it('rejects an unknown key, naming its path', () => {
    // Prepare
    const input = { connectors: [connector({ retry: { maxAttempt: 3 } })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^connectors\[0\]\.retry: .*maxAttempt/);
  });

  it('rejects an unknown key at the top of a connector and of the suite', () => {
    // Prepare
    const input = { connectors: [connector({ timeout: 5 })], version: 2 };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^connectors\[0\]: .*timeout/),
        expect.stringMatching(/^\(root\): .*version/),
      ]),
    );
  });

  it('rejects an unknown kind, naming connectors[0].kind', () => {
    // Prepare
    const input = { connectors: [connector({ kind: 'grpc' })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.kind: /)]);
  });

  it('names the file and every bad field in the error message', () => {
    // Prepare
    const input = { connectors: [connector({ baseUrl: 'http://api.example.com', timeoutMs: 0 })] };

    // Act
    const error = (() => {
      try {
        parseSuiteConfig(input, '/etc/suite.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain('/etc/suite.json');
    expect((error as Error).message).toContain('connectors[0].baseUrl');
    expect((error as Error).message).toContain('connectors[0].timeoutMs');
  });

  it('rejects an http baseUrl, naming connectors[0].baseUrl', () => {
    // Prepare
    const input = { connectors: [connector({ baseUrl: 'http://api.example.com' })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual(['connectors[0].baseUrl: must use https']);
  });

  it('rejects http on a loopback host unless allowLoopbackHttp is set', () => {
    // Prepare
    const input = { connectors: [connector({ baseUrl: 'http://127.0.0.1:8080' })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual(['connectors[0].baseUrl: must use https']);
  });

  it.each(['http://127.0.0.1:8080', 'http://127.1.2.3', 'http://localhost:3000', 'http://[::1]:8080'])(
    'accepts loopback %s with allowLoopbackHttp',
    (baseUrl) => {
      // Prepare
      const input = { connectors: [connector({ baseUrl })] };

      // Act
      const config = parseSuiteConfig(input, 'suite.json', { allowLoopbackHttp: true });

      // Assess
      expect(config.connectors[0]?.baseUrl).toBe(baseUrl);
    },
  );

  it.each([
    'http://api.example.com',
    'http://localhost.example.com',
    'http://127.0.0.1.example.com',
    'http://10.0.0.1',
  ])('rejects non-loopback %s even with allowLoopbackHttp', (baseUrl) => {
    // Prepare
    const input = { connectors: [connector({ baseUrl })] };

    // Act
    const issues = issuesOf(input, { allowLoopbackHttp: true });

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.baseUrl: must use https/)]);
  });

  it('rejects an http OAuth2 token URL, naming its path', () => {
    // Prepare
    const input = {
      connectors: [
        connector({
          auth: {
            type: 'oauth2ClientCredentials',
            tokenUrl: 'http://auth.example.com/token',
            secret: 'vendor',
          },
        }),
      ],
    };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual(['connectors[0].auth.tokenUrl: must use https']);
  });

  it('rejects credentials embedded in the baseUrl', () => {
    // Prepare
    const input = { connectors: [connector({ baseUrl: 'https://fake-user:fake-password@api.example.com' })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.baseUrl: must not embed credentials/)]);
  });

  it('rejects a duplicate connector name, naming connectors[1].name', () => {
    // Prepare
    const input = { connectors: [connector({ name: 'stripe' }), connector({ name: 'stripe' })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[1\]\.name: .*stripe/)]);
  });

  it('rejects maxDelayMs below baseDelayMs', () => {
    // Prepare
    const input = { connectors: [connector({ retry: { baseDelayMs: 500, maxDelayMs: 100 } })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.retry\.maxDelayMs: /)]);
  });

  it.each(['/v1/../admin', 'v1', '/v1?x=1'])('rejects the path prefix %s', (prefix) => {
    // Prepare
    const input = { connectors: [connector({ allowedPathPrefixes: [prefix] })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.allowedPathPrefixes\[0\]: /)]);
  });
  it.each([
    'Authorization',
    'cookie',
    'Host',
    'Proxy-Authorization',
    'Transfer-Encoding',
    'Idempotency-Key',
    'X-HTTP-Method-Override',
    'X-Method-Override',
    'X-Original-URL',
    'X-Rewrite-URL',
    'X-Forwarded-For',
    'x-forwarded-prefix',
    'Forwarded',
    'X-Real-IP',
  ])('refuses %s in allowedRequestHeaders, naming the field', (name) => {
    // Prepare
    const input = { connectors: [connector({ allowedRequestHeaders: ['accept', name] })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([
      expect.stringMatching(/^connectors\[0\]\.allowedRequestHeaders\[1\]: may never/),
    ]);
  });

  it('refuses the apiKey header in allowedRequestHeaders, naming the field', () => {
    // Prepare
    const auth = { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'vendor' };
    const input = { connectors: [connector({ auth, allowedRequestHeaders: ['x-api-key'] })] };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^connectors\[0\]\.allowedRequestHeaders\[0\]: .*apiKey/)]);
  });

  it('accepts a custom allowedRequestHeaders list', () => {
    // Prepare
    const input = { connectors: [connector({ allowedRequestHeaders: ['X-Trace', 'accept'] })] };

    // Act
    const config = parseSuiteConfig(input, 'suite.json');

    // Assess
    expect(config.connectors[0]).toMatchObject({ allowedRequestHeaders: ['X-Trace', 'accept'] });
  });
});

describe('the default suite.config.ts', () => {
  it('parses without HTTPBIN_URL, pointing at https://httpbin.org', async () => {
    // Prepare
    vi.stubEnv('HTTPBIN_URL', undefined);
    vi.resetModules();
    const { default: suite } = await import('../../suite.config.js');

    // Act
    const config = parseSuiteConfig(suite, 'suite.config.ts');

    // Assess
    expect(config.connectors.map((c) => [c.name, c.baseUrl])).toEqual([
      ['httpbin', 'https://httpbin.org'],
      ['stripe', 'https://api.stripe.com'],
      ['slack', 'https://slack.com/api'],
      ['github', 'https://api.github.com'],
      ['twilio', 'https://api.twilio.com'],
    ]);
  });

  it('points each vendor connector at the base URL its environment variable names', async () => {
    // Prepare
    vi.stubEnv('HTTPBIN_URL', undefined);
    vi.stubEnv('STRIPE_BASE_URL', 'https://stripe-mock.example');
    vi.stubEnv('GITHUB_BASE_URL', 'https://ghe.example.com/api/v3');
    vi.resetModules();
    const { default: suite } = await import('../../suite.config.js');

    // Act
    const config = parseSuiteConfig(suite, 'suite.config.ts');

    // Assess
    const baseUrl = (name: string) => config.connectors.find((c) => c.name === name)?.baseUrl;
    expect(baseUrl('stripe')).toBe('https://stripe-mock.example');
    expect(baseUrl('github')).toBe('https://ghe.example.com/api/v3');
    expect(baseUrl('slack')).toBe('https://slack.com/api');
  });

  it('parses with a loopback HTTPBIN_URL in local mode, and only there', async () => {
    // Prepare
    vi.stubEnv('HTTPBIN_URL', 'http://127.0.0.1:8080');
    vi.resetModules();
    const { default: suite } = await import('../../suite.config.js');

    // Act
    const local = parseSuiteConfig(suite, 'suite.config.ts', { allowLoopbackHttp: true });
    const deployed = () => parseSuiteConfig(suite, 'suite.config.ts');

    // Assess
    expect(local.connectors[0]?.baseUrl).toBe('http://127.0.0.1:8080');
    expect(deployed).toThrow(ConfigValidationError);
  });
});

describe('loadSuiteConfig', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'connector-suite-config-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads and validates a JSON file', async () => {
    // Prepare
    const file = path.join(dir, 'suite.json');
    await writeFile(file, JSON.stringify({ connectors: [connector({ name: 'from-json' })] }), 'utf8');

    // Act
    const config = await loadSuiteConfig(file);

    // Assess
    expect(config.connectors).toHaveLength(1);
    expect(config.connectors[0]).toMatchObject({ name: 'from-json', timeoutMs: 5_000 });
  });

  it('reads the file named by SUITE_CONFIG when none is given', async () => {
    // Prepare
    const file = path.join(dir, 'other.json');
    await writeFile(file, JSON.stringify({ connectors: [connector({ name: 'from-env' })] }), 'utf8');
    vi.stubEnv('SUITE_CONFIG', file);

    // Act
    const config = await loadSuiteConfig();

    // Assess
    expect(config.connectors[0]?.name).toBe('from-env');
  });

  it('passes allowLoopbackHttp on', async () => {
    // Prepare
    const file = path.join(dir, 'suite.json');
    const input = { connectors: [connector({ baseUrl: 'http://localhost:8080' })] };
    await writeFile(file, JSON.stringify(input), 'utf8');

    // Act
    const config = await loadSuiteConfig(file, { allowLoopbackHttp: true });
    const deployed = loadSuiteConfig(file);

    // Assess
    expect(config.connectors[0]?.baseUrl).toBe('http://localhost:8080');
    await expect(deployed).rejects.toBeInstanceOf(ConfigValidationError);
  });

  it('reports a missing file, naming it', async () => {
    // Prepare
    const file = path.join(dir, 'absent.json');

    // Act
    const error = await loadSuiteConfig(file).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain(file);
    expect((error as ConfigValidationError).issues).toEqual(['cannot be read: file not found']);
  });

  it('reports invalid JSON, naming the file', async () => {
    // Prepare
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{"connectors": [', 'utf8');

    // Act
    const error = await loadSuiteConfig(file).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain(file);
  });

  it('reports an invalid configuration with the file and the field', async () => {
    // Prepare
    const file = path.join(dir, 'suite.json');
    await writeFile(file, JSON.stringify({ connectors: [connector({ kind: 'grpc' })] }), 'utf8');

    // Act
    const error = await loadSuiteConfig(file).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain('connectors[0].kind');
  });
});
