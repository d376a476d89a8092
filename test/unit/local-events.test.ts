/**
 * The asynchronous routes of the local gateway (docs/design.md §7): `POST /v1/events` as the connectors'
 * EventBridge rules, `GET /v1/queue`, `GET /v1/dead-letters`, `POST /v1/dead-letters/redrive` and
 * `GET /v1/results`, with a fake connector handler acting as the runtime does; and one run through
 * the real handler against an in-test upstream.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSuiteConfig, type SuiteConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED, MESSAGE_ATTRIBUTE } from '../../functions/shared/runtime/async-contract.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import {
  type LocalGateway,
  listDeadLetters,
  MAX_EVENTS_PER_CALL,
  startLocalGateway,
} from '../../local/gateway.js';
import { LocalQueue } from '../../local/queue.js';
import { captureOutput } from '../support/fakes.js';
import {
  type FakeAsyncHandler,
  type FakeDecision,
  fakeAsyncHandler,
  fakeClock,
  waitFor,
} from '../support/local-fakes.js';

/** A store for connectors without auth: never asked. */
const NO_SECRETS: CredentialStore = {
  getSecret: async (name) => {
    throw new Error(`no secret ${name} in this test`);
  },
};

function config(baseUrl = 'http://127.0.0.1:9'): SuiteConfig {
  return parseSuiteConfig(
    {
      connectors: [
        { name: 'orders', kind: 'http', baseUrl, allowedPathPrefixes: ['/anything', '/status'] },
        {
          name: 'billing',
          kind: 'http',
          baseUrl,
          allowedPathPrefixes: ['/anything'],
          async: { resultEvents: false },
        },
      ],
    },
    'test',
    { allowLoopbackHttp: true },
  );
}

function requestEvent(connector: string, input: unknown = {}, extra: Record<string, unknown> = {}) {
  return {
    source: 'com.example.shop',
    'detail-type': INVOCATION_REQUESTED,
    detail: { connector, operation: 'request', input },
    ...extra,
  };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let dynamo: LocalDynamoDB;

beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
});

afterAll(async () => {
  await dynamo?.close();
});

describe('local gateway, asynchronous routes (fake connector handler)', () => {
  let gateway: LocalGateway;
  const fakes = new Map<string, FakeAsyncHandler>();
  /** Events whose input says `{"fail": true}` are dead-lettered until this is set. */
  let fixed = false;
  let output: ReturnType<typeof captureOutput>;

  beforeEach(async () => {
    output = captureOutput();
    fixed = false;
    fakes.clear();
    gateway = await startLocalGateway({
      config: config(),
      credentials: NO_SECRETS,
      port: 0,
      dynamo,
      pollIntervalMs: 5,
      createHandler: (deps) => {
        const fake = fakeAsyncHandler({
          connector: deps.config.name,
          queue: deps.queue,
          results: deps.results,
          decide: ({ event }): FakeDecision =>
            (event as { detail: { input: { fail?: boolean } } }).detail.input.fail && !fixed
              ? {
                  kind: 'deadLetter',
                  code: 'UPSTREAM_REJECTED',
                  message: 'The vendor refused the request (HTTP 422).',
                  source: 'upstream',
                  upstreamStatus: 422,
                }
              : { kind: 'succeed', output: { status: 200 } },
        });
        fakes.set(deps.config.name, fake);
        return fake.asConnectorHandler();
      },
    });
  });

  afterEach(async () => {
    await gateway?.close();
  });

  it("delivers a request event to its connector's inbox as the whole event, and keeps the result event", async () => {
    // Prepare
    const event = requestEvent('orders', { method: 'GET', path: '/anything/1' });

    // Act
    const answer = await post(`${gateway.url}/v1/events`, event);
    await waitFor(() => gateway.results.size === 1, 'the result event');
    const results = await get(`${gateway.url}/v1/results?connector=orders`);
    const otherResults = await get(`${gateway.url}/v1/results?connector=billing`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      accepted: 1,
      FailedEntryCount: 0,
      Entries: [{ EventId: expect.any(String) }],
    });
    const eventId = (answer.body.Entries as Array<{ EventId: string }>)[0]?.EventId;
    const record = fakes.get('orders')?.records[0]?.record;
    expect(JSON.parse(record?.body ?? '')).toEqual({
      version: '0',
      id: eventId,
      'detail-type': INVOCATION_REQUESTED,
      source: 'com.example.shop',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'local',
      resources: [],
      detail: { connector: 'orders', operation: 'request', input: { method: 'GET', path: '/anything/1' } },
    });
    expect(record?.eventSourceARN).toBe('arn:aws:sqs:local:000000000000:orders-inbox');
    expect(fakes.get('billing')?.records).toEqual([]);
    expect(results.body.results).toEqual([
      {
        version: '0',
        id: expect.any(String),
        'detail-type': 'Connector Invocation Succeeded',
        source: 'connector-suite',
        account: '000000000000',
        time: expect.any(String),
        region: 'local',
        resources: [],
        detail: expect.objectContaining({
          connector: 'orders',
          eventId,
          attempts: 1,
          output: { status: 200 },
        }),
      },
    ]);
    expect(otherResults.body.results).toEqual([]);
    expect(output.lines().some((line) => line.message === 'request' && line.path === '/v1/events')).toBe(
      true,
    );
  });

  it('answers each entry of an array in order, with an error entry for what no rule takes or the schema refuses', async () => {
    // Prepare
    const entries = [
      requestEvent('orders', {}, { id: 'evt-own', time: '2026-01-02T03:04:05Z' }),
      42,
      { source: 'x', 'detail-type': INVOCATION_REQUESTED },
      requestEvent('orders', {}, { 'detail-type': 'Something Else' }),
      requestEvent('nope'),
      { source: 'x', 'detail-type': INVOCATION_REQUESTED, detail: { connector: 'billing', input: {} } },
      {
        ...requestEvent('billing'),
        detail: { connector: 'billing', operation: 'request', idempotencyKey: 'has space' },
      },
      requestEvent('billing'),
    ];

    // Act
    const answer = await post(`${gateway.url}/v1/events`, entries);
    await waitFor(() => gateway.queues.get('billing')?.stats().succeeded === 1, 'the billing event');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.accepted).toBe(2);
    expect(answer.body.FailedEntryCount).toBe(6);
    const answered = answer.body.Entries as Array<Record<string, string>>;
    expect(answered[0]).toEqual({ EventId: 'evt-own' });
    expect(answered.slice(1, 7).map((entry) => entry.ErrorCode)).toEqual([
      'VALIDATION_ERROR',
      'VALIDATION_ERROR',
      'NOT_FOUND',
      'NOT_FOUND',
      'VALIDATION_ERROR',
      'VALIDATION_ERROR',
    ]);
    expect(answered[2]?.ErrorMessage).toContain('detail');
    expect(answered[3]?.ErrorMessage).toContain("'Something Else'");
    expect(answered[4]?.ErrorMessage).toContain("No connector named 'nope'. Configured: orders, billing.");
    expect(answered[5]?.ErrorMessage).toContain('detail.operation');
    expect(answered[6]?.ErrorMessage).toContain('detail.idempotencyKey');
    expect(answered[7]).toEqual({ EventId: expect.any(String) });
    const ordersRecord = fakes.get('orders')?.records[0]?.record;
    expect(JSON.parse(ordersRecord?.body ?? '{}')).toMatchObject({
      id: 'evt-own',
      time: '2026-01-02T03:04:05Z',
    });
  });

  it('validates the whole batch before queuing: an entry nested 5,000 levels deep fails alone, with no 500 (defect 12 of issue 8)', async () => {
    // Prepare
    // Written out by hand: JSON.stringify itself overflows at this depth (JSON.parse does not).
    const deep = `${'['.repeat(5_000)}"bottom"${']'.repeat(5_000)}`;
    const entries = `[${[
      JSON.stringify(requestEvent('orders', { n: 1 }, { id: 'evt-first' })),
      JSON.stringify(requestEvent('orders', { deep: 'DEEP' }, { id: 'evt-deep' })).replace('"DEEP"', deep),
      JSON.stringify(requestEvent('orders', { n: 3 }, { id: 'evt-third' })),
    ].join(',')}]`;

    // Act
    const answer = await post(`${gateway.url}/v1/events`, entries);
    await waitFor(() => gateway.queues.get('orders')?.stats().succeeded === 2, 'the two valid events');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      FailedEntryCount: 1,
      Entries: [
        { EventId: 'evt-first' },
        { ErrorCode: 'VALIDATION_ERROR', ErrorMessage: expect.stringContaining('nested too deeply') },
        { EventId: 'evt-third' },
      ],
      accepted: 2,
    });
    const ran = fakes.get('orders')?.records.map((r) => (JSON.parse(r.record.body) as { id: string }).id);
    expect(ran?.sort()).toEqual(['evt-first', 'evt-third']);
  });

  it('refuses a body that is not JSON, an empty array and more than 10,000 events, and other methods', async () => {
    // Prepare
    const tooMany = Array.from({ length: MAX_EVENTS_PER_CALL + 1 }, () => requestEvent('orders'));

    // Act
    const notJson = await post(`${gateway.url}/v1/events`, '{not json');
    const empty = await post(`${gateway.url}/v1/events`, []);
    const overLimit = await post(`${gateway.url}/v1/events`, tooMany);
    const wrongMethod = await get(`${gateway.url}/v1/events`);

    // Assess
    expect([notJson.status, empty.status, overLimit.status, wrongMethod.status]).toEqual([
      400, 400, 400, 404,
    ]);
    expect((notJson.body.error as { code: string }).code).toBe('VALIDATION_ERROR');
    expect((overLimit.body.error as { message: string }).message).toContain('10000');
    expect((wrongMethod.body.error as { message: string }).message).toBe('Use POST.');
    expect(gateway.queues.get('orders')?.messages()).toEqual([]);
  });

  it('GET /v1/queue sums the counters over connectors and lists each one', async () => {
    // Prepare
    await post(`${gateway.url}/v1/events`, [
      requestEvent('orders'),
      requestEvent('orders', { fail: true }),
      requestEvent('billing'),
    ]);
    await waitFor(() => {
      const orders = gateway.queues.get('orders')?.stats();
      return (
        orders?.succeeded === 1 &&
        orders.deadLettered === 1 &&
        gateway.queues.get('billing')?.stats().succeeded === 1
      );
    }, 'the three events to end');

    // Act
    const answer = await get(`${gateway.url}/v1/queue`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
      succeeded: 2,
      deadLettered: 1,
      expired: 0,
      connectors: {
        orders: { visible: 0, inFlight: 0, delayed: 0, succeeded: 1, deadLettered: 1, expired: 0 },
        billing: { visible: 0, inFlight: 0, delayed: 0, succeeded: 1, deadLettered: 0, expired: 0 },
      },
    });
  });

  it('lists dead letters with their error and attempts, and redrives them back to the inbox', async () => {
    // Prepare
    const sent = await post(`${gateway.url}/v1/events`, requestEvent('orders', { fail: true }));
    const eventId = (sent.body.Entries as Array<{ EventId: string }>)[0]?.EventId;
    await waitFor(() => gateway.queues.get('orders')?.stats().deadLettered === 1, 'the dead letter');

    // Act
    const listed = await get(`${gateway.url}/v1/dead-letters`);
    const listedForBilling = await get(`${gateway.url}/v1/dead-letters?connector=billing`);
    const unknown = await post(`${gateway.url}/v1/dead-letters/redrive?connector=nope`, '');
    const forBilling = await post(`${gateway.url}/v1/dead-letters/redrive?connector=billing`, '');
    fixed = true;
    const redriven = await post(`${gateway.url}/v1/dead-letters/redrive?connector=orders`, '');
    await waitFor(
      () => gateway.queues.get('orders')?.stats().succeeded === 1,
      'the redriven event to succeed',
    );
    const afterwards = await get(`${gateway.url}/v1/dead-letters`);
    const results = await get(`${gateway.url}/v1/results`);

    // Assess
    expect(listed.body.deadLetters).toEqual([
      {
        connector: 'orders',
        messageId: expect.any(String),
        event: expect.objectContaining({
          id: eventId,
          detail: expect.objectContaining({ input: { fail: true } }),
        }),
        error: {
          code: 'UPSTREAM_REJECTED',
          message: 'The vendor refused the request (HTTP 422).',
          source: 'upstream',
          upstreamStatus: 422,
        },
        attempts: 1,
        deadLetteredAt: '2026-01-02T03:04:05.000Z',
      },
    ]);
    expect(listedForBilling.body.deadLetters).toEqual([]);
    expect(unknown.status).toBe(404);
    expect(forBilling.body).toEqual({ redriven: 0 });
    expect(redriven.body).toEqual({ redriven: 1 });
    expect(afterwards.body.deadLetters).toEqual([]);
    expect(fakes.get('orders')?.records.map((r) => r.attempt)).toEqual([1, 1]);
    expect(
      (results.body.results as Array<{ 'detail-type': string }>).map((event) => event['detail-type']),
    ).toEqual(['Connector Invocation Failed', 'Connector Invocation Succeeded']);
  });

  it('gives no result store to a connector whose result events are off', async () => {
    // Prepare
    const event = requestEvent('billing');

    // Act
    await post(`${gateway.url}/v1/events`, event);
    await waitFor(() => gateway.queues.get('billing')?.stats().succeeded === 1, 'the billing event');
    const results = await get(`${gateway.url}/v1/results`);

    // Assess
    expect(results.body.results).toEqual([]);
  });

  it('still serves the connector route, and answers 404 for unknown routes and connectors', async () => {
    // Prepare
    const base = gateway.url;

    // Act
    const invoked = await post(`${base}/v1/connectors/orders/request`, { method: 'GET', path: '/anything' });
    const unknownRoute = await get(`${base}/v1/nothing`);
    const unknownFilter = await get(`${base}/v1/results?connector=nope`);
    const wrongMethod = await post(`${base}/v1/queue`, {});

    // Assess
    expect(invoked).toEqual({ status: 200, body: { data: 'fake' } });
    expect(unknownRoute.status).toBe(404);
    expect((unknownRoute.body.error as { message: string }).message).toContain('POST /v1/events');
    expect(unknownFilter.status).toBe(404);
    expect(wrongMethod.status).toBe(404);
  });
});

describe('listDeadLetters', () => {
  it('lists a letter the redrive policy moved with no error, its attempts counted from its receives', () => {
    // Prepare
    const clock = fakeClock();
    const queue = new LocalQueue({
      connector: 'orders',
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 2,
      now: clock.now,
    });
    queue.send('{"id":"evt-9"}', { messageAttributes: { [MESSAGE_ATTRIBUTE.priorAttempts]: '3' } });
    queue.send('not json');
    for (let i = 0; i < 3; i++) {
      queue.receive();
      clock.advance(30);
    }

    // Act
    const letters = listDeadLetters(new Map([['orders', queue]]));

    // Assess
    expect(letters).toEqual([
      {
        connector: 'orders',
        messageId: expect.any(String),
        event: { id: 'evt-9' },
        error: null,
        attempts: 5,
        deadLetteredAt: '2026-01-02T03:05:05.000Z',
      },
      {
        connector: 'orders',
        messageId: expect.any(String),
        event: 'not json',
        error: null,
        attempts: 2,
        deadLetteredAt: '2026-01-02T03:05:05.000Z',
      },
    ]);
  });
});

describe('local gateway, asynchronous path through the real handler', () => {
  let upstream: Server;
  let gateway: LocalGateway;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      const status = /^\/status\/(\d{3})$/.exec(req.url ?? '')?.[1];
      res.writeHead(status ? Number(status) : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    captureOutput();
    gateway = await startLocalGateway({
      config: config(`http://127.0.0.1:${port}`),
      credentials: NO_SECRETS,
      port: 0,
      dynamo,
      pollIntervalMs: 5,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  beforeEach(() => {
    captureOutput();
  });

  it('runs a request event and publishes its success; dead-letters one the vendor rejects', async () => {
    // Prepare
    const events = [
      requestEvent('orders', { method: 'GET', path: '/anything/ok' }),
      requestEvent('orders', { method: 'GET', path: '/status/400' }),
    ];

    // Act
    const answer = await post(`${gateway.url}/v1/events`, events);
    await waitFor(() => gateway.results.size === 2, 'two result events');
    const results = await get(`${gateway.url}/v1/results?connector=orders`);
    const deadLetters = await get(`${gateway.url}/v1/dead-letters`);
    const queue = await get(`${gateway.url}/v1/queue`);

    // Assess
    expect(answer.body.accepted).toBe(2);
    const byType = Object.fromEntries(
      (results.body.results as Array<{ 'detail-type': string; detail: Record<string, unknown> }>).map(
        (event) => [event['detail-type'], event.detail],
      ),
    );
    expect(byType['Connector Invocation Succeeded']).toMatchObject({
      connector: 'orders',
      attempts: 1,
      output: { status: 200, body: { path: '/anything/ok' } },
    });
    expect(byType['Connector Invocation Failed']).toMatchObject({
      error: { code: 'UPSTREAM_REJECTED', upstreamStatus: 400 },
    });
    expect(deadLetters.body.deadLetters).toEqual([
      expect.objectContaining({
        connector: 'orders',
        error: expect.objectContaining({
          code: 'UPSTREAM_REJECTED',
          source: 'upstream',
          upstreamStatus: 400,
        }),
        attempts: 1,
      }),
    ]);
    expect(queue.body).toMatchObject({ succeeded: 1, deadLettered: 1, inFlight: 0, visible: 0 });
  });
});
