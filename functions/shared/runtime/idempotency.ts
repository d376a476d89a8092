/**
 * The idempotency lifecycle of one operation run with an `Idempotency-Key`, on Powertools
 * `makeIdempotent` (2.35.0) and its persistence layer (DynamoDB in AWS, dynalite locally):
 *
 * 1. **lock**: Powertools writes an `INPROGRESS` record (or finds one: a replay, a
 *    `REQUEST_IN_PROGRESS`, an `IDEMPOTENCY_KEY_REUSED`). Its lock lasts the Lambda's remaining
 *    time (`in_progress_expiration`); the record itself lives `idempotencyTtlSeconds`.
 *    A store that fails here fails the call before anything is sent: `DEPENDENCY_UNAVAILABLE`.
 * 2. **run**: the operation runs; which step a failure came from is tracked ({@link CallState}),
 *    since Powertools reports both store failures below as the same `IdempotencyPersistenceLayerError`.
 * 3. **keep**: Powertools writes the `COMPLETED` record with the result. When that write fails the
 *    vendor has already acted, so the caller still gets the result ({@link keepAfterFailedWrite}):
 *    the write is tried again within the deadline, then a small record that says the request ran
 *    but its result was not kept; if nothing can be written the `INPROGRESS` record stays.
 *    Either way it is logged and counted (`IdempotencyRecordFailures`).
 * 4. **release**: on a failed run Powertools deletes the `INPROGRESS` record so the caller may
 *    retry; when that delete fails, the run's own error is still the answer.
 *
 * What a duplicate gets, by the state the record is in:
 * - `COMPLETED` with the result: the result again (`idempotentReplay: true`), until the record expires;
 * - `COMPLETED` without it (result not kept): `422 IDEMPOTENCY_KEY_REUSED`, nothing sent, until it expires;
 * - `INPROGRESS` within its lock: `409 REQUEST_IN_PROGRESS`;
 * - `INPROGRESS` past its lock (the run crashed, or the store was down from the call to its end):
 *   it runs again. That second case is the one window where a side effect can repeat; it is logged
 *   at ERROR with the key and counted, and can only be closed by a store that answers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyUnknownError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { ConnectorConfig } from '../config.js';
import { ConnectorError, configurationError, dependencyUnavailable, toConnectorError } from '../errors.js';
import { METRIC, MetricUnit, type Powertools } from '../powertools.js';
import type { ExecutionResult, IdempotencyStore } from './types.js';

export type { IdempotencyStore } from './types.js';

type JsonValue = Parameters<BasePersistenceLayer['saveSuccess']>[0];

/** One keyed run: what identifies it, and until when it may take. */
export interface IdempotentCall {
  operation: string;
  idempotencyKey: string;
  /** The validated input; the same key with another input is `IDEMPOTENCY_KEY_REUSED`. */
  input: unknown;
  requestId: string;
  /** Epoch ms by which the caller must have its answer (the call's deadline). */
  deadlineAtMs: number;
}

/** Options of {@link createIdempotency}. */
export interface IdempotencyOptions {
  store: IdempotencyStore;
  config: ConnectorConfig;
  powertools: Powertools;
  /**
   * Waits before each new try of a failed success write, in ms. A try is made only if it can
   * start before the call's deadline.
   * @default [100, 200, 400]
   */
  keepRetryDelaysMs?: readonly number[];
  /** @default a `setTimeout` sleep */
  sleep?: (ms: number) => Promise<void>;
}

/** Runs keyed operations through the lifecycle above. */
export interface Idempotency {
  /**
   * Runs `execute` once per key (see the module comment for what duplicates get).
   * @throws ConnectorError `REQUEST_IN_PROGRESS`, `IDEMPOTENCY_KEY_REUSED`, `DEPENDENCY_UNAVAILABLE`
   *   (the store failed before the call), `CONFIGURATION_ERROR` (the table is missing or not
   *   allowed), or what `execute` threw
   */
  run(
    call: IdempotentCall,
    lambdaContext: Context,
    execute: () => Promise<ExecutionResult>,
  ): Promise<ExecutionResult>;
}

/** A result as the record keeps it: the result, or only the fact that the request ran. */
interface StoredResult extends ExecutionResult {
  /** The request ran and succeeded, but its result could not be kept. */
  resultNotKept?: true;
}

/** The idempotency payload: a fresh object, never the event (Powertools 2.35.0 bug #5715). */
interface IdempotencyPayload {
  connector: string;
  operation: string;
  idempotencyKey: string;
  input: unknown;
}

/**
 * How far one run got, so that a store failure is told apart from the run's own. (No `step` or
 * `getRemainingTimeInMillis` key: `makeIdempotent` would take it for a Lambda context.)
 */
interface CallState {
  execute: () => Promise<ExecutionResult>;
  phase: 'lock' | 'run' | 'succeeded' | 'failed';
  result?: ExecutionResult;
  error?: unknown;
}

/** AWS error names that mean the table cannot be used as deployed, not that it is unavailable. */
const MISCONFIGURED_TABLE = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
]);

/** Error names and codes of a request that never got an answer (SDK timeouts, sockets). */
const UNANSWERED = new Set([
  'TimeoutError',
  'AbortError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The epoch ms by which the DynamoDB commands of the current call must be answered, asked when each starts. */
const storeDeadline = new AsyncLocalStorage<() => number>();

/**
 * Bounds every command of `client` sent within {@link storeDeadline} by that deadline: past it the
 * command fails with a `TimeoutError` (the request itself ends by the client's own request timeout).
 * The SDK takes no deadline per command from Powertools, hence the middleware. Added once per client.
 */
function boundByDeadline(client: DynamoDBClient): void {
  const name = 'connectorSuiteStoreDeadline';
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(name))) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      const deadlineOf = storeDeadline.getStore();
      if (deadlineOf === undefined) return next(args);
      const deadlineAtMs = deadlineOf();
      const timedOut = () =>
        Object.assign(new Error('The idempotency store did not answer before the deadline.'), {
          name: 'TimeoutError',
        });
      const leftMs = deadlineAtMs - Date.now();
      if (leftMs <= 0) throw timedOut();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(timedOut()), leftMs);
      });
      try {
        return await Promise.race([next(args), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    // High priority: outermost, so that it bounds whatever runs after it (retries, the HTTP request).
    { step: 'initialize', name, priority: 'high' },
  );
}

/** Builds the idempotency of one connector (once per handler: Powertools keeps its config). */
export function createIdempotency(options: IdempotencyOptions): Idempotency {
  const { store, config, powertools } = options;
  const delaysMs = options.keepRetryDelaysMs ?? [100, 200, 400];
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  if ('dynamoClient' in store) boundByDeadline(store.dynamoClient);
  const persistenceStore =
    'persistenceStore' in store
      ? store.persistenceStore
      : new DynamoDBPersistenceLayer({ tableName: store.tableName, awsSdkV3Client: store.dynamoClient });
  /**
   * Until when the store may take once the operation has run: the call's deadline plus half the
   * margin kept back to answer, so that the success record can still be written after a vendor call
   * that used the whole deadline. Before the call (the lock), the deadline itself: nothing was sent,
   * so there is nothing to keep, and the caller gets `DEPENDENCY_UNAVAILABLE` by its deadline.
   */
  const storeDeadlineOf = (call: IdempotentCall) => call.deadlineAtMs + config.deadlineMarginMs / 2;
  const deadlineInPhase = (call: IdempotentCall, state: CallState) => () =>
    state.phase === 'lock' ? call.deadlineAtMs : storeDeadlineOf(call);
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: '[connector, operation, idempotencyKey]',
    payloadValidationJmesPath: 'input',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    // Called only when the answer comes from the store: mark it as a replay.
    responseHook: (response) => ({ ...(response as object), idempotentReplay: true }),
  });
  const runOnce = makeIdempotent(
    async (_payload: IdempotencyPayload, state: CallState): Promise<ExecutionResult> => {
      state.phase = 'run';
      try {
        state.result = await state.execute();
        state.phase = 'succeeded';
        return state.result;
      } catch (error) {
        state.error = error;
        state.phase = 'failed';
        throw error;
      }
    },
    {
      persistenceStore,
      config: idempotencyConfig,
      keyPrefix: `connector-suite#${config.name}`,
      dataIndexArgument: 0,
    },
  );

  const fields = (call: IdempotentCall) => ({
    connector: config.name,
    operation: call.operation,
    requestId: call.requestId,
    idempotencyKey: call.idempotencyKey,
  });

  /**
   * Step 3 after Powertools' own write failed: try again, then fall back to a record that only says
   * the request ran. The caller gets `result` whatever happens here.
   */
  async function keepAfterFailedWrite(
    call: IdempotentCall,
    payload: IdempotencyPayload,
    result: ExecutionResult,
    failure: unknown,
  ): Promise<void> {
    powertools.metrics.addMetric(METRIC.idempotencyRecordFailures, MetricUnit.Count, 1);
    const notKept: StoredResult = {
      data: null,
      attempts: result.attempts,
      cached: result.cached,
      upstreamStatus: result.upstreamStatus,
      resultNotKept: true,
    };
    let lastError = causeOf(failure);
    // A result too large for an item (DynamoDB's 400 KB) will not fit on a second try either.
    let record: StoredResult = errorName(lastError) === 'ValidationException' ? notKept : result;
    for (const delayMs of delaysMs) {
      if (Date.now() + delayMs >= storeDeadlineOf(call)) break;
      await sleep(delayMs);
      try {
        // Payload and record are JSON (a parsed body, an operation's output), which Powertools'
        // `JSONValue` cannot express for `unknown`.
        await storeDeadline.run(
          () => storeDeadlineOf(call),
          () => persistenceStore.saveSuccess(payload as unknown as JsonValue, record as unknown as JsonValue),
        );
        const kept = record === result ? 'result' : 'ran-without-result';
        powertools.logger.warn('The idempotency record was written only after a retry', {
          ...fields(call),
          kept,
          error: lastError,
        });
        return;
      } catch (error) {
        lastError = error;
        record = notKept;
      }
    }
    powertools.logger.error(
      'The idempotency record could not be written: duplicates answer REQUEST_IN_PROGRESS until the lock expires, then run again',
      { ...fields(call), kept: 'none', error: lastError },
    );
  }

  return {
    async run(call, lambdaContext, execute) {
      idempotencyConfig.registerLambdaContext(lambdaContext);
      const payload: IdempotencyPayload = {
        connector: config.name,
        operation: call.operation,
        idempotencyKey: call.idempotencyKey,
        input: call.input,
      };
      const state: CallState = { execute, phase: 'lock' };
      let stored: StoredResult;
      try {
        stored = (await storeDeadline.run(deadlineInPhase(call, state), () =>
          runOnce(payload, state),
        )) as StoredResult;
      } catch (thrown) {
        if (state.phase === 'succeeded' && state.result) {
          // The vendor acted: its result is the answer, whatever became of the record.
          await keepAfterFailedWrite(call, payload, state.result, thrown);
          return state.result;
        }
        if (state.phase === 'failed') {
          if (thrown !== state.error) {
            // Releasing the lock failed; the run's own error is still the answer.
            powertools.metrics.addMetric(METRIC.idempotencyRecordFailures, MetricUnit.Count, 1);
            powertools.logger.error(
              'The in-progress idempotency record could not be deleted: duplicates answer REQUEST_IN_PROGRESS until the lock expires',
              { ...fields(call), error: causeOf(thrown) },
            );
          }
          throw toConnectorError(state.error);
        }
        const error = beforeTheCall(thrown);
        if (error.code === 'DEPENDENCY_UNAVAILABLE') {
          // The failure log of the request leaves causes out for this code: say here what failed.
          powertools.logger.warn('The idempotency store failed before the call; nothing was sent', {
            ...fields(call),
            error: causeOf(thrown),
          });
        }
        throw error;
      }
      if (stored.resultNotKept) {
        throw new ConnectorError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used: that request succeeded, but its result could not be kept, so it is not run again.',
          { details: { resultKept: false } },
        );
      }
      return stored;
    },
  };
}

/**
 * Maps what failed before the operation ran (nothing was sent).
 * @returns ConnectorError `IDEMPOTENCY_KEY_REUSED`, `REQUEST_IN_PROGRESS`, `CONFIGURATION_ERROR`,
 *   `DEPENDENCY_UNAVAILABLE`, or `INTERNAL_ERROR` for anything else
 */
export function beforeTheCall(thrown: unknown): ConnectorError {
  if (thrown instanceof ConnectorError) return thrown;
  switch (errorName(thrown)) {
    case 'IdempotencyValidationError':
      return new ConnectorError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used with a different body.',
      );
    case 'IdempotencyAlreadyInProgressError':
    // The record changed under Powertools' feet (it tried three times), or vanished between its
    // write and its read: another run with this key is finishing.
    case 'IdempotencyInconsistentStateError':
    case 'IdempotencyItemNotFoundError':
      return new ConnectorError(
        'REQUEST_IN_PROGRESS',
        'A request with this Idempotency-Key is still running; retry later.',
        { retryAfterSeconds: 1 },
      );
  }
  if (isStoreFailure(thrown)) {
    const cause = causeOf(thrown);
    if (MISCONFIGURED_TABLE.has(errorName(cause))) {
      return configurationError(
        `The idempotency table cannot be used (${errorName(cause)}): check IDEMPOTENCY_TABLE_NAME and the function's permissions.`,
        cause,
      );
    }
    return dependencyUnavailable('DynamoDB', cause);
  }
  return toConnectorError(thrown);
}

/**
 * Whether `error` came from the persistence layer's store rather than from a bug: Powertools' own
 * wrapper, or an AWS SDK error (service, throttling, timeout, socket) that it passed through as is
 * (a failed read of the existing record is not wrapped).
 */
function isStoreFailure(error: unknown): boolean {
  if (error instanceof IdempotencyPersistenceLayerError) return true;
  if (error instanceof IdempotencyUnknownError) return false;
  if (typeof error !== 'object' || error === null) return false;
  const { $metadata, $fault, code } = error as { $metadata?: unknown; $fault?: unknown; code?: unknown };
  return (
    $metadata !== undefined ||
    $fault !== undefined ||
    UNANSWERED.has(errorName(error)) ||
    (typeof code === 'string' && UNANSWERED.has(code))
  );
}

/** The store's own error under Powertools' wrapper. */
function causeOf(error: unknown): unknown {
  return error instanceof IdempotencyPersistenceLayerError && error.cause !== undefined ? error.cause : error;
}

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && typeof (error as Error).name === 'string'
    ? (error as Error).name
    : '';
}
