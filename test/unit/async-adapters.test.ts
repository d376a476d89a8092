/**
 * The asynchronous entry points: SQS batches of request events (partial batch responses, backoff by
 * visibility, dead letters with their reason, requeues that spend no attempt, result events) and
 * request events invoked directly.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { ConnectorError, dependencyUnavailable, type ErrorCode } from '../../functions/shared/errors.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  type ConnectorHandler,
  defineConnector,
  defineOperation,
  INVOCATION_FAILED,
  INVOCATION_REQUESTED,
  INVOCATION_SUCCEEDED,
  type QueueMessage,
  type QueuePort,
  type RequestEvent,
  type ResultEvent,
} from '../../functions/shared/runtime/index.js';
import {
  RateLimitSlots,
  redeliveryDelaySeconds,
  requeueDelaySeconds,
} from '../../functions/shared/runtime/redelivery.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { captureOutput, lambdaContext } from '../support/fakes.js';

const ASYNC = { maxReceiveCount: 3, backoffBaseSeconds: 2, backoffMaxSeconds: 60 };

/** A connector whose `act` operation does whatever the test scripts: return a value or throw. */
function scriptedConnector(
  behaviour: (input: { n: number }, idempotencyKey: string | undefined) => Promise<unknown>,
) {
  return defineConnector({
    kind: 'http',
    operations: () => ({
      act: defineOperation({
        description: 'Scripted by the test.',
        input: z.strictObject({ n: z.number() }),
        run: (input, context) => behaviour(input, context.idempotencyKey),
      }),
    }),
  });
}

function config(asyncOverrides: Record<string, unknown> = {}) {
  return parseConnectorConfig(
    {
      kind: 'http',
      name: 'vendor',
      baseUrl: 'https://api.example.com',
      allowedPathPrefixes: ['/items'],
      async: { ...ASYNC, ...asyncOverrides },
    },
    'test',
  );
}

/** A queue port that records what the runtime asked of it. */
function fakeQueue(options: { failDeadLetter?: boolean; fail?: ReadonlyArray<keyof QueuePort> } = {}) {
  const fails = (kind: keyof QueuePort) => options.fail?.includes(kind) ?? false;
  const calls: Array<{
    kind: string;
    message: QueueMessage;
    seconds?: number;
    attributes?: Record<string, string>;
  }> = [];
  const queue: QueuePort = {
    async changeVisibility(message, seconds) {
      if (fails('changeVisibility')) throw new Error('SQS is unavailable');
      calls.push({ kind: 'changeVisibility', message, seconds });
    },
    async deadLetter(message, attributes) {
      if (options.failDeadLetter || fails('deadLetter')) throw new Error('SQS is unavailable');
      calls.push({ kind: 'deadLetter', message, attributes: { ...attributes } });
    },
    async requeue(message, seconds, attributes) {
      if (fails('requeue')) throw new Error('SQS is unavailable');
      calls.push({ kind: 'requeue', message, seconds, attributes: { ...attributes } });
    },
  };
  return { queue, calls };
}

const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };

function build(
  behaviour: Parameters<typeof scriptedConnector>[0],
  options: {
    asyncOverrides?: Record<string, unknown>;
    failDeadLetter?: boolean;
    fail?: ReadonlyArray<keyof QueuePort>;
    redactor?: Redactor;
  } = {},
) {
  const { queue, calls } = fakeQueue(options);
  const published: ResultEvent[] = [];
  const redactor = options.redactor ?? new Redactor();
  const powertools = createPowertools({ serviceName: 'vendor', redactor });
  const handler = scriptedConnector(behaviour).createHandler({
    config: config(options.asyncOverrides),
    credentials,
    powertools,
    redactor,
    queue,
    results: { publish: async (events) => void published.push(...events) },
  });
  return { handler, calls, published };
}

let sequence = 0;

/** A request event as the EventBridge rule delivers it to the inbox. */
function requestEvent(detail: Record<string, unknown> = {}): RequestEvent {
  sequence += 1;
  return {
    version: '0',
    id: `evt-${sequence}`,
    'detail-type': INVOCATION_REQUESTED,
    source: 'orders.service',
    account: '123456789012',
    time: '2026-11-21T12:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: { connector: 'vendor', operation: 'act', input: { n: 1 }, ...detail },
  } as RequestEvent;
}

function sqsRecord(
  body: unknown,
  receiveCount = 1,
  priorAttempts?: number,
  extraAttributes: Record<string, string> = {},
): SQSRecord {
  sequence += 1;
  const attributes: Record<string, string> = {
    ...(priorAttempts === undefined ? {} : { PriorAttempts: String(priorAttempts) }),
    ...extraAttributes,
  };
  return {
    messageId: `msg-${sequence}`,
    receiptHandle: `rh-${sequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1795270000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1795270000001',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [
        name,
        { stringValue: value, dataType: 'String', stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:vendor-inbox',
    awsRegion: 'eu-west-1',
  };
}

async function deliver(handler: ConnectorHandler, ...records: SQSRecord[]): Promise<SQSBatchResponse> {
  return handler({ Records: records } as SQSEvent, lambdaContext());
}

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('SQS batches: success', () => {
  it('runs the operation, reports no failure and publishes the result with the output', async () => {
    // Prepare
    const { handler, calls, published } = build(async (input) => ({ doubled: input.n * 2 }));
    const record = sqsRecord(requestEvent({ input: { n: 21 } }), 2);

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toEqual([]);
    expect(published).toHaveLength(1);
    expect(published[0]?.detailType).toBe(INVOCATION_SUCCEEDED);
    expect(published[0]?.detail).toMatchObject({
      connector: 'vendor',
      operation: 'act',
      requestId: record.messageId,
      attempts: 2,
      output: { doubled: 42 },
    });
  });

  it('uses the event id as idempotency key unless the detail names one', async () => {
    // Prepare
    const keys: Array<string | undefined> = [];
    const { handler, published } = build(async (_input, key) => {
      keys.push(key);
      return null;
    });
    const plain = requestEvent();
    const keyed = requestEvent({ idempotencyKey: 'order-1234' });

    // Act
    await deliver(handler, sqsRecord(plain), sqsRecord(keyed));

    // Assess
    expect(keys.sort()).toEqual([plain.id, 'order-1234'].sort());
    expect(published.map((e) => e.detail.idempotencyKey).sort()).toEqual([plain.id, 'order-1234'].sort());
  });

  it('leaves a large output out of the result event and says so', async () => {
    // Prepare
    const { handler, published } = build(async () => ({ blob: 'x'.repeat(70 * 1024) }));

    // Act
    await deliver(handler, sqsRecord(requestEvent()));

    // Assess
    expect(published[0]?.detail.outputTruncated).toBe(true);
    expect(published[0]?.detail).not.toHaveProperty('output');
  });

  it('publishes nothing when the connector has result events off', async () => {
    // Prepare
    const { handler, published } = build(async () => 'ok', { asyncOverrides: { resultEvents: false } });

    // Act
    const response = await deliver(handler, sqsRecord(requestEvent()));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(published).toEqual([]);
  });

  it('fails only the failing record of a batch, running each sibling exactly once', async () => {
    // Prepare
    const runs: number[] = [];
    const { handler } = build(async (input) => {
      runs.push(input.n);
      if (input.n === 2) throw new ConnectorError('UPSTREAM_ERROR', 'down', { upstreamStatus: 503 });
      return input.n;
    });
    const records = [1, 2, 3].map((n) => sqsRecord(requestEvent({ input: { n } })));

    // Act
    const response = await deliver(handler, ...records);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.messageId }]);
    expect(runs.sort()).toEqual([1, 2, 3]);
  });
});

describe('SQS batches: retryable failures', () => {
  it('hides the message for a jittered exponential backoff and reports it failed', async () => {
    // Prepare
    const { handler, calls, published } = build(async () => {
      throw new ConnectorError('UPSTREAM_ERROR', 'down', { upstreamStatus: 502 });
    });
    const record = sqsRecord(requestEvent(), 2);

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.kind).toBe('changeVisibility');
    expect(calls[0]?.message.receiptHandle).toBe(record.receiptHandle);
    // Second attempt: ceiling 2 × 2^1 = 4 s, equal jitter puts the wait in [2, 4].
    expect(calls[0]?.seconds).toBeGreaterThanOrEqual(2);
    expect(calls[0]?.seconds).toBeLessThanOrEqual(4);
    expect(published).toEqual([]);
  });

  it("waits at least the vendor's Retry-After", async () => {
    // Prepare
    const { handler, calls } = build(async () => {
      throw new ConnectorError('RATE_LIMIT_EXCEEDED', 'slow down', {
        upstreamStatus: 429,
        retryAfterSeconds: 45,
      });
    });

    // Act
    await deliver(handler, sqsRecord(requestEvent(), 1));

    // Assess
    expect(calls).toEqual([expect.objectContaining({ kind: 'changeVisibility', seconds: 45 })]);
  });

  it('dead-letters on the last allowed attempt, with the reason as attributes, and publishes the failure', async () => {
    // Prepare
    const { handler, calls, published } = build(async () => {
      throw new ConnectorError('UPSTREAM_ERROR', 'The upstream failed (500).', { upstreamStatus: 500 });
    });
    const record = sqsRecord(requestEvent(), ASYNC.maxReceiveCount);

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ kind: 'deadLetter', message: { body: record.body } });
    expect(calls[0]?.attributes).toMatchObject({
      ErrorCode: 'UPSTREAM_ERROR',
      ErrorMessage: 'The upstream failed (500).',
      ErrorSource: 'upstream',
      Attempts: String(ASYNC.maxReceiveCount),
      UpstreamStatus: '500',
    });
    expect(Date.parse(calls[0]?.attributes?.DeadLetteredAt ?? '')).not.toBeNaN();
    expect(published).toEqual([
      expect.objectContaining({
        detailType: INVOCATION_FAILED,
        detail: expect.objectContaining({
          attempts: ASYNC.maxReceiveCount,
          error: expect.objectContaining({ code: 'UPSTREAM_ERROR', upstreamStatus: 500 }),
        }),
      }),
    ]);
  });

  it('counts the attempts carried by a requeued message', async () => {
    // Prepare
    const { handler, calls } = build(async () => {
      throw new ConnectorError('API_TIMEOUT', 'slow');
    });

    // Act
    await deliver(handler, sqsRecord(requestEvent(), 1, ASYNC.maxReceiveCount - 1));

    // Assess
    expect(calls[0]).toMatchObject({
      kind: 'deadLetter',
      attributes: { Attempts: String(ASYNC.maxReceiveCount) },
    });
  });

  it('redacts credentials from the dead letter, as from every other outlet', async () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret('ACfake0account0sid0example');
    const { handler, calls } = build(
      async () => {
        throw new ConnectorError(
          'API_TIMEOUT',
          'The call to POST /Accounts/ACfake0account0sid0example/Messages ran out of time.',
        );
      },
      { redactor },
    );

    // Act
    await deliver(handler, sqsRecord(requestEvent(), ASYNC.maxReceiveCount));

    // Assess
    expect(calls[0]?.attributes?.ErrorMessage).toBe(
      'The call to POST /Accounts/[REDACTED]/Messages ran out of time.',
    );
  });

  it('reports the message failed when the dead-letter queue cannot take it, so it is not lost', async () => {
    // Prepare
    const { handler } = build(
      async () => {
        throw new ConnectorError('UPSTREAM_REJECTED', 'no', { upstreamStatus: 400 });
      },
      { failDeadLetter: true },
    );
    const record = sqsRecord(requestEvent());

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });
});

describe('SQS batches: failures that cannot succeed later are dead-lettered at once', () => {
  it.each<[ErrorCode, () => ConnectorError | Error]>([
    ['UPSTREAM_REJECTED', () => new ConnectorError('UPSTREAM_REJECTED', 'rejected', { upstreamStatus: 422 })],
    [
      'AUTHENTICATION_ERROR',
      () => new ConnectorError('AUTHENTICATION_ERROR', 'bad key', { upstreamStatus: 401 }),
    ],
    ['RESPONSE_VALIDATION_ERROR', () => new ConnectorError('RESPONSE_VALIDATION_ERROR', 'odd answer')],
    ['CONFIGURATION_ERROR', () => new ConnectorError('CONFIGURATION_ERROR', "Secret 'vendor' not found.")],
    ['INTERNAL_ERROR', () => new Error('a bug')],
  ])('%s', async (code, makeError) => {
    // Prepare
    const { handler, calls, published } = build(async () => {
      throw makeError();
    });

    // Act
    const response = await deliver(handler, sqsRecord(requestEvent(), 1));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toEqual([expect.objectContaining({ kind: 'deadLetter' })]);
    expect(calls[0]?.attributes).toMatchObject({ ErrorCode: code, Attempts: '1' });
    expect(published[0]?.detail.error?.code).toBe(code);
  });

  it('VALIDATION_ERROR: an input the operation refuses', async () => {
    // Prepare
    const { handler, calls, published } = build(async () => 'never');

    // Act
    await deliver(handler, sqsRecord(requestEvent({ input: { n: 'one' } })));

    // Assess
    expect(calls[0]?.attributes).toMatchObject({ ErrorCode: 'VALIDATION_ERROR', ErrorSource: 'client' });
    expect(published[0]?.detailType).toBe(INVOCATION_FAILED);
  });

  it('VALIDATION_ERROR: a body that is not a request event, without a result event', async () => {
    // Prepare
    const { handler, calls, published } = build(async () => 'never');

    // Act
    await deliver(handler, sqsRecord('not json'), sqsRecord({ 'detail-type': 'Something Else', detail: {} }));

    // Assess
    expect(calls.map((c) => [c.kind, c.attributes?.ErrorCode])).toEqual([
      ['deadLetter', 'VALIDATION_ERROR'],
      ['deadLetter', 'VALIDATION_ERROR'],
    ]);
    expect(published).toEqual([]);
  });

  it('NOT_FOUND: an unknown operation, or an event for another connector', async () => {
    // Prepare
    const { handler, calls } = build(async () => 'never');

    // Act
    await deliver(
      handler,
      sqsRecord(requestEvent({ operation: 'nope' })),
      sqsRecord(requestEvent({ connector: 'someone-else' })),
    );

    // Assess
    expect(calls.map((c) => c.attributes?.ErrorCode)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });

  it('IDEMPOTENCY_KEY_REUSED', async () => {
    // Prepare
    const { handler, calls } = build(async () => {
      throw new ConnectorError('IDEMPOTENCY_KEY_REUSED', 'reused');
    });

    // Act
    await deliver(handler, sqsRecord(requestEvent()));

    // Assess
    expect(calls[0]?.attributes).toMatchObject({
      ErrorCode: 'IDEMPOTENCY_KEY_REUSED',
      ErrorSource: 'client',
    });
  });
});

describe('SQS batches: waits that spend no attempt', () => {
  it.each<[ErrorCode, number, 'connector' | undefined]>([
    ['CIRCUIT_BREAKER_OPEN', 25, undefined],
    ['REQUEST_IN_PROGRESS', 1, undefined],
    ['DEPENDENCY_UNAVAILABLE', 1, undefined],
    ['RATE_LIMIT_EXCEEDED', 1, 'connector'],
  ])(
    '%s puts the event back in the inbox, delayed, with the attempts spent so far',
    async (code, retryAfter, source) => {
      // Prepare
      const { handler, calls, published } = build(async () => {
        throw new ConnectorError(code, 'wait', {
          retryAfterSeconds: retryAfter,
          ...(source ? { source } : {}),
        });
      });
      const record = sqsRecord(requestEvent(), 2, 1);
      const before = Date.now();

      // Act
      const response = await deliver(handler, record);

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(calls).toEqual([
        {
          kind: 'requeue',
          message: { body: record.body, receiptHandle: record.receiptHandle },
          seconds: expect.any(Number),
          attributes: { PriorAttempts: '2', Requeues: '1', WaitingSince: expect.any(String) },
        },
      ]);
      // At least the error's Retry-After, never past what SQS accepts as a delay.
      expect(calls[0]?.seconds).toBeGreaterThanOrEqual(retryAfter);
      expect(calls[0]?.seconds).toBeLessThanOrEqual(900);
      expect(Number(calls[0]?.attributes?.WaitingSince)).toBeGreaterThanOrEqual(before);
      expect(published).toEqual([]);
    },
  );

  it.each<[string, () => ConnectorError]>([
    ['an open breaker', () => new ConnectorError('CIRCUIT_BREAKER_OPEN', 'open', { retryAfterSeconds: 10 })],
    // Defect 2 (issue 8): DynamoDB throttled before the call dead-lettered the event.
    ['DynamoDB unavailable', () => dependencyUnavailable('DynamoDB', new Error('ThrottlingException'))],
    // Defect 6 (issue 8): the connector's own rate limit spent attempts and dead-lettered a burst.
    [
      "the connector's own rate limit",
      () =>
        new ConnectorError('RATE_LIMIT_EXCEEDED', 'over the local rate limit', {
          source: 'connector',
          retryAfterSeconds: 1,
        }),
    ],
  ])('keeps %s from dead-lettering even on what would be the last attempt', async (_what, makeError) => {
    // Prepare
    const { handler, calls, published } = build(async () => {
      throw makeError();
    });
    const record = sqsRecord(requestEvent(), ASYNC.maxReceiveCount);

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map((c) => c.kind)).toEqual(['requeue']);
    expect(calls[0]?.attributes?.PriorAttempts).toBe(String(ASYNC.maxReceiveCount - 1));
    expect(published).toEqual([]);
  });

  it("spends an attempt on a vendor's 429 (source upstream), unlike the connector's own rate limit", async () => {
    // Prepare
    const { handler, calls } = build(async () => {
      throw new ConnectorError('RATE_LIMIT_EXCEEDED', 'slow down', { upstreamStatus: 429 });
    });

    // Act
    await deliver(handler, sqsRecord(requestEvent(), ASYNC.maxReceiveCount));

    // Assess
    expect(calls.map((c) => [c.kind, c.attributes?.ErrorCode])).toEqual([
      ['deadLetter', 'RATE_LIMIT_EXCEEDED'],
    ]);
  });

  it('grows the delay with the requeues the message carries, and keeps when the waiting began', async () => {
    // Prepare
    const { handler, calls } = build(async () => {
      throw dependencyUnavailable('DynamoDB');
    });
    const since = Date.now() - 60_000;
    const record = sqsRecord(requestEvent(), 1, 0, { Requeues: '3', WaitingSince: String(since) });

    // Act
    await deliver(handler, record);

    // Assess
    // Fourth requeue: 1 s (Retry-After) + equal jitter over min(60, 2 × 2^3) = 16 s.
    expect(calls[0]?.attributes).toMatchObject({ Requeues: '4', WaitingSince: String(since) });
    expect(calls[0]?.seconds).toBeGreaterThanOrEqual(1 + 8);
    expect(calls[0]?.seconds).toBeLessThanOrEqual(1 + 16);
  });

  it('dead-letters an event that waited longer than the inbox keeps a message, with the error it waited on', async () => {
    // Prepare
    const { handler, calls, published } = build(async () => {
      throw new ConnectorError('CIRCUIT_BREAKER_OPEN', 'The circuit breaker is open.', {
        retryAfterSeconds: 30,
      });
    });
    const fiveDaysAgo = Date.now() - 5 * 86_400_000;
    const record = sqsRecord(requestEvent(), 1, 1, { Requeues: '400', WaitingSince: String(fiveDaysAgo) });

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map((c) => c.kind)).toEqual(['deadLetter']);
    expect(calls[0]?.attributes).toMatchObject({ ErrorCode: 'CIRCUIT_BREAKER_OPEN', Attempts: '2' });
    expect(calls[0]?.attributes?.ErrorMessage).toMatch(/waited 43\d{4} s .*345600 s/);
    expect(published[0]?.detail.error?.code).toBe('CIRCUIT_BREAKER_OPEN');
  });
});

describe('SQS batches: failures of SQS itself', () => {
  it.each<['changeVisibility' | 'requeue', () => ConnectorError]>([
    ['changeVisibility', () => new ConnectorError('UPSTREAM_ERROR', 'down', { upstreamStatus: 503 })],
    ['requeue', () => new ConnectorError('CIRCUIT_BREAKER_OPEN', 'open', { retryAfterSeconds: 5 })],
  ])(
    'a failed %s fails the record (SQS delivers it again) and is logged as DEPENDENCY_UNAVAILABLE',
    async (operation, makeError) => {
      // Prepare
      const output = captureOutput();
      const { handler, calls } = build(
        async () => {
          throw makeError();
        },
        { fail: [operation] },
      );
      const record = sqsRecord(requestEvent());

      // Act
      const response = await deliver(handler, record);

      // Assess
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(calls.filter((c) => c.kind === 'deadLetter')).toEqual([]);
      expect(output.text()).toContain('SQS refused a call');
    },
  );
});

describe('SQS batches: result events that cannot be published (defect 8 of issue 8)', () => {
  let dynamo: LocalDynamoDB;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDB();
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  /** A connector with a real idempotency store whose bus refuses the first `failures` publications. */
  function withStore(failures: number, options: { fail?: ReadonlyArray<keyof QueuePort> } = {}) {
    const { queue, calls } = fakeQueue(options);
    const published: ResultEvent[] = [];
    let refusals = failures;
    let sideEffects = 0;
    const handler = scriptedConnector(async (input) => {
      sideEffects += 1;
      return { charged: input.n };
    }).createHandler({
      config: config(),
      credentials,
      idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
      queue,
      results: {
        publish: async (events) => {
          if (refusals > 0) {
            refusals -= 1;
            throw new Error('EventBridge: ThrottlingException');
          }
          published.push(...events);
        },
      },
    });
    return { handler, calls, published, sideEffects: () => sideEffects };
  }

  /** The record SQS delivers for a message the runtime requeued (a new message, first receive). */
  function requeued(call: { message: QueueMessage; attributes?: Record<string, string> }): SQSRecord {
    const { PriorAttempts, ...rest } = call.attributes ?? {};
    return sqsRecord(call.message.body, 1, Number(PriorAttempts), rest);
  }

  it('puts a succeeded event back without spending an attempt; the next delivery publishes the stored result, with no second side effect', async () => {
    // Prepare
    const { handler, calls, published, sideEffects } = withStore(1);
    const record = sqsRecord(requestEvent({ input: { n: 7 } }), 2);

    // Act
    const first = await deliver(handler, record);
    const second = await deliver(handler, requeued(calls[0] ?? { message: { body: '', receiptHandle: '' } }));

    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(calls).toEqual([
      expect.objectContaining({
        kind: 'requeue',
        attributes: { PriorAttempts: '1', Requeues: '1', SucceededAt: expect.any(String) },
      }),
    ]);
    expect(second.batchItemFailures).toEqual([]);
    expect(sideEffects()).toBe(1);
    expect(published).toEqual([
      expect.objectContaining({
        detailType: INVOCATION_SUCCEEDED,
        detail: expect.objectContaining({ attempts: 2, output: { charged: 7 }, idempotentReplay: true }),
      }),
    ]);
  });

  it('fails the record when SQS cannot take it back either, so that SQS delivers it again', async () => {
    // Prepare
    const { handler, calls } = withStore(1, { fail: ['requeue'] });
    const record = sqsRecord(requestEvent());

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(calls).toEqual([]);
  });

  it('dead-letters it as DEPENDENCY_UNAVAILABLE, saying it succeeded, once the idempotency record would expire before the next delivery', async () => {
    // Prepare
    const { handler, calls, published } = withStore(1);
    const anHourAgo = String(Date.now() - 3_600_000);
    const record = sqsRecord(requestEvent(), 1, 0, { Requeues: '9', SucceededAt: anHourAgo });

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map((c) => c.kind)).toEqual(['deadLetter']);
    expect(calls[0]?.attributes).toMatchObject({
      ErrorCode: 'DEPENDENCY_UNAVAILABLE',
      ErrorSource: 'connector',
    });
    expect(calls[0]?.attributes?.ErrorMessage).toMatch(
      /^The event succeeded, but its result event could not be published/,
    );
    expect(published).toEqual([]);
  });

  it('keeps a failed event in the dead-letter queue and logs the unpublished failure, without running it again', async () => {
    // Prepare
    const output = captureOutput();
    const { queue, calls } = fakeQueue();
    const handler = scriptedConnector(async () => {
      throw new ConnectorError('UPSTREAM_REJECTED', 'no', { upstreamStatus: 400 });
    }).createHandler({
      config: config(),
      credentials,
      queue,
      results: {
        publish: async () => {
          throw new Error('EventBridge: InternalFailure');
        },
      },
    });
    const record = sqsRecord(requestEvent());

    // Act
    const response = await deliver(handler, record);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map((c) => [c.kind, c.attributes?.ErrorCode])).toEqual([
      ['deadLetter', 'UPSTREAM_REJECTED'],
    ]);
    expect(output.text()).toContain(
      'The result event could not be published; the event is in the dead-letter queue',
    );
  });

  it('throws DEPENDENCY_UNAVAILABLE for a request event invoked directly, so that Lambda retries it', async () => {
    // Prepare
    const { handler, sideEffects } = withStore(1);
    const event = requestEvent();

    // Act
    const first = handler(event, lambdaContext());
    await expect(first).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', retryable: true });
    const retried = await handler(event, lambdaContext());

    // Assess
    expect(retried).toMatchObject({ idempotentReplay: true });
    expect(sideEffects()).toBe(1);
  });
});

describe('requeueDelaySeconds', () => {
  const settings = {
    async: { backoffBaseSeconds: 2, backoffMaxSeconds: 900, batchSize: 10, maxConcurrency: 5 },
    rateLimit: { requestsPerSecond: 5, burst: 5 },
  } as Parameters<typeof requeueDelaySeconds>[2];

  it('starts at the Retry-After and adds an equal-jitter wait that grows with the requeues, capped at 900 s', () => {
    // Prepare
    const error = { code: 'CIRCUIT_BREAKER_OPEN', source: 'connector', retryAfterSeconds: 30 } as const;

    // Act
    const lowest = [1, 2, 3, 10, 20].map((n) => requeueDelaySeconds(error, n, settings, () => 0));
    const highest = [1, 2, 3, 10, 20].map((n) => requeueDelaySeconds(error, n, settings, () => 0.999999));

    // Assess
    expect(lowest).toEqual([31, 32, 34, 30 + 450, 30 + 450]);
    highest.forEach((value, i) => {
      expect(value).toBeCloseTo([32, 34, 38, 900, 900][i] ?? 0, 3);
    });
  });

  it("brings the connector's own rate limit back at the event's slot, within one refill interval, or later when the growing wait says so", () => {
    // Prepare
    // 5 requests per second: one slot every 0.2 s.
    const error = { code: 'RATE_LIMIT_EXCEEDED', source: 'connector', retryAfterSeconds: 1 } as const;

    // Act
    const atSlot = [0, 0.5, 0.999999].map((r) => requeueDelaySeconds(error, 1, settings, () => r, 7));
    const noSlot = requeueDelaySeconds(error, 1, settings, () => 0);
    const later = requeueDelaySeconds(error, 7, settings, () => 0.999999, 7);

    // Assess
    expect(atSlot[0]).toBe(7);
    expect(atSlot[1]).toBeCloseTo(7.1, 5);
    expect(atSlot[2]).toBeCloseTo(7.2, 3);
    expect(noSlot).toBe(1);
    // Seventh requeue: the growing wait (2 × 2^6 = 128 s) is later than the slot.
    expect(later).toBeCloseTo(128, 3);
  });
});

describe('RateLimitSlots', () => {
  it('hands out slots one refill interval apart from the next token on, never past 900 s', () => {
    // Prepare
    const slots = new RateLimitSlots(5);
    const now = 1_000_000;

    // Act
    const burst = [1, 2, 3, 4].map(() => slots.take(now, now + 1_000));
    const farAway = new RateLimitSlots(0.001).take(now, now);
    const capped = new RateLimitSlots(1);
    const first = capped.take(now, now + 899_500);
    const second = capped.take(now, now);
    const third = capped.take(now, now);

    // Assess
    expect(burst).toEqual([1, 1.2, 1.4, 1.6].map((s) => expect.closeTo(s, 9)));
    expect(farAway).toBe(0);
    expect(first).toBe(899.5);
    // The slot at 900.5 s is beyond what SQS can delay: the event comes back at 900 s, the slot stays free.
    expect([second, third]).toEqual([900, 900]);
  });
});

describe('redeliveryDelaySeconds', () => {
  it('grows exponentially from the base, is capped, and keeps at least half the ceiling', () => {
    // Prepare
    const settings = { backoffBaseSeconds: 2, backoffMaxSeconds: 20 };

    // Act
    const lowest = [1, 2, 3, 4, 5].map((attempt) => redeliveryDelaySeconds(attempt, settings, () => 0));
    const highest = [1, 2, 3, 4, 5].map((attempt) =>
      redeliveryDelaySeconds(attempt, settings, () => 0.999999),
    );

    // Assess
    expect(lowest).toEqual([1, 2, 4, 8, 10]);
    highest.forEach((value, i) => {
      expect(value).toBeCloseTo([2, 4, 8, 16, 20][i] ?? 0, 3);
    });
  });
});

describe('request events invoked directly', () => {
  it('returns and publishes the success', async () => {
    // Prepare
    const { handler, published } = build(async () => 'done');
    const event = requestEvent();

    // Act
    const detail = await handler(event, lambdaContext());

    // Assess
    expect(detail).toMatchObject({
      eventId: event.id,
      idempotencyKey: event.id,
      attempts: 1,
      output: 'done',
    });
    expect(published[0]?.detailType).toBe(INVOCATION_SUCCEEDED);
  });

  it('throws a retryable failure so that Lambda retries the event', async () => {
    // Prepare
    const { handler, published } = build(async () => {
      throw new ConnectorError('UPSTREAM_ERROR', 'down', { upstreamStatus: 503 });
    });

    // Act
    const act = handler(requestEvent(), lambdaContext());

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(published).toEqual([]);
  });

  it('returns and publishes a failure that cannot succeed later', async () => {
    // Prepare
    const { handler, published } = build(async () => {
      throw new ConnectorError('UPSTREAM_REJECTED', 'no', { upstreamStatus: 400 });
    });

    // Act
    const detail = await handler(requestEvent(), lambdaContext());

    // Assess
    expect(detail.error).toMatchObject({ code: 'UPSTREAM_REJECTED', upstreamStatus: 400 });
    expect(published[0]?.detailType).toBe(INVOCATION_FAILED);
  });
});

describe('the http connector on the asynchronous path', () => {
  it('calls the vendor once per event, and redacts credentials echoed into the result event', async () => {
    // Prepare
    const { queue } = fakeQueue();
    const published: ResultEvent[] = [];
    const fetch = vi.fn(async () =>
      Response.json(
        { echoed: 'Bearer tok-example' },
        { status: 200, headers: { 'content-type': 'application/json' } },
      ),
    );
    const redactor = new Redactor();
    // Like the real stores, hand the secret out registered with the redactor.
    const registering: CredentialStore = {
      getSecret: async () => {
        const secret = { token: 'tok-example' };
        redactor.addSecretValues(secret);
        return secret;
      },
    };
    const handler = httpConnector.createHandler({
      config: parseConnectorConfig(
        {
          kind: 'http',
          name: 'vendor',
          baseUrl: 'https://api.example.com',
          auth: { type: 'bearer', secret: 'vendor' },
          allowedPathPrefixes: ['/items'],
        },
        'test',
      ),
      credentials: registering,
      redactor,
      powertools: createPowertools({ serviceName: 'vendor', redactor }),
      fetch,
      queue,
      results: { publish: async (events) => void published.push(...events) },
    });
    const event = requestEvent({ operation: 'request', input: { method: 'GET', path: '/items/1' } });

    // Act
    const response = await deliver(handler, sqsRecord(event));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(published[0]?.detail.output).toMatchObject({ status: 200, body: { echoed: 'Bearer [REDACTED]' } });
  });
});
