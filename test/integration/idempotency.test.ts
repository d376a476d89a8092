/**
 * Idempotency end to end: the real handler with its DynamoDB persistence on an embedded dynalite,
 * over a slow counting upstream so that concurrent duplicates overlap.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import {
  type ConnectorMetrics,
  createPowertools,
  type Powertools,
} from '../../functions/shared/powertools.js';
import {
  type ConnectorHandler,
  INVOCATION_FAILED,
  INVOCATION_REQUESTED,
  type ResultEvent,
} from '../../functions/shared/runtime/index.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { sqsEvent } from '../../local/lambda-events.js';
import { dynamoErrors, type FaultyDynamoClient, faultyDynamoClient } from '../support/dynamodb-faults.js';
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

/**
 * Issue 8, defects 1 and 2: the idempotency store failing before the call (nothing may be sent; a
 * typed, retryable DEPENDENCY_UNAVAILABLE) and after it (the vendor acted: the caller gets its
 * result, and a duplicate never silently runs it again).
 */
describe('idempotency when DynamoDB fails', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let dynamo: LocalDynamoDB;
  let server: TestServer;
  let faulty: FaultyDynamoClient;
  let handler: ConnectorHandler;
  let powertools: Powertools;

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets();
    dynamo = await startLocalDynamoDB();
    server = await startTestServer((req, res) => {
      if (req.url?.startsWith('/orders/rejected')) sendJson(res, 400, { error: 'no such order' });
      else sendJson(res, 201, { path: req.url ?? '', serial: server.requests.length });
    });
    faulty = faultyDynamoClient(dynamo.endpoint);
    const [config] = suiteConfig({
      connectors: [
        {
          name: 'stored',
          kind: 'http',
          baseUrl: server.url,
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['POST'],
          allowedPathPrefixes: ['/orders'],
          retry: { maxAttempts: 1 },
        },
      ],
    }).connectors;
    if (!config) throw new Error('no connector parsed');
    powertools = createPowertools({ serviceName: 'stored' });
    handler = httpConnector.createHandler({
      config,
      credentials: secrets.store,
      idempotency: { dynamoClient: faulty.client, tableName: dynamo.tableName },
      powertools,
      allowLoopbackHttp: true,
    });
  });

  afterEach(() => faulty.setFaults([]));

  afterAll(async () => {
    faulty?.client.destroy();
    await server?.close();
    await dynamo?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  function requestsTo(path: string): number {
    return server.requests.filter((r) => r.url === path).length;
  }

  async function call(body: unknown, key: string) {
    const event = proxyEvent({ connector: 'stored', body, headers: { 'Idempotency-Key': key } });
    return parseResult<{ path: string; serial: number }>(await handler(event, lambdaContext()));
  }

  function order() {
    const path = `/orders/${randomUUID()}`;
    return { path, key: `it-${randomUUID()}`, body: { method: 'POST', path, body: { amount: 4200 } } };
  }

  it.each([
    ['throttled', dynamoErrors.throttled],
    ['answering 500', dynamoErrors.internal],
    ['timing out', dynamoErrors.timeout],
  ])(
    'answers 503 DEPENDENCY_UNAVAILABLE, retryable, without calling the vendor, when DynamoDB is %s before the call',
    async (_label, error) => {
      // Prepare
      const { path, key, body } = order();
      faulty.setFaults([{ command: 'PutItemCommand', error }]);
      const counted = vi.spyOn(powertools.metrics as ConnectorMetrics, 'addDimensionedCount');

      // Act
      const result = await call(body, key);

      // Assess
      expect(result.status).toBe(503);
      expect(result.body.error).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        source: 'connector',
        retryable: true,
      });
      expect(result.headers['retry-after']).toBe('1');
      expect(requestsTo(path)).toBe(0);
      // No outbound call, so no UpstreamCalls: the failure is counted as DependencyFailures (the alarm's metric).
      expect(counted.mock.calls.map(([, name, dimensions]) => [name, dimensions])).toEqual([
        ['DependencyFailures', { dependency: 'DynamoDB' }],
      ]);
      counted.mockRestore();
    },
  );

  it('a DynamoDB that hangs before the call is given up at the call’s deadline: 503, nothing sent', async () => {
    // Prepare: the write hangs a minute; the call has about 1.5 s.
    const { path, key, body } = order();
    faulty.setFaults([{ command: 'PutItemCommand', error: dynamoErrors.timeout, stallMs: 60_000 }]);
    const event = proxyEvent({ connector: 'stored', body, headers: { 'Idempotency-Key': key } });

    // Act: without the bound this waits out the minute and the test times out.
    const result = parseResult(await handler(event, lambdaContext(2_000)));

    // Assess
    expect(result.status).toBe(503);
    expect(result.body.error?.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(requestsTo(path)).toBe(0);
  });

  it('answers 500 CONFIGURATION_ERROR, not DEPENDENCY_UNAVAILABLE, when the table does not exist', async () => {
    // Prepare
    const { path, key, body } = order();
    faulty.setFaults([{ command: 'PutItemCommand', error: dynamoErrors.tableNotFound }]);

    // Act
    const result = await call(body, key);

    // Assess
    expect(result.status).toBe(500);
    expect(result.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(result.body.error?.message).toContain('ResourceNotFoundException');
    expect(requestsTo(path)).toBe(0);
  });

  it('a failed success write still answers the vendor’s result, logs and counts it, and a duplicate gets 409, never a second call', async () => {
    // Prepare
    const { path, key, body } = order();
    faulty.setFaults([{ command: 'UpdateItemCommand', error: dynamoErrors.throttled }]);
    const addMetric = vi.spyOn(powertools.metrics, 'addMetric');

    // Act
    const first = await call(body, key);
    const duplicate = await call(body, key);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ status: 201, body: { path } });
    expect(first.body.meta).toMatchObject({ idempotentReplay: false, attempts: 1 });
    expect(addMetric).toHaveBeenCalledWith('IdempotencyRecordFailures', 'Count', 1);
    expect(output.text()).toContain('The idempotency record could not be written');
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({ code: 'REQUEST_IN_PROGRESS', retryable: true });
    expect(requestsTo(path)).toBe(1);
  });

  it('a success write that fails once is written on a retry: a duplicate gets the replay', async () => {
    // Prepare
    const { path, key, body } = order();
    faulty.setFaults([{ command: 'UpdateItemCommand', error: dynamoErrors.internal, times: 1 }]);

    // Act
    const first = await call(body, key);
    const duplicate = await call(body, key);

    // Assess
    expect(first.status).toBe(200);
    expect(duplicate.status).toBe(200);
    expect(duplicate.body.meta?.idempotentReplay).toBe(true);
    expect(duplicate.body.data).toEqual(first.body.data);
    expect(requestsTo(path)).toBe(1);
  });

  it('a result too large for the record keeps the fact that the request ran: a duplicate gets 422, never a second call', async () => {
    // Prepare: DynamoDB refuses the record with the result, accepts the one without it.
    const { path, key, body } = order();
    faulty.setFaults([
      {
        command: 'UpdateItemCommand',
        error: dynamoErrors.itemTooLarge,
        when: (input) => !JSON.stringify(input).includes('resultNotKept'),
      },
    ]);

    // Act
    const first = await call(body, key);
    const duplicate = await call(body, key);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ status: 201, body: { path } });
    expect(duplicate.status).toBe(422);
    expect(duplicate.body.error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      retryable: false,
      details: { resultKept: false },
    });
    expect(requestsTo(path)).toBe(1);
  });

  it('on the asynchronous path, an event that meets a throttled DynamoDB is neither sent nor dead-lettered', async () => {
    // Prepare
    const { path, body } = order();
    const [config] = suiteConfig({
      connectors: [
        {
          name: 'stored',
          kind: 'http',
          baseUrl: server.url,
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['POST'],
          allowedPathPrefixes: ['/orders'],
          retry: { maxAttempts: 1 },
          async: { maxReceiveCount: 3 },
        },
      ],
    }).connectors;
    if (!config) throw new Error('no connector parsed');
    const queueCalls: string[] = [];
    const published: ResultEvent[] = [];
    const asyncHandler = httpConnector.createHandler({
      config,
      credentials: secrets.store,
      idempotency: { dynamoClient: faulty.client, tableName: dynamo.tableName },
      allowLoopbackHttp: true,
      queue: {
        changeVisibility: async () => void queueCalls.push('changeVisibility'),
        deadLetter: async () => void queueCalls.push('deadLetter'),
        requeue: async () => void queueCalls.push('requeue'),
      },
      results: { publish: async (events) => void published.push(...events) },
    });
    faulty.setFaults([{ command: 'PutItemCommand', error: dynamoErrors.throttled }]);
    const event = {
      version: '0',
      id: `evt-${randomUUID()}`,
      'detail-type': INVOCATION_REQUESTED,
      source: 'orders.service',
      detail: { connector: 'stored', operation: 'request', input: body },
    };

    // Act
    await asyncHandler(
      sqsEvent('stored', [
        {
          messageId: `msg-${randomUUID()}`,
          receiptHandle: 'rh-1',
          body: JSON.stringify(event),
          messageAttributes: {},
          receiveCount: 1,
          sentAtMs: Date.now(),
          firstReceivedAtMs: Date.now(),
        },
      ]),
      lambdaContext(),
    );

    // Assess
    expect(requestsTo(path)).toBe(0);
    expect(queueCalls).not.toContain('deadLetter');
    expect(published.filter((e) => e.detailType === INVOCATION_FAILED)).toEqual([]);
    expect(output.text()).toContain('DEPENDENCY_UNAVAILABLE');
  });

  it('a failed run whose in-progress record cannot be deleted answers the vendor’s error, not 500', async () => {
    // Prepare
    const path = `/orders/rejected/${randomUUID()}`;
    faulty.setFaults([{ command: 'DeleteItemCommand', error: dynamoErrors.internal }]);

    // Act
    const result = await call({ method: 'POST', path, body: {} }, `it-${randomUUID()}`);

    // Assess
    expect(result.status).toBe(422);
    expect(result.body.error).toMatchObject({ code: 'UPSTREAM_REJECTED', upstreamStatus: 400 });
    expect(requestsTo(path)).toBe(1);
  });
});
