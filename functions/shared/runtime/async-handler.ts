/**
 * The asynchronous entry points of a connector: SQS batches of request events (the inbox the
 * EventBridge rule fills) with partial batch responses, and request events invoked directly.
 *
 * Each delivery of an event ends one of four ways:
 * - success: the delivery is done; a `Connector Invocation Succeeded` event is published;
 * - a retryable failure with attempts left: the message stays hidden for an exponential backoff
 *   with jitter (or the vendor's `Retry-After`) and is reported as a batch item failure;
 * - a failure that cannot succeed later, or the last allowed attempt: the message goes to the
 *   dead-letter queue with the error as message attributes, the delivery is done, and a
 *   `Connector Invocation Failed` event is published;
 * - the circuit breaker is open, or the same request is still running: the message is put back in
 *   the inbox, delayed until the breaker half-opens, without using up one of the event's attempts.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConnectorError, configurationError, toConnectorError } from '../errors.js';
import type { Redactor } from '../redaction.js';
import {
  INVOCATION_FAILED,
  INVOCATION_SUCCEEDED,
  MAX_RESULT_OUTPUT_BYTES,
  MESSAGE_ATTRIBUTE,
  type QueueMessage,
  type RequestEvent,
  type ResultDetail,
  type ResultEvent,
  requestEventSchema,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from './async-contract.js';
import type { ConnectorCore, ExecutionResult } from './handler.js';
import { logFailure } from './log-failure.js';

/** Whether `event` is an SQS event (a batch of messages). */
export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown })?.Records;
  return Array.isArray(records) && records.length > 0 && (records[0] as SQSRecord)?.eventSource === 'aws:sqs';
}

/** Whether `event` is an EventBridge event (invoked directly by a rule). */
export function isEventBridgeEvent(event: unknown): event is RequestEvent {
  return typeof event === 'object' && event !== null && 'detail-type' in event && 'detail' in event;
}

/**
 * The wait before delivery number `attempt + 1`: exponential from `baseSeconds`, capped at
 * `maxSeconds`, with equal jitter (half fixed, half random) so a retry never comes at once.
 * @param random - a number in [0, 1); @default Math.random
 * @returns seconds (fractional)
 */
export function redeliveryDelaySeconds(
  attempt: number,
  settings: { backoffBaseSeconds: number; backoffMaxSeconds: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    settings.backoffMaxSeconds,
    settings.backoffBaseSeconds * 2 ** Math.max(0, attempt - 1),
  );
  return ceiling / 2 + (random() * ceiling) / 2;
}

/**
 * Processes an SQS batch with Powertools Batch: every record on its own, failures reported as
 * batch item failures so their siblings are neither lost nor run again.
 */
export async function handleSqsBatch(
  core: ConnectorCore,
  event: SQSEvent,
  lambdaContext: Context,
): Promise<SQSBatchResponse> {
  // One processor per invocation: the local gateway runs several batches of a connector at once.
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(
    event,
    (record: SQSRecord) => handleRecord(core, record, lambdaContext),
    processor,
    {
      context: lambdaContext,
      throwOnFullBatchFailure: false,
    },
  );
}

async function handleRecord(core: ConnectorCore, record: SQSRecord, lambdaContext: Context): Promise<void> {
  const { config, queue, powertools } = core;
  if (!queue) throw configurationError('This connector has no queue configured (INBOX_QUEUE_URL).');
  const prior = Number(record.messageAttributes?.[MESSAGE_ATTRIBUTE.priorAttempts]?.stringValue ?? 0);
  const attempt =
    (Number.isFinite(prior) ? prior : 0) + Number(record.attributes?.ApproximateReceiveCount ?? 1);
  const message: QueueMessage = { body: record.body, receiptHandle: record.receiptHandle };
  const requestId = record.messageId;

  let event: RequestEvent;
  try {
    event = parseRequestEvent(record.body);
  } catch (thrown) {
    const error = toConnectorError(thrown);
    logFailure(powertools, error, { requestId, connector: config.name, operation: '' });
    await queue.deadLetter(message, deadLetterAttributes(error, attempt, core.redactor));
    return;
  }
  const { detail } = event;
  const idempotencyKey = detail.idempotencyKey ?? event.id;
  const base = {
    connector: config.name,
    operation: detail.operation,
    idempotencyKey,
    requestId,
    eventId: event.id,
  };
  try {
    if (detail.connector !== config.name) {
      throw new ConnectorError(
        'NOT_FOUND',
        `This inbox belongs to connector '${config.name}', not '${detail.connector}'.`,
      );
    }
    const result = await core.invoke({
      operationName: detail.operation,
      input: detail.input,
      requestId,
      idempotencyKey,
      lambdaContext,
    });
    await publish(core, { detailType: INVOCATION_SUCCEEDED, detail: succeeded(base, attempt, result) });
  } catch (thrown) {
    const error = toConnectorError(thrown);
    const fields = { requestId, connector: config.name, operation: detail.operation, eventId: event.id };
    if (error.code === 'CIRCUIT_BREAKER_OPEN' || error.code === 'REQUEST_IN_PROGRESS') {
      // Not the event's fault: wait for the breaker (or the other run) without spending an attempt.
      const delaySeconds = Math.min(
        SQS_MAX_DELAY_SECONDS,
        Math.max(error.retryAfterSeconds ?? 0, config.async.backoffBaseSeconds),
      );
      await queue.requeue(message, delaySeconds, { [MESSAGE_ATTRIBUTE.priorAttempts]: String(attempt - 1) });
      powertools.logger.info('event put back in the inbox', {
        ...fields,
        errorCode: error.code,
        delaySeconds,
        attempt,
      });
      return;
    }
    if (error.retryable && attempt < config.async.maxReceiveCount) {
      const backoff = redeliveryDelaySeconds(attempt, config.async);
      const seconds = Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(backoff, error.retryAfterSeconds ?? 0));
      await queue.changeVisibility(message, seconds);
      powertools.logger.warn('event will be retried', {
        ...fields,
        errorCode: error.code,
        errorSource: error.source,
        attempt,
        retryInSeconds: seconds,
      });
      throw error;
    }
    logFailure(powertools, error, fields);
    await queue.deadLetter(message, deadLetterAttributes(error, attempt, core.redactor));
    powertools.logger.warn('event dead-lettered', { ...fields, errorCode: error.code, attempt });
    await publish(core, { detailType: INVOCATION_FAILED, detail: failed(base, attempt, error) });
  }
}

/**
 * Runs a request event invoked directly (an EventBridge rule targeting the function). A retryable
 * failure is thrown, so Lambda's asynchronous retries and destinations apply; any other outcome is
 * published and returned. An event that is not a request event at all is refused with a thrown
 * `VALIDATION_ERROR` (nothing to publish it as).
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

/**
 * Parses an SQS message body as a request event.
 * @throws ConnectorError `VALIDATION_ERROR` naming what is wrong
 */
function parseRequestEvent(body: string): RequestEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ConnectorError('VALIDATION_ERROR', 'The message body is not JSON.');
  }
  const parsed = requestEventSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(event)').join(', ');
    throw new ConnectorError('VALIDATION_ERROR', `The message is not a valid request event: ${fields}.`);
  }
  return parsed.data;
}

type ResultBase = Pick<ResultDetail, 'connector' | 'operation' | 'idempotencyKey' | 'requestId' | 'eventId'>;

function succeeded(base: ResultBase, attempts: number, result: ExecutionResult): ResultDetail {
  const size = Buffer.byteLength(JSON.stringify(result.data ?? null), 'utf8');
  return {
    ...base,
    attempts,
    ...(size > MAX_RESULT_OUTPUT_BYTES ? { outputTruncated: true } : { output: result.data ?? null }),
    ...(result.idempotentReplay ? { idempotentReplay: true } : {}),
  };
}

function failed(base: ResultBase, attempts: number, error: ConnectorError): ResultDetail {
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

/** The message attributes of a dead letter: why, and after how many deliveries. */
function deadLetterAttributes(
  error: ConnectorError,
  attempts: number,
  redactor: Redactor,
): Record<string, string> {
  return {
    [MESSAGE_ATTRIBUTE.errorCode]: error.code,
    // Like every other outlet, redacted: a message may quote a path that holds a credential.
    [MESSAGE_ATTRIBUTE.errorMessage]: redactor.redactString(error.message).slice(0, 1_000),
    [MESSAGE_ATTRIBUTE.errorSource]: error.source,
    [MESSAGE_ATTRIBUTE.attempts]: String(attempts),
    ...(error.upstreamStatus === undefined
      ? {}
      : { [MESSAGE_ATTRIBUTE.upstreamStatus]: String(error.upstreamStatus) }),
    [MESSAGE_ATTRIBUTE.deadLetteredAt]: new Date().toISOString(),
  };
}

/** Publishes a result event unless the connector's result events are off; never throws. */
async function publish(core: ConnectorCore, event: ResultEvent): Promise<void> {
  if (!core.results || !core.config.async.resultEvents) return;
  try {
    await core.results.publish([core.redactor.redact(event)]);
  } catch (error) {
    core.powertools.logger.error('The result event could not be published', {
      connector: event.detail.connector,
      eventId: event.detail.eventId,
      error,
    });
  }
}
