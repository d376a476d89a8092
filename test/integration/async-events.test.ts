/**
 * The asynchronous path end to end through the local gateway and the real handler: events posted
 * to `/v1/events`, SQS-like inboxes, the embedded DynamoDB for idempotency, and a flaky in-test
 * upstream that records every side effect by idempotency key. Nothing may be lost, nothing may run
 * twice.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import {
  type CapturedOutput,
  captureOutput,
  sendJson,
  startTestServer,
  suiteConfig,
  type TestServer,
} from '../support/integration-helpers.js';
import { waitFor } from '../support/local-fakes.js';

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

/** The connector config: retries are the queue's, and fast (fractional seconds). */
function connector(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    name: 'orders',
    kind: 'http',
    baseUrl,
    allowedMethods: ['POST'],
    allowedPathPrefixes: ['/orders'],
    timeoutMs: 2_000,
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

/** Waits until the gateway's counters say `total` deliveries have ended, then returns them. */
async function settle(gateway: LocalGateway, total: number, timeoutMs = 60_000): Promise<QueueCounts> {
  let counts: QueueCounts = { inFlight: 0, delayed: 0, succeeded: 0, deadLettered: 0 };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    counts = await getJson<QueueCounts>(`${gateway.url}/v1/queue`);
    if (counts.succeeded + counts.deadLettered >= total && counts.inFlight === 0 && counts.delayed === 0)
      break;
    await new Promise((resolve) => setTimeout(resolve, 50));
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
  it('all end accounted for, permanent failures dead-lettered with their reason, no side effect twice', async () => {
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
    const requestsByKey = new Map<string, number>();
    const sideEffects = new Map<string, number>();
    upstream = await startTestServer(async (req, res) => {
      const key = String(req.headers['idempotency-key'] ?? '');
      await readBody(req);
      const seen = (requestsByKey.get(key) ?? 0) + 1;
      requestsByKey.set(key, seen);
      if (permanent.has(key)) return sendJson(res, 422, { error: 'order rejected' });
      if (transient.has(key) && seen === 1) {
        return sendJson(res, 503, { error: 'busy' }, withRetryAfter.has(key) ? { 'retry-after': '1' } : {});
      }
      sideEffects.set(key, (sideEffects.get(key) ?? 0) + 1);
      return sendJson(res, 201, { applied: key });
    });
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
    expect([...sideEffects.values()].every((count) => count === 1)).toBe(true);
    expect(sideEffects.size).toBe(total - permanent.size);
    for (const key of transient) expect(requestsByKey.get(key)).toBe(2);
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
    expect([...sideEffects.values()].every((count) => count === 1)).toBe(true);
    const replays = (await getJson<{ results: Result[] }>(`${gateway.url}/v1/results`)).results.slice(total);
    expect(replays).toHaveLength(replayed.length);
    expect(replays.every((r) => r.detail.idempotentReplay === true)).toBe(true);
  }, 120_000);
});

describe('an outage', () => {
  it('dead-letters every event with UPSTREAM_ERROR, and a redrive after recovery turns each into a success', async () => {
    // Prepare
    let down = true;
    const sideEffects = new Map<string, number>();
    upstream = await startTestServer(async (req, res) => {
      await readBody(req);
      if (down) return sendJson(res, 503, { error: 'maintenance' });
      const key = String(req.headers['idempotency-key'] ?? '');
      sideEffects.set(key, (sideEffects.get(key) ?? 0) + 1);
      return sendJson(res, 201, { applied: key });
    });
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
    await waitFor(() => sideEffects.size === events.length, 'every order to be applied', 30_000);

    // Assess
    expect(duringOutage.deadLettered).toBe(events.length);
    expect(deadLetters.every((d) => d.error?.code === 'UPSTREAM_ERROR' && d.attempts === 2)).toBe(true);
    expect(redrive.redriven).toBe(events.length);
    expect(afterRedrive.deadLettered).toBe(0);
    expect(afterRedrive.succeeded).toBe(events.length);
    expect([...sideEffects.values()].every((count) => count === 1)).toBe(true);
  }, 60_000);
});

describe('an open circuit breaker', () => {
  it('delays events until the half-open probe without spending their attempts, so none is dead-lettered', async () => {
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
  }, 40_000);
});
