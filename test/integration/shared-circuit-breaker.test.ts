/**
 * The shared circuit breaker through the real `http` connector handler: two handlers (two warm
 * instances, each with its own HTTP client and breaker) on one dynalite, in front of an upstream
 * that answers 503. Once the first opens the breaker, the second refuses without calling upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import {
  type CapturedOutput,
  captureOutput,
  lambdaContext,
  parseResult,
  proxyEvent,
  sendJson,
  startTestServer,
  suiteConfig,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const MINIMUM_CALLS = 2;

describe('shared circuit breaker through the http connector handler', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let dynamo: LocalDynamoDB;
  let server: TestServer;
  let first: ConnectorHandler;
  let second: ConnectorHandler;

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets();
    dynamo = await startLocalDynamoDB();
    server = await startTestServer((_req, res) => sendJson(res, 503, { error: 'down for maintenance' }));
    const [config] = suiteConfig({
      connectors: [
        {
          name: 'fleet',
          kind: 'http',
          baseUrl: server.url,
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['GET'],
          allowedPathPrefixes: ['/status'],
          timeoutMs: 5_000,
          retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
          circuitBreaker: { minimumCalls: MINIMUM_CALLS, openSeconds: 60, scope: 'shared', refreshMs: 1_000 },
        },
      ],
    }).connectors;
    if (!config) throw new Error('no connector parsed');
    // Two warm instances: each builds its own client (and breaker) on the same table.
    const instance = () =>
      httpConnector.createHandler({
        config,
        credentials: secrets.store,
        idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
        allowLoopbackHttp: true,
      });
    first = instance();
    second = instance();
  });

  afterAll(async () => {
    await server?.close();
    await dynamo?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  const call = async (handler: ConnectorHandler) =>
    parseResult(
      await handler(
        proxyEvent({ connector: 'fleet', body: { method: 'GET', path: '/status/503' } }),
        lambdaContext(),
      ),
    );

  it('after the first instance opens, the second answers CIRCUIT_BREAKER_OPEN without an upstream call', async () => {
    // Act: the first instance's own window trips on the upstream's 503s
    for (let i = 0; i < MINIMUM_CALLS; i++) {
      const failed = await call(first);
      expect(failed.body.error?.code).toBe('UPSTREAM_ERROR');
    }
    const upstreamCalls = server.requests.length;
    const refused = await call(second);

    // Assess
    expect(upstreamCalls).toBe(MINIMUM_CALLS);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'CIRCUIT_BREAKER_OPEN' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50);
    expect(server.requests.length).toBe(upstreamCalls);
  });
});
