/**
 * The request core of a connector, shared by every event adapter (API Gateway, SQS, EventBridge):
 * it builds the connector's HTTP client and operations once, and its {@link Invoke} runs one
 * request through these steps:
 *
 * 1. **find** the operation by name (`NOT_FOUND` listing the operations otherwise);
 * 2. **validate** the input: nesting depth, then the operation's schema (`VALIDATION_ERROR`);
 * 3. **start** the invocation: its deadline is the Lambda's remaining time less `deadlineMarginMs`;
 * 4. **run** it, through the idempotency lifecycle (see `idempotency.ts`) when the caller sent an
 *    idempotency key and the connector has a store, and count an idempotent replay.
 */
import type { Context } from 'aws-lambda';
import { createAuthScheme } from '../auth/index.js';
import { type ConnectorConfig, clientAuthOf, isVendorKind } from '../config.js';
import { ConnectorError, configurationError } from '../errors.js';
import { HttpClient } from '../http/client.js';
import { createSharedRateLimiter, type SharedRateLimiter } from '../http/shared-rate-limit.js';
import {
  countDependencyFailure,
  createPowertools,
  METRIC,
  MetricUnit,
  type Powertools,
} from '../powertools.js';
import { type Redactor, redactor } from '../redaction.js';
import type { ConnectorDefinition, Operation } from './connector.js';
import { createIdempotency, type Idempotency } from './idempotency.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './input-limits.js';
import { createOperationRunner, type Invocation, type OperationRunner } from './operation-context.js';
import type {
  ConnectorCore,
  ConnectorDependencies,
  ExecutionResult,
  Invoke,
  InvokeRequest,
} from './types.js';
import { validateInput } from './validation.js';

/**
 * Builds a connector's request core. Build it once per process (module scope): the breaker, rate
 * limit, cache, tokens and secrets it holds live as long as the warm instance.
 *
 * @throws ConnectorError `CONFIGURATION_ERROR` for a config the runtime cannot use (e.g. an http base URL)
 */
export function createConnectorCore<C extends ConnectorConfig>(
  definition: ConnectorDefinition<C>,
  deps: ConnectorDependencies<C>,
): ConnectorCore {
  const { config } = deps;
  const target = deps.redactor ?? redactor;
  const powertools = deps.powertools ?? createPowertools({ serviceName: config.name, redactor: target });
  const inputLimits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...deps.inputLimits };
  const client = createHttpClient(deps, powertools, target);
  const operations = definition.operations(config) as Readonly<Record<string, Operation>>;
  const runner = createOperationRunner({
    config,
    client,
    credentials: deps.credentials,
    logger: powertools.logger,
    redactor: target,
  });
  const idempotency = deps.idempotency
    ? createIdempotency({ store: deps.idempotency, config, powertools })
    : undefined;

  const invoke: Invoke = async (request) => {
    const operation = findOperation(config, operations, request.operationName);
    const input = validateInput(operation, request.input, inputLimits);
    const invocation = startInvocation(config, request, operation, input);
    try {
      const result = await run(invocation, request.lambdaContext, runner, idempotency);
      if (result.idempotentReplay)
        powertools.metrics.addMetric(METRIC.idempotentReplays, MetricUnit.Count, 1);
      return result;
    } catch (error) {
      countIfDependencyFailure(powertools, error);
      throw error;
    }
  };

  return {
    config,
    powertools,
    redactor: target,
    invoke,
    queue: deps.queue,
    results: deps.results,
    client,
    operationNames: Object.keys(operations),
    inputLimits,
  };
}

/**
 * The connector's outbound client, with every policy of its config. Vendor connectors' SDKs add
 * their own credentials; `http` connectors and kinds of your own use their auth scheme, forward the
 * idempotency key (when asked to) and refresh their credentials on a 401.
 * @throws ConnectorError `CONFIGURATION_ERROR` for a base URL or auth the client cannot use
 */
function createHttpClient(
  deps: ConnectorDependencies,
  powertools: ConnectorCore['powertools'],
  target: Redactor,
): HttpClient {
  const { config } = deps;
  return new HttpClient({
    connector: config.name,
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
    circuitBreaker: config.circuitBreaker,
    // The fleet's shared breaker state lives in the idempotency table (docs/fleet.md).
    ...(deps.idempotency && 'dynamoClient' in deps.idempotency
      ? {
          sharedState: { dynamoClient: deps.idempotency.dynamoClient, tableName: deps.idempotency.tableName },
        }
      : {}),
    rateLimit: config.rateLimit,
    ...(config.rateLimit.scope === 'shared' ? { rateLimiter: sharedRateLimiter(deps, powertools) } : {}),
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheMaxBytes: config.cacheMaxBytes,
    forwardIdempotencyKey: 'forwardIdempotencyKey' in config && config.forwardIdempotencyKey,
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
}

/**
 * The fleet's rate limit (`rateLimit.scope: "shared"`), its state in the idempotency table, through
 * the client the runtime built for idempotency.
 * @throws ConnectorError `CONFIGURATION_ERROR` when the connector has no idempotency table to keep it in
 */
function sharedRateLimiter(deps: ConnectorDependencies, powertools: Powertools): SharedRateLimiter {
  const { config, idempotency } = deps;
  if (!idempotency || !('dynamoClient' in idempotency)) {
    throw configurationError(
      `Connector '${config.name}': rateLimit.scope 'shared' needs the idempotency table (DynamoDB).`,
    );
  }
  return createSharedRateLimiter({
    dynamoClient: idempotency.dynamoClient,
    tableName: idempotency.tableName,
    connector: config.name,
    requestsPerSecond: config.rateLimit.requestsPerSecond,
    burst: config.rateLimit.burst,
    ...(config.rateLimit.leaseSize === undefined ? {} : { leaseSize: config.rateLimit.leaseSize }),
    powertools,
  });
}

/**
 * Step 1: the operation named by the request.
 * @throws ConnectorError `NOT_FOUND` listing the connector's operations
 */
function findOperation(
  config: ConnectorConfig,
  operations: Readonly<Record<string, Operation>>,
  operationName: string,
): Operation {
  const operation = Object.hasOwn(operations, operationName) ? operations[operationName] : undefined;
  if (!operation) {
    throw new ConnectorError('NOT_FOUND', `Connector '${config.name}' has no operation '${operationName}'.`, {
      details: { operations: Object.keys(operations) },
    });
  }
  return operation;
}

/** Step 3: the invocation, with the deadline the caller's answer must meet (epoch ms). */
function startInvocation(
  config: ConnectorConfig,
  request: InvokeRequest,
  operation: Operation,
  input: unknown,
): Invocation {
  return {
    operationName: request.operationName,
    operation,
    input,
    requestId: request.requestId,
    idempotencyKey: request.idempotencyKey,
    deadlineAtMs: Date.now() + request.lambdaContext.getRemainingTimeInMillis() - config.deadlineMarginMs,
  };
}

/**
 * Step 4: runs the invocation, through idempotency when it has a key and the connector a store.
 * @throws ConnectorError what the run threw, or the idempotency errors (see `idempotency.ts`)
 */
async function run(
  invocation: Invocation,
  lambdaContext: Context,
  runner: OperationRunner,
  idempotency: Idempotency | undefined,
): Promise<ExecutionResult> {
  const { idempotencyKey } = invocation;
  if (idempotencyKey === undefined || !idempotency) return runner(invocation);
  return idempotency.run(
    {
      operation: invocation.operationName,
      idempotencyKey,
      input: invocation.input,
      requestId: invocation.requestId,
      deadlineAtMs: invocation.deadlineAtMs,
    },
    lambdaContext,
    () => runner(invocation),
  );
}

/** Counts a `DEPENDENCY_UNAVAILABLE` in `DependencyFailures` by the dependency that failed. */
export function countIfDependencyFailure(powertools: Powertools, error: unknown): void {
  if (error instanceof ConnectorError && error.code === 'DEPENDENCY_UNAVAILABLE' && error.dependency) {
    countDependencyFailure(powertools.metrics, error.dependency);
  }
}
