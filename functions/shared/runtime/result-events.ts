/**
 * The result events of the asynchronous path (docs/design.md §2): the `detail` of an event that succeeded
 * or failed, and their publication on the connector's event bus.
 */
import { type ConnectorError, dependencyUnavailable } from '../errors.js';
import { MAX_RESULT_OUTPUT_BYTES, type ResultDetail, type ResultEvent } from './async-contract.js';
import type { ConnectorCore, ExecutionResult } from './types.js';

/** What every result of one event carries: who ran what, under which key, for which request. */
export type ResultBase = Pick<
  ResultDetail,
  'connector' | 'operation' | 'idempotencyKey' | 'requestId' | 'eventId'
>;

/**
 * The `detail` of a `Connector Invocation Succeeded` event; an output larger than
 * {@link MAX_RESULT_OUTPUT_BYTES} serialized is left out (`outputTruncated: true`).
 */
export function succeeded(base: ResultBase, attempts: number, result: ExecutionResult): ResultDetail {
  const size = Buffer.byteLength(JSON.stringify(result.data ?? null), 'utf8');
  return {
    ...base,
    attempts,
    ...(size > MAX_RESULT_OUTPUT_BYTES ? { outputTruncated: true } : { output: result.data ?? null }),
    ...(result.idempotentReplay ? { idempotentReplay: true } : {}),
  };
}

/** The `detail` of a `Connector Invocation Failed` event: the error as the contract reports it. */
export function failed(base: ResultBase, attempts: number, error: ConnectorError): ResultDetail {
  return {
    ...base,
    attempts,
    error: {
      code: error.code,
      message: error.message,
      source: error.source,
      retryable: error.retryable,
      ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
    },
  };
}

/**
 * Publishes a result event unless the connector's result events are off.
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` (EventBridge) when the event could not be published
 */
export async function publish(core: ConnectorCore, event: ResultEvent): Promise<void> {
  if (!core.results || !core.config.async.resultEvents) return;
  try {
    await core.results.publish([core.redactor.redact(event)]);
  } catch (cause) {
    throw dependencyUnavailable('EventBridge', cause);
  }
}
