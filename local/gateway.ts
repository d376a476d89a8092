/**
 * The local gateway (docs/design.md §7): serves `POST /v1/connectors/{connector}/{operation}` on 127.0.0.1
 * exactly as API Gateway would, by building the same REST proxy event and calling the same handler
 * that Lambda runs, with idempotency in an embedded DynamoDB and credentials from a local file.
 *
 * The asynchronous path runs here too: `POST /v1/events` plays the EventBridge rule of each
 * connector (a `Connector Invocation Requested` event naming the connector goes to its inbox), a
 * {@link LocalQueue} per connector plays the inbox and dead-letter queue, its poller plays the
 * event source mapping (SQS batches into the same handler, partial batch responses honoured), and a
 * {@link LocalResultStore} keeps the result events. `GET /v1/queue`, `GET /v1/dead-letters`,
 * `POST /v1/dead-letters/redrive` and `GET /v1/results` show and steer them.
 *
 * Real AWS clients reach the same inboxes and queues through AWS's own protocols at the gateway's
 * URL (`local/aws/`): a `POST` with `X-Amz-Target: AWSEvents.PutEvents` (AWS JSON 1.1) or
 * `AmazonSQS.{Action}` (AWS JSON 1.0), and SQS's form-encoded query protocol for older CLIs.
 * {@link LocalGateway.endpoints} says where each service is.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { kindOf, registeredKinds } from '../functions/builtin-kinds.js';
import {
  type AnyConnectorConfig,
  ConfigValidationError,
  formatIssues,
  inboxRetentionSeconds,
  type SuiteConfig,
  webhookOf,
} from '../functions/shared/config.js';
import type { CredentialStore } from '../functions/shared/credentials/store.js';
import { ConnectorError, type ErrorCode } from '../functions/shared/errors.js';
import { createPowertools } from '../functions/shared/powertools.js';
import {
  INVOCATION_REQUESTED,
  MESSAGE_ATTRIBUTE,
  requestEventSchema,
} from '../functions/shared/runtime/async-contract.js';
import type {
  ConnectorDependencies,
  ConnectorHandler,
  ConnectorKind,
  ServableConnector,
} from '../functions/shared/runtime/index.js';
import {
  createWebhookHandler,
  type VerifyWebhook,
  WEBHOOK_SERVICE_NAME,
  type WebhookHandler,
} from '../functions/webhooks/core.js';
import { verifyWebhook } from '../functions/webhooks/verify.js';
import { eventBridgeOperation } from './aws/eventbridge.js';
import { type AwsJsonAnswer, AwsJsonError, parseAwsJsonBody } from './aws/protocol.js';
import { LocalSqsService } from './aws/sqs.js';
import { isSqsQueryRequest, sqsQueryOperation } from './aws/sqs-query.js';
import { type LocalDynamoDB, startLocalDynamoDB } from './dynamodb.js';
import { connectorProxyEvent, LOCAL_ACCOUNT_ID, LOCAL_REGION, lambdaContext } from './lambda-events.js';
import {
  type DeadLetter,
  inboxVisibilityTimeoutSeconds,
  LocalQueue,
  LocalQueuePoller,
  type QueueState,
  type QueueStats,
  readQueueStateFile,
  writeQueueStateFile,
} from './queue.js';
import { LocalResultStore } from './results.js';
import { LocalWebhookEvents, localRequestUrl, webhookProxyEvent } from './webhooks.js';

/** The largest request body accepted, in bytes (a Lambda request payload is at most 6 MB). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
/** The largest `POST /v1/events` body accepted, in bytes. */
export const MAX_EVENTS_BODY_BYTES = 64 * 1024 * 1024;
/** The most events one `POST /v1/events` may carry. */
export const MAX_EVENTS_PER_CALL = 10_000;
/** The largest event accepted, in bytes of its JSON (an EventBridge entry is at most 256 KB). */
export const MAX_EVENT_BYTES = 256 * 1024;

const CONNECTOR_ROUTE = /^\/v1\/connectors\/([^/]+)\/([^/]+)$/;
/** `POST /v1/webhooks/{connector}` (docs/webhooks.md). */
const WEBHOOK_ROUTE = /^\/v1\/webhooks\/([^/]+)$/;

/** The routes of the gateway besides the connector route, by path: their method. */
const EVENT_ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  '/v1/events': 'POST',
  '/v1/queue': 'GET',
  '/v1/dead-letters': 'GET',
  '/v1/dead-letters/redrive': 'POST',
  '/v1/results': 'GET',
  '/v1/webhooks': 'GET',
};

/** Options of {@link startLocalGateway}. */
export interface LocalGatewayOptions {
  /** The validated suite (parsed with `allowLoopbackHttp`, and with `kinds` when it uses kinds of your own). */
  config: SuiteConfig<AnyConnectorConfig>;
  /**
   * The connector kinds of your own that the suite's entries may name (from `connectorKind`); the
   * built-in kinds are always served.
   * @default []
   */
  kinds?: readonly ConnectorKind[];
  /** Where connectors read their secrets. */
  credentials: CredentialStore;
  /** @default 3000; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** An idempotency store already running; @default a new embedded dynalite, closed with the gateway */
  dynamo?: LocalDynamoDB;
  /**
   * The port of the embedded dynalite the gateway starts when `dynamo` is not given (0 picks a free
   * one; `dynamoDBSettingsFromEnv` reads `DYNAMODB_PORT`, default 8000, for `npm start`).
   * @default 0
   */
  dynamoDBPort?: number;
  /**
   * A DynamoDB endpoint already running (DynamoDB Local, a shared dynalite) to use instead of
   * starting dynalite; the idempotency table is created there if missing. Ignored when `dynamo` is given.
   */
  dynamoDBEndpoint?: string;
  /** @default globalThis.fetch (tests inject their own) */
  fetch?: typeof fetch;
  /** @default a Powertools Logger with service `local-gateway` */
  logger?: Logger;
  /**
   * Builds a connector's handler from the dependencies the gateway prepared for it (its queue and
   * the result store included). Tests pass a fake.
   * @default the `createHandler` of the connector's kind
   */
  createHandler?: (deps: ConnectorDependencies<AnyConnectorConfig>) => ConnectorHandler;
  /** How often each connector's poller looks at its inbox, in ms. @default 25 */
  pollIntervalMs?: number;
  /**
   * A directory where the gateway keeps its state across restarts (`npm start` passes `.local/`):
   * the queues' messages and dead letters (`queues.json`, loaded at start, written atomically on
   * {@link LocalGateway.close}) and the embedded dynalite's data (`dynamodb/`, so the idempotency
   * records survive). Created if missing; one gateway at a time may use it (`gateway.pid` says which).
   * Not given, everything is in memory and lost on close.
   * @default none
   */
  stateDir?: string;
  /**
   * How long {@link LocalGateway.close} waits for the requests and deliveries in flight, in ms; the
   * messages of deliveries still running then are delivered again at the next start.
   * @default the longest function timeout of the suite, at most 30,000
   */
  drainTimeoutMs?: number;
  /**
   * Where the `Webhook Received` events of `POST /v1/webhooks/{connector}` go (`GET /v1/webhooks`
   * lists them). Tests pass one whose `publish` fails, as a failing `PutEvents` would.
   * @default a new {@link LocalWebhookEvents}
   */
  webhookEvents?: LocalWebhookEvents;
  /** Verifies webhook signatures. @default `verifyWebhook` of functions/webhooks/verify.ts */
  verifyWebhook?: VerifyWebhook;
}

/** The most {@link LocalGatewayOptions.drainTimeoutMs} defaults to, in ms. */
export const MAX_DEFAULT_DRAIN_MS = 30_000;

/** A running local gateway. */
export interface LocalGateway {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The handler of each connector, by name. */
  handlers: ReadonlyMap<string, ConnectorHandler>;
  /** The inbox and dead-letter queue of each connector, by name. */
  queues: ReadonlyMap<string, LocalQueue>;
  /** The result events the connectors published. */
  results: LocalResultStore;
  /** The `Webhook Received` events the webhook route published. */
  webhookEvents: LocalWebhookEvents;
  /**
   * Where AWS clients reach the local services (`--endpoint-url`): EventBridge `PutEvents` and SQS
   * are served by the gateway itself (AWS JSON protocols, see `local/aws/`), DynamoDB by the
   * idempotency store's endpoint.
   */
  endpoints: { eventBridge: string; sqs: string; dynamoDB: string };
  /**
   * Stops taking work (a request arriving meanwhile gets 503 `DEPENDENCY_UNAVAILABLE`) and polling
   * the inboxes, waits for the requests and batches still running (at most `drainTimeoutMs`), writes
   * the queues' state to `stateDir` when given (logging how many messages it kept per connector),
   * and closes the embedded DynamoDB it started.
   */
  close(): Promise<void>;
}

/**
 * One entry of the `POST /v1/events` answer, in the order sent, shaped as an entry of EventBridge's
 * `PutEvents` answer (`EventId`, or `ErrorCode` and `ErrorMessage`; the codes are the suite's).
 */
export type EventEntryResult = { EventId: string } | { ErrorCode: ErrorCode; ErrorMessage: string };

/**
 * The `POST /v1/events` answer, as EventBridge's `PutEvents` answers: how many entries failed, and
 * one result per entry in the order sent. Every entry is validated before any is queued, so a
 * failed entry can be sent again alone without repeating the others. `accepted` (the entries
 * queued) is the local gateway's own addition.
 */
export interface PutEventsAnswer {
  FailedEntryCount: number;
  Entries: EventEntryResult[];
  accepted: number;
}

/** A `POST /v1/events` entry that passed validation: the message for its connector's inbox. */
export interface PreparedEvent {
  queue: LocalQueue;
  /** The message body: the whole event, with its `id` and `time`. */
  body: string;
  eventId: string;
}

/** The `GET /v1/queue` answer: the counters summed over connectors, and each connector's own. */
export interface QueueOverview extends QueueStats {
  connectors: Record<string, QueueStats>;
}

/** A dead letter as `GET /v1/dead-letters` lists it. */
export interface DeadLetterView {
  connector: string;
  messageId: string;
  /** The request event (the message body, parsed; the raw body when it is not JSON). */
  event: unknown;
  /**
   * The error the runtime dead-lettered it with; `null` when the inbox's redrive policy moved it
   * after `maxReceiveCount` receives (the handler never ended a delivery of it).
   */
  error: { code: string; message: string; source: string; upstreamStatus?: number } | null;
  /** Deliveries it took, when known. */
  attempts: number | null;
  deadLetteredAt: string;
}

/**
 * Starts the local gateway and the pollers of the connectors' inboxes.
 * @throws ConnectorError `CONFIGURATION_ERROR` when a connector cannot be built; the listen error
 *   (e.g. `EADDRINUSE`) when the port is taken
 * @throws ConfigValidationError when a connector's kind is not registered, naming the kinds known,
 *   or `kinds` is malformed (a built-in kind's name, two kinds of one name)
 */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const logger = options.logger ?? createPowertools({ serviceName: 'local-gateway' }).logger;
  const definitions = await loadDefinitions(options);
  const stateFile = options.stateDir === undefined ? undefined : path.join(options.stateDir, 'queues.json');
  let unlock = async () => {};
  if (options.stateDir !== undefined) {
    await mkdir(options.stateDir, { recursive: true });
    unlock = await lockStateDir(options.stateDir);
  }
  const dynamo =
    options.dynamo ??
    (await startLocalDynamoDB({
      ...(options.dynamoDBPort === undefined ? {} : { port: options.dynamoDBPort }),
      ...(options.dynamoDBEndpoint === undefined ? {} : { endpoint: options.dynamoDBEndpoint }),
      ...(options.stateDir === undefined ? {} : { path: path.join(options.stateDir, 'dynamodb') }),
    }).catch(async (error: unknown) => {
      await unlock();
      throw error;
    }));
  const handlers = new Map<string, ConnectorHandler>();
  const queues = new Map<string, LocalQueue>();
  const pollers: LocalQueuePoller[] = [];
  const timeouts = new Map<string, number>();
  const results = new LocalResultStore();
  const webhookEvents = options.webhookEvents ?? new LocalWebhookEvents();
  const webhookRoutes = options.config.connectors.flatMap((config) => {
    const webhook = webhookOf(config);
    return webhook ? [{ connector: config.name, webhook }] : [];
  });
  // The same handler as the webhook function's, over the local secrets file, dynalite and bus.
  const webhookHandler: WebhookHandler = createWebhookHandler({
    routes: webhookRoutes,
    credentials: options.credentials,
    verify: options.verifyWebhook ?? verifyWebhook,
    idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
    bus: webhookEvents,
    powertools: createPowertools({ serviceName: WEBHOOK_SERVICE_NAME }),
    requestUrl: localRequestUrl,
  });
  /** The saved state of queues of connectors the suite no longer has: written back on close. */
  const unclaimed: QueueState[] = [];
  try {
    for (const config of options.config.connectors) {
      const queue = new LocalQueue({
        connector: config.name,
        visibilityTimeoutSeconds: inboxVisibilityTimeoutSeconds(config),
        maxReceiveCount: config.async.maxReceiveCount,
        // As the stack sets it: long enough for the settings' worst case.
        retentionSeconds: inboxRetentionSeconds(config),
      });
      const handler = buildHandler(config, definitions, options, dynamo, queue, results);
      handlers.set(config.name, handler);
      queues.set(config.name, queue);
      timeouts.set(config.name, config.functionTimeoutSeconds * 1000);
      pollers.push(
        new LocalQueuePoller({
          queue,
          handler,
          batchSize: config.async.batchSize,
          maxBatchingWindowSeconds: config.async.maxBatchingWindowSeconds,
          maxConcurrency: config.async.maxConcurrency,
          functionTimeoutMs: config.functionTimeoutSeconds * 1000,
          functionName: `connector-suite-local-${config.name}`,
          ...(options.pollIntervalMs === undefined ? {} : { intervalMs: options.pollIntervalMs }),
          logger,
        }),
      );
    }
    if (stateFile !== undefined) {
      const restored: Record<string, { messages: number; deadLetters: number }> = {};
      for (const state of (await readQueueStateFile(stateFile)) ?? []) {
        const queue = queues.get(state.connector);
        if (queue) restored[state.connector] = queue.restore(state);
        else unclaimed.push(state);
      }
      logger.info('Restored the local queues', { file: stateFile, connectors: restored });
      for (const state of unclaimed) {
        logger.warn('Kept the queue of a connector the suite no longer has, untouched', {
          connector: state.connector,
          messages: state.messages.length,
          deadLetters: state.deadLetters.length,
        });
      }
    }
  } catch (error) {
    if (!options.dynamo) await dynamo.close();
    await unlock();
    throw error;
  }
  const drainTimeoutMs =
    options.drainTimeoutMs ?? Math.min(MAX_DEFAULT_DRAIN_MS, Math.max(0, ...timeouts.values()));
  /** Set by `close`: requests arriving meanwhile are refused. */
  let stopping = false;
  const configured = () => [...handlers.keys()].join(', ');
  /** The SQS service of the local queues, once the gateway's URL is known. */
  let sqs: LocalSqsService | undefined;

  /** The requests being answered, for `close` to wait for. */
  const answering = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const answered = serve(req, res)
      .catch((error: unknown) => {
        logger.error('The local gateway failed to answer', { error });
        if (!res.headersSent)
          send(res, 500, new ConnectorError('INTERNAL_ERROR', 'The local gateway failed.').toBody(''));
      })
      .finally(() => answering.delete(answered));
    answering.add(answered);
  });

  /** What a route did: its status, and fields for the log line. */
  type Outcome = { status: number; fields?: Record<string, unknown> };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const fail = (status: number, code: ErrorCode, message: string): Outcome => {
      req.resume();
      send(res, status, new ConnectorError(code, message).toBody(requestId), { 'x-request-id': requestId });
      return { status };
    };
    const answer = (body: unknown, fields?: Record<string, unknown>): Outcome => {
      send(res, 200, body, { 'x-request-id': requestId });
      return { status: 200, ...(fields ? { fields } : {}) };
    };
    /** The `?connector=` filter: `undefined` for all, `null` when it names no connector. */
    const connectorFilter = (): string | undefined | null => {
      const name = url.searchParams.get('connector') || undefined;
      return name === undefined || handlers.has(name) ? name : null;
    };

    let outcome: Outcome;
    const method = EVENT_ROUTES[url.pathname];
    const target = req.headers['x-amz-target'];
    if (stopping) {
      outcome = fail(
        503,
        'DEPENDENCY_UNAVAILABLE',
        'The local gateway is stopping; send the request again once it has restarted.',
      );
    } else if (typeof target === 'string' && req.method === 'POST') {
      outcome = await serveAws(req, res, target);
    } else if (
      isSqsQueryRequest(req.method, req.headers['content-type']) &&
      (url.pathname === '/' || url.pathname.startsWith(`/${LOCAL_ACCOUNT_ID}/`))
    ) {
      outcome = await serveSqsQuery(req, res);
    } else if (method !== undefined && req.method !== method) {
      outcome = fail(404, 'NOT_FOUND', `Use ${method}.`);
    } else if (method !== undefined) {
      const filter = connectorFilter();
      if (filter === null) {
        outcome = fail(
          404,
          'NOT_FOUND',
          `No connector named '${url.searchParams.get('connector')}'. Configured: ${configured()}.`,
        );
      } else if (url.pathname === '/v1/events') {
        outcome = await publishEvents(req);
      } else if (url.pathname === '/v1/queue') {
        req.resume();
        outcome = answer(queueOverview(queues));
      } else if (url.pathname === '/v1/dead-letters') {
        req.resume();
        outcome = answer({ deadLetters: listDeadLetters(queues, filter) });
      } else if (url.pathname === '/v1/dead-letters/redrive') {
        req.resume();
        let redriven = 0;
        for (const [name, queue] of queues)
          if (filter === undefined || name === filter) redriven += queue.redrive();
        outcome = answer({ redriven }, { redriven });
      } else if (url.pathname === '/v1/webhooks') {
        req.resume();
        outcome = answer({ events: webhookEvents.list(filter === undefined ? {} : { connector: filter }) });
      } else {
        req.resume();
        outcome = answer({ results: results.list(filter === undefined ? {} : { connector: filter }) });
      }
    } else if (req.method === 'POST' && WEBHOOK_ROUTE.test(url.pathname)) {
      outcome = await receiveWebhook(req, res, url, requestId);
    } else {
      outcome = await invokeConnector(req, res, url, requestId);
    }
    logger.info('request', {
      method: req.method,
      path: url.pathname,
      status: outcome.status,
      durationMs: Date.now() - startedAt,
      requestId,
      ...outcome.fields,
    });

    async function publishEvents(request: IncomingMessage): Promise<Outcome> {
      const body = await readBody(request, MAX_EVENTS_BODY_BYTES);
      if (body === undefined) {
        return fail(400, 'VALIDATION_ERROR', `The body is larger than ${MAX_EVENTS_BODY_BYTES} bytes.`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return fail(
          400,
          'VALIDATION_ERROR',
          'The body is not JSON: send one event {"source", "detail-type", "detail"} or an array of them.',
        );
      }
      const entries = Array.isArray(parsed) ? parsed : [parsed];
      if (entries.length === 0 || entries.length > MAX_EVENTS_PER_CALL) {
        return fail(400, 'VALIDATION_ERROR', `Send 1 to ${MAX_EVENTS_PER_CALL} events per call.`);
      }
      const result = putEvents(entries, queues);
      return answer(result, { accepted: result.accepted, failed: result.FailedEntryCount });
    }
  }

  /** An AWS JSON 1.0 (SQS) or 1.1 (EventBridge) request, by its `X-Amz-Target`. */
  async function serveAws(req: IncomingMessage, res: ServerResponse, target: string): Promise<Outcome> {
    const [service = '', action = ''] = target.split('.', 2);
    const contentType = `application/x-amz-json-${service === 'AmazonSQS' ? '1.0' : '1.1'}`;
    let answer: AwsJsonAnswer;
    try {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) {
        throw new AwsJsonError(
          'ValidationException',
          `The body is larger than ${MAX_BODY_BYTES} bytes.`,
          413,
        );
      }
      const request = parseAwsJsonBody(body);
      if (service === 'AWSEvents')
        answer = eventBridgeOperation(action, request, (events) => putEvents(events, queues));
      else if (service === 'AmazonSQS' && sqs) answer = sqs.operation(action, request);
      else {
        throw new AwsJsonError(
          'UnknownOperationException',
          `The local gateway serves AWSEvents.PutEvents and AmazonSQS actions, not ${target}.`,
        );
      }
    } catch (error) {
      if (!(error instanceof AwsJsonError)) throw error;
      answer = error.toAnswer();
    }
    res.writeHead(answer.status, { 'content-type': contentType, ...answer.headers });
    res.end(JSON.stringify(answer.body));
    return { status: answer.status, fields: { target } };
  }

  /** SQS's query protocol (older AWS CLIs): a form-encoded POST, answered in XML. */
  async function serveSqsQuery(req: IncomingMessage, res: ServerResponse): Promise<Outcome> {
    const body = (await readBody(req, MAX_BODY_BYTES)) ?? '';
    const answer = sqs
      ? sqsQueryOperation(sqs, body)
      : {
          status: 503,
          body: '<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>',
        };
    res.writeHead(answer.status, { 'content-type': 'text/xml' });
    res.end(answer.body);
    return { status: answer.status, fields: { sqsQuery: new URLSearchParams(body).get('Action') } };
  }

  /** `POST /v1/webhooks/{connector}`: the body's bytes as received, to the webhook handler. */
  async function receiveWebhook(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    requestId: string,
  ): Promise<Outcome> {
    const body = await readBodyBytes(req, MAX_BODY_BYTES);
    if (body === undefined) return refuseOversizedBody(res, requestId);
    const connector = decodeSegment(WEBHOOK_ROUTE.exec(url.pathname)?.[1] ?? '');
    const event = webhookProxyEvent({
      connector,
      headers: pairs(req.rawHeaders),
      query: [...url.searchParams],
      body,
      requestId,
      domainName: req.headers.host ?? '127.0.0.1',
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${req.httpVersion}`,
    });
    const result = await webhookHandler(event, lambdaContext('connector-suite-local-webhooks', 29_000));
    res.writeHead(result.statusCode, flattenHeaders(result.headers));
    res.end(result.body);
    return { status: result.statusCode, fields: { webhook: connector } };
  }

  async function invokeConnector(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    requestId: string,
  ): Promise<{ status: number }> {
    const match = CONNECTOR_ROUTE.exec(url.pathname);
    const connector = match?.[1] === undefined ? undefined : decodeSegment(match[1]);
    const operation = match?.[2] === undefined ? undefined : decodeSegment(match[2]);
    const handler = connector === undefined ? undefined : handlers.get(connector);
    if (!match || req.method !== 'POST' || !handler || connector === undefined || operation === undefined) {
      req.resume();
      const message = !match
        ? `No route ${req.method} ${url.pathname}; use POST /v1/connectors/{connector}/{operation}, ` +
          'POST /v1/events, GET /v1/queue, GET /v1/dead-letters, POST /v1/dead-letters/redrive, GET /v1/results, ' +
          'POST /v1/webhooks/{connector} or GET /v1/webhooks.'
        : req.method !== 'POST'
          ? 'Use POST.'
          : `No connector named '${connector}'. Configured: ${configured()}.`;
      send(res, 404, new ConnectorError('NOT_FOUND', message).toBody(requestId), {
        'x-request-id': requestId,
      });
      return { status: 404 };
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return refuseOversizedBody(res, requestId);
    const event = connectorProxyEvent({
      connector,
      operation,
      headers: pairs(req.rawHeaders),
      query: [...url.searchParams],
      body,
      requestId,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${req.httpVersion}`,
    });
    const context = lambdaContext(`connector-suite-local-${connector}`, timeouts.get(connector) ?? 29_000);
    const result = await handler(event, context);
    res.writeHead(result.statusCode, flattenHeaders(result.headers));
    res.end(result.body);
    return { status: result.statusCode };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    if (!options.dynamo) await dynamo.close();
    await unlock();
    throw error;
  });
  for (const poller of pollers) poller.start();
  const address = server.address() as AddressInfo;
  const gatewayUrl = `http://${address.address}:${address.port}`;
  sqs = new LocalSqsService(gatewayUrl, queues);
  return {
    url: gatewayUrl,
    handlers,
    queues,
    results,
    webhookEvents,
    endpoints: { eventBridge: gatewayUrl, sqs: gatewayUrl, dynamoDB: dynamo.endpoint },
    async close() {
      // Still listening while it drains, so a request meanwhile gets a 503 it can act on, not a refused connection.
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        Promise.all([...answering, ...pollers.map((poller) => poller.stop())]).then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const closed = closeServer(server);
      server.closeAllConnections();
      await closed;
      if (!drained) {
        logger.warn(
          'Deliveries were still running when the drain ran out; their messages are delivered again at the next start',
          { drainTimeoutMs },
        );
      }
      if (stateFile !== undefined) {
        const states = [...queues.values()].map((queue) => queue.snapshot());
        await writeQueueStateFile(stateFile, [...states, ...unclaimed]);
        const kept: Record<string, { messages: number; deadLetters: number }> = {};
        for (const state of states) {
          kept[state.connector] = { messages: state.messages.length, deadLetters: state.deadLetters.length };
        }
        logger.info('Kept the local queues for the next start', { file: stateFile, connectors: kept });
      }
      if (!options.dynamo) await dynamo.close();
      await unlock();
    },
  };
}

/** The definition of each kind the suite's connectors name, loaded once, by kind. */
async function loadDefinitions(
  options: LocalGatewayOptions,
): Promise<ReadonlyMap<string, ServableConnector<AnyConnectorConfig>>> {
  const registry = registeredKinds(options.kinds);
  const definitions = new Map<string, ServableConnector<AnyConnectorConfig>>();
  // A fake `createHandler` (tests) builds every connector itself.
  if (options.createHandler) return definitions;
  for (const config of options.config.connectors) {
    if (definitions.has(config.kind)) continue;
    const kind = kindOf(registry, config);
    definitions.set(config.kind, await kind.load());
  }
  return definitions;
}

function buildHandler(
  config: AnyConnectorConfig,
  definitions: ReadonlyMap<string, ServableConnector<AnyConnectorConfig>>,
  options: LocalGatewayOptions,
  dynamo: LocalDynamoDB,
  queue: LocalQueue,
  results: LocalResultStore,
): ConnectorHandler {
  const deps: ConnectorDependencies<AnyConnectorConfig> = {
    config,
    credentials: options.credentials,
    idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
    allowLoopbackHttp: true,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    queue,
    // As in the stack: no bus for a connector whose result events are off.
    ...(config.async.resultEvents ? { results } : {}),
  };
  if (options.createHandler) return options.createHandler(deps);
  const definition = definitions.get(config.kind);
  if (definition === undefined) {
    throw new ConfigValidationError(`connector '${config.name}'`, [
      `kind: '${config.kind}' is not registered`,
    ]);
  }
  return definition.createHandler(deps);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the EventBridge rules of the connectors do with the events of one `POST /v1/events`: first
 * every entry is validated ({@link prepareEvent}; nothing it throws escapes: an entry that cannot be
 * handled is an error entry), then the valid ones go to their inboxes. The answer never fails as a
 * whole after part of the batch was queued, so a caller who sends the failed entries again repeats
 * no side effect.
 */
export function putEvents(
  entries: readonly unknown[],
  queues: ReadonlyMap<string, LocalQueue>,
): PutEventsAnswer {
  const prepared = entries.map((entry): PreparedEvent | EventEntryResult => {
    try {
      return prepareEvent(entry, queues);
    } catch {
      // e.g. JSON.stringify's RangeError on an input nested thousands of levels deep.
      return {
        ErrorCode: 'VALIDATION_ERROR',
        ErrorMessage: 'The event cannot be serialized (nested too deeply, or too large).',
      };
    }
  });
  const results = prepared.map((entry): EventEntryResult => {
    if (!('queue' in entry)) return entry;
    try {
      entry.queue.send(entry.body);
      return { EventId: entry.eventId };
    } catch {
      return {
        ErrorCode: 'DEPENDENCY_UNAVAILABLE',
        ErrorMessage: `The inbox of connector '${entry.queue.connector}' refused the event; send it again.`,
      };
    }
  });
  const accepted = results.filter((entry) => 'EventId' in entry).length;
  return { FailedEntryCount: results.length - accepted, Entries: results, accepted };
}

/**
 * Validates one event of `POST /v1/events` as the connectors' EventBridge rules would take it: a
 * `Connector Invocation Requested` event whose `detail.connector` names a connector is prepared for
 * that connector's inbox, the whole event as the message body, with an `id` and a `time` when it has
 * none. Anything else is answered with an error entry. Queues nothing.
 */
export function prepareEvent(
  entry: unknown,
  queues: ReadonlyMap<string, LocalQueue>,
): PreparedEvent | EventEntryResult {
  const error = (ErrorCode: ErrorCode, ErrorMessage: string): EventEntryResult => ({
    ErrorCode,
    ErrorMessage,
  });
  if (!isObject(entry)) {
    return error('VALIDATION_ERROR', 'An event must be a JSON object {"source", "detail-type", "detail"}.');
  }
  const bad: string[] = [];
  if (typeof entry.source !== 'string' || entry.source === '') bad.push('source');
  if (typeof entry['detail-type'] !== 'string' || entry['detail-type'] === '') bad.push('detail-type');
  if (!isObject(entry.detail)) bad.push('detail');
  if (entry.id !== undefined && (typeof entry.id !== 'string' || entry.id === '')) bad.push('id');
  if (entry.time !== undefined && typeof entry.time !== 'string') bad.push('time');
  if (bad.length > 0) {
    return error(
      'VALIDATION_ERROR',
      `Missing or invalid: ${bad.join(', ')} (source and detail-type are non-empty strings, detail is a JSON object).`,
    );
  }
  if (entry['detail-type'] !== INVOCATION_REQUESTED) {
    return error(
      'NOT_FOUND',
      `No rule matches detail-type '${String(entry['detail-type'])}'; the connectors' rules match '${INVOCATION_REQUESTED}'.`,
    );
  }
  const connector = (entry.detail as Record<string, unknown>).connector;
  const queue = typeof connector === 'string' ? queues.get(connector) : undefined;
  if (!queue) {
    const names = [...queues.keys()].join(', ');
    return error(
      'NOT_FOUND',
      typeof connector === 'string'
        ? `No connector named '${connector}'. Configured: ${names}.`
        : `detail.connector must name a connector. Configured: ${names}.`,
    );
  }
  const event = {
    version: '0',
    account: LOCAL_ACCOUNT_ID,
    region: LOCAL_REGION,
    resources: [],
    ...entry,
    id: typeof entry.id === 'string' ? entry.id : randomUUID(),
    time: typeof entry.time === 'string' ? entry.time : `${new Date().toISOString().slice(0, 19)}Z`,
  };
  const checked = requestEventSchema.safeParse(event);
  if (!checked.success) {
    return error('VALIDATION_ERROR', `Not a valid request event: ${formatIssues(checked.error).join('; ')}.`);
  }
  const body = JSON.stringify(event);
  if (Buffer.byteLength(body, 'utf8') > MAX_EVENT_BYTES) {
    return error('VALIDATION_ERROR', `The event is larger than ${MAX_EVENT_BYTES} bytes.`);
  }
  return { queue, body, eventId: event.id };
}

/** The `GET /v1/queue` answer. */
export function queueOverview(queues: ReadonlyMap<string, LocalQueue>): QueueOverview {
  const overview: QueueOverview = {
    visible: 0,
    inFlight: 0,
    delayed: 0,
    succeeded: 0,
    deadLettered: 0,
    expired: 0,
    connectors: {},
  };
  for (const [name, queue] of queues) {
    const stats = queue.stats();
    overview.connectors[name] = stats;
    overview.visible += stats.visible;
    overview.inFlight += stats.inFlight;
    overview.delayed += stats.delayed;
    overview.succeeded += stats.succeeded;
    overview.deadLettered += stats.deadLettered;
    overview.expired += stats.expired;
  }
  return overview;
}

/** The dead letters of every connector (or of `connector` only), oldest first. */
export function listDeadLetters(
  queues: ReadonlyMap<string, LocalQueue>,
  connector?: string,
): DeadLetterView[] {
  const views: DeadLetterView[] = [];
  for (const [name, queue] of queues) {
    if (connector !== undefined && name !== connector) continue;
    for (const letter of queue.deadLetters()) views.push(deadLetterView(name, letter));
  }
  // ISO 8601 times sort as strings; the sort is stable, so a connector's own order is kept.
  return views.sort((a, b) =>
    a.deadLetteredAt < b.deadLetteredAt ? -1 : a.deadLetteredAt > b.deadLetteredAt ? 1 : 0,
  );
}

function deadLetterView(connector: string, letter: DeadLetter): DeadLetterView {
  const attributes = letter.attributes;
  let event: unknown = letter.body;
  try {
    event = JSON.parse(letter.body);
  } catch {
    // Kept as the raw body.
  }
  const code = attributes[MESSAGE_ATTRIBUTE.errorCode];
  const upstreamStatus = Number(attributes[MESSAGE_ATTRIBUTE.upstreamStatus]);
  const recorded = Number(attributes[MESSAGE_ATTRIBUTE.attempts]);
  const prior = Number(attributes[MESSAGE_ATTRIBUTE.priorAttempts] ?? 0);
  const attempts =
    Number.isInteger(recorded) && recorded > 0
      ? recorded
      : letter.receiveCount === undefined
        ? null
        : (Number.isInteger(prior) ? prior : 0) + letter.receiveCount;
  return {
    connector,
    messageId: letter.messageId,
    event,
    error:
      code === undefined
        ? null
        : {
            code,
            message: attributes[MESSAGE_ATTRIBUTE.errorMessage] ?? '',
            source: attributes[MESSAGE_ATTRIBUTE.errorSource] ?? '',
            ...(Number.isInteger(upstreamStatus) && attributes[MESSAGE_ATTRIBUTE.upstreamStatus] !== undefined
              ? { upstreamStatus }
              : {}),
          },
    attempts,
    deadLetteredAt: letter.deadLetteredAt,
  };
}

/** `[name, value]` pairs of Node's flat `rawHeaders`. */
function pairs(raw: readonly string[]): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) result.push([raw[i] as string, raw[i + 1] as string]);
  return result;
}

/** The body's bytes, or `undefined` when it is larger than `limit` bytes. */
async function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers 400 `VALIDATION_ERROR`: the body is larger than {@link MAX_BODY_BYTES}. */
function refuseOversizedBody(res: ServerResponse, requestId: string): { status: number } {
  const error = new ConnectorError('VALIDATION_ERROR', `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  send(res, 400, error.toBody(requestId), { 'x-request-id': requestId });
  return { status: 400 };
}

/** The body as UTF-8, or `undefined` when it is larger than `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return (await readBodyBytes(req, limit))?.toString('utf8');
}

function flattenHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) flat[name] = String(value);
  return flat;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * Claims a state directory for this process (`gateway.pid`), as dynalite's LevelDB cannot be opened
 * twice; a file left by a process that is gone is taken over.
 * @returns the release
 * @throws Error naming the directory and the process when a live one holds it
 */
async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'gateway.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new Error(
        `${dir} is in use by another local gateway (process ${pid}); stop it, or give this one a directory of its own (LOCAL_STATE_DIR).`,
      );
    }
    await rm(file, { force: true });
  }
  throw new Error(`${dir} could not be claimed: another local gateway is starting on it.`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** A path segment, percent-decoded; kept as sent when its encoding is malformed (it then matches nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
