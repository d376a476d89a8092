/**
 * What a caller may send through the `http` connector, and what the connector's logs and answers
 * keep of its credentials, through the real handler (issue 8, defects 10 and 14).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { type ConnectorConfig, parseConnectorConfig } from '../../functions/shared/config.js';
import { LocalFileCredentialStore } from '../../functions/shared/credentials/local-file.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  apiGatewayEvent,
  captureOutput,
  type EventOptions,
  lambdaContext,
  scriptedFetch,
  type UpstreamStep,
} from '../support/fakes.js';

const TOKEN = 'tok-example-5c2a91e7';
const API_KEY = 'fake-api-key-0b7d44';
/** A password with the characters encoders treat differently: space, +, &, /, ", non-ASCII. */
const PASSWORD = 'fake pass+word&/"é-9f';
/** A user name that is also a word of the paths called: no secret, so never redacted. */
const USERNAME = 'user';

let secretsDir: string;
let secretsFile: string;

beforeAll(() => {
  secretsDir = mkdtempSync(path.join(tmpdir(), 'connector-suite-request-rules-'));
  secretsFile = path.join(secretsDir, 'secrets.json');
  writeFileSync(
    secretsFile,
    JSON.stringify({
      bearer: { token: TOKEN },
      query: { apiKey: API_KEY },
      basic: { username: USERNAME, password: PASSWORD },
    }),
  );
});

afterAll(() => {
  rmSync(secretsDir, { recursive: true, force: true });
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});

function httpConfig(overrides: Record<string, unknown> = {}): ConnectorConfig {
  return parseConnectorConfig(
    {
      kind: 'http',
      name: 'httpbin',
      baseUrl: 'https://httpbin.example.com',
      auth: { type: 'bearer', secret: 'bearer' },
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: ['/anything'],
      retry: { maxAttempts: 1 },
      ...overrides,
    },
    'test',
  );
}

function httpHandler(steps: UpstreamStep[], config: ConnectorConfig = httpConfig()) {
  const output = captureOutput();
  const redactor = new Redactor();
  const { fetch, requests } = scriptedFetch(...steps);
  const handler = httpConnector.createHandler({
    config,
    credentials: new LocalFileCredentialStore(secretsFile, redactor),
    powertools: createPowertools({ serviceName: 'test', redactor }),
    redactor,
    fetch,
    random: () => 0,
  });
  const invoke = (options: EventOptions = {}) => handler(apiGatewayEvent(options), lambdaContext());
  return { invoke, fetch, requests, output };
}

interface ErrorBody {
  code: string;
  message: string;
  details?: Array<{ path: string; message: string }> | Record<string, unknown>;
}

function errorOf(result: APIGatewayProxyResult): ErrorBody {
  return (JSON.parse(result.body) as { error: ErrorBody }).error;
}

describe('http connector: paths that escape on common servers', () => {
  it.each([
    ['..%3b (Tomcat reads ..;)', '/anything/..%3b/admin'],
    ['fullwidth dots %EF%BC%8E', '/anything/%EF%BC%8E%EF%BC%8E/admin'],
    ['IIS %u002e', '/anything/%u002e%u002e/admin'],
    ['an overlong UTF-8 dot', '/anything/%C0%AE%C0%AE/admin'],
    ['a two dot leader', '/anything/%E2%80%A5/admin'],
    ['.. and an encoded space', '/anything/..%20/admin'],
  ])('%s answers 400 VALIDATION_ERROR on path and never leaves', async (_label, requestPath) => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: { method: 'GET', path: requestPath } });

    // Assess
    expect(result.statusCode).toBe(400);
    const error = errorOf(result);
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details).toEqual([expect.objectContaining({ path: 'path' })]);
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('http connector: caller headers', () => {
  it.each([
    'X-HTTP-Method-Override',
    'X-Original-URL',
    'X-Rewrite-URL',
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'Forwarded',
    'X-Custom-Routing',
  ])('%s answers 400 VALIDATION_ERROR naming the header, and never leaves', async (name) => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({
      body: { method: 'GET', path: '/anything', headers: { [name]: '/admin' } },
    });

    // Assess
    expect(result.statusCode).toBe(400);
    const error = errorOf(result);
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details).toEqual([
      expect.objectContaining({ path: `headers.${name}`, message: expect.stringContaining(name) }),
    ]);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('sends the headers of the default allow-list', async () => {
    // Prepare
    const { invoke, requests } = httpHandler([{ status: 200, body: {} }]);

    // Act
    const result = await invoke({
      body: {
        method: 'GET',
        path: '/anything',
        headers: { Accept: 'application/json', 'If-None-Match': '"v1"', 'X-Request-Id': 'req-1' },
      },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(requests[0]?.headers.get('if-none-match')).toBe('"v1"');
    expect(requests[0]?.headers.get('x-request-id')).toBe('req-1');
  });

  it('sends a header the connector adds to its allowedRequestHeaders', async () => {
    // Prepare
    const config = httpConfig({ allowedRequestHeaders: ['accept', 'X-Tenant'] });
    const { invoke, requests } = httpHandler([{ status: 200, body: {} }], config);

    // Act
    const result = await invoke({
      body: { method: 'GET', path: '/anything', headers: { 'x-tenant': 't-1' } },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(requests[0]?.headers.get('x-tenant')).toBe('t-1');
  });
});

describe('http connector: the apiKey query parameter', () => {
  const config = () =>
    httpConfig({ auth: { type: 'apiKey', in: 'query', name: 'api_key', secret: 'query' } });

  it.each(['API_KEY', 'api_key[]', 'api_key ', 'Api_Key[0]'])(
    'a caller query key %j answers 400 VALIDATION_ERROR and never leaves',
    async (key) => {
      // Prepare
      const { invoke, fetch } = httpHandler([{ status: 200 }], config());

      // Act
      const result = await invoke({ body: { method: 'GET', path: '/anything', query: { [key]: 'forged' } } });

      // Assess
      expect(result.statusCode).toBe(400);
      expect(errorOf(result).details).toEqual([expect.objectContaining({ path: `query.${key}` })]);
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it('sends the credential once, beside the caller parameters', async () => {
    // Prepare
    const { invoke, requests } = httpHandler([{ status: 200, body: {} }], config());

    // Act
    const result = await invoke({ body: { method: 'GET', path: '/anything', query: { page: 2 } } });

    // Assess
    expect(result.statusCode).toBe(200);
    const sent = new URL(requests[0]?.url ?? '');
    expect([...sent.searchParams]).toEqual([
      ['page', '2'],
      ['api_key', API_KEY],
    ]);
  });
});

describe('http connector: redaction of what the upstream echoes', () => {
  it('an echo of the basic password in any encoding reaches neither the caller nor the logs; the user name stays', async () => {
    // Prepare: an upstream that echoes the password form-encoded, percent-encoded in lower case,
    // JSON-escaped as PHP does (\/ and \u0026) and the Basic credential, then fails
    const formEncoded = new URLSearchParams({ p: PASSWORD }).toString().slice(2);
    const lowerHex = encodeURIComponent(PASSWORD).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    const phpJson = JSON.stringify(PASSWORD)
      .slice(1, -1)
      .replaceAll('/', '\\/')
      .replaceAll('&', '\\u0026')
      .replaceAll('é', '\\u00e9');
    const basic = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
    const echoes = [formEncoded, lowerHex, phpJson, basic];
    const config = httpConfig({ auth: { type: 'basic', secret: 'basic' } });
    const { invoke, output } = httpHandler(
      [
        () =>
          new Response(
            `{"form":"${formEncoded}","query":"${lowerHex}","json":"${phpJson}","auth":"${basic}"}`,
            {
              status: 500,
              headers: { 'content-type': 'application/json' },
            },
          ),
      ],
      config,
    );

    // Act
    const result = await invoke({ body: { method: 'GET', path: '/anything/users/42' } });

    // Assess
    expect(result.statusCode).toBe(502);
    expect(result.body).toContain('upstreamBody');
    const logs = output.text();
    for (const echo of [PASSWORD, ...echoes]) {
      expect(result.body).not.toContain(echo);
      expect(logs).not.toContain(echo);
    }
    expect(logs).toContain('/anything/users/42');
    expect(logs).not.toContain('[REDACTED]s/42');
  });
});

describe('http connector: what the vendor answers', () => {
  it('an answer nested 10,000 levels deep answers 502 RESPONSE_VALIDATION_ERROR, not a 500', async () => {
    // Prepare: JSON.parse takes it; JSON.stringify would overflow the stack building the answer.
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const { invoke } = httpHandler([
      { status: 200, body: deep, headers: { 'content-type': 'application/json' } },
    ]);

    // Act
    const result = await invoke({ body: { method: 'GET', path: '/anything/deep' } });

    // Assess
    expect(result.statusCode).toBe(502);
    expect(errorOf(result).code).toBe('RESPONSE_VALIDATION_ERROR');
  });
});
