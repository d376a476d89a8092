/**
 * Nothing lost on restart (issue 11, item 3): a gateway given a state directory lets the delivery in
 * flight finish when it closes, keeps the events still queued and the idempotency records, and a new
 * gateway on the same directory delivers every kept event and replays a recorded request.
 *
 * Event-driven: the upstream holds the first delivery until the test has begun closing the gateway,
 * and the test waits for the results, not for a guessed time.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import { sendJson, startTestServer, suiteConfig, type TestServer } from '../support/integration-helpers.js';

const NO_SECRETS: CredentialStore = {
  getSecret: async (name) => {
    throw new Error(`no secret ${name} in this test`);
  },
};

/** The outer bound of the test, in ms: generous for a loaded 2-core machine; nothing waits for it. */
const TEST_TIMEOUT_MS = 120_000;

const EVENTS = 5;
/** Deliveries at once (Lambda's least `maxConcurrency`), one event per batch. */
const CONCURRENCY = 2;

function connector(baseUrl: string) {
  return {
    name: 'orders',
    kind: 'http',
    baseUrl,
    allowedMethods: ['POST'],
    allowedPathPrefixes: ['/orders'],
    timeoutMs: 20_000,
    forwardIdempotencyKey: true,
    retry: { maxAttempts: 1 },
    // While the first deliveries are held upstream, the other events wait in the inbox.
    async: { maxReceiveCount: 4, batchSize: 1, maxConcurrency: CONCURRENCY },
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

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Waits until the gateway holds `count` results (checks each time a little later). */
async function resultsOf(gateway: LocalGateway, count: number): Promise<unknown[]> {
  for (;;) {
    const results = gateway.results.list();
    if (results.length >= count) return results;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local gateway with a state directory', () => {
  let stateDir: string;
  let upstream: TestServer;
  let gateway: LocalGateway | undefined;
  /** The idempotency key of each request the upstream answered. */
  let answered: string[];
  let releaseHeld: () => void;
  let heldArrived: Promise<void>;

  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'gateway-state-'));
    answered = [];
    const released = new Promise<void>((resolve) => {
      releaseHeld = resolve;
    });
    let arrived: () => void = () => {};
    heldArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let held = 0;
    upstream = await startTestServer(async (req, res: ServerResponse) => {
      req.resume();
      const key = String(req.headers['idempotency-key'] ?? '');
      if (key.startsWith('order-') && held < CONCURRENCY) {
        held += 1;
        if (held === CONCURRENCY) arrived();
        await released;
      }
      answered.push(key);
      sendJson(res, 200, { ok: true, key });
    });
  });

  afterEach(async () => {
    releaseHeld();
    await gateway?.close();
    gateway = undefined;
    await upstream.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it(
    'keeps queued events and idempotency records across a restart, and finishes the delivery in flight',
    async () => {
      // Prepare
      const config = suiteConfig({ connectors: [connector(upstream.url)] });
      const first = await startLocalGateway({ config, credentials: NO_SECRETS, port: 0, stateDir });
      gateway = first;
      const synchronous = { method: 'POST', path: '/orders', body: { order: 'sync' } };
      const recorded = await postJson(`${first.url}/v1/connectors/orders/request`, synchronous, {
        'Idempotency-Key': 'sync-1',
      });
      expect(recorded.status).toBe(200);
      const accepted = await postJson(
        `${first.url}/v1/events`,
        Array.from({ length: EVENTS }, (_, n) => orderEvent(n)),
      );
      expect(accepted.body.accepted).toBe(EVENTS);
      await heldArrived;

      // Act: close while two deliveries are held upstream, then let them answer; then start again.
      const closed = first.close();
      releaseHeld();
      await closed;
      gateway = undefined;
      const keptFile = path.join(stateDir, 'queues.json');
      const second = await startLocalGateway({ config, credentials: NO_SECRETS, port: 0, stateDir });
      gateway = second;
      const results = await resultsOf(second, EVENTS - CONCURRENCY);
      const replay = await postJson(`${second.url}/v1/connectors/orders/request`, synchronous, {
        'Idempotency-Key': 'sync-1',
      });

      // Assert
      expect(existsSync(keptFile)).toBe(true);
      expect(first.queues.get('orders')?.stats()).toMatchObject({
        succeeded: CONCURRENCY,
        visible: EVENTS - CONCURRENCY,
      });
      expect(results).toHaveLength(EVENTS - CONCURRENCY);
      expect(second.queues.get('orders')?.stats()).toMatchObject({
        succeeded: EVENTS - CONCURRENCY,
        visible: 0,
        inFlight: 0,
        deadLettered: 0,
      });
      // Every event ran exactly once upstream, the held ones in the first run.
      expect([...answered].sort()).toEqual(
        ['sync-1', ...Array.from({ length: EVENTS }, (_, n) => `order-${n}`)].sort(),
      );
      // The idempotency record of the first run answers the replay without calling upstream.
      expect(replay.status).toBe(200);
      expect((replay.body.meta as { idempotentReplay?: boolean }).idempotentReplay).toBe(true);
      expect(answered.filter((key) => key === 'sync-1')).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it('refuses a state directory another gateway holds, naming it', async () => {
    // Prepare
    const config = suiteConfig({ connectors: [connector(upstream.url)] });
    gateway = await startLocalGateway({ config, credentials: NO_SECRETS, port: 0, stateDir });

    // Act
    const second = startLocalGateway({ config, credentials: NO_SECRETS, port: 0, stateDir });

    // Assert
    await expect(second).rejects.toThrow(
      `${stateDir} is in use by another local gateway (process ${process.pid})`,
    );
  });

  it('answers 503 with the error envelope while it drains', async () => {
    // Prepare
    const config = suiteConfig({ connectors: [connector(upstream.url)] });
    const first = await startLocalGateway({ config, credentials: NO_SECRETS, port: 0, stateDir });
    gateway = first;
    await postJson(`${first.url}/v1/events`, [orderEvent(0), orderEvent(1)]);
    await heldArrived;

    // Act: both deliveries are held upstream, so the drain waits for them.
    const closed = first.close();
    const refused = await postJson(`${first.url}/v1/events`, [orderEvent(2)]);
    releaseHeld();
    await closed;
    gateway = undefined;

    // Assert
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect(first.queues.get('orders')?.stats()).toMatchObject({ succeeded: CONCURRENCY, visible: 0 });
  });
});
