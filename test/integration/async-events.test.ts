/**
 * The asynchronous path end to end through the local gateway and the real handler: events posted
 * to `/v1/events`, SQS-like inboxes, the embedded DynamoDB for idempotency, and a flaky in-test
 * upstream that records every side effect by idempotency key. Nothing may be lost, nothing may run
 * twice.
 *
 * Nothing here waits for a guessed time: the queue is watched until its counters say every delivery
 * ended, and gives up only when they stop moving; attempts have a timeout far above any loopback
 * answer, so a loaded machine makes the tests slower, never different.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED, INVOCATION_SUCCEEDED } from '../../functions/shared/runtime/async-contract.js';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import {
  type CapturedOutput,
  captureOutput,
  sendJson,
  startTestServer,
  suiteConfig,
  type TestServer,
} from '../support/integration-helpers.js';

const NO_SECRETS: CredentialStore = {
  getSecret: async (name) => {
    throw new Error(`no secret ${name} in this test`);
  },
};

interface QueueCounts {
  inFlight: number;
  delayed: number;
  succeeded: number;
  deadLettered: number;
}

interface DeadLetter {
  connector: string;
  event: { detail: { idempotencyKey?: string } };
  error: { code: string; source: string; upstreamStatus?: number } | null;
  attempts: number;
}

interface Result {
  'detail-type': string;
  detail: { idempotencyKey: string; attempts: number; idempotentReplay?: boolean; error?: { code: string } };
}

/**
 * The per-attempt timeout of the connectors whose upstream requests are counted exactly, in ms: far
 * above any answer of an in-process upstream, even on a starved machine, and below the function's
 * deadline (29 s less 500 ms). With the former 2 s, a loaded machine let the timeout run out after
 * the upstream had applied an order; the event was then retried (rightly: the connector cannot know
 * the order went through) and the count of side effects said two. That case has its own test below
 * ("an order applied upstream whose answer never reaches the connector").
 */
const ATTEMPT_TIMEOUT_MS = 20_000;

/**
 * The outer bound of each test, in ms. What fails a test that hangs is {@link settle}, once the
 * queue has not moved for 30 s; this bound only stops a run that creeps on for minutes. On an idle
 * 2-core machine the 1,000 events take about 10 s; with the cores shared by other busy processes
 * they took 113 s, which a tighter bound would have failed.
 */
const TEST_TIMEOUT_MS = 600_000;

/** The connector config: retries are the queue's, and fast (fractional seconds). */
function connector(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    name: 'orders',
    kind: 'http',
    baseUrl,
    allowedMethods: ['POST'],
    allowedPathPrefixes: ['/orders'],
    timeoutMs: ATTEMPT_TIMEOUT_MS,
    forwardIdempotencyKey: true,
    retry: { maxAttempts: 1 },
    rateLimit: { requestsPerSecond: 10_000, burst: 10_000 },
    circuitBreaker: { failureRateThreshold: 1, minimumCalls: 1_000, windowSeconds: 60, openSeconds: 1 },
    async: {
      maxReceiveCount: 4,
      backoffBaseSeconds: 0.05,
      backoffMaxSeconds: 0.2,
      batchSize: 10,
      maxConcurrency: 10,
    },
    ...overrides,
  };
}

function orderEvent(n: number) {
  return {
    source: 'com.example.shop',
    'detail-type': INVOCATION_REQUESTED,
    detail: {
      connector: 'orders',
      operation: 'request',
      idempotencyKey: `order-${n}`,
      input: { method: 'POST', path: '/orders', body: { order: n } },
    },
  };
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as T;
}

/**
 * Waits until the gateway's counters say `total` deliveries have ended (and none is running or
 * waiting), then returns them. There is no overall time budget: it polls while the counters move
 * and gives up only when none has moved for `stallMs`, so a slow machine makes it take longer
 * without failing it (the test's own timeout is the outer bound).
 */
async function settle(gateway: LocalGateway, total: number, stallMs = 30_000): Promise<QueueCounts> {
  let counts = await getJson<QueueCounts>(`${gateway.url}/v1/queue`);
  let lastChange = { at: Date.now(), seen: JSON.stringify(counts) };
  while (
    !(counts.succeeded + counts.deadLettered >= total && counts.inFlight === 0 && counts.delayed === 0)
  ) {
    if (Date.now() - lastChange.at > stallMs) {
      throw new Error(`The queue stopped moving for ${stallMs} ms short of ${total}: ${lastChange.seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    counts = await getJson<QueueCounts>(`${gateway.url}/v1/queue`);
    const seen = JSON.stringify(counts);
    if (seen !== lastChange.seen) lastChange = { at: Date.now(), seen };
  }
  return counts;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** What the in-test vendor does with a request whose Idempotency-Key it has not applied yet. */
type OrderAnswer =
  /** Applies the order (one side effect) and answers 201, remembered for the key. */
  | 'apply'
  /**
   * Applies the order and remembers the answer, but never sends it: the connector's attempt times
   * out after the side effect happened (an answer lost on the way, or read too late).
   */
  | 'applyAndHoldAnswer'
  /** Answers a failure; nothing is applied or remembered. */
  | { status: number; body: unknown; headers?: Record<string, string> };

/** An in-test vendor of orders; see {@link startOrderUpstream}. */
interface OrderUpstream extends TestServer {
  /** Requests received, by Idempotency-Key. */
  requestsByKey: Map<string, number>;
  /** Orders applied, by Idempotency-Key: more than 1 is a side effect twice. */
  sideEffects: Map<string, number>;
  /** Requests answered from the vendor's own store of applied keys, by Idempotency-Key. */
  replays: Map<string, number>;
}

function increment(counts: Map<string, number>, key: string): number {
  const count = (counts.get(key) ?? 0) + 1;
  counts.set(key, count);
  return count;
}

/**
 * Starts a vendor of orders that honours `Idempotency-Key` as the connector's POST retries rely on
 * (docs/errors-and-retries.md, "How a call behaves": a POST is retried after a timeout only with its key upstream) and
 * as Stripe does: a key it applied is answered again with the stored answer and
 * `Idempotent-Replayed: true`, and nothing is applied twice. Keys it has not applied get what
 * `decide` says, told how many requests (this one included) came with the key.
 */
async function startOrderUpstream(
  decide: (key: string, seen: number) => OrderAnswer,
): Promise<OrderUpstream> {
  const requestsByKey = new Map<string, number>();
  const sideEffects = new Map<string, number>();
  const replays = new Map<string, number>();
  const applied = new Map<string, { status: number; body: unknown }>();
  const apply = (key: string) => {
    const stored = { status: 201, body: { applied: key } };
    applied.set(key, stored);
    increment(sideEffects, key);
    return stored;
  };
  const server = await startTestServer(async (req, res) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    await readBody(req);
    const seen = increment(requestsByKey, key);
    const stored = applied.get(key);
    if (stored) {
      increment(replays, key);
      return sendJson(res, stored.status, stored.body, { 'idempotent-replayed': 'true' });
    }
    const decision = decide(key, seen);
    if (decision === 'apply') {
      const { status, body } = apply(key);
      return sendJson(res, status, body);
    }
    // Held until the connector gives up and closes the connection (closing the server ends it too).
    if (decision === 'applyAndHoldAnswer') return void apply(key);
    return sendJson(res, decision.status, decision.body, decision.headers);
  });
  return { ...server, requestsByKey, sideEffects, replays };
}

let output: CapturedOutput;
let upstream: TestServer | undefined;
let gateway: LocalGateway | undefined;

beforeEach(() => {
  output = captureOutput();
});

afterEach(async () => {
  await gateway?.close();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
  output.restore();
});

describe('1,000 events through a flaky upstream', () => {
  it(
    'all end accounted for, permanent failures dead-lettered with their reason, no side effect twice',
    async () => {
      // Prepare: 5% of events fail for good (422), 30% fail their first attempt (503), 1% of them
      // with Retry-After; the upstream applies each order once per idempotency key.
      const total = 1_000;
      const permanent = new Set<string>();
      const transient = new Set<string>();
      const withRetryAfter = new Set<string>();
      for (let n = 0; n < total; n++) {
        const key = `order-${n}`;
        if (n % 20 === 0) permanent.add(key);
        else if (n % 10 < 3) transient.add(key);
        if (transient.has(key) && n % 100 === 1) withRetryAfter.add(key);
      }
      const orders = await startOrderUpstream((key, seen) => {
        if (permanent.has(key)) return { status: 422, body: { error: 'order rejected' } };
        if (transient.has(key) && seen === 1) {
          const headers: Record<string, string> = withRetryAfter.has(key) ? { 'retry-after': '1' } : {};
          return { status: 503, body: { error: 'busy' }, headers };
        }
        return 'apply';
      });
      upstream = orders;
      const { requestsByKey, sideEffects, replays: vendorReplays } = orders;
      gateway = await startLocalGateway({
        config: suiteConfig({ connectors: [connector(upstream.url)] }),
        credentials: NO_SECRETS,
        port: 0,
      });
      const events = Array.from({ length: total }, (_, n) => orderEvent(n));

      // Act
      const accepted = await postJson<{ accepted: number }>(`${gateway.url}/v1/events`, events);
      const counts = await settle(gateway, total);

      // Assess
      expect(accepted.accepted).toBe(total);
      expect(counts.succeeded + counts.deadLettered).toBe(total);
      expect(counts.deadLettered).toBe(permanent.size);
      expect(counts.succeeded).toBe(total - permanent.size);
      const { deadLetters } = await getJson<{ deadLetters: DeadLetter[] }>(`${gateway.url}/v1/dead-letters`);
      expect(new Set(deadLetters.map((d) => d.event.detail.idempotencyKey))).toEqual(permanent);
      for (const letter of deadLetters) {
        expect(letter.error).toMatchObject({
          code: 'UPSTREAM_REJECTED',
          source: 'upstream',
          upstreamStatus: 422,
        });
        expect(letter.attempts).toBe(1);
      }
      expect([...sideEffects.entries()].filter(([, count]) => count !== 1)).toEqual([]);
      expect(sideEffects.size).toBe(total - permanent.size);
      // Each order was sent as often as its faults call for, never once more: no request came back
      // to the vendor after it had applied the order.
      expect([...vendorReplays.keys()]).toEqual([]);
      const sentTooOften = [...requestsByKey.entries()].filter(
        ([key, count]) => count !== (transient.has(key) ? 2 : 1),
      );
      expect(sentTooOften).toEqual([]);
      const { results } = await getJson<{ results: Result[] }>(`${gateway.url}/v1/results`);
      expect(results).toHaveLength(total);
      const succeeded = results.filter((r) => r['detail-type'] === 'Connector Invocation Succeeded');
      expect(succeeded).toHaveLength(total - permanent.size);
      for (const result of succeeded) {
        expect(result.detail.attempts).toBe(transient.has(result.detail.idempotencyKey) ? 2 : 1);
      }

      // Act: replay 100 events that already succeeded.
      const replayed = events.filter((e) => !permanent.has(e.detail.idempotencyKey)).slice(0, 100);
      const requestsBefore = upstream.requests.length;
      await postJson(`${gateway.url}/v1/events`, replayed);
      const after = await settle(gateway, total + replayed.length);

      // Assess: answered from the idempotency store; the upstream saw nothing.
      expect(after.succeeded).toBe(total - permanent.size + replayed.length);
      expect(upstream.requests.length).toBe(requestsBefore);
      expect([...sideEffects.entries()].filter(([, count]) => count !== 1)).toEqual([]);
      const replays = (await getJson<{ results: Result[] }>(`${gateway.url}/v1/results`)).results.slice(
        total,
      );
      expect(replays).toHaveLength(replayed.length);
      expect(replays.every((r) => r.detail.idempotentReplay === true)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('an outage', () => {
  it(
    'dead-letters every event with UPSTREAM_ERROR, and a redrive after recovery turns each into a success',
    async () => {
      // Prepare
      let down = true;
      const orders = await startOrderUpstream(() =>
        down ? { status: 503, body: { error: 'maintenance' } } : 'apply',
      );
      upstream = orders;
      const { sideEffects } = orders;
      gateway = await startLocalGateway({
        config: suiteConfig({
          connectors: [
            connector(upstream.url, {
              async: {
                maxReceiveCount: 2,
                backoffBaseSeconds: 0.02,
                backoffMaxSeconds: 0.05,
                maxConcurrency: 5,
              },
            }),
          ],
        }),
        credentials: NO_SECRETS,
        port: 0,
      });
      const events = Array.from({ length: 50 }, (_, n) => orderEvent(n));
      await postJson(`${gateway.url}/v1/events`, events);
      const duringOutage = await settle(gateway, events.length);
      const { deadLetters } = await getJson<{ deadLetters: DeadLetter[] }>(`${gateway.url}/v1/dead-letters`);

      // Act
      down = false;
      const redrive = await postJson<{ redriven: number }>(`${gateway.url}/v1/dead-letters/redrive`, {});
      const afterRedrive = await settle(gateway, events.length);

      // Assess
      expect(duringOutage.deadLettered).toBe(events.length);
      expect(deadLetters.every((d) => d.error?.code === 'UPSTREAM_ERROR' && d.attempts === 2)).toBe(true);
      expect(redrive.redriven).toBe(events.length);
      expect(afterRedrive.deadLettered).toBe(0);
      expect(afterRedrive.succeeded).toBe(events.length);
      // Every order applied once: a success is counted only after the upstream answered it.
      expect(sideEffects.size).toBe(events.length);
      expect([...sideEffects.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('an open circuit breaker', () => {
  it(
    'delays events until the half-open probe without spending their attempts, so none is dead-lettered',
    async () => {
      // Prepare: the first two calls fail, which opens the breaker (threshold 0.5 of 2 calls); the
      // upstream has recovered by the time the breaker half-opens.
      let failuresLeft = 2;
      const requestTimes: number[] = [];
      upstream = await startTestServer(async (req, res) => {
        await readBody(req);
        requestTimes.push(Date.now());
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          return sendJson(res, 503, { error: 'busy' });
        }
        return sendJson(res, 201, { applied: true });
      });
      gateway = await startLocalGateway({
        config: suiteConfig({
          connectors: [
            connector(upstream.url, {
              circuitBreaker: {
                failureRateThreshold: 0.5,
                minimumCalls: 2,
                windowSeconds: 60,
                openSeconds: 0.5,
              },
              async: {
                maxReceiveCount: 2,
                backoffBaseSeconds: 0.05,
                backoffMaxSeconds: 0.1,
                maxConcurrency: 2,
              },
            }),
          ],
        }),
        credentials: NO_SECRETS,
        port: 0,
      });
      const events = Array.from({ length: 40 }, (_, n) => orderEvent(n));

      // Act
      await postJson(`${gateway.url}/v1/events`, events);
      const counts = await settle(gateway, events.length, 30_000);

      // Assess
      expect(counts.deadLettered).toBe(0);
      expect(counts.succeeded).toBe(events.length);
      // The breaker did open: events were put back in the inbox rather than retried or dead-lettered.
      const putBack = output.lines().filter((line) => line.includes('"event put back in the inbox"'));
      expect(putBack.length).toBeGreaterThan(0);
      expect(putBack.every((line) => line.includes('"errorCode":"CIRCUIT_BREAKER_OPEN"'))).toBe(true);
      // Two failures, then one call per event: nothing reached the upstream while the breaker was open.
      expect(requestTimes).toHaveLength(events.length + 2);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('an order applied upstream whose answer never reaches the connector', () => {
  it(
    'is retried with the same Idempotency-Key, so a vendor honouring the key applies it once',
    async () => {
      // Prepare: what a starved machine once did to the 1,000-event test, on purpose. The upstream
      // applies each order but holds its first answer until the connector's attempt times out and
      // closes the connection; the connector cannot tell the order went through, so the event is
      // retried. The upstream answers the retry from its store of applied keys, as Stripe does.
      const orders = await startOrderUpstream((_key, seen) => (seen === 1 ? 'applyAndHoldAnswer' : 'apply'));
      upstream = orders;
      gateway = await startLocalGateway({
        config: suiteConfig({
          connectors: [
            connector(orders.url, {
              // Short, since the first answer never comes; a retry answered late under load only
              // adds a delivery, which the generous maxReceiveCount allows.
              timeoutMs: 250,
              async: {
                maxReceiveCount: 10,
                backoffBaseSeconds: 0.02,
                backoffMaxSeconds: 0.05,
                maxConcurrency: 5,
              },
            }),
          ],
        }),
        credentials: NO_SECRETS,
        port: 0,
      });
      const events = Array.from({ length: 5 }, (_, n) => orderEvent(n));
      const keys = events.map((e) => e.detail.idempotencyKey);

      // Act
      await postJson(`${gateway.url}/v1/events`, events);
      const counts = await settle(gateway, events.length);

      // Assess
      expect(counts).toMatchObject({ succeeded: events.length, deadLettered: 0 });
      expect(new Map([...orders.sideEffects].sort())).toEqual(new Map(keys.map((key) => [key, 1])));
      const timedOut = output
        .lines()
        .filter((line) => line.includes('"upstream attempt"') && line.includes('"errorCode":"API_TIMEOUT"'));
      expect(timedOut.length).toBeGreaterThanOrEqual(events.length);
      for (const key of keys) {
        expect(orders.requestsByKey.get(key), key).toBeGreaterThanOrEqual(2);
        expect(orders.replays.get(key), key).toBe((orders.requestsByKey.get(key) ?? 0) - 1);
      }
      // The same key on every request of an order: that is what lets the vendor see the retry.
      for (const request of orders.requests) {
        expect(keys).toContain(request.headers['idempotency-key']);
      }
      const { results } = await getJson<{ results: Result[] }>(`${gateway.url}/v1/results`);
      expect(results.map((r) => r['detail-type'])).toEqual(Array(events.length).fill(INVOCATION_SUCCEEDED));
      expect(results.every((r) => r.detail.attempts >= 2)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
