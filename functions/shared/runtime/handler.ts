/**
 * The Lambda entry of every connector: API Gateway REST proxy events on
 * `POST /v1/connectors/{connector}/{operation}` in, the envelopes of DESIGN §3 out.
 *
 * The handler stays thin: parse the event, validate the input, run the operation (through
 * Powertools idempotency when the caller sent an `Idempotency-Key`), validate the output and map
 * the result or the error to the envelope.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { z } from 'zod';
import { createAuthScheme } from '../auth/index.js';
import { type ConnectorConfig, formatPath, secretNameOf } from '../config.js';
import type { CredentialStore } from '../credentials/store.js';
import { ConnectorError, configurationError, type FieldIssue, toConnectorError } from '../errors.js';
import { HttpClient } from '../http/client.js';
import { createPowertools, METRIC, MetricUnit, type Powertools } from '../powertools.js';
import { type Redactor, redactor } from '../redaction.js';
import {
  IDEMPOTENCY_KEY_PATTERN,
  type QueuePort,
  type RequestEvent,
  type ResultDetail,
  type ResultPublisher,
} from './async-contract.js';
import { handleEventBridgeEvent, handleSqsBatch, isEventBridgeEvent, isSqsEvent } from './async-handler.js';
import type { ConnectorDefinition, Operation, OperationContext } from './connector.js';
import { logFailure } from './log-failure.js';
import {
  callVendor,
  createPolicyFetch,
  type VendorCallState,
  withRotatingCredentials,
} from './vendor-sdk.js';

/** Where idempotency records are kept. */
export type IdempotencyStore =
  /** A DynamoDB table with partition key `id` and TTL attribute `expiration`. */
  | { dynamoClient: DynamoDBClient; tableName: string }
  /** Any Powertools persistence layer (tests may use a fake). */
  | { persistenceStore: BasePersistenceLayer };

/** What a connector handler is built from. */
export interface ConnectorDependencies<C extends ConnectorConfig = ConnectorConfig> {
  /** The connector's validated config. */
  config: C;
  /** Where its secrets come from. */
  credentials: CredentialStore;
  /** Idempotency records; without it, `Idempotency-Key` is not honoured (local tests only). */
  idempotency?: IdempotencyStore;
  /** @default Logger, Tracer and Metrics named after the connector */
  powertools?: Powertools;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** Accept `http://` loopback base URLs (the local gateway). @default false */
  allowLoopbackHttp?: boolean;
  /** @default the process-wide redactor */
  redactor?: Redactor;
  /** The connector's queues, for SQS batches (the asynchronous path). */
  queue?: QueuePort;
  /** Where result events of the asynchronous path go. */
  results?: ResultPublisher;
}

/** The success envelope. */
export interface SuccessBody {
  data: unknown;
  meta: {
    connector: string;
    operation: string;
    requestId: string;
    attempts: number;
    cached: boolean;
    idempotentReplay: boolean;
    upstreamStatus: number | null;
    durationMs: number;
  };
}

/**
 * A connector's Lambda handler: API Gateway REST proxy events answer with the envelopes of DESIGN §3;
 * SQS batches of request events answer with a partial batch response; a request event invoked
 * directly answers with its result. The connector's HTTP client is at hand (its breaker state is
 * useful in tests).
 */
export interface ConnectorHandler {
  (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult>;
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  (event: RequestEvent, context: Context): Promise<ResultDetail>;
  /** The connector's outbound client. */
  readonly client: HttpClient;
}

/** What an operation's run leaves for the envelope (and for the idempotency record). */
export interface ExecutionResult {
  data: unknown;
  attempts: number;
  cached: boolean;
  upstreamStatus: number | null;
  idempotentReplay?: boolean;
}

/** The idempotency payload: a fresh object, never the event (Powertools 2.35.0 bug #5715). */
interface IdempotencyPayload {
  connector: string;
  operation: string;
  idempotencyKey: string;
  input: unknown;
}

interface Invocation {
  operationName: string;
  operation: Operation;
  input: unknown;
  requestId: string;
  idempotencyKey: string | undefined;
  deadlineAtMs: number;
}

/** One operation to run, from any entry point. */
export interface InvokeRequest {
  operationName: string;
  /** The caller's input, not yet validated. */
  input: unknown;
  requestId: string;
  idempotencyKey: string | undefined;
  lambdaContext: Context;
}

/**
 * Runs one operation: validates the input, then runs it through idempotency when a key is given.
 * @throws ConnectorError of the contract (idempotency errors mapped to their codes)
 */
export type Invoke = (request: InvokeRequest) => Promise<ExecutionResult>;

/** What the event adapters need of a connector handler. */
export interface ConnectorCore {
  config: ConnectorConfig;
  powertools: Powertools;
  redactor: Redactor;
  invoke: Invoke;
  queue: QueuePort | undefined;
  results: ResultPublisher | undefined;
}

/**
 * Builds a connector's Lambda handler. Build it once per process (module scope): the breaker,
 * rate limit, cache, tokens and secrets it holds live as long as the warm instance.
 *
 * @throws ConnectorError `CONFIGURATION_ERROR` for a config the runtime cannot use (e.g. an http base URL)
 */
export function createConnectorHandler<C extends ConnectorConfig>(
  definition: ConnectorDefinition<C>,
  deps: ConnectorDependencies<C>,
): ConnectorHandler {
  const { config } = deps;
  const target = deps.redactor ?? redactor;
  const powertools = deps.powertools ?? createPowertools({ serviceName: config.name, redactor: target });
  const { logger, metrics } = powertools;
  const client = new HttpClient({
    connector: config.name,
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
    circuitBreaker: config.circuitBreaker,
    rateLimit: config.rateLimit,
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheMaxBytes: config.cacheMaxBytes,
    forwardIdempotencyKey: config.kind === 'http' && config.forwardIdempotencyKey,
    // Vendor connectors' SDKs add their own credentials; only `http` connectors use an auth scheme.
    auth: createAuthScheme(config.kind === 'http' ? config.auth : { type: 'none' }, {
      credentials: deps.credentials,
      redactor: target,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      tokenTimeoutMs: config.timeoutMs,
    }),
    powertools,
    redactor: target,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    allowLoopbackHttp: deps.allowLoopbackHttp ?? false,
    refreshCredentialsOn401: config.kind === 'http',
  });
  const operations = definition.operations(config) as Readonly<Record<string, Operation>>;

  const secretName = secretNameOf(config);
  const readSecret = async (options: { forceRefresh?: boolean } = {}) => {
    if (secretName === undefined) throw configurationError(`Connector '${config.name}' names no secret.`);
    return deps.credentials.getSecret(secretName, { forceRefresh: options.forceRefresh ?? false });
  };
  const execute = async (invocation: Invocation): Promise<ExecutionResult> => {
    const state: VendorCallState = { attempts: 0, calls: 0, upstreamStatus: null, policyError: undefined };
    let cachedCalls = 0;
    const callContext = { requestId: invocation.requestId, deadlineAtMs: invocation.deadlineAtMs };
    const context: OperationContext<C> = {
      config,
      requestId: invocation.requestId,
      idempotencyKey: invocation.idempotencyKey,
      logger,
      async send(request) {
        try {
          const response = await client.request(
            {
              ...request,
              operation: invocation.operationName,
              ...(invocation.idempotencyKey === undefined
                ? {}
                : { idempotencyKey: invocation.idempotencyKey }),
            },
            callContext,
          );
          state.calls += 1;
          state.attempts += response.attempts;
          if (response.cached) cachedCalls += 1;
          state.upstreamStatus = response.status;
          return response;
        } catch (error) {
          if (error instanceof ConnectorError) error.attempts = state.attempts + (error.attempts ?? 0);
          throw error;
        }
      },
      fetch: createPolicyFetch(client, invocation.operationName, callContext, state),
      callVendor: (call, mapError) => callVendor(state, call, mapError),
      secret: readSecret,
      registerSecret: (value) => target.addSecret(value),
      withCredentials: (parse, attempt) =>
        withRotatingCredentials(readSecret, parse, attempt, () =>
          logger.info('The vendor rejected the credentials; retrying once with the rotated secret', {
            connector: config.name,
            requestId: invocation.requestId,
            secret: secretName,
          }),
        ),
    };
    const data = await invocation.operation.run(invocation.input, context as OperationContext);
    let output = data;
    if (invocation.operation.output) {
      const checked = invocation.operation.output.safeParse(data);
      if (!checked.success) {
        throw new ConnectorError(
          'RESPONSE_VALIDATION_ERROR',
          'The upstream answer does not match the operation output schema.',
          {
            details: toFieldIssues(checked.error),
            ...(state.upstreamStatus === null ? {} : { upstreamStatus: state.upstreamStatus }),
            attempts: state.attempts,
          },
        );
      }
      output = checked.data;
    }
    return {
      data: output,
      attempts: state.attempts,
      cached: state.calls > 0 && cachedCalls === state.calls,
      upstreamStatus: state.upstreamStatus,
    };
  };

  const idempotency = deps.idempotency ? makeIdempotency(deps.idempotency, config, execute) : undefined;

  /** Validates and runs one operation, through idempotency when a key is given. */
  const invoke: Invoke = async (request) => {
    const operation = Object.hasOwn(operations, request.operationName)
      ? operations[request.operationName]
      : undefined;
    if (!operation) {
      throw new ConnectorError(
        'NOT_FOUND',
        `Connector '${config.name}' has no operation '${request.operationName}'.`,
        {
          details: { operations: Object.keys(operations) },
        },
      );
    }
    const parsed = operation.input.safeParse(request.input);
    if (!parsed.success) throw validationError(toFieldIssues(parsed.error));
    const invocation: Invocation = {
      operationName: request.operationName,
      operation,
      input: parsed.data,
      requestId: request.requestId,
      idempotencyKey: request.idempotencyKey,
      deadlineAtMs: Date.now() + request.lambdaContext.getRemainingTimeInMillis() - config.deadlineMarginMs,
    };
    try {
      const result =
        invocation.idempotencyKey !== undefined && idempotency
          ? await idempotency.run(invocation, request.lambdaContext)
          : await execute(invocation);
      if (result.idempotentReplay) metrics.addMetric(METRIC.idempotentReplays, MetricUnit.Count, 1);
      return result;
    } catch (thrown) {
      throw mapIdempotencyError(thrown);
    }
  };

  const core: ConnectorCore = {
    config,
    powertools,
    redactor: target,
    invoke,
    queue: deps.queue,
    results: deps.results,
  };

  const apiGateway = async (
    event: APIGatewayProxyEvent,
    lambdaContext: Context,
  ): Promise<APIGatewayProxyResult> => {
    const startedAt = Date.now();
    const requestId = event.requestContext?.requestId || lambdaContext.awsRequestId;
    const operationName = event.pathParameters?.operation ?? '';
    try {
      const connectorName = event.pathParameters?.connector ?? connectorOfResource(event.resource);
      if (connectorName !== config.name) {
        throw new ConnectorError('NOT_FOUND', `No connector named '${connectorName ?? ''}' here.`, {
          details: { operations: Object.keys(operations) },
        });
      }
      const idempotencyKey = header(event, 'idempotency-key');
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
        throw validationError([
          { path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
        ]);
      }
      const result = await invoke({
        operationName,
        input: parseBody(event),
        requestId,
        idempotencyKey,
        lambdaContext,
      });
      const body: SuccessBody = {
        data: result.data,
        meta: {
          connector: config.name,
          operation: operationName,
          requestId,
          attempts: result.idempotentReplay ? 0 : result.attempts,
          cached: result.cached,
          idempotentReplay: result.idempotentReplay === true,
          upstreamStatus: result.upstreamStatus,
          durationMs: Date.now() - startedAt,
        },
      };
      return respond(200, body, requestId);
    } catch (thrown) {
      const error = toConnectorError(thrown);
      logFailure(powertools, error, { requestId, connector: config.name, operation: operationName });
      const headers: Record<string, string> =
        error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
      return respond(error.httpStatus, target.redact(error.toBody(requestId)), requestId, headers);
    }
  };

  const handler = async (event: unknown, lambdaContext: Context): Promise<unknown> => {
    logger.addContext(lambdaContext);
    try {
      if (isSqsEvent(event)) return await handleSqsBatch(core, event, lambdaContext);
      if (isEventBridgeEvent(event)) return await handleEventBridgeEvent(core, event, lambdaContext);
      return await apiGateway(event as APIGatewayProxyEvent, lambdaContext);
    } finally {
      // Requests refused before any outbound call have no metrics; publishing none only logs a warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return Object.assign(handler, { client }) as ConnectorHandler;
}

function makeIdempotency(
  store: IdempotencyStore,
  config: ConnectorConfig,
  execute: (invocation: Invocation) => Promise<ExecutionResult>,
) {
  const persistenceStore =
    'persistenceStore' in store
      ? store.persistenceStore
      : new DynamoDBPersistenceLayer({ tableName: store.tableName, awsSdkV3Client: store.dynamoClient });
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: '[connector, operation, idempotencyKey]',
    payloadValidationJmesPath: 'input',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    // Called only when the answer comes from the store: mark it as a replay.
    responseHook: (response) => ({ ...(response as object), idempotentReplay: true }),
  });
  const run = makeIdempotent(
    async (_payload: IdempotencyPayload, invocation: Invocation): Promise<ExecutionResult> =>
      execute(invocation),
    {
      persistenceStore,
      config: idempotencyConfig,
      keyPrefix: `connector-suite#${config.name}`,
      dataIndexArgument: 0,
    },
  );
  return {
    async run(invocation: Invocation, lambdaContext: Context): Promise<ExecutionResult> {
      idempotencyConfig.registerLambdaContext(lambdaContext);
      const payload: IdempotencyPayload = {
        connector: config.name,
        operation: invocation.operationName,
        idempotencyKey: invocation.idempotencyKey ?? '',
        input: invocation.input,
      };
      return (await run(payload, invocation)) as ExecutionResult;
    },
  };
}

function mapIdempotencyError(thrown: unknown): ConnectorError {
  if (thrown instanceof IdempotencyValidationError) {
    return new ConnectorError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different body.',
    );
  }
  if (thrown instanceof IdempotencyAlreadyInProgressError) {
    return new ConnectorError(
      'REQUEST_IN_PROGRESS',
      'A request with this Idempotency-Key is still running; retry later.',
      {
        retryAfterSeconds: 1,
      },
    );
  }
  return toConnectorError(thrown);
}

function respond(
  statusCode: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The connector named by a per-connector API Gateway resource, `/v1/connectors/{name}/{operation}`,
 * where the name is a literal path part rather than a `{connector}` parameter (each connector has
 * its own function, hence its own resource).
 */
function connectorOfResource(resource: string | undefined): string | undefined {
  return /^\/v1\/connectors\/([^/{}]+)\/\{operation\}$/.exec(resource ?? '')?.[1];
}

/** A request header by case-insensitive name. */
function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

function parseBody(event: APIGatewayProxyEvent): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw validationError([{ path: '', message: 'the body is not valid JSON' }]);
  }
}

export function validationError(details: FieldIssue[]): ConnectorError {
  return new ConnectorError(
    'VALIDATION_ERROR',
    `Invalid request: ${details.map((d) => d.path || 'body').join(', ')}.`,
    {
      details,
    },
  );
}

function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}
