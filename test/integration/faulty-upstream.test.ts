/**
 * The real http connector handler against in-test upstreams that misbehave in ways httpbin cannot:
 * Retry-After, connection resets, stalled bodies, cross-origin redirects, persistent 429s.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import type { HttpConnectorConfig } from '../../functions/shared/config.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import {
  type CapturedOutput,
  captureOutput,
  EXAMPLE_TOKEN,
  lambdaContext,
  type ParsedResult,
  parseResult,
  proxyEvent,
  sendJson,
  startTestServer,
  suiteConfig,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const MAX_ATTEMPTS = 3;

let output: CapturedOutput;
let secrets: TempSecrets;
const servers: TestServer[] = [];

beforeAll(async () => {
  output = captureOutput();
  secrets = await writeTempSecrets();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await secrets?.cleanup();
  output?.restore();
});

async function upstream(
  handle: (req: IncomingMessage, res: ServerResponse, count: number) => void | Promise<void>,
): Promise<TestServer> {
  const server = await startTestServer(handle);
  servers.push(server);
  return server;
}

/** The `faulty` connector's config over `baseUrl`, with small retry settings. */
function connectorConfig(baseUrl: string, overrides: Record<string, unknown> = {}): HttpConnectorConfig {
  const suite = suiteConfig({
    connectors: [
      {
        name: 'faulty',
        kind: 'http',
        baseUrl,
        auth: { type: 'bearer', secret: 'httpbin' },
        allowedMethods: ['GET', 'POST'],
        allowedPathPrefixes: ['/'],
        timeoutMs: 2_000,
        retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterSeconds: 5 },
        ...overrides,
      },
    ],
  });
  const [config] = suite.connectors;
  if (config?.kind !== 'http') throw new Error('no http connector parsed');
  return config;
}

function handlerFor(config: HttpConnectorConfig): ConnectorHandler {
  return httpConnector.createHandler({ config, credentials: secrets.store, allowLoopbackHttp: true });
}

async function invoke<T = unknown>(
  handler: ConnectorHandler,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ParsedResult<T>> {
  return parseResult<T>(await handler(proxyEvent({ connector: 'faulty', body, headers }), lambdaContext()));
}

describe('faulty upstreams through the real handler', () => {
  it('503 with Retry-After: 1, then 200: succeeds on the second attempt', async () => {
    // Prepare
    const server = await upstream((_req, res, count) => {
      if (count === 1) sendJson(res, 503, { error: 'busy' }, { 'retry-after': '1' });
      else sendJson(res, 200, { ok: true });
    });
    const handler = handlerFor(connectorConfig(server.url));

    // Act
    const result = await invoke<{ ok: boolean }>(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data).toMatchObject({ status: 200, body: { ok: true } });
    expect(result.body.meta?.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('503 with a Retry-After longer than maxRetryAfterSeconds: 502 UPSTREAM_ERROR after one attempt', async () => {
    // Prepare
    const server = await upstream((_req, res) => {
      sendJson(res, 503, { error: 'maintenance' }, { 'retry-after': '30' });
    });
    const handler = handlerFor(
      connectorConfig(server.url, {
        retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterSeconds: 2 },
      }),
    );

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      source: 'upstream',
      upstreamStatus: 503,
      retryAfterSeconds: 30,
      attempts: 1,
    });
    expect(result.headers['retry-after']).toBe('30');
    expect(server.requests).toHaveLength(1);
  });

  it('connection resets on a GET: retried up to maxAttempts, then 502 UPSTREAM_ERROR', async () => {
    // Prepare
    const server = await upstream((req) => {
      req.socket.destroy();
    });
    const handler = handlerFor(connectorConfig(server.url));

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      source: 'upstream',
      attempts: MAX_ATTEMPTS,
    });
    expect(server.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it('a connection reset on a POST without an idempotency key is not retried', async () => {
    // Prepare
    const server = await upstream((req) => {
      req.socket.destroy();
    });
    const handler = handlerFor(connectorConfig(server.url, { forwardIdempotencyKey: true }));

    // Act
    const result = await invoke(handler, { method: 'POST', path: '/orders', body: { amount: 100 } });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('a connection reset on a POST whose idempotency key goes upstream is retried', async () => {
    // Prepare
    const server = await upstream((req) => {
      req.socket.destroy();
    });
    const handler = handlerFor(connectorConfig(server.url, { forwardIdempotencyKey: true }));

    // Act
    const result = await invoke(
      handler,
      { method: 'POST', path: '/orders', body: { amount: 100 } },
      { 'Idempotency-Key': 'order-key-1' },
    );

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', attempts: MAX_ATTEMPTS });
    expect(server.requests).toHaveLength(MAX_ATTEMPTS);
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(
      Array(MAX_ATTEMPTS).fill('order-key-1'),
    );
  });

  it('a body that stalls after the headers: 504 API_TIMEOUT', async () => {
    // Prepare
    const server = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items": [1, 2,');
      // ...and never ends.
    });
    const handler = handlerFor(
      connectorConfig(server.url, {
        timeoutMs: 300,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      }),
    );

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(504);
    expect(result.body.error).toMatchObject({ code: 'API_TIMEOUT', source: 'upstream', attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it('a cross-origin redirect is not followed: 502, and the other origin receives nothing', async () => {
    // Prepare
    const elsewhere = await upstream((_req, res) => {
      sendJson(res, 200, { stolen: true });
    });
    const server = await upstream((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/collect` });
      res.end();
    });
    const handler = handlerFor(connectorConfig(server.url));

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', source: 'upstream', attempts: 1 });
    expect(server.requests).toHaveLength(1);
    expect(elsewhere.requests).toEqual([]);
  });

  it('a same-origin redirect is followed, with the credentials', async () => {
    // Prepare
    const server = await upstream((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        res.end();
      } else {
        sendJson(res, 200, { moved: true });
      }
    });
    const handler = handlerFor(connectorConfig(server.url));

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/old' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toEqual({ moved: true });
    expect(server.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/old', `Bearer ${EXAMPLE_TOKEN}`],
      ['/new', `Bearer ${EXAMPLE_TOKEN}`],
    ]);
  });

  it('a same-origin redirect outside allowedPathPrefixes is not followed: 502, /admin receives nothing', async () => {
    // Prepare
    const server = await upstream((req, res) => {
      if (req.url === '/items') {
        res.writeHead(302, { location: '/admin' });
        res.end();
      } else {
        sendJson(res, 200, { admin: true });
      }
    });
    const handler = handlerFor(connectorConfig(server.url, { allowedPathPrefixes: ['/items'] }));

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', source: 'upstream', attempts: 1 });
    expect(server.requests.map((r) => r.url)).toEqual(['/items']);
  });

  it('a huge Retry-After reaches the caller capped at 3600 s', async () => {
    // Prepare
    const server = await upstream((_req, res) => {
      sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '999999999' });
    });
    const handler = handlerFor(connectorConfig(server.url));

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryAfterSeconds: 3_600 });
    expect(result.headers['retry-after']).toBe('3600');
  });

  it('a persistent 429 with Retry-After: 429 RATE_LIMIT_EXCEEDED with a Retry-After header', async () => {
    // Prepare
    const server = await upstream((_req, res) => {
      sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '1' });
    });
    const handler = handlerFor(
      connectorConfig(server.url, { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } }),
    );

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      source: 'upstream',
      retryable: true,
      upstreamStatus: 429,
      retryAfterSeconds: 1,
      attempts: 2,
    });
    expect(result.headers['retry-after']).toBe('1');
    expect(server.requests).toHaveLength(2);
  });

  it('a 500 that echoes the credentials: the excerpt and the logs are redacted', async () => {
    // Prepare
    const server = await upstream((req, res) => {
      sendJson(res, 500, { error: 'boom', youSent: req.headers.authorization });
    });
    const handler = handlerFor(
      connectorConfig(server.url, { retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 } }),
    );
    const printedBefore = output.lines().length;

    // Act
    const result = await invoke(handler, { method: 'GET', path: '/items' });

    // Assess
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${EXAMPLE_TOKEN}`);
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 500 });
    expect(JSON.stringify(result.body.error?.details)).toContain('[REDACTED]');
    expect(JSON.stringify(result.body)).not.toContain(EXAMPLE_TOKEN);
    const printed = output.lines().slice(printedBefore);
    expect(printed.some((line) => line.includes('"upstream attempt"'))).toBe(true);
    expect(printed.filter((line) => line.includes(EXAMPLE_TOKEN))).toEqual([]);
  });
});
