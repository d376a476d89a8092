/**
 * The SQS adapter: batches of request events from the connector's inbox (which the EventBridge rule
 * fills), answered with partial batch responses.
 *
 * Each delivery of an event ends one of four ways:
 * - success: the delivery is done; a `Connector Invocation Succeeded` event is published (if that
 *   fails, the event is put back to publish its result from the idempotency store later);
 * - a retryable failure with attempts left: the message stays hidden for an exponential backoff
 *   with jitter (or the vendor's `Retry-After`, up to `backoffMaxSeconds`) and is reported as a
 *   batch item failure;
 * - a failure that cannot succeed later, or the last allowed attempt: the message goes to the
 *   dead-letter queue with the error as message attributes, the delivery is done, and a
 *   `Connector Invocation Failed` event is published;
 * - one of the suite's own waits (the circuit breaker is open, the same request is still running,
 *   a dependency is unavailable, the connector's own rate limit): the message is put back in the
 *   inbox, delayed, without using up one of the event's attempts (see {@link waitsWithoutAttempt}).
 *
 * A failure of SQS or EventBridge themselves is a `DEPENDENCY_UNAVAILABLE` that fails the record, so
 * SQS delivers it again: no event is lost.
 *
 * One record goes through these steps ({@link handleRecord}): **receive** it (its attempt number,
 * the guarded queue port), **parse** its body as a request event (dead-lettered when it is not one),
 * **invoke** the operation through the request core, then **settle** the outcome as above.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { inboxRetentionSeconds } from '../config.js';
import { ConnectorError, configurationError, dependencyUnavailable, toConnectorError } from '../errors.js';
import type { Redactor } from '../redaction.js';
import {
  INVOCATION_FAILED,
  INVOCATION_SUCCEEDED,
  MESSAGE_ATTRIBUTE,
  type QueueMessage,
  type QueuePort,
  type RequestEvent,
  requestEventSchema,
} from './async-contract.js';
import { logFailure } from './log-failure.js';
import {
  RateLimitSlots,
  redeliveryDelaySeconds,
  requeueDelaySeconds,
  waitsWithoutAttempt,
} from './redelivery.js';
import { failed, publish, type ResultBase, succeeded } from './result-events.js';
import type { ConnectorCore, ExecutionResult } from './types.js';

/** Whether `event` is an SQS event (a batch of messages). */
export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown })?.Records;
  return Array.isArray(records) && records.length > 0 && (records[0] as SQSRecord)?.eventSource === 'aws:sqs';
}

const rateLimitSlots = new WeakMap<ConnectorCore, RateLimitSlots>();

function slotsOf(core: ConnectorCore): RateLimitSlots {
  let slots = rateLimitSlots.get(core);
  if (!slots) {
    slots = new RateLimitSlots(core.config.rateLimit.requestsPerSecond);
    rateLimitSlots.set(core, slots);
  }
  return slots;
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

/** A number carried in a message attribute, or `undefined`. */
function numberAttribute(record: SQSRecord, name: string): number | undefined {
  const value = Number(record.messageAttributes?.[name]?.stringValue);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * The queue port with every failure of SQS itself turned into a logged, retryable
 * `DEPENDENCY_UNAVAILABLE` (source `connector`): thrown out of the record, it fails the record, and
 * SQS delivers the message again once its visibility timeout runs out, so nothing is lost.
 */
function guardedQueue(queue: QueuePort, powertools: ConnectorCore['powertools'], fields: object): QueuePort {
  const guard = async (operation: string, call: () => Promise<void>): Promise<void> => {
    try {
      await call();
    } catch (cause) {
      powertools.logger.error('SQS refused a call; the message will be delivered again', {
        ...fields,
        operation,
        error: cause,
      });
      throw dependencyUnavailable('SQS', cause);
    }
  };
  return {
    changeVisibility: (message, seconds) =>
      guard('ChangeMessageVisibility', () => queue.changeVisibility(message, seconds)),
    deadLetter: (message, attributes) =>
      guard('SendMessage (dead letter)', () => queue.deadLetter(message, attributes)),
    requeue: (message, delaySeconds, attributes) =>
      guard('SendMessage (requeue)', () => queue.requeue(message, delaySeconds, attributes)),
  };
}

/** One delivery of a record, as the steps after the parse see it. */
interface Delivery {
  core: ConnectorCore;
  /** The guarded queue port (see {@link guardedQueue}). */
  queue: QueuePort;
  record: SQSRecord;
  message: QueueMessage;
  /** The event's attempt this delivery is, from 1. */
  attempt: number;
  /** What every result event of the delivery carries. */
  base: ResultBase;
  /** The fields of the delivery's log lines. */
  fields: Record<string, string>;
}

/** A record as received, before its body is read. */
type Received = Pick<Delivery, 'core' | 'queue' | 'record' | 'message' | 'attempt'> & { requestId: string };

/**
 * One record of the batch, through the steps of the module comment.
 * @throws ConnectorError to fail the record (SQS delivers it again): a retryable failure with
 *   attempts left, `DEPENDENCY_UNAVAILABLE` when SQS itself failed, `CONFIGURATION_ERROR` without a queue
 */
async function handleRecord(core: ConnectorCore, record: SQSRecord, lambdaContext: Context): Promise<void> {
  const received = receive(core, record);
  const event = await parseOrDeadLetter(received);
  if (event === undefined) return;
  const delivery = deliveryOf(received, event);
  let result: ExecutionResult;
  try {
    result = await invoke(delivery, event, lambdaContext);
  } catch (thrown) {
    await settleFailure(delivery, toConnectorError(thrown));
    return;
  }
  await settleSuccess(delivery, result);
}

/**
 * Step **receive**: the record's attempt (the attempts spent before a requeue plus SQS's receive
 * count) and the guarded queue port.
 * @throws ConnectorError `CONFIGURATION_ERROR` when the connector has no queue
 */
function receive(core: ConnectorCore, record: SQSRecord): Received {
  if (!core.queue) throw configurationError('This connector has no queue configured (INBOX_QUEUE_URL).');
  const prior = numberAttribute(record, MESSAGE_ATTRIBUTE.priorAttempts) ?? 0;
  const requestId = record.messageId;
  return {
    core,
    queue: guardedQueue(core.queue, core.powertools, { requestId, connector: core.config.name }),
    record,
    message: { body: record.body, receiptHandle: record.receiptHandle },
    attempt: prior + Number(record.attributes?.ApproximateReceiveCount ?? 1),
    requestId,
  };
}

/**
 * Step **parse**: the record's request event; a body that is not one is dead-lettered with its
 * `VALIDATION_ERROR` (it can never succeed) and nothing is returned.
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` when SQS cannot take the dead letter
 */
async function parseOrDeadLetter(received: Received): Promise<RequestEvent | undefined> {
  const { core, queue, record, message, attempt, requestId } = received;
  try {
    return parseRequestEvent(record.body);
  } catch (thrown) {
    const error = toConnectorError(thrown);
    logFailure(core.powertools, error, { requestId, connector: core.config.name, operation: '' });
    await queue.deadLetter(message, deadLetterAttributes(error, attempt, core.redactor));
    return undefined;
  }
}

/** The delivery of a parsed event: the event id stands in for a missing idempotency key. */
function deliveryOf(received: Received, event: RequestEvent): Delivery {
  const { requestId, ...rest } = received;
  const { config } = received.core;
  const { detail } = event;
  return {
    ...rest,
    base: {
      connector: config.name,
      operation: detail.operation,
      idempotencyKey: detail.idempotencyKey ?? event.id,
      requestId,
      eventId: event.id,
    },
    fields: { requestId, connector: config.name, operation: detail.operation, eventId: event.id },
  };
}

/**
 * Step **invoke**: the event's operation through the request core.
 * @throws ConnectorError `NOT_FOUND` for an event of another connector, or what `invoke` threw
 */
async function invoke(
  delivery: Delivery,
  event: RequestEvent,
  lambdaContext: Context,
): Promise<ExecutionResult> {
  const { core, base } = delivery;
  if (event.detail.connector !== core.config.name) {
    throw new ConnectorError(
      'NOT_FOUND',
      `This inbox belongs to connector '${core.config.name}', not '${event.detail.connector}'.`,
    );
  }
  return core.invoke({
    operationName: event.detail.operation,
    input: event.detail.input,
    requestId: base.requestId,
    idempotencyKey: base.idempotencyKey,
    lambdaContext,
  });
}

/**
 * Step **settle**, on success: publishes the result event, or puts the event back to publish it
 * later ({@link republishLater}).
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` when SQS fails too
 */
async function settleSuccess(delivery: Delivery, result: ExecutionResult): Promise<void> {
  try {
    await publish(delivery.core, {
      detailType: INVOCATION_SUCCEEDED,
      detail: succeeded(delivery.base, delivery.attempt, result),
    });
  } catch (thrown) {
    await republishLater(delivery, toConnectorError(thrown));
  }
}

/**
 * Step **settle**, on failure: one of the suite's own waits is put back ({@link putBack}); a
 * retryable failure with attempts left is retried ({@link retryLater}); any other is ended
 * ({@link endFailed}).
 * @throws ConnectorError the retryable failure (to fail the record), or `DEPENDENCY_UNAVAILABLE`
 *   when SQS failed
 */
async function settleFailure(delivery: Delivery, error: ConnectorError): Promise<void> {
  if (waitsWithoutAttempt(error)) return putBack(delivery, error);
  if (error.retryable && delivery.attempt < delivery.core.config.async.maxReceiveCount) {
    return retryLater(delivery, error);
  }
  return endFailed(delivery, error);
}

/**
 * A retryable failure with attempts left: the message stays hidden for the backoff (or the error's
 * `Retry-After`, within `backoffMaxSeconds`, which the config keeps inside SQS's 12 hours from
 * receipt), and the error is thrown so that the record is reported as a batch item failure.
 * @throws ConnectorError always: `error`, or `DEPENDENCY_UNAVAILABLE` when SQS failed
 */
async function retryLater(delivery: Delivery, error: ConnectorError): Promise<never> {
  const { core, queue, message, attempt, fields } = delivery;
  const { config, powertools } = core;
  const backoff = redeliveryDelaySeconds(attempt, config.async);
  const seconds = Math.min(config.async.backoffMaxSeconds, Math.max(backoff, error.retryAfterSeconds ?? 0));
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

/**
 * Puts the event back in the inbox for one of the suite's own waits, without spending an attempt:
 * a new message, delayed by {@link requeueDelaySeconds}, carrying the attempts spent so far, the
 * number of requeues and when the waiting began. An event that has been waiting longer than the
 * inbox keeps a message ({@link inboxRetentionSeconds}, at least 4 days) is dead-lettered with the
 * error it waited on instead, and its failure published: never lost silently.
 */
async function putBack(delivery: Delivery, error: ConnectorError): Promise<void> {
  const { core, queue, record, message, attempt, fields } = delivery;
  const now = Date.now();
  const requeues = (numberAttribute(record, MESSAGE_ATTRIBUTE.requeues) ?? 0) + 1;
  const waitingSinceMs = numberAttribute(record, MESSAGE_ATTRIBUTE.waitingSince) ?? now;
  const slotSeconds =
    error.code === 'RATE_LIMIT_EXCEEDED' && error.source === 'connector'
      ? slotsOf(core).take(now, now + (error.retryAfterSeconds ?? 0) * 1000)
      : undefined;
  const delaySeconds = requeueDelaySeconds(error, requeues, core.config, Math.random, slotSeconds);
  const limitSeconds = inboxRetentionSeconds(core.config);
  const waitedSeconds = (now - waitingSinceMs) / 1000;
  if (waitedSeconds + delaySeconds > limitSeconds) {
    const gaveUp = new ConnectorError(
      error.code,
      `${error.message} The event waited ${Math.round(waitedSeconds)} s for it, the most the inbox keeps a message (${limitSeconds} s); it is dead-lettered.`,
      {
        source: error.source,
        retryable: error.retryable,
        ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
        cause: error,
      },
    );
    await endFailed(delivery, gaveUp);
    return;
  }
  await queue.requeue(message, delaySeconds, {
    [MESSAGE_ATTRIBUTE.priorAttempts]: String(attempt - 1),
    [MESSAGE_ATTRIBUTE.requeues]: String(requeues),
    [MESSAGE_ATTRIBUTE.waitingSince]: String(waitingSinceMs),
    ...carried(record, MESSAGE_ATTRIBUTE.succeededAt),
  });
  core.powertools.logger.info('event put back in the inbox', {
    ...fields,
    errorCode: error.code,
    errorSource: error.source,
    delaySeconds,
    requeues,
    attempt,
  });
}

/**
 * The success's result event could not be published (EventBridge failed): the side effect happened
 * and its result is in the idempotency store. The event goes back to the inbox as a new message
 * that spends no attempt ({@link putBack}'s way); its next delivery gets the result from the
 * idempotency store (no second call to the vendor) and publishes it. That holds while the
 * idempotency record lives, so the event is put back only while `idempotencyTtlSeconds` (counted
 * from the first failed publication) leaves room for the next delivery; past that it is
 * dead-lettered as `DEPENDENCY_UNAVAILABLE`, its message saying that the event succeeded.
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` when SQS fails too: the record fails and SQS
 *   delivers it again
 */
async function republishLater(delivery: Delivery, error: ConnectorError): Promise<void> {
  const { core, queue, record, message, attempt, fields } = delivery;
  const { config, powertools } = core;
  const now = Date.now();
  const requeues = (numberAttribute(record, MESSAGE_ATTRIBUTE.requeues) ?? 0) + 1;
  const succeededAtMs = numberAttribute(record, MESSAGE_ATTRIBUTE.succeededAt) ?? now;
  const delaySeconds = requeueDelaySeconds(error, requeues, config);
  const ageSeconds = (now - succeededAtMs) / 1000;
  powertools.logger.error('The result event could not be published', {
    ...fields,
    errorCode: error.code,
    error: error.cause ?? error,
  });
  if (ageSeconds + delaySeconds + config.functionTimeoutSeconds >= config.idempotencyTtlSeconds) {
    const gaveUp = new ConnectorError(
      'DEPENDENCY_UNAVAILABLE',
      `The event succeeded, but its result event could not be published for ${Math.round(ageSeconds)} s. ` +
        'Redriven within idempotencyTtlSeconds of its success, it publishes the result without calling the vendor again.',
    );
    await queue.deadLetter(message, deadLetterAttributes(gaveUp, attempt, core.redactor));
    powertools.logger.error(
      'event dead-lettered after its success: its result event could not be published',
      {
        ...fields,
        attempt,
      },
    );
    return;
  }
  await queue.requeue(message, delaySeconds, {
    [MESSAGE_ATTRIBUTE.priorAttempts]: String(attempt - 1),
    [MESSAGE_ATTRIBUTE.requeues]: String(requeues),
    [MESSAGE_ATTRIBUTE.succeededAt]: String(succeededAtMs),
    ...carried(record, MESSAGE_ATTRIBUTE.waitingSince),
  });
  powertools.logger.info('event put back in the inbox to publish its result', {
    ...fields,
    delaySeconds,
    requeues,
    attempt,
  });
}

/** The attribute `name` of the record, as a requeue carries it on, or nothing. */
function carried(record: SQSRecord, name: string): Record<string, string> {
  const value = record.messageAttributes?.[name]?.stringValue;
  return value === undefined ? {} : { [name]: value };
}

/**
 * Ends an event that failed: dead-letters it with its error (the durable record of the outcome),
 * then publishes its failure. A failure to publish is logged at ERROR and the event stays in the
 * dead-letter queue with its error (whose alarm fires): running the event again to publish would
 * call the vendor again.
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` when SQS cannot take the dead letter: the record
 *   fails and SQS delivers it again
 */
async function endFailed(delivery: Delivery, error: ConnectorError): Promise<void> {
  const { core, queue, message, attempt, base, fields } = delivery;
  logFailure(core.powertools, error, fields);
  await queue.deadLetter(message, deadLetterAttributes(error, attempt, core.redactor));
  core.powertools.logger.warn('event dead-lettered', { ...fields, errorCode: error.code, attempt });
  try {
    await publish(core, { detailType: INVOCATION_FAILED, detail: failed(base, attempt, error) });
  } catch (thrown) {
    core.powertools.logger.error(
      'The result event could not be published; the event is in the dead-letter queue with its error',
      { ...fields, errorCode: error.code, error: toConnectorError(thrown).cause ?? thrown },
    );
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
