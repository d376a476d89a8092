/**
 * The done-when item of issue 8 (defect 6) in small: a burst of 200 request events through the local
 * gateway's inbox, the real http connector and its real handler against an in-test upstream, with a
 * rate limit far below the burst. The connector's own rate limit delays events without spending
 * their attempts, so every event succeeds and none is dead-lettered as RATE_LIMIT_EXCEEDED.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSuiteConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { type LocalGateway, putEvents, startLocalGateway } from '../../local/gateway.js';
import { captureOutput } from '../support/fakes.js';
import { waitFor } from '../support/local-fakes.js';

const EVENTS = 200;

const NO_SECRETS: CredentialStore = {
  getSecret: async (name) => {
    throw new Error(`no secret ${name} in this test`);
  },
};

describe('a burst into the inbox of a connector with a low rate limit', () => {
  let upstream: Server;
  let dynamo: LocalDynamoDB;
  let gateway: LocalGateway;
  const served = new Map<string, number>();

  beforeAll(async () => {
    captureOutput();
    upstream = createServer((req, res) => {
      req.resume();
      served.set(req.url ?? '', (served.get(req.url ?? '') ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    dynamo = await startLocalDynamoDB();
    gateway = await startLocalGateway({
      config: parseSuiteConfig(
        {
          connectors: [
            {
              name: 'orders',
              kind: 'http',
              baseUrl: `http://127.0.0.1:${port}`,
              allowedPathPrefixes: ['/orders'],
              // 200 events against a bucket of 5 refilled at 50 per second; two deliveries at most,
              // so an event whose attempts the rate limit spent would be dead-lettered at once.
              rateLimit: { requestsPerSecond: 50, burst: 5 },
              async: { maxReceiveCount: 2, backoffBaseSeconds: 0.1, backoffMaxSeconds: 1 },
            },
          ],
        },
        'test',
        { allowLoopbackHttp: true },
      ),
      credentials: NO_SECRETS,
      port: 0,
      dynamo,
      pollIntervalMs: 5,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await dynamo?.close();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  it(`ends all ${EVENTS} events succeeded, none dead-lettered, each sent upstream once`, async () => {
    // Prepare
    const queue = gateway.queues.get('orders');
    if (!queue) throw new Error('expected the orders inbox');
    const events = Array.from({ length: EVENTS }, (_, n) => ({
      source: 'com.example.shop',
      'detail-type': INVOCATION_REQUESTED,
      detail: { connector: 'orders', operation: 'request', input: { method: 'GET', path: `/orders/${n}` } },
    }));

    // Act
    const answer = putEvents(events, gateway.queues);
    await waitFor(
      () => {
        const stats = queue.stats();
        return stats.succeeded + stats.deadLettered === EVENTS;
      },
      `the ${EVENTS} events to end`,
      120_000,
    );

    // Assess
    expect(answer.FailedEntryCount).toBe(0);
    expect(queue.deadLetters().map((letter) => letter.attributes.ErrorCode)).toEqual([]);
    expect(queue.stats()).toMatchObject({
      succeeded: EVENTS,
      deadLettered: 0,
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
    expect(served.size).toBe(EVENTS);
    expect([...served.values()].every((count) => count === 1)).toBe(true);
    expect(
      gateway.results.list().filter((e) => e['detail-type'] === 'Connector Invocation Succeeded'),
    ).toHaveLength(EVENTS);
  }, 150_000);
});
