/**
 * The circuit breaker a fleet shares (issue 13): several "instances" (one SharedCircuitBreaker each,
 * each with its own DynamoDB client) on one dynalite table, with an injected clock, so no test
 * waits for wall-clock time.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSuiteConfig } from '../../functions/shared/config.js';
import {
  type CircuitBreakerSettings,
  CircuitOpenError,
} from '../../functions/shared/http/circuit-breaker.js';
import { HttpClient } from '../../functions/shared/http/client.js';
import {
  createSharedCircuitBreaker,
  type SharedCircuitBreaker,
} from '../../functions/shared/http/shared-circuit-breaker.js';
import {
  type ConnectorMetrics,
  createPowertools,
  type Powertools,
} from '../../functions/shared/powertools.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { dynamoErrors, type FaultyDynamoClient, faultyDynamoClient } from '../support/dynamodb-faults.js';

const SETTINGS: CircuitBreakerSettings = {
  failureRateThreshold: 0.5,
  minimumCalls: 2,
  windowSeconds: 60,
  openSeconds: 30,
  scope: 'shared',
  refreshMs: 1_000,
};

/** One attempt's outcome, as the HTTP client hands it to the breaker. */
type Outcome = { countsAsFailure: boolean };

/** A clock the test moves by hand (epoch ms). */
function manualClock() {
  let nowMs = Date.UTC(2026, 0, 1);
  return {
    now: () => nowMs,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

/** An upstream that counts its calls and answers as told. */
function upstream() {
  let fails = false;
  const fn = vi.fn(async (): Promise<Outcome> => ({ countsAsFailure: fails }));
  return {
    fn,
    fail(on: boolean) {
      fails = on;
    },
  };
}

async function openErrorOf(promise: Promise<unknown>): Promise<CircuitOpenError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CircuitOpenError) return error;
    throw error;
  }
  throw new Error('expected CircuitOpenError, the call went through');
}

describe('SharedCircuitBreaker over dynalite', () => {
  let dynamo: LocalDynamoDB;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDB();
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  interface Instance {
    breaker: SharedCircuitBreaker;
    store: FaultyDynamoClient;
    powertools: Powertools;
  }

  /** One warm instance of connector `connector`, with its own client (counted, faults on demand). */
  function instance(connector: string, clock: () => number, settings = SETTINGS): Instance {
    const store = faultyDynamoClient(dynamo.endpoint);
    const powertools = createPowertools({ serviceName: connector });
    const breaker = createSharedCircuitBreaker({
      dynamoClient: store.client,
      tableName: dynamo.tableName,
      connector,
      settings,
      clock,
      powertools,
      // A loaded machine's dynalite may be slow: only the timeout tests below time the store out.
      storeTimeoutMs: 30_000,
    });
    return { breaker, store, powertools };
  }

  const writesOf = (i: Instance) => i.store.calls.filter((c) => c.command === 'UpdateItemCommand').length;
  const readsOf = (i: Instance) => i.store.calls.filter((c) => c.command === 'GetItemCommand').length;

  /** Trips `a`'s own window (minimumCalls failures), which opens the fleet's breaker. */
  async function trip(a: Instance, calls: ReturnType<typeof upstream>): Promise<void> {
    calls.fail(true);
    for (let i = 0; i < SETTINGS.minimumCalls; i++) await a.breaker.execute(calls.fn);
    calls.fail(false);
  }

  it("A's own window trips → A writes open; B answers open after its next refresh, without calling upstream", async () => {
    // Prepare
    const clock = manualClock();
    const connector = `c-${randomUUID()}`;
    const a = instance(connector, clock.now);
    const b = instance(connector, clock.now);
    const calls = upstream();
    await b.breaker.execute(calls.fn); // B reads closed and caches it

    // Act
    await trip(a, calls);
    const beforeRefresh = await b.breaker.execute(calls.fn);
    clock.advance(SETTINGS.refreshMs ?? 0);
    const upstreamCallsBefore = calls.fn.mock.calls.length;
    const rejected = await openErrorOf(b.breaker.execute(calls.fn));

    // Assess
    expect(a.breaker.state).toBe('open');
    expect(writesOf(a)).toBe(1);
    expect(beforeRefresh.countsAsFailure).toBe(false); // within refreshMs B still decides from its copy
    expect(calls.fn.mock.calls.length).toBe(upstreamCallsBefore);
    expect(rejected.retryAfterSeconds).toBe(SETTINGS.openSeconds - 1);
    expect(b.breaker.state).toBe('open');
    expect(writesOf(b)).toBe(0);
  });

  it('two instances tripping at once write one opening; the item expires a day after it', async () => {
    // Prepare
    const clock = manualClock();
    const connector = `c-${randomUUID()}`;
    const a = instance(connector, clock.now);
    const b = instance(connector, clock.now);
    const calls = upstream();

    // Act
    await Promise.all([trip(a, calls), trip(b, calls)]);
    clock.advance(SETTINGS.refreshMs ?? 0);
    const refusals = await Promise.all([a, b].map((i) => openErrorOf(i.breaker.execute(calls.fn))));
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: dynamo.tableName, Key: { id: { S: `breaker#${connector}` } } }),
    );

    // Assess
    expect(refusals.map((r) => r.retryAfterSeconds)).toEqual([
      SETTINGS.openSeconds - 1,
      SETTINGS.openSeconds - 1,
    ]);
    expect(Item?.breakerState?.S).toBe('open');
    expect(Item?.version?.N).toBe('1');
    expect(Number(Item?.expiration?.N)).toBe(
      Math.ceil((clock.now() - (SETTINGS.refreshMs ?? 0) + SETTINGS.openSeconds * 1000) / 1000) + 86_400,
    );
  });

  it('after openSeconds exactly one of N racing instances sends the probe; its success closes for all', async () => {
    // Prepare
    const clock = manualClock();
    const connector = `c-${randomUUID()}`;
    const calls = upstream();
    const a = instance(connector, clock.now);
    const fleet = Array.from({ length: 6 }, () => instance(connector, clock.now));
    await trip(a, calls);
    clock.advance(SETTINGS.openSeconds * 1000);
    const probesBefore = calls.fn.mock.calls.length;

    // Act
    const outcomes = await Promise.allSettled(fleet.map((i) => i.breaker.execute(calls.fn)));

    // Assess: one probe fleet-wide, the others refused with a short Retry-After
    const sent = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(sent).toHaveLength(1);
    expect(calls.fn.mock.calls.length - probesBefore).toBe(1);
    expect(refused).toHaveLength(fleet.length - 1);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(CircuitOpenError);
      expect((reason as CircuitOpenError).retryAfterSeconds).toBe(1);
    }

    // Act: after a refresh every instance, A (whose own breaker had opened) included, is closed
    clock.advance(SETTINGS.refreshMs ?? 0);
    await Promise.all([a, ...fleet].map((i) => i.breaker.execute(calls.fn)));

    // Assess
    expect([a, ...fleet].map((i) => i.breaker.state)).toEqual(Array(fleet.length + 1).fill('closed'));
    expect(a.breaker.local.state).toBe('closed');
  });

  it('a failed probe opens again for another openSeconds, for every instance', async () => {
    // Prepare
    const clock = manualClock();
    const connector = `c-${randomUUID()}`;
    const calls = upstream();
    const a = instance(connector, clock.now);
    const b = instance(connector, clock.now);
    const c = instance(connector, clock.now);
    await trip(a, calls);
    clock.advance(SETTINGS.openSeconds * 1000);

    // Act
    calls.fail(true);
    const probe = await b.breaker.execute(calls.fn);
    const upstreamCalls = calls.fn.mock.calls.length;
    const refused = await openErrorOf(c.breaker.execute(calls.fn));

    // Assess
    expect(probe.countsAsFailure).toBe(true);
    expect(b.breaker.state).toBe('open');
    expect(refused.retryAfterSeconds).toBe(SETTINGS.openSeconds);
    expect(calls.fn.mock.calls.length).toBe(upstreamCalls);
    expect(writesOf(b)).toBe(2); // the claim, the verdict
  });

  it('steady state (closed, successes) makes no write and at most one read per refreshMs', async () => {
    // Prepare
    const clock = manualClock();
    const b = instance(`c-${randomUUID()}`, clock.now);
    const calls = upstream();

    // Act: 3 refresh intervals of 100 calls each, half of them concurrent
    for (let interval = 0; interval < 3; interval++) {
      await Promise.all(Array.from({ length: 50 }, () => b.breaker.execute(calls.fn)));
      for (let i = 0; i < 50; i++) await b.breaker.execute(calls.fn);
      clock.advance((SETTINGS.refreshMs ?? 0) / 2);
      for (let i = 0; i < 10; i++) await b.breaker.execute(calls.fn);
      clock.advance((SETTINGS.refreshMs ?? 0) / 2);
    }

    // Assess
    expect(calls.fn).toHaveBeenCalledTimes(330);
    expect(writesOf(b)).toBe(0);
    expect(readsOf(b)).toBe(3);
  });

  it('DynamoDB failing: the local breaker decides, calls flow, one warning per interval, a metric per failure', async () => {
    // Prepare
    const clock = manualClock();
    const connector = `c-${randomUUID()}`;
    const a = instance(connector, clock.now);
    const warn = vi.spyOn(a.powertools.logger, 'warn').mockImplementation(() => undefined);
    const counted = vi.spyOn(a.powertools.metrics as ConnectorMetrics, 'addDimensionedCount');
    const calls = upstream();
    a.store.setFaults([
      { command: 'GetItemCommand', error: dynamoErrors.throttled },
      { command: 'UpdateItemCommand', error: dynamoErrors.internal },
    ]);

    // Act: calls flow over 5 refresh intervals, then failures trip the local window
    for (let interval = 0; interval < 5; interval++) {
      for (let i = 0; i < 20; i++) await a.breaker.execute(calls.fn);
      clock.advance(SETTINGS.refreshMs ?? 0);
    }
    calls.fail(true);
    while (a.breaker.local.state === 'closed' && calls.fn.mock.calls.length < 1_000) {
      await a.breaker.execute(calls.fn);
    }
    calls.fail(false);
    const sent = calls.fn.mock.calls.length;
    const rejected = await openErrorOf(a.breaker.execute(calls.fn));

    // Assess
    expect(sent).toBe(100 + 101); // more than half of the window's attempts failed
    expect(a.breaker.local.state).toBe('open');
    expect(rejected.retryAfterSeconds).toBeGreaterThan(0);
    expect(readsOf(a)).toBe(6); // one per refreshMs, not one per call
    expect(writesOf(a)).toBe(1); // the failed open, not one per refused call
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls[0])).toContain('ProvisionedThroughputExceededException');
    const failures = counted.mock.calls.filter(([, name]) => name === 'SharedStateFailures');
    expect(failures.length).toBe(a.store.calls.filter((c) => c.failed).length);
    expect(failures[0]?.[2]).toEqual({ feature: 'circuitBreaker' });

    // Act: the store heals; the local open state reaches the fleet
    a.store.setFaults([]);
    clock.advance(SETTINGS.refreshMs ?? 0);
    await openErrorOf(a.breaker.execute(calls.fn));
    const b = instance(connector, clock.now);
    const refused = await openErrorOf(b.breaker.execute(calls.fn));

    // Assess
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(calls.fn).toHaveBeenCalledTimes(sent);
  });

  it('warns again only once warnIntervalMs has passed, with the failures counted meanwhile', async () => {
    // Prepare
    const clock = manualClock();
    const a = instance(`c-${randomUUID()}`, clock.now);
    const warn = vi.spyOn(a.powertools.logger, 'warn').mockImplementation(() => undefined);
    const calls = upstream();
    a.store.setFaults([{ command: 'GetItemCommand', error: dynamoErrors.internal }]);

    // Act: a read fails every refreshMs for 61 s
    for (let second = 0; second <= 61; second++) {
      await a.breaker.execute(calls.fn);
      clock.advance(SETTINGS.refreshMs ?? 0);
    }

    // Assess
    expect(calls.fn).toHaveBeenCalledTimes(62);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1]?.[1]).toMatchObject({
      feature: 'circuitBreaker',
      failuresSinceLastWarning: 60,
    });
  });

  it('a store that does not answer within storeTimeoutMs falls back to the local breaker', async () => {
    // Prepare
    const clock = manualClock();
    const store = faultyDynamoClient(dynamo.endpoint, [
      { command: 'GetItemCommand', error: dynamoErrors.timeout, stallMs: 60_000 },
    ]);
    const breaker = createSharedCircuitBreaker({
      dynamoClient: store.client,
      tableName: dynamo.tableName,
      connector: `c-${randomUUID()}`,
      settings: SETTINGS,
      clock: clock.now,
      storeTimeoutMs: 20,
    });
    const calls = upstream();

    // Act
    const result = await breaker.execute(calls.fn);

    // Assess
    expect(result.countsAsFailure).toBe(false);
    expect(calls.fn).toHaveBeenCalledTimes(1);
  });

  it('a call whose deadline passes does not wait for the store', async () => {
    // Prepare
    const store = faultyDynamoClient(dynamo.endpoint, [
      { command: 'GetItemCommand', error: dynamoErrors.timeout, stallMs: 60_000 },
    ]);
    const breaker = createSharedCircuitBreaker({
      dynamoClient: store.client,
      tableName: dynamo.tableName,
      connector: `c-${randomUUID()}`,
      settings: SETTINGS,
      storeTimeoutMs: 60_000,
    });
    const calls = upstream();
    const deadline = new AbortController();

    // Act
    const pending = breaker.execute(calls.fn, deadline.signal);
    deadline.abort();
    await pending;

    // Assess
    expect(calls.fn).toHaveBeenCalledTimes(1);
  });
});

describe('HttpClient with scope shared', () => {
  it('without a table for the shared state, warns once and keeps the instance breaker', async () => {
    // Prepare
    const powertools = createPowertools({ serviceName: 'no-table' });
    const warn = vi.spyOn(powertools.logger, 'warn').mockImplementation(() => undefined);
    const fetch = vi.fn(async () => new Response('{}', { headers: { 'content-type': 'application/json' } }));
    const client = new HttpClient({
      connector: 'no-table',
      baseUrl: 'https://api.example.com',
      timeoutMs: 5_000,
      retry: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterSeconds: 20 },
      circuitBreaker: SETTINGS,
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
      cacheTtlSeconds: 0,
      forwardIdempotencyKey: false,
      auth: { authorize: async () => undefined },
      powertools,
      fetch,
    });

    // Act
    const answer = await client.request(
      { operation: 'request', method: 'GET', path: '/v1/items' },
      { requestId: 'req-1', deadlineAtMs: Date.now() + 29_000 },
    );

    // Assess
    expect(answer.status).toBe(200);
    expect(client.sharedCircuitBreaker).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('circuitBreaker.scope is shared');
  });
});

describe('circuitBreaker.scope and refreshMs in the config', () => {
  const connector = (circuitBreaker: unknown) => ({
    connectors: [
      {
        name: 'vendor',
        kind: 'http',
        baseUrl: 'https://api.example.com',
        allowedMethods: ['GET'],
        allowedPathPrefixes: ['/v1'],
        circuitBreaker,
      },
    ],
  });

  it('defaults to the instance scope and a 1000 ms refresh', () => {
    const [config] = parseSuiteConfig(connector({}), 'suite.json').connectors;
    expect(config?.circuitBreaker).toMatchObject({ scope: 'instance', refreshMs: 1_000 });
  });

  it('takes scope shared and a refreshMs', () => {
    const [config] = parseSuiteConfig(
      connector({ scope: 'shared', refreshMs: 250 }),
      'suite.json',
    ).connectors;
    expect(config?.circuitBreaker).toMatchObject({ scope: 'shared', refreshMs: 250 });
  });

  it.each([
    [{ scope: 'global' }, 'circuitBreaker.scope'],
    [{ refreshMs: 50 }, 'circuitBreaker.refreshMs'],
    [{ refreshMs: 120_000 }, 'circuitBreaker.refreshMs'],
    [{ refreshMs: 10.5 }, 'circuitBreaker.refreshMs'],
  ])('rejects %j naming %s', (circuitBreaker, field) => {
    expect(() => parseSuiteConfig(connector(circuitBreaker), 'suite.json')).toThrow(field);
  });
});
