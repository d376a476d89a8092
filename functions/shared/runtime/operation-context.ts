/**
 * One run of a validated operation: the {@link OperationContext} it gets (the vendor calls through
 * the connector's HTTP client, its secret, its logger), the check of its output, and the
 * {@link ExecutionResult} it leaves, with the connector's credentials redacted.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type ConnectorConfig, secretNameOf } from '../config.js';
import type { CredentialStore, SecretValue } from '../credentials/store.js';
import { ConnectorError, configurationError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import { timeoutSignal } from '../http/deadline.js';
import type { Redactor } from '../redaction.js';
import type { Operation, OperationContext } from './connector.js';
import { redactOutput } from './redact-output.js';
import type { ExecutionResult } from './types.js';
import { validateOutput } from './validation.js';
import {
  callVendor,
  createPolicyFetch,
  type VendorCallState,
  withRotatingCredentials,
} from './vendor-sdk.js';

/** One operation about to run, its input validated. */
export interface Invocation {
  operationName: string;
  operation: Operation;
  /** The input as the operation's schema parsed it. */
  input: unknown;
  requestId: string;
  idempotencyKey: string | undefined;
  /** Epoch ms by which the caller must have its answer. */
  deadlineAtMs: number;
}

/** What {@link createOperationRunner} needs of a connector. */
export interface OperationRunnerOptions<C extends ConnectorConfig> {
  config: C;
  client: HttpClient;
  credentials: CredentialStore;
  logger: Logger;
  /** Where values derived from the secret are registered, and what redacts the output. */
  redactor: Redactor;
}

/** Runs one invocation to its result. */
export type OperationRunner = (invocation: Invocation) => Promise<ExecutionResult>;

/** Reads the connector's secret for a vendor SDK, given up at the call's deadline. */
type SecretReader = (deadlineAtMs: number, options?: { forceRefresh?: boolean }) => Promise<SecretValue>;

/**
 * The runner of a connector's operations: each run gets its own context and call counts, runs the
 * operation, checks its output and redacts it.
 * @throws (from the runner) ConnectorError of the contract: what the operation threw (its `attempts`
 *   counting every call of the run), or `RESPONSE_VALIDATION_ERROR`
 */
export function createOperationRunner<C extends ConnectorConfig>(
  options: OperationRunnerOptions<C>,
): OperationRunner {
  const readSecret = secretReader(options.config, options.credentials);
  return async (invocation) => {
    const state: VendorCallState = { attempts: 0, calls: 0, upstreamStatus: null, policyError: undefined };
    const calls = { cached: 0 };
    const context = operationContext(options, invocation, state, calls, readSecret);
    const data = await invocation.operation.run(invocation.input, context as OperationContext);
    const output = validateOutput(invocation.operation, data, state);
    return {
      // Redacted once, here: what is returned, stored in the idempotency record and published.
      data: redactOutput(output, options.redactor),
      attempts: state.attempts,
      cached: state.calls > 0 && calls.cached === state.calls,
      upstreamStatus: state.upstreamStatus,
    };
  };
}

/**
 * The connector's secret for a vendor SDK; the read is given up at the call's deadline.
 * @throws (from the reader) ConnectorError `CONFIGURATION_ERROR` when the connector names no secret
 */
function secretReader(config: ConnectorConfig, credentials: CredentialStore): SecretReader {
  const secretName = secretNameOf(config);
  return async (deadlineAtMs, options = {}) => {
    if (secretName === undefined) throw configurationError(`Connector '${config.name}' names no secret.`);
    const bound = timeoutSignal(deadlineAtMs - Date.now());
    try {
      return await credentials.getSecret(secretName, {
        forceRefresh: options.forceRefresh ?? false,
        signal: bound.signal,
      });
    } finally {
      bound.clear();
    }
  };
}

/**
 * What one run's `run` gets: every vendor call counts into `state` (attempts, calls, the last
 * upstream status) and `calls.cached` (calls the cache answered).
 */
function operationContext<C extends ConnectorConfig>(
  { config, client, logger, redactor }: OperationRunnerOptions<C>,
  invocation: Invocation,
  state: VendorCallState,
  calls: { cached: number },
  readSecret: SecretReader,
): OperationContext<C> {
  const callContext = { requestId: invocation.requestId, deadlineAtMs: invocation.deadlineAtMs };
  return {
    config,
    requestId: invocation.requestId,
    idempotencyKey: invocation.idempotencyKey,
    deadlineAtMs: invocation.deadlineAtMs,
    logger,
    async send(request) {
      try {
        const response = await client.request(
          {
            ...request,
            operation: invocation.operationName,
            ...(invocation.idempotencyKey === undefined ? {} : { idempotencyKey: invocation.idempotencyKey }),
          },
          callContext,
        );
        state.calls += 1;
        state.attempts += response.attempts;
        if (response.cached) calls.cached += 1;
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
    registerSecret: (value) => redactor.addSecret(value),
    withCredentials: (parse, attempt) =>
      withRotatingCredentials(
        (options) => readSecret(invocation.deadlineAtMs, options),
        parse,
        attempt,
        () =>
          logger.info('The vendor rejected the credentials; retrying once with the rotated secret', {
            connector: config.name,
            requestId: invocation.requestId,
            secret: secretNameOf(config),
          }),
      ),
  };
}
