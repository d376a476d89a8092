/**
 * Issue 13, deliverable 2: the rate limit shared by every instance of a connector
 * (`rateLimit.scope: "shared"`), leased in blocks from the idempotency table, over dynalite.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import {
  ConfigValidationError,
  parseConnectorConfig,
  parseSuiteConfig,
} from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import {
  createSharedRateLimiter,
  defaultLeaseSize,
  type SharedRateLimiter,
  type SharedRateLimiterOptions,
} from '../../functions/shared/http/shared-rate-limit.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { type LocalGateway, putEvents, startLocalGateway } from '../../local/gateway.js';
import { dynamoErrors, type FaultyDynamoClient, faultyDynamoClient } from '../support/dynamodb-faults.js';
import { apiGatewayEvent, captureOutput, lambdaContext, scriptedFetch } from '../support/fakes.js';
import { waitFor } from '../support/local-fakes.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };

let dynamo: LocalDynamoDB;
let counting: FaultyDynamoClient;
let connectorSeq = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  counting = faultyDynamoClient(dynamo.endpoint);
});

afterAll(async () => {
  counting?.client.destroy();
  await dynamo?.close();
});

/** A connector name of its own, so that each test starts from a full bucket. */
function freshConnector(): string {
  connectorSeq += 1;
  return `shared-limit-${connectorSeq}`;
}

function limiter(
  options: Partial<SharedRateLimiterOptions> & Pick<SharedRateLimiterOptions, 'connector'>,
): SharedRateLimiter {
  return createSharedRateLimiter({
    dynamoClient: dynamo.client,
    tableName: dynamo.tableName,
    requestsPerSecond: 10,
    burst: 10,
    ...options,
  });
}

/** Writes (and reads) `counting` sent since `from`. */
function commandsSince(from: number): { updates: number; reads: number } {
  const sent = counting.calls.slice(from);
  return {
    updates: sent.filter((call) => call.command === 'UpdateItemCommand').length,
    reads: sent.filter((call) => call.command === 'GetItemCommand').length,
  };
}

describe('config', () => {
  const base = {
    name: 'vendor',
    kind: 'http',
    baseUrl: 'https://api.example.com',
    allowedPathPrefixes: ['/'],
  };

  it('keeps the instance scope by default: the parsed rate limit is unchanged', () => {
    const config = parseConnectorConfig(base, 'test');
    expect(config.rateLimit).toEqual({ requestsPerSecond: 50, burst: 100 });
  });

  it('accepts scope shared with a lease size within the burst', () => {
    const config = parseConnectorConfig(
      { ...base, rateLimit: { requestsPerSecond: 10, burst: 20, scope: 'shared', leaseSize: 5 } },
      'test',
    );
    expect(config.rateLimit).toEqual({ requestsPerSecond: 10, burst: 20, scope: 'shared', leaseSize: 5 });
  });

  it.each([
    ['a lease size over the burst', { burst: 5, scope: 'shared', leaseSize: 6 }, /rateLimit\.leaseSize/],
    ['an unknown scope', { scope: 'global' }, /rateLimit\.scope/],
    ['a lease size of 0', { scope: 'shared', leaseSize: 0 }, /rateLimit\.leaseSize/],
  ])('rejects %s, naming the field', (_label, rateLimit, field) => {
    let thrown: unknown;
    try {
      parseConnectorConfig({ ...base, rateLimit }, 'test');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigValidationError);
    expect((thrown as ConfigValidationError).issues.join('\n')).toMatch(field);
  });

  it('refuses scope shared without an idempotency table, with CONFIGURATION_ERROR', () => {
    const config = parseConnectorConfig({ ...base, rateLimit: { scope: 'shared' } }, 'test');
    expect(() => httpConnector.createHandler({ config, credentials })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
  });

  it('defaults the lease size to a tenth of a second of tokens, within 1 … burst', () => {
    expect(defaultLeaseSize(100, 100)).toBe(10);
    expect(defaultLeaseSize(3, 10)).toBe(1);
    expect(defaultLeaseSize(1_000, 20)).toBe(20);
  });
});

describe('the fleet stays within the limit (injected clock)', () => {
  it('N instances on one table never admit more than R·W + burst + the tokens held in leases', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 200 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({
            advanceMs: fc.integer({ min: 0, max: 60 }),
            instance: fc.nat(),
            takes: fc.integer({ min: 1, max: 6 }),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        async (instances, requestsPerSecond, burst, leaseSizeWish, steps) => {
          let now = T0;
          const clock = () => now;
          const leaseSize = Math.min(burst, leaseSizeWish);
          const connector = freshConnector();
          const fleet = Array.from({ length: instances }, () =>
            limiter({ connector, requestsPerSecond, burst, leaseSize, clock, leaseTimeoutMs: 10_000 }),
          );
          const admittedAt: number[] = [];
          for (const step of steps) {
            now += step.advanceMs;
            const instance = fleet[step.instance % instances] as SharedRateLimiter;
            const results = await Promise.all(Array.from({ length: step.takes }, () => instance.tryTake()));
            for (const result of results) if (result.ok) admittedAt.push(now);
          }
          expect(fleet.every((member) => !member.fallingBack)).toBe(true);
          const excess = burst + instances * leaseSize;
          for (const windowMs of [100, 1_000]) {
            for (const start of admittedAt) {
              const inWindow = admittedAt.filter((at) => at >= start && at < start + windowMs).length;
              expect(inWindow).toBeLessThanOrEqual(
                Math.floor((requestsPerSecond * windowMs) / 1_000) + excess,
              );
            }
          }
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);

  it('a busy instance writes once per lease of leaseSize tokens, and never reads, once under way', async () => {
    // Prepare: 100 req/s, leases of 10; one call every 12 ms (83 per s, under the limit).
    let now = T0;
    const shared = createSharedRateLimiter({
      dynamoClient: counting.client,
      tableName: dynamo.tableName,
      connector: freshConnector(),
      requestsPerSecond: 100,
      burst: 20,
      leaseSize: 10,
      clock: () => now,
      leaseTimeoutMs: 10_000,
    });
    const from = counting.calls.length;

    // Act
    let admitted = 0;
    for (let call = 0; call < 400; call++) {
      now += 12;
      if ((await shared.tryTake()).ok) admitted += 1;
    }

    // Assess: the first leases ramp up 1, 2, 4, 8, then 10 each.
    expect(admitted).toBe(400);
    const { updates, reads } = commandsSince(from);
    expect(updates).toBe(shared.writes);
    expect(updates).toBeLessThanOrEqual(Math.ceil(admitted / 10) + 4);
    expect(reads).toBe(0);
  });

  it('concurrent callers of one instance share one lease request at a time', async () => {
    const shared = createSharedRateLimiter({
      dynamoClient: counting.client,
      tableName: dynamo.tableName,
      connector: freshConnector(),
      requestsPerSecond: 100,
      burst: 20,
      leaseSize: 10,
      clock: () => T0,
    });
    const from = counting.calls.length;

    const results = await Promise.all(Array.from({ length: 10 }, () => shared.tryTake()));

    expect(results.every((result) => result.ok)).toBe(true);
    // Leases of 1, 2, 4 and 8 tokens, one after the other: 4 writes for 10 callers.
    expect(commandsSince(from).updates).toBe(4);
  });

  it('answers an instance over the fleet limit from memory until the fleet has tokens again', async () => {
    let now = T0;
    const connector = freshConnector();
    const first = limiter({ connector, requestsPerSecond: 1, burst: 2, leaseSize: 2, clock: () => now });
    const second = createSharedRateLimiter({
      dynamoClient: counting.client,
      tableName: dynamo.tableName,
      connector,
      requestsPerSecond: 1,
      burst: 2,
      clock: () => now,
    });
    expect((await first.tryTake()).ok).toBe(true);
    expect((await first.tryTake()).ok).toBe(true);

    const from = counting.calls.length;
    const refused = await second.tryTake();
    const refusedAgain = await second.tryTake();

    expect(refused).toEqual({ ok: false, retryAfterMs: 1_000 });
    expect(refusedAgain).toEqual({ ok: false, retryAfterMs: 1_000 });
    expect(commandsSince(from)).toEqual({ updates: 2, reads: 1 });
    now += 1_000;
    expect((await second.tryTake()).ok).toBe(true);
  });
});

describe('DynamoDB failing', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('falls back to the instance’s own bucket, logs and counts SharedStateFailures once, then tries again', async () => {
    // Prepare
    const output = captureOutput();
    let now = T0;
    const faulty = faultyDynamoClient(dynamo.endpoint, [
      { command: 'UpdateItemCommand', error: dynamoErrors.internal },
    ]);
    const powertools = createPowertools({ serviceName: 'shared-limit-test', redactor: new Redactor() });
    const shared = createSharedRateLimiter({
      dynamoClient: faulty.client,
      tableName: dynamo.tableName,
      connector: freshConnector(),
      requestsPerSecond: 5,
      burst: 3,
      clock: () => now,
      fallbackMs: 5_000,
      powertools,
    });

    // Act: the instance's own bucket (burst 3) admits 3, refuses the 4th, without asking DynamoDB again.
    const results = [];
    for (let call = 0; call < 4; call++) results.push(await shared.tryTake());
    powertools.metrics.publishStoredMetrics();

    // Assess
    expect(results.map((result) => result.ok)).toEqual([true, true, true, false]);
    expect(shared.fallingBack).toBe(true);
    expect(faulty.calls.filter((call) => call.command === 'UpdateItemCommand')).toHaveLength(1);
    const lines = output.lines();
    const documents = lines.filter((line) => '_aws' in line && 'SharedStateFailures' in line);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ SharedStateFailures: 1, feature: 'rateLimit' });
    const warnings = lines.filter((line) => String(line.message).startsWith('Shared rate limit unavailable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'WARN',
      feature: 'rateLimit',
      errorName: 'InternalServerError',
    });

    // Healed, and past the fallback: shared again.
    faulty.setFaults([]);
    now += 5_000;
    expect((await shared.tryTake()).ok).toBe(true);
    expect(shared.fallingBack).toBe(false);
    faulty.client.destroy();
  });

  it('bounds a lease request by its timeout, then falls back (calls flow)', async () => {
    captureOutput();
    const faulty = faultyDynamoClient(dynamo.endpoint, [
      { command: 'UpdateItemCommand', error: dynamoErrors.timeout, stallMs: 3_000 },
    ]);
    const shared = createSharedRateLimiter({
      dynamoClient: faulty.client,
      tableName: dynamo.tableName,
      connector: freshConnector(),
      requestsPerSecond: 5,
      burst: 3,
      leaseTimeoutMs: 50,
    });

    const startedAt = Date.now();
    const result = await shared.tryTake();

    expect(result.ok).toBe(true);
    expect(shared.fallingBack).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(2_500);
    faulty.client.destroy();
  });

  it('never waits past the caller’s deadline, and a deadline is no failure of DynamoDB', async () => {
    const faulty = faultyDynamoClient(dynamo.endpoint, [
      { command: 'UpdateItemCommand', error: dynamoErrors.timeout, stallMs: 3_000 },
    ]);
    const shared = createSharedRateLimiter({
      dynamoClient: faulty.client,
      tableName: dynamo.tableName,
      connector: freshConnector(),
      requestsPerSecond: 5,
      burst: 3,
      leaseTimeoutMs: 10_000,
    });

    const startedAt = Date.now();
    const result = await shared.tryTake(Date.now() + 50);

    expect(result.ok).toBe(false);
    expect(shared.fallingBack).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(2_500);
    faulty.client.destroy();
  });
});

describe('through the real http handler', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function instance(connectorName: string, dynamoClient: DynamoDBClient, rateLimit: Record<string, unknown>) {
    const config = parseConnectorConfig(
      {
        name: connectorName,
        kind: 'http',
        baseUrl: 'https://api.vendor.example',
        auth: { type: 'bearer', secret: 'vendor' },
        allowedPathPrefixes: ['/items'],
        retry: { maxAttempts: 1 },
        rateLimit,
      },
      'test',
    );
    const upstream = scriptedFetch({ status: 200, body: { ok: true } });
    const handler = httpConnector.createHandler({
      config,
      credentials,
      fetch: upstream.fetch,
      redactor: new Redactor(),
      idempotency: { dynamoClient, tableName: dynamo.tableName },
    });
    return { handler, upstream };
  }

  const get = (connector: string) =>
    apiGatewayEvent({ connector, body: { method: 'GET', path: '/items/1' } });

  it('answers over the fleet limit with 429 RATE_LIMIT_EXCEEDED, source connector, and Retry-After', async () => {
    // Prepare: two instances of one connector, 1 request per second and a burst of 2 for both together.
    captureOutput();
    const name = freshConnector();
    const rateLimit = { requestsPerSecond: 1, burst: 2, scope: 'shared' };
    const first = instance(name, dynamo.client, rateLimit);
    const second = instance(name, dynamo.client, rateLimit);

    // Act
    const answers = [];
    for (const { handler } of [first, first, second]) answers.push(await handler(get(name), lambdaContext()));

    // Assess
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 429]);
    const refused = answers[2];
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({
      error: { code: 'RATE_LIMIT_EXCEEDED', source: 'connector' },
    });
    expect(refused?.headers?.['Retry-After'] ?? refused?.headers?.['retry-after']).toBe('1');
    expect(first.upstream.requests).toHaveLength(2);
    expect(second.upstream.requests).toHaveLength(0);
  });

  it('lets calls flow on the instance’s own bucket while DynamoDB fails', async () => {
    captureOutput();
    const faulty = faultyDynamoClient(dynamo.endpoint, [
      { command: 'UpdateItemCommand', error: dynamoErrors.throttled },
    ]);
    const name = freshConnector();
    const { handler, upstream } = instance(name, faulty.client, {
      requestsPerSecond: 1,
      burst: 3,
      scope: 'shared',
    });

    const answers = [];
    for (let call = 0; call < 4; call++) answers.push(await handler(get(name), lambdaContext()));

    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 429]);
    expect(upstream.requests).toHaveLength(3);
    faulty.client.destroy();
  });
});

describe('two local gateways on one DynamoDB endpoint', () => {
  let upstream: Server;
  const gateways: LocalGateway[] = [];
  let served = 0;

  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  });

  it('behave as two instances: together they stay within the shared limit', async () => {
    // Prepare: two `npm start` processes in small (each its own DynamoDB client) and one upstream.
    captureOutput();
    upstream = createServer((req, res) => {
      req.resume();
      served += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    const config = parseSuiteConfig(
      {
        connectors: [
          {
            name: freshConnector(),
            kind: 'http',
            baseUrl: `http://127.0.0.1:${port}`,
            allowedPathPrefixes: ['/orders'],
            retry: { maxAttempts: 1 },
            rateLimit: { requestsPerSecond: 1, burst: 2, scope: 'shared' },
          },
        ],
      },
      'test',
      { allowLoopbackHttp: true },
    );
    const name = config.connectors[0]?.name ?? '';
    for (let n = 0; n < 2; n++) {
      gateways.push(
        await startLocalGateway({ config, credentials, port: 0, dynamoDBEndpoint: dynamo.endpoint }),
      );
    }
    const call = (gateway: LocalGateway) =>
      fetch(`${gateway.url}/v1/connectors/${name}/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'GET', path: '/orders/1' }),
      });
    const [first, second] = gateways as [LocalGateway, LocalGateway];

    // Act
    const answers = [];
    for (const gateway of [first, first, second]) answers.push(await call(gateway));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[2]?.headers.get('retry-after')).toBe('1');
    expect(await answers[2]?.json()).toMatchObject({
      error: { code: 'RATE_LIMIT_EXCEEDED', source: 'connector' },
    });
    expect(served).toBe(2);
  });

  it('delays events over the shared limit on the asynchronous path without spending their attempts', async () => {
    // Prepare: 12 events against a shared burst of 2 refilled at 10 per second; two deliveries at
    // most, so an event whose attempt the limit spent would be dead-lettered at once.
    const config = parseSuiteConfig(
      {
        connectors: [
          {
            name: freshConnector(),
            kind: 'http',
            baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
            allowedPathPrefixes: ['/orders'],
            rateLimit: { requestsPerSecond: 10, burst: 2, scope: 'shared' },
            async: { maxReceiveCount: 2, backoffBaseSeconds: 0.1, backoffMaxSeconds: 1 },
          },
        ],
      },
      'test',
      { allowLoopbackHttp: true },
    );
    const name = config.connectors[0]?.name ?? '';
    const gateway = await startLocalGateway({
      config,
      credentials,
      port: 0,
      dynamoDBEndpoint: dynamo.endpoint,
      pollIntervalMs: 5,
    });
    gateways.push(gateway);
    const queue = gateway.queues.get(name);
    if (!queue) throw new Error('expected the inbox');
    const servedBefore = served;
    const events = Array.from({ length: 12 }, (_, n) => ({
      source: 'com.example.shop',
      'detail-type': INVOCATION_REQUESTED,
      detail: { connector: name, operation: 'request', input: { method: 'GET', path: `/orders/${n}` } },
    }));

    // Act
    const startedAt = Date.now();
    putEvents(events, gateway.queues);
    await waitFor(() => {
      const stats = queue.stats();
      return stats.succeeded + stats.deadLettered === events.length;
    }, 'the 12 events to end');

    // Assess
    expect(queue.deadLetters()).toEqual([]);
    expect(queue.stats()).toMatchObject({ succeeded: 12, deadLettered: 0 });
    expect(served - servedBefore).toBe(12);
    // The limit held them back: 10 events past the burst at 10 per second take 1 s at least.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
  }, 90_000);
});

describe('the fleet rate in real time', () => {
  it('three instances hammering for 3 s together admit R·3 ± 10 %, plus the burst and leases', async () => {
    const requestsPerSecond = 20;
    const burst = 5;
    const leaseSize = 2;
    const connector = freshConnector();
    const fleet = Array.from({ length: 3 }, () =>
      limiter({ connector, requestsPerSecond, burst, leaseSize, leaseTimeoutMs: 2_000 }),
    );
    const endsAt = Date.now() + 3_000;
    let admitted = 0;

    await Promise.all(
      fleet.map(async (member) => {
        while (Date.now() < endsAt) {
          const result = await member.tryTake(endsAt);
          if (result.ok) admitted += 1;
          else await new Promise((resolve) => setTimeout(resolve, Math.min(result.retryAfterMs, 20) || 1));
        }
      }),
    );

    expect(fleet.every((member) => !member.fallingBack)).toBe(true);
    expect(admitted).toBeLessThanOrEqual(Math.ceil(requestsPerSecond * 3 * 1.1) + burst + 3 * leaseSize);
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(requestsPerSecond * 3 * 0.9));
  }, 30_000);
});
