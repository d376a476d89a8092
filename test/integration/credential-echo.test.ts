/**
 * Issue 8, defect 3: a caller never receives the connector's credentials. An upstream that echoes
 * everything it got (the bearer token in `Authorization`, an API key in the query, a Basic
 * password) in its body and its headers leaves no trace of them in any outlet: the API response,
 * the idempotency record in DynamoDB, the result events, the dead letter and the logs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import {
  type ConnectorHandler,
  INVOCATION_FAILED,
  INVOCATION_REQUESTED,
  INVOCATION_SUCCEEDED,
  type QueueMessage,
  type ResultEvent,
} from '../../functions/shared/runtime/index.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { sqsEvent } from '../../local/lambda-events.js';
import {
  type CapturedOutput,
  captureOutput,
  lambdaContext,
  parseResult,
  proxyEvent,
  sendJson,
  startTestServer,
  suiteConfig,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

/** Obviously fake credentials, long and distinct enough to search for. */
const BEARER_TOKEN = 'tok-example-echo-bearer-4f1c';
const QUERY_API_KEY = 'key-example-echo-query-8b2d';
const BASIC_USERNAME = 'svc-example';
const BASIC_PASSWORD = 'pw-example-echo-basic-63e9';
const BASIC_CREDENTIAL = Buffer.from(`${BASIC_USERNAME}:${BASIC_PASSWORD}`).toString('base64');
const CREDENTIALS = [BEARER_TOKEN, QUERY_API_KEY, BASIC_PASSWORD, BASIC_CREDENTIAL];

const CONNECTORS = [
  { name: 'echo-bearer', auth: { type: 'bearer', secret: 'echo-bearer' } },
  { name: 'echo-query', auth: { type: 'apiKey', in: 'query', name: 'api_key', secret: 'echo-query' } },
  { name: 'echo-basic', auth: { type: 'basic', secret: 'echo-basic' } },
] as const;

/** Every credential found in `text` (none, when the outlet is clean). */
function leaked(text: string): string[] {
  return CREDENTIALS.filter((credential) => text.includes(credential));
}

/** What the upstream got, in the forms a careless vendor echoes it. */
function echo(req: IncomingMessage) {
  const url = new URL(req.url ?? '/', 'http://upstream.test');
  const authorization = req.headers.authorization ?? '';
  const basic = authorization.startsWith('Basic ')
    ? Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8')
    : '';
  return {
    url: req.url,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    authorization,
    token: authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : '',
    password: basic.slice(basic.indexOf(':') + 1),
  };
}

describe('credentials echoed by the upstream', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let dynamo: LocalDynamoDB;
  let server: TestServer;
  const handlers = new Map<string, ConnectorHandler>();
  const published: ResultEvent[] = [];
  const deadLetters: Array<{ message: QueueMessage; attributes: Record<string, string> }> = [];

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets({
      'echo-bearer': { token: BEARER_TOKEN },
      'echo-query': { apiKey: QUERY_API_KEY },
      'echo-basic': { username: BASIC_USERNAME, password: BASIC_PASSWORD },
    });
    dynamo = await startLocalDynamoDB();
    server = await startTestServer((req, res) => {
      const body = echo(req);
      const headers = {
        'x-echo-authorization': body.authorization,
        'x-echo-url': body.url ?? '',
        'x-echo-password': body.password,
      };
      sendJson(res, req.url?.startsWith('/reject') ? 400 : 200, body, headers);
    });
    const suite = suiteConfig({
      connectors: CONNECTORS.map((connector) => ({
        ...connector,
        kind: 'http',
        baseUrl: server.url,
        allowedMethods: ['POST'],
        allowedPathPrefixes: ['/echo', '/reject'],
        retry: { maxAttempts: 1 },
      })),
    });
    for (const config of suite.connectors) {
      handlers.set(
        config.name,
        httpConnector.createHandler({
          config,
          credentials: secrets.store,
          idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
          allowLoopbackHttp: true,
          queue: {
            changeVisibility: async () => {},
            requeue: async () => {},
            deadLetter: async (message, attributes) =>
              void deadLetters.push({ message, attributes: { ...attributes } }),
          },
          results: { publish: async (events) => void published.push(...events) },
        }),
      );
    }
  });

  afterAll(async () => {
    await server?.close();
    await dynamo?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  function handlerOf(name: string): ConnectorHandler {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`no handler for ${name}`);
    return handler;
  }

  function sqsDelivery(connector: string, path: string) {
    const event = {
      version: '0',
      id: `evt-${randomUUID()}`,
      'detail-type': INVOCATION_REQUESTED,
      source: 'orders.service',
      detail: { connector, operation: 'request', input: { method: 'POST', path, body: { n: 1 } } },
    };
    return sqsEvent(connector, [
      {
        messageId: `msg-${randomUUID()}`,
        receiptHandle: `rh-${randomUUID()}`,
        body: JSON.stringify(event),
        messageAttributes: {},
        receiveCount: 1,
        sentAtMs: Date.now(),
        firstReceivedAtMs: Date.now(),
      },
    ]);
  }

  it.each(CONNECTORS.map((c) => c.name))(
    '%s: the upstream did get the credential (the test is live)',
    async (name) => {
      // Act
      const result = parseResult(
        await handlerOf(name)(
          proxyEvent({ connector: name, body: { method: 'POST', path: '/echo/live' } }),
          lambdaContext(),
        ),
      );

      // Assess: the upstream saw its credential; the caller sees it redacted.
      expect(result.status).toBe(200);
      const received = server.requests.at(-1);
      const sent = `${received?.url ?? ''} ${received?.headers.authorization ?? ''}`;
      expect(
        sent.includes(QUERY_API_KEY) || sent.includes(BEARER_TOKEN) || sent.includes(BASIC_CREDENTIAL),
      ).toBe(true);
      expect(JSON.stringify(result.body)).toContain('[REDACTED]');
    },
  );

  it.each(CONNECTORS.map((c) => c.name))(
    '%s: no credential in the API response, replay included',
    async (name) => {
      // Prepare
      const event = proxyEvent({
        connector: name,
        body: { method: 'POST', path: `/echo/${randomUUID()}`, body: { n: 1 } },
        headers: { 'Idempotency-Key': `echo-${randomUUID()}` },
      });

      // Act
      const first = await handlerOf(name)(event, lambdaContext());
      const replay = await handlerOf(name)(event, lambdaContext());

      // Assess
      expect(first.statusCode).toBe(200);
      expect(parseResult(replay).body.meta?.idempotentReplay).toBe(true);
      expect(leaked(JSON.stringify(first))).toEqual([]);
      expect(leaked(JSON.stringify(replay))).toEqual([]);
    },
  );

  it('no credential in any idempotency record', async () => {
    // Prepare: every connector stored at least one record above; store one more each, to be sure.
    for (const { name } of CONNECTORS) {
      await handlerOf(name)(
        proxyEvent({
          connector: name,
          body: { method: 'POST', path: `/echo/${randomUUID()}` },
          headers: { 'Idempotency-Key': `echo-${randomUUID()}` },
        }),
        lambdaContext(),
      );
    }

    // Act
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));

    // Assess
    expect(Items.length).toBeGreaterThanOrEqual(CONNECTORS.length * 2);
    expect(leaked(JSON.stringify(Items))).toEqual([]);
  });

  it.each(CONNECTORS.map((c) => c.name))(
    '%s: no credential in the result events or the dead letter of the asynchronous path',
    async (name) => {
      // Prepare
      const before = { published: published.length, deadLetters: deadLetters.length };

      // Act
      await handlerOf(name)(sqsDelivery(name, `/echo/${randomUUID()}`), lambdaContext());
      await handlerOf(name)(sqsDelivery(name, `/reject/${randomUUID()}`), lambdaContext());

      // Assess
      const events = published.slice(before.published);
      expect(events.map((e) => e.detailType)).toEqual([INVOCATION_SUCCEEDED, INVOCATION_FAILED]);
      const letters = deadLetters.slice(before.deadLetters);
      expect(letters).toHaveLength(1);
      expect(letters[0]?.attributes.ErrorCode).toBe('UPSTREAM_REJECTED');
      expect(leaked(JSON.stringify(events))).toEqual([]);
      expect(leaked(JSON.stringify(letters))).toEqual([]);
    },
  );

  it('no credential in the logs', () => {
    // Assess (after every test above has run through the handlers)
    expect(output.text()).not.toBe('');
    expect(leaked(output.text())).toEqual([]);
  });
});
