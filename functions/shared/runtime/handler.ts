/**
 * The Lambda entry of every connector: API Gateway REST proxy events on
 * `POST /v1/connectors/{connector}/{operation}` in, the envelopes of DESIGN §3 out.
 *
 * The handler stays thin: parse the event, validate the input, run the operation (through
 * Powertools idempotency when the caller sent an `Idempotency-Key`), validate the output and map
 * the result or the error to the envelope.
 */
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { z } from 'zod';
import { createAuthScheme } from '../auth/index.js';
import {
  type AnyConnectorConfig,
  type ConnectorConfig,
  clientAuthOf,
  formatPath,
  isVendorKind,
  secretNameOf,
} from '../config.js';
import type { CredentialStore } from '../credentials/store.js';
import { ConnectorError, configurationError, type FieldIssue, toConnectorError } from '../errors.js';
import { HttpClient } from '../http/client.js';
import { timeoutSignal } from '../http/deadline.js';
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
import { createIdempotency, type IdempotencyStore } from './idempotency.js';
import { assertBodySize, assertInputDepth, DEFAULT_INPUT_LIMITS, type InputLimits } from './input-limits.js';
import { logFailure } from './log-failure.js';
import { redactOutput } from './redact-output.js';
import {
  callVendor,
  createPolicyFetch,
  type VendorCallState,
  withRotatingCredentials,
} from './vendor-sdk.js';

export type { IdempotencyStore } from './idempotency.js';
export type { InputLimits } from './input-limits.js';

/** What a connector handler is built from. */
export interface ConnectorDependencies<C extends AnyConnectorConfig = ConnectorConfig> {
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
  /** Limits on caller input (nesting depth, body bytes); @default {@link DEFAULT_INPUT_LIMITS} */
  inputLimits?: Partial<InputLimits>;
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
 * Runs one operation: checks the input's nesting depth (before anything recursive reads it),
 * validates it, then runs it through idempotency when a key is given. The success `data` has the
 * connector's credentials redacted.
 * @throws ConnectorError of the contract: `VALIDATION_ERROR` for input past the limits or the
 *   schema, idempotency errors mapped to their codes, `DEPENDENCY_UNAVAILABLE` when the idempotency
 *   store fails before the call
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
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...deps.inputLimits };
  const client = new HttpClient({
    connector: config.name,
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
    circuitBreaker: config.circuitBreaker,
    rateLimit: config.rateLimit,
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheMaxBytes: config.cacheMaxBytes,
    forwardIdempotencyKey: 'forwardIdempotencyKey' in config && config.forwardIdempotencyKey,
    // Vendor connectors' SDKs add their own credentials; `http` and custom kinds use their auth scheme.
    auth: createAuthScheme(clientAuthOf(config), {
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
    refreshCredentialsOn401: !isVendorKind(config.kind),
  });
  const operations = definition.operations(config) as Readonly<Record<string, Operation>>;

  const secretName = secretNameOf(config);
  /** The connector's secret for a vendor SDK; the read is given up at the call's deadline. */
  const readSecret = async (deadlineAtMs: number, options: { forceRefresh?: boolean } = {}) => {
    if (secretName === undefined) throw configurationError(`Connector '${config.name}' names no secret.`);
    const bound = timeoutSignal(deadlineAtMs - Date.now());
    try {
      return await deps.credentials.getSecret(secretName, {
        forceRefresh: options.forceRefresh ?? false,
        signal: bound.signal,
      });
    } finally {
      bound.clear();
    }
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
      secret: (options) => readSecret(invocation.deadlineAtMs, options),
      registerSecret: (value) => target.addSecret(value),
      withCredentials: (parse, attempt) =>
        withRotatingCredentials(
          (options) => readSecret(invocation.deadlineAtMs, options),
          parse,
          attempt,
          () =>
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
      // Redacted once, here: what is returned, stored in the idempotency record and published.
      data: redactOutput(output, target),
      attempts: state.attempts,
      cached: state.calls > 0 && cachedCalls === state.calls,
      upstreamStatus: state.upstreamStatus,
    };
  };

  const idempotency = deps.idempotency
    ? createIdempotency({ store: deps.idempotency, config, powertools })
    : undefined;

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
    assertInputDepth(request.input, limits);
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
    const { idempotencyKey } = invocation;
    const result =
      idempotencyKey !== undefined && idempotency
        ? await idempotency.run(
            {
              operation: invocation.operationName,
              idempotencyKey,
              input: invocation.input,
              requestId: invocation.requestId,
              deadlineAtMs: invocation.deadlineAtMs,
            },
            request.lambdaContext,
            () => execute(invocation),
          )
        : await execute(invocation);
    if (result.idempotentReplay) metrics.addMetric(METRIC.idempotentReplays, MetricUnit.Count, 1);
    return result;
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
        input: parseBody(event, limits),
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

/**
 * The request body as JSON; its size is checked before it is parsed, its depth in `invoke`.
 * @throws ConnectorError `VALIDATION_ERROR` for a body past `maxBodyBytes` or not JSON
 */
function parseBody(event: APIGatewayProxyEvent, limits: InputLimits): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : undefined;
  assertBodySize(bytes ? bytes.length : Buffer.byteLength(event.body, 'utf8'), limits);
  const text = bytes ? bytes.toString('utf8') : event.body;
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
