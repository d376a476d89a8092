/**
 * Issue 8, defect 11: caller input nested thousands of levels deep overflowed the stack (500 on the
 * API, INTERNAL_ERROR dead letters on the asynchronous path). A depth and a size limit, checked
 * without recursion before anything recursive reads the input, answer 400 VALIDATION_ERROR.
 */
import type { APIGatewayProxyResult, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  DEFAULT_INPUT_LIMITS,
  INVOCATION_FAILED,
  INVOCATION_REQUESTED,
  nestingDepth,
  type QueueMessage,
  type RequestEvent,
  type ResultDetail,
  type ResultEvent,
} from '../../functions/shared/runtime/index.js';
import { sqsEvent } from '../../local/lambda-events.js';
import { apiGatewayEvent, captureOutput, lambdaContext, scriptedFetch } from '../support/fakes.js';

const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});

/** `[[[…]]]` nested `levels` deep, as JSON text (built without recursion). */
function nestedArrays(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

/** The http connector's `request` input with `bodyJson` (raw JSON text) as the body it sends. */
function requestWithBody(bodyJson: string): string {
  return `{"method":"POST","path":"/anything/deep","body":${bodyJson}}`;
}

function build(inputLimits?: { maxDepth?: number; maxBodyBytes?: number }) {
  const output = captureOutput();
  const redactor = new Redactor();
  const { fetch, requests } = scriptedFetch({ status: 200, body: { ok: true } });
  const deadLetters: Array<{ message: QueueMessage; attributes: Record<string, string> }> = [];
  const published: ResultEvent[] = [];
  const handler = httpConnector.createHandler({
    config: parseConnectorConfig(
      {
        kind: 'http',
        name: 'httpbin',
        baseUrl: 'https://httpbin.example.com',
        auth: { type: 'bearer', secret: 'httpbin' },
        allowedMethods: ['POST'],
        allowedPathPrefixes: ['/anything'],
        retry: { maxAttempts: 1 },
      },
      'test',
    ),
    credentials,
    powertools: createPowertools({ serviceName: 'test', redactor }),
    redactor,
    fetch,
    queue: {
      changeVisibility: async () => {},
      requeue: async () => {},
      deadLetter: async (message, attributes) =>
        void deadLetters.push({ message, attributes: { ...attributes } }),
    },
    results: { publish: async (events) => void published.push(...events) },
    ...(inputLimits ? { inputLimits } : {}),
  });
  return { handler, requests, deadLetters, published, output };
}

function errorOf(result: APIGatewayProxyResult) {
  return (JSON.parse(result.body) as { error: { code: string; details?: Array<{ message: string }> } }).error;
}

/** One SQS delivery of a request event whose `detail` is raw JSON text. */
function sqsDelivery(detailJson: string): SQSEvent {
  const body = `{"version":"0","id":"evt-deep","detail-type":"${INVOCATION_REQUESTED}","source":"orders.service","detail":${detailJson}}`;
  return sqsEvent('httpbin', [
    {
      messageId: 'msg-deep',
      receiptHandle: 'rh-deep',
      body,
      messageAttributes: {},
      receiveCount: 1,
      sentAtMs: 1_795_270_000_000,
      firstReceivedAtMs: 1_795_270_000_001,
    },
  ]);
}

describe('input limits through the API', () => {
  it.each([2_000, 5_000, 100_000])(
    'answers 400 VALIDATION_ERROR naming maxDepth for a body nested %i levels, without calling the vendor',
    async (levels) => {
      // Prepare
      const { handler, requests } = build();

      // Act
      const result = await handler(
        apiGatewayEvent({ body: requestWithBody(nestedArrays(levels)) }),
        lambdaContext(),
      );

      // Assess
      expect(result.statusCode).toBe(400);
      const error = errorOf(result);
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.details?.[0]?.message).toContain('maxDepth');
      expect(requests).toHaveLength(0);
    },
  );

  it('accepts input nested exactly maxDepth levels', async () => {
    // Prepare: the request object is level 1, so its body may nest maxDepth − 1 levels.
    const { handler, requests } = build();
    const body = requestWithBody(nestedArrays(DEFAULT_INPUT_LIMITS.maxDepth - 1));

    // Act
    const result = await handler(apiGatewayEvent({ body }), lambdaContext());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(requests).toHaveLength(1);
  });

  it('answers 400 VALIDATION_ERROR naming maxBodyBytes for a body over the size limit, without calling the vendor', async () => {
    // Prepare
    const { handler, requests } = build();
    const big = JSON.stringify('x'.repeat(DEFAULT_INPUT_LIMITS.maxBodyBytes));

    // Act
    const result = await handler(apiGatewayEvent({ body: requestWithBody(big) }), lambdaContext());

    // Assess
    expect(result.statusCode).toBe(400);
    const error = errorOf(result);
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details?.[0]?.message).toContain('maxBodyBytes');
    expect(requests).toHaveLength(0);
  });
});

describe('input limits a handler is built with', () => {
  it('applies the limits of ConnectorDependencies.inputLimits instead of the defaults', async () => {
    // Prepare
    const { handler, requests } = build({ maxDepth: 3, maxBodyBytes: 200 });

    // Act
    const deep = await handler(apiGatewayEvent({ body: requestWithBody(nestedArrays(3)) }), lambdaContext());
    const large = await handler(
      apiGatewayEvent({ body: requestWithBody(JSON.stringify('x'.repeat(200))) }),
      lambdaContext(),
    );
    const fine = await handler(apiGatewayEvent({ body: requestWithBody(nestedArrays(2)) }), lambdaContext());

    // Assess
    expect(errorOf(deep).details?.[0]?.message).toContain('deeper than 3 levels (maxDepth)');
    expect(errorOf(large).details?.[0]?.message).toContain('200 allowed (maxBodyBytes)');
    expect(fine.statusCode).toBe(200);
    expect(requests).toHaveLength(1);
  });
});

describe('input limits on the asynchronous path', () => {
  it('dead-letters an SQS event with input nested 5,000 levels as VALIDATION_ERROR, not INTERNAL_ERROR', async () => {
    // Prepare
    const { handler, requests, deadLetters, published } = build();
    const detail = `{"connector":"httpbin","operation":"request","input":${requestWithBody(nestedArrays(5_000))}}`;

    // Act
    await handler(sqsDelivery(detail), lambdaContext());

    // Assess
    expect(requests).toHaveLength(0);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.attributes.ErrorCode).toBe('VALIDATION_ERROR');
    expect(deadLetters[0]?.attributes.ErrorMessage).toContain('maxDepth');
    expect(published.map((e) => e.detailType)).toEqual([INVOCATION_FAILED]);
  });

  it('answers a request event invoked directly with input nested 5,000 levels with VALIDATION_ERROR', async () => {
    // Prepare
    const { handler, requests } = build();
    const event = JSON.parse(
      `{"version":"0","id":"evt-direct","detail-type":"${INVOCATION_REQUESTED}","source":"orders.service","detail":{"connector":"httpbin","operation":"request","input":${requestWithBody(nestedArrays(5_000))}}}`,
    ) as RequestEvent;

    // Act
    const result = (await handler(event, lambdaContext())) as ResultDetail;

    // Assess
    expect(result.error).toMatchObject({ code: 'VALIDATION_ERROR', retryable: false });
    expect(requests).toHaveLength(0);
  });
});

describe('nestingDepth', () => {
  /** The obvious recursive definition, for JSON values shallow enough to recurse on. */
  function recursiveDepth(value: unknown): number {
    if (typeof value !== 'object' || value === null) return 0;
    const children = Array.isArray(value) ? value : Object.values(value);
    return 1 + Math.max(0, ...children.map(recursiveDepth));
  }

  it('agrees with the recursive definition on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        expect(nestingDepth(value)).toBe(recursiveDepth(value));
      }),
    );
  });

  it('stops just past the bound it is given, without recursing, on a value 200,000 levels deep', () => {
    // Prepare
    const value = JSON.parse(nestedArrays(200_000)) as unknown;

    // Act
    const depth = nestingDepth(value, 64);

    // Assess
    expect(depth).toBe(65);
  });
});
