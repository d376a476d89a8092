import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { httpConnector } from '../../functions/http/connector.js';
import { type ConnectorConfig, parseConnectorConfig } from '../../functions/shared/config.js';
import { LocalFileCredentialStore } from '../../functions/shared/credentials/local-file.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  defineConnector,
  defineOperation,
  ENV,
  readConnectorEnvironment,
} from '../../functions/shared/runtime/index.js';
import {
  apiGatewayEvent,
  captureOutput,
  type EventOptions,
  lambdaContext,
  scriptedFetch,
  type UpstreamStep,
} from '../support/fakes.js';

const SECRET = 'tok-example-7d1e4b90';
let secretsDir: string;
let secretsFile: string;

beforeAll(() => {
  secretsDir = mkdtempSync(path.join(tmpdir(), 'connector-suite-handler-'));
  secretsFile = path.join(secretsDir, 'secrets.json');
  writeFileSync(
    secretsFile,
    JSON.stringify({ httpbin: { token: SECRET }, 'basic-no-password': { username: 'svc-example' } }),
  );
});

afterAll(() => {
  rmSync(secretsDir, { recursive: true, force: true });
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});

afterEach(() => {
  vi.useRealTimers();
});

/** A validated `http` connector config; `overrides` replace top-level fields. */
function httpConfig(overrides: Record<string, unknown> = {}): ConnectorConfig {
  return parseConnectorConfig(
    {
      kind: 'http',
      name: 'httpbin',
      baseUrl: 'https://httpbin.example.com',
      auth: { type: 'bearer', secret: 'httpbin' },
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: ['/anything', '/status'],
      retry: { maxAttempts: 1 },
      ...overrides,
    },
    'test',
  );
}

interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    source: string;
    retryable: boolean;
    requestId: string;
    upstreamStatus?: number;
    retryAfterSeconds?: number;
    details?: unknown;
  };
}

function errorOf(result: APIGatewayProxyResult): ErrorEnvelope['error'] {
  return (JSON.parse(result.body) as ErrorEnvelope).error;
}

/** The `http` connector's handler over a scripted upstream, secrets from a local file. */
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
  const invoke = (options: EventOptions = {}, remainingMs?: number) =>
    handler(apiGatewayEvent(options), lambdaContext(remainingMs));
  return { handler, invoke, fetch, requests, output };
}

const getItems = { method: 'GET', path: '/anything/items', query: { limit: 2 } };

describe('connector handler: success', () => {
  it('answers 200 with the data and the meta of the contract', async () => {
    // Prepare
    const { invoke, requests } = httpHandler([{ status: 200, body: { items: ['a', 'b'] } }]);

    // Act
    const result = await invoke({ body: getItems, requestId: 'req-abc' });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json', 'x-request-id': 'req-abc' });
    expect(JSON.parse(result.body)).toEqual({
      data: {
        status: 200,
        headers: expect.objectContaining({ 'content-type': 'application/json' }),
        body: { items: ['a', 'b'] },
      },
      meta: {
        connector: 'httpbin',
        operation: 'request',
        requestId: 'req-abc',
        attempts: 1,
        cached: false,
        idempotentReplay: false,
        upstreamStatus: 200,
        durationMs: expect.any(Number),
      },
    });
    expect(requests[0]?.url).toBe('https://httpbin.example.com/anything/items?limit=2');
    expect(requests[0]?.headers.get('authorization')).toBe(`Bearer ${SECRET}`);
  });

  it('counts every attempt in meta.attempts', async () => {
    // Prepare
    const { invoke } = httpHandler(
      [{ status: 503 }, { status: 200, body: { ok: true } }],
      httpConfig({ retry: { maxAttempts: 3 } }),
    );

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).meta).toMatchObject({ attempts: 2, upstreamStatus: 200 });
  });

  it('passes a 2xx status other than 200 (here 201) through in data.status', async () => {
    // Prepare
    const { invoke } = httpHandler([{ status: 201, body: { id: 'ord_1' } }]);

    // Act
    const result = await invoke({ body: { method: 'POST', path: '/anything/orders', body: { amount: 5 } } });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      data: { status: 201, body: { id: 'ord_1' } },
      meta: { upstreamStatus: 201 },
    });
  });

  it('reads a base64-encoded body, as API Gateway sends binary media types', async () => {
    // Prepare
    const { handler, requests } = httpHandler([{ status: 200, body: { ok: true } }]);
    const event = apiGatewayEvent({ body: getItems });
    event.body = Buffer.from(JSON.stringify(getItems)).toString('base64');
    event.isBase64Encoded = true;

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(requests).toHaveLength(1);
  });
});

describe('connector handler: client errors', () => {
  it('answers 404 NOT_FOUND for an unknown connector, without calling the upstream', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ connector: 'stripe', body: getItems });

    // Assess
    expect(result.statusCode).toBe(404);
    expect(errorOf(result)).toMatchObject({ code: 'NOT_FOUND', source: 'client', retryable: false });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('answers 404 NOT_FOUND for an unknown operation, listing the operations there are', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ operation: 'charge', body: getItems });

    // Assess
    expect(result.statusCode).toBe(404);
    expect(errorOf(result)).toMatchObject({ code: 'NOT_FOUND', details: { operations: ['request'] } });
    expect(fetch).not.toHaveBeenCalled();
  });

  it.each(['toString', 'constructor', '__proto__'])(
    'answers 404 for an operation named like an Object property (%s)',
    async (operation) => {
      // Prepare
      const { invoke } = httpHandler([{ status: 200 }]);

      // Act
      const result = await invoke({ operation, body: getItems });

      // Assess
      expect(result.statusCode).toBe(404);
      expect(errorOf(result).code).toBe('NOT_FOUND');
    },
  );

  it('answers 400 VALIDATION_ERROR, not 500, for a body that is not JSON', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: '{"method": "GET", "path": ' });

    // Assess
    expect(result.statusCode).toBe(400);
    expect(errorOf(result)).toMatchObject({ code: 'VALIDATION_ERROR', source: 'client' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('answers 400 VALIDATION_ERROR listing every field that fails the input schema', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: { method: 'DELETE', path: '/admin/users', query: { limit: {} } } });

    // Assess
    expect(result.statusCode).toBe(400);
    const error = errorOf(result);
    expect(error.code).toBe('VALIDATION_ERROR');
    const fields = (error.details as Array<{ path: string; message: string }>).map((d) => d.path);
    expect(fields).toEqual(expect.arrayContaining(['method', 'path', 'query.limit']));
    expect(error.message).toContain('method');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('answers 400 VALIDATION_ERROR for a missing body', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: null });

    // Assess
    expect(result.statusCode).toBe(400);
    expect(errorOf(result).code).toBe('VALIDATION_ERROR');
    expect(fetch).not.toHaveBeenCalled();
  });

  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['a space', 'order 42'],
    ['non-ASCII characters', 'заказ-42'],
  ])('answers 400 for an Idempotency-Key with %s', async (_label, key) => {
    // Prepare
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: getItems, headers: { 'Idempotency-Key': key } });

    // Assess
    expect(result.statusCode).toBe(400);
    expect(errorOf(result)).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [expect.objectContaining({ path: 'Idempotency-Key' })],
    });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('accepts a 255-character Idempotency-Key and forwards it upstream when configured to', async () => {
    // Prepare
    const key = 'k'.repeat(255);
    const { invoke, requests } = httpHandler([{ status: 201 }], httpConfig({ forwardIdempotencyKey: true }));

    // Act
    const result = await invoke({
      body: { method: 'POST', path: '/anything/orders', body: {} },
      headers: { 'idempotency-key': key },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(requests[0]?.headers.get('idempotency-key')).toBe(key);
  });
});

describe('connector handler: upstream and connector errors', () => {
  const lookupConnector = defineConnector<ConnectorConfig>({
    kind: 'http',
    operations: () => ({
      lookup: defineOperation({
        description: 'Looks an item up.',
        input: z.strictObject({ id: z.string().min(1) }),
        output: z.object({ id: z.string(), name: z.string() }),
        async run(input: { id: string }, context) {
          const response = await context.send({ method: 'GET', path: `/anything/items/${input.id}` });
          return response.body as { id: string; name: string };
        },
      }),
      explode: defineOperation({
        description: 'Fails like a bug.',
        input: z.object({}),
        async run(): Promise<never> {
          throw new Error('db password hunter2 rejected at line 42');
        },
      }),
    }),
  });

  function lookupHandler(steps: UpstreamStep[]) {
    const output = captureOutput();
    const redactor = new Redactor();
    const { fetch } = scriptedFetch(...steps);
    const handler = lookupConnector.createHandler({
      config: httpConfig(),
      credentials: new LocalFileCredentialStore(secretsFile, redactor),
      powertools: createPowertools({ serviceName: 'test', redactor }),
      redactor,
      fetch,
      random: () => 0,
    });
    return { handler, output, fetch };
  }

  it('answers 502 RESPONSE_VALIDATION_ERROR when the operation output does not match its schema', async () => {
    // Prepare
    const { handler } = lookupHandler([{ status: 200, body: { id: 42 } }]);

    // Act
    const result = await handler(
      apiGatewayEvent({ operation: 'lookup', body: { id: 'itm_1' } }),
      lambdaContext(),
    );

    // Assess
    expect(result.statusCode).toBe(502);
    const error = errorOf(result);
    expect(error).toMatchObject({
      code: 'RESPONSE_VALIDATION_ERROR',
      source: 'upstream',
      upstreamStatus: 200,
    });
    const fields = (error.details as Array<{ path: string }>).map((d) => d.path);
    expect(fields).toEqual(expect.arrayContaining(['id', 'name']));
  });

  it('answers 200 when the output matches its schema', async () => {
    // Prepare
    const { handler } = lookupHandler([{ status: 200, body: { id: 'itm_1', name: 'widget', extra: true } }]);

    // Act
    const result = await handler(
      apiGatewayEvent({ operation: 'lookup', body: { id: 'itm_1' } }),
      lambdaContext(),
    );

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).data).toEqual({ id: 'itm_1', name: 'widget' });
  });

  it('answers 500 INTERNAL_ERROR for a plain Error without leaking its message, and logs it with the request id', async () => {
    // Prepare
    const { handler, output } = lookupHandler([{ status: 200 }]);

    // Act
    const result = await handler(
      apiGatewayEvent({ operation: 'explode', body: {}, requestId: 'req-bug-1' }),
      lambdaContext(),
    );

    // Assess
    expect(result.statusCode).toBe(500);
    expect(errorOf(result)).toMatchObject({
      code: 'INTERNAL_ERROR',
      source: 'connector',
      requestId: 'req-bug-1',
    });
    expect(result.body).not.toContain('hunter2');
    expect(result.body).not.toContain('line 42');
    const logged = output.lines().find((line) => line.level === 'ERROR' && line.requestId === 'req-bug-1');
    expect(JSON.stringify(logged)).toContain('hunter2');
  });

  it('answers 503 CIRCUIT_BREAKER_OPEN with a retry-after header once the breaker is open', async () => {
    // Prepare
    vi.useFakeTimers();
    const { invoke, fetch } = httpHandler(
      [{ status: 500 }],
      httpConfig({
        circuitBreaker: { minimumCalls: 1, failureRateThreshold: 0.5, windowSeconds: 60, openSeconds: 30 },
      }),
    );
    const first = await invoke({ body: getItems });

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(first.statusCode).toBe(502);
    expect(result.statusCode).toBe(503);
    expect(errorOf(result)).toMatchObject({
      code: 'CIRCUIT_BREAKER_OPEN',
      retryable: true,
      retryAfterSeconds: 30,
    });
    expect(result.headers?.['retry-after']).toBe('30');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('answers 429 with the vendor’s Retry-After when the vendor keeps rate limiting', async () => {
    // Prepare
    const { invoke } = httpHandler([{ status: 429, headers: { 'retry-after': '12' } }]);

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(result.statusCode).toBe(429);
    expect(errorOf(result)).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      upstreamStatus: 429,
      retryAfterSeconds: 12,
    });
    expect(result.headers?.['retry-after']).toBe('12');
  });

  it('answers 504 API_TIMEOUT without calling the upstream when the Lambda has less time left than the margin', async () => {
    // Prepare: the default deadline margin is 500 ms
    const { invoke, fetch } = httpHandler([{ status: 200 }]);

    // Act
    const result = await invoke({ body: getItems }, 400);

    // Assess
    expect(result.statusCode).toBe(504);
    expect(errorOf(result).code).toBe('API_TIMEOUT');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('answers 500 CONFIGURATION_ERROR naming a secret that does not exist', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler(
      [{ status: 200 }],
      httpConfig({ auth: { type: 'bearer', secret: 'stripe-live' } }),
    );

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(result.statusCode).toBe(500);
    const error = errorOf(result);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', source: 'connector', retryable: false });
    expect(error.message).toContain('stripe-live');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('answers 500 CONFIGURATION_ERROR naming the secret and the field it lacks', async () => {
    // Prepare
    const { invoke, fetch } = httpHandler(
      [{ status: 200 }],
      httpConfig({ auth: { type: 'basic', secret: 'basic-no-password' } }),
    );

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(result.statusCode).toBe(500);
    const error = errorOf(result);
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('basic-no-password');
    expect(error.message).toContain('password');
    expect(result.body).not.toContain('svc-example');
    expect(fetch).not.toHaveBeenCalled();
  });

  it.each([
    { status: 400, code: 'UPSTREAM_REJECTED', httpStatus: 422 },
    { status: 401, code: 'AUTHENTICATION_ERROR', httpStatus: 502 },
    { status: 500, code: 'UPSTREAM_ERROR', httpStatus: 502 },
  ])('never puts the secret in an error body, even when the vendor echoes it ($status)', async (c) => {
    // Prepare: an httpbin-style echo of the request headers
    const { invoke, output } = httpHandler([
      (request) =>
        Response.json(
          { headers: { Authorization: request.headers.get('authorization') }, hint: `token=${SECRET}` },
          { status: c.status },
        ),
    ]);

    // Act
    const result = await invoke({ body: getItems });

    // Assess
    expect(result.statusCode).toBe(c.httpStatus);
    expect(errorOf(result).code).toBe(c.code);
    expect(result.body).not.toContain(SECRET);
    expect(output.text()).not.toContain(SECRET);
  });
});

describe('lambdaHandler', () => {
  it('answers every request 500 CONFIGURATION_ERROR naming CONNECTOR_CONFIG when it is not set, without throwing', async () => {
    // Prepare
    const output = captureOutput();
    vi.stubEnv('CONNECTOR_CONFIG', undefined);
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', 'connector-suite-idempotency');
    const handler = httpConnector.lambdaHandler();

    // Act
    const first = await handler(apiGatewayEvent({ body: getItems, requestId: 'req-1' }), lambdaContext());
    const second = await handler(apiGatewayEvent({ body: getItems, requestId: 'req-2' }), lambdaContext());

    // Assess
    for (const [result, requestId] of [
      [first, 'req-1'],
      [second, 'req-2'],
    ] as const) {
      expect(result.statusCode).toBe(500);
      expect(result.headers).toMatchObject({ 'x-request-id': requestId });
      const error = errorOf(result);
      expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', requestId });
      expect(error.message).toContain('CONNECTOR_CONFIG');
    }
    expect(output.text()).toContain('CONNECTOR_CONFIG');
  });

  it('names IDEMPOTENCY_TABLE_NAME when only that is missing', async () => {
    // Prepare
    captureOutput();
    vi.stubEnv('CONNECTOR_CONFIG', JSON.stringify(httpConfig()));
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', undefined);
    const handler = httpConnector.lambdaHandler();

    // Act
    const result = await handler(apiGatewayEvent({ body: getItems }), lambdaContext());

    // Assess
    expect(result.statusCode).toBe(500);
    expect(errorOf(result).message).toContain('IDEMPOTENCY_TABLE_NAME');
  });
});

describe('readConnectorEnvironment', () => {
  const validConfig = JSON.stringify({
    kind: 'http',
    name: 'httpbin',
    baseUrl: 'https://httpbin.example.com',
    auth: { type: 'bearer', secret: 'httpbin' },
    allowedPathPrefixes: ['/anything'],
  });
  const complete = {
    [ENV.connectorConfig]: validConfig,
    [ENV.idempotencyTable]: 'connector-suite-idempotency',
    [ENV.secretId]: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:httpbin-AbCdEf',
  };

  function configurationErrorOf(env: NodeJS.ProcessEnv): ConnectorError {
    try {
      readConnectorEnvironment(env);
    } catch (error) {
      if (error instanceof ConnectorError) return error;
      throw error;
    }
    throw new Error('readConnectorEnvironment accepted the environment');
  }

  it('reads a complete environment', () => {
    // Prepare
    const env = { ...complete };

    // Act
    const result = readConnectorEnvironment(env);

    // Assess
    expect(result.config).toMatchObject({ name: 'httpbin', kind: 'http', allowedMethods: ['GET'] });
    expect(result.idempotencyTableName).toBe('connector-suite-idempotency');
    expect(result.secretIds).toEqual({ httpbin: complete[ENV.secretId] });
    expect(result.secretMaxAgeSeconds).toBe(300);
  });

  it.each([ENV.connectorConfig, ENV.idempotencyTable])('fails naming %s when it is missing', (name) => {
    // Prepare
    const env: NodeJS.ProcessEnv = { ...complete };
    delete env[name];

    // Act
    const error = configurationErrorOf(env);

    // Assess
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain(name);
  });

  it('fails naming CONNECTOR_CONFIG when it is not JSON', () => {
    // Prepare
    const env = { ...complete, [ENV.connectorConfig]: '{kind: http' };

    // Act
    const error = configurationErrorOf(env);

    // Assess
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('CONNECTOR_CONFIG');
  });

  it('fails naming the field when CONNECTOR_CONFIG does not match the schema', () => {
    // Prepare
    const env = {
      ...complete,
      [ENV.connectorConfig]: JSON.stringify({
        ...JSON.parse(validConfig),
        baseUrl: 'http://httpbin.example.com',
      }),
    };

    // Act
    const error = configurationErrorOf(env);

    // Assess
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('CONNECTOR_CONFIG');
    expect(error.message).toContain('baseUrl');
  });

  it('fails naming SECRET_MAX_AGE_SECONDS when it is not a number of seconds', () => {
    // Prepare
    const env = { ...complete, [ENV.secretMaxAgeSeconds]: 'soon' };

    // Act
    const error = configurationErrorOf(env);

    // Assess
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('SECRET_MAX_AGE_SECONDS');
  });
});
