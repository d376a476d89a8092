/**
 * The EventBridge adapter: a request event invoked directly (an EventBridge rule targeting the
 * function). One event goes through these steps:
 *
 * 1. **parse** it as a `Connector Invocation Requested` event (`VALIDATION_ERROR`, thrown, otherwise);
 * 2. **invoke** the operation through the request core, the event id standing in for a missing
 *    idempotency key, so that Lambda's retries of the event never run it twice;
 * 3. **publish** its result event and return it; a retryable failure is thrown instead, so that
 *    Lambda's asynchronous retries and destinations apply.
 */
import type { Context } from 'aws-lambda';
import { ConnectorError, toConnectorError } from '../errors.js';
import {
  INVOCATION_FAILED,
  INVOCATION_SUCCEEDED,
  type RequestEvent,
  type ResultDetail,
  requestEventSchema,
} from './async-contract.js';
import { logFailure } from './log-failure.js';
import { failed, publish, succeeded } from './result-events.js';
import type { ConnectorCore } from './types.js';

/** Whether `event` is an EventBridge event (invoked directly by a rule). */
export function isEventBridgeEvent(event: unknown): event is RequestEvent {
  return typeof event === 'object' && event !== null && 'detail-type' in event && 'detail' in event;
}

/**
 * Runs a request event invoked directly (an EventBridge rule targeting the function). A retryable
 * failure is thrown, so Lambda's asynchronous retries and destinations apply; any other outcome is
 * published and returned. An event that is not a request event at all is refused with a thrown
 * `VALIDATION_ERROR` (nothing to publish it as).
 * @returns the `detail` of the result event published
 * @throws ConnectorError `VALIDATION_ERROR` for an event that is not a request event; a retryable
 *   error of the run; `DEPENDENCY_UNAVAILABLE` when the result event could not be published
 */
export async function handleEventBridgeEvent(
  core: ConnectorCore,
  raw: unknown,
  lambdaContext: Context,
): Promise<ResultDetail> {
  const parsed = requestEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConnectorError('VALIDATION_ERROR', 'The event is not a Connector Invocation Requested event.');
  }
  const event = parsed.data;
  const { detail } = event;
  const idempotencyKey = detail.idempotencyKey ?? event.id;
  const base = {
    connector: core.config.name,
    operation: detail.operation,
    idempotencyKey,
    requestId: lambdaContext.awsRequestId,
    eventId: event.id,
  };
  try {
    if (detail.connector !== core.config.name) {
      throw new ConnectorError(
        'NOT_FOUND',
        `This function serves connector '${core.config.name}', not '${detail.connector}'.`,
      );
    }
    const result = await core.invoke({
      operationName: detail.operation,
      input: detail.input,
      requestId: base.requestId,
      idempotencyKey,
      lambdaContext,
    });
    const resultDetail = succeeded(base, 1, result);
    // A failure to publish is thrown (DEPENDENCY_UNAVAILABLE): Lambda retries the event, and the
    // idempotency store answers the retry without a second call to the vendor.
    await publish(core, { detailType: INVOCATION_SUCCEEDED, detail: resultDetail });
    return resultDetail;
  } catch (thrown) {
    const error = toConnectorError(thrown);
    logFailure(core.powertools, error, {
      requestId: base.requestId,
      connector: base.connector,
      operation: base.operation,
    });
    if (error.retryable) throw error;
    const resultDetail = failed(base, 1, error);
    await publish(core, { detailType: INVOCATION_FAILED, detail: resultDetail });
    return resultDetail;
  }
}
