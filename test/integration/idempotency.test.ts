/**
 * Idempotency end to end: the real handler with its DynamoDB persistence on an embedded dynalite,
 * over a slow counting upstream so that concurrent duplicates overlap.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import {
  type CapturedOutput,
  captureOutput,
  lambdaContext,
  type ParsedResult,
  parseResult,
  proxyEvent,
  sendJson,
  sleep,
  startTestServer,
  suiteConfig,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

/** How long the upstream takes to answer: long enough for 20 concurrent duplicates to overlap. */
const UPSTREAM_DELAY_MS = 200;
const CONCURRENT_DUPLICATES = 20;

interface UpstreamAnswer {
  path: string;
  serial: number;
}

describe('idempotency over dynalite', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let dynamo: LocalDynamoDB;
  let server: TestServer;
  let handler: ConnectorHandler;

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets();
    dynamo = await startLocalDynamoDB();
    let serial = 0;
    server = await startTestServer(async (req, res, count) => {
      serial += 1;
      const answer: UpstreamAnswer = { path: req.url ?? '', serial };
      await sleep(UPSTREAM_DELAY_MS);
      // `/flaky/...` fails its first request, then works.
      if (req.url?.startsWith('/flaky') && count === 1) sendJson(res, 500, { error: 'transient' });
      else sendJson(res, 200, answer);
    });
    const [config] = suiteConfig({
      connectors: [
        {
          name: 'counted',
          kind: 'http',
          baseUrl: server.url,
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['GET', 'POST'],
          allowedPathPrefixes: ['/orders', '/flaky'],
          timeoutMs: 5_000,
          retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
        },
      ],
    }).connectors;
    if (!config) throw new Error('no connector parsed');
    handler = httpConnector.createHandler({
      config,
      credentials: secrets.store,
      idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
      allowLoopbackHttp: true,
    });
  });

  afterAll(async () => {
    await server?.close();
    await dynamo?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  function requestsTo(path: string): number {
    return server.requests.filter((r) => r.url === path).length;
  }

  async function invoke(
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<ParsedResult<UpstreamAnswer>> {
    const event = proxyEvent({ connector: 'counted', body, headers });
    return parseResult<UpstreamAnswer>(await handler(event, lambdaContext()));
  }

  it('20 concurrent duplicates with one Idempotency-Key make exactly one upstream call', async () => {
    // Prepare
    const path = `/orders/${randomUUID()}`;
    const key = `it-${randomUUID()}`;
    const body = { method: 'POST', path, body: { amount: 4200, currency: 'EUR' } };

    // Act
    const results = await Promise.all(
      Array.from({ length: CONCURRENT_DUPLICATES }, () => invoke(body, { 'Idempotency-Key': key })),
    );
    const later = await invoke(body, { 'Idempotency-Key': key });

    // Assess
    expect(requestsTo(path)).toBe(1);
    const executed = results.filter((r) => r.status === 200 && r.body.meta?.idempotentReplay === false);
    const replayed = results.filter((r) => r.status === 200 && r.body.meta?.idempotentReplay === true);
    const inProgress = results.filter((r) => r.status === 409);
    expect(executed).toHaveLength(1);
    expect(executed.length + replayed.length + inProgress.length).toBe(CONCURRENT_DUPLICATES);
    for (const result of inProgress) {
      expect(result.body.error).toMatchObject({
        code: 'REQUEST_IN_PROGRESS',
        source: 'client',
        retryable: true,
      });
      expect(result.headers['retry-after']).toBeDefined();
    }
    const original = executed[0]?.body.data;
    expect(original?.body.path).toBe(path);
    for (const result of replayed) expect(result.body.data).toEqual(original);
    expect(later.status).toBe(200);
    expect(later.body.meta?.idempotentReplay).toBe(true);
    expect(later.body.data).toEqual(original);
    expect(requestsTo(path)).toBe(1);
  });

  it('requests without an Idempotency-Key are never deduplicated', async () => {
    // Prepare
    const path = `/orders/${randomUUID()}`;
    const body = { method: 'POST', path, body: { amount: 1 } };

    // Act
    const first = await invoke(body);
    const second = await invoke(body);

    // Assess
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body.meta?.idempotentReplay).toBe(false);
    expect(second.body.meta?.idempotentReplay).toBe(false);
    expect(second.body.data?.body.serial).not.toBe(first.body.data?.body.serial);
    expect(requestsTo(path)).toBe(2);
  });

  it('a failed call is not stored: retrying with the same key runs again, then replays', async () => {
    // Prepare
    const path = `/flaky/${randomUUID()}`;
    const key = `it-${randomUUID()}`;
    const body = { method: 'GET', path };

    // Act
    const failed = await invoke(body, { 'Idempotency-Key': key });
    const retried = await invoke(body, { 'Idempotency-Key': key });
    const replayed = await invoke(body, { 'Idempotency-Key': key });

    // Assess
    expect(failed.status).toBe(502);
    expect(failed.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 500 });
    expect(retried.status).toBe(200);
    expect(retried.body.meta?.idempotentReplay).toBe(false);
    expect(replayed.status).toBe(200);
    expect(replayed.body.meta?.idempotentReplay).toBe(true);
    expect(replayed.body.data).toEqual(retried.body.data);
    expect(requestsTo(path)).toBe(2);
  });

  it('the same key with a different body answers 422 IDEMPOTENCY_KEY_REUSED without an upstream call', async () => {
    // Prepare
    const path = `/orders/${randomUUID()}`;
    const key = `it-${randomUUID()}`;
    await invoke({ method: 'POST', path, body: { amount: 1 } }, { 'Idempotency-Key': key });

    // Act
    const reused = await invoke({ method: 'POST', path, body: { amount: 2 } }, { 'Idempotency-Key': key });

    // Assess
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', source: 'client' });
    expect(requestsTo(path)).toBe(1);
  });

  it.each([
    ['with', true],
    ['without', false],
  ])('does not mutate the event it is given (%s an Idempotency-Key)', async (_label, withKey) => {
    // Prepare
    const path = `/orders/${randomUUID()}`;
    const event = proxyEvent({
      connector: 'counted',
      body: { method: 'POST', path, body: { amount: 7, lines: [{ sku: 'sku-1' }] } },
      headers: withKey ? { 'Idempotency-Key': `it-${randomUUID()}` } : {},
    });
    const before = structuredClone(event);

    // Act
    const first = parseResult(await handler(event, lambdaContext()));
    const second = parseResult(await handler(event, lambdaContext()));

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.meta?.idempotentReplay).toBe(withKey);
    expect(event).toEqual(before);
  });
});
