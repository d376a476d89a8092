/**
 * The asynchronous entry points of a connector: SQS batches of request events (the inbox the
 * EventBridge rule fills) with partial batch responses, and request events invoked directly.
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
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ConnectorConfig, inboxRetentionSeconds } from '../config.js';
import { ConnectorError, configurationError, dependencyUnavailable, toConnectorError } from '../errors.js';
import type { Redactor } from '../redaction.js';
import {
  INVOCATION_FAILED,
  INVOCATION_SUCCEEDED,
  MAX_RESULT_OUTPUT_BYTES,
  MESSAGE_ATTRIBUTE,
  type QueueMessage,
  type QueuePort,
  type RequestEvent,
  type ResultDetail,
  type ResultEvent,
  requestEventSchema,
  SQS_MAX_DELAY_SECONDS,
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
 * Whether an error is one of the suite's own waits, which delay an event without spending one of
 * its attempts: the circuit breaker is open, the same request is still running elsewhere, one of
 * the suite's own dependencies is unavailable (`DEPENDENCY_UNAVAILABLE`), or the connector's own
 * rate limit is hit (`RATE_LIMIT_EXCEEDED` with source `connector`; a vendor's 429 is source
 * `upstream` and spends an attempt like any retryable failure).
 */
export function waitsWithoutAttempt(error: Pick<ConnectorError, 'code' | 'source'>): boolean {
  return (
    error.code === 'CIRCUIT_BREAKER_OPEN' ||
    error.code === 'REQUEST_IN_PROGRESS' ||
    error.code === 'DEPENDENCY_UNAVAILABLE' ||
    (error.code === 'RATE_LIMIT_EXCEEDED' && error.source === 'connector')
  );
}

/**
 * The delay of an event put back in the inbox by one of the suite's own waits
 * ({@link waitsWithoutAttempt}), in seconds, at most 900 (the SQS maximum `DelaySeconds`).
 *
 * - The error's `retryAfterSeconds` is the floor: the breaker's half-open time, the dependency's
 *   suggested wait.
 * - On top of it, a wait that grows with the number of such requeues (`backoffBaseSeconds·2^(requeues−1)`,
 *   capped at `backoffMaxSeconds` and 900 s) with equal jitter, so that a burst does not come back
 *   all at once.
 * - For the connector's own rate limit, the event comes back at the slot the bucket's refill has
 *   for it (`rateLimitSlotSeconds`, see {@link RateLimitSlots}; without one, the error's
 *   `retryAfterSeconds`, the time until the next token), jittered within one refill interval
 *   (`1 / rateLimit.requestsPerSecond`), so that a burst drains at the limit; or later, when the
 *   growing wait (full jitter) says so, so that an event that keeps losing its slot backs off.
 * @param requeues - this requeue's number, from 1
 * @param random - a number in [0, 1); @default Math.random
 * @param rateLimitSlotSeconds - for the connector's own rate limit: seconds until the event's slot
 * @returns seconds (fractional; SQS rounds a delay up to whole seconds)
 */
export function requeueDelaySeconds(
  error: Pick<ConnectorError, 'code' | 'source' | 'retryAfterSeconds'>,
  requeues: number,
  config: Pick<ConnectorConfig, 'async' | 'rateLimit'>,
  random: () => number = Math.random,
  rateLimitSlotSeconds?: number,
): number {
  const { backoffBaseSeconds, backoffMaxSeconds } = config.async;
  const floor = Math.max(0, error.retryAfterSeconds ?? 0);
  const ceiling = Math.min(
    SQS_MAX_DELAY_SECONDS,
    backoffMaxSeconds,
    backoffBaseSeconds * 2 ** Math.max(0, requeues - 1),
  );
  if (error.code === 'RATE_LIMIT_EXCEEDED' && error.source === 'connector') {
    const slot = Math.max(floor, rateLimitSlotSeconds ?? 0);
    const interval = 1 / config.rateLimit.requestsPerSecond;
    return Math.min(SQS_MAX_DELAY_SECONDS, Math.max(slot + random() * interval, random() * ceiling));
  }
  return Math.min(SQS_MAX_DELAY_SECONDS, floor + ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The slots of the connector's own rate limit handed to events put back in the inbox, per connector
 * handler (its bucket lives as long as the handler): each rate-limited event gets the next slot, one
 * refill interval (`1 / requestsPerSecond`) after the previous one and no earlier than the bucket's
 * next token, so the events of a burst come back one token apart and the burst drains at the limit.
 * A slot more than 900 s away (the longest SQS delay) is not taken: the event comes back at 900 s
 * and asks again.
 */
export class RateLimitSlots {
  #nextSlotMs = 0;

  /** @param requestsPerSecond - the bucket's refill rate (`rateLimit.requestsPerSecond`) */
  constructor(private readonly requestsPerSecond: number) {}

  /**
   * Takes the next slot no earlier than `earliestMs` (when the bucket has its next token).
   * @param nowMs - now, in epoch ms
   * @param earliestMs - in epoch ms
   * @returns seconds from `nowMs` until the slot, at most 900
   */
  take(nowMs: number, earliestMs: number): number {
    const slotMs = Math.max(earliestMs, this.#nextSlotMs);
    const seconds = (slotMs - nowMs) / 1000;
    if (seconds <= SQS_MAX_DELAY_SECONDS) this.#nextSlotMs = slotMs + 1000 / this.requestsPerSecond;
    return Math.min(SQS_MAX_DELAY_SECONDS, seconds);
  }
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

async function handleRecord(core: ConnectorCore, record: SQSRecord, lambdaContext: Context): Promise<void> {
  const { config, powertools } = core;
  if (!core.queue) throw configurationError('This connector has no queue configured (INBOX_QUEUE_URL).');
  const prior = numberAttribute(record, MESSAGE_ATTRIBUTE.priorAttempts) ?? 0;
  const attempt = prior + Number(record.attributes?.ApproximateReceiveCount ?? 1);
  const message: QueueMessage = { body: record.body, receiptHandle: record.receiptHandle };
  const requestId = record.messageId;
  const queue = guardedQueue(core.queue, powertools, { requestId, connector: config.name });

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
  const fields = { requestId, connector: config.name, operation: detail.operation, eventId: event.id };
  const delivery: Delivery = { core, queue, record, message, attempt, fields };

  let result: ExecutionResult;
  try {
    if (detail.connector !== config.name) {
      throw new ConnectorError(
        'NOT_FOUND',
        `This inbox belongs to connector '${config.name}', not '${detail.connector}'.`,
      );
    }
    result = await core.invoke({
      operationName: detail.operation,
      input: detail.input,
      requestId,
      idempotencyKey,
      lambdaContext,
    });
  } catch (thrown) {
    const error = toConnectorError(thrown);
    if (waitsWithoutAttempt(error)) {
      await putBack(delivery, error, base);
      return;
    }
    if (error.retryable && attempt < config.async.maxReceiveCount) {
      const backoff = redeliveryDelaySeconds(attempt, config.async);
      // Within backoffMaxSeconds, which the config keeps inside SQS's 12 hours from receipt.
      const seconds = Math.min(
        config.async.backoffMaxSeconds,
        Math.max(backoff, error.retryAfterSeconds ?? 0),
      );
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
    await endFailed(delivery, error, base);
    return;
  }
  try {
    await publish(core, { detailType: INVOCATION_SUCCEEDED, detail: succeeded(base, attempt, result) });
  } catch (thrown) {
    await republishLater(delivery, toConnectorError(thrown));
  }
}

/** One delivery of a record, as the steps after the call see it. */
interface Delivery {
  core: ConnectorCore;
  /** The guarded queue port (see {@link guardedQueue}). */
  queue: QueuePort;
  record: SQSRecord;
  message: QueueMessage;
  /** The event's attempt this delivery is, from 1. */
  attempt: number;
  fields: Record<string, string>;
}

/**
 * Puts the event back in the inbox for one of the suite's own waits, without spending an attempt:
 * a new message, delayed by {@link requeueDelaySeconds}, carrying the attempts spent so far, the
 * number of requeues and when the waiting began. An event that has been waiting longer than the
 * inbox keeps a message ({@link inboxRetentionSeconds}, at least 4 days) is dead-lettered with the
 * error it waited on instead, and its failure published: never lost silently.
 */
async function putBack(delivery: Delivery, error: ConnectorError, base: ResultBase): Promise<void> {
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
    await endFailed(delivery, gaveUp, base);
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
async function endFailed(delivery: Delivery, error: ConnectorError, base: ResultBase): Promise<void> {
  const { core, queue, message, attempt, fields } = delivery;
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

/**
 * Publishes a result event unless the connector's result events are off.
 * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` (EventBridge) when the event could not be published
 */
async function publish(core: ConnectorCore, event: ResultEvent): Promise<void> {
  if (!core.results || !core.config.async.resultEvents) return;
  try {
    await core.results.publish([core.redactor.redact(event)]);
  } catch (cause) {
    throw dependencyUnavailable('EventBridge', cause);
  }
}
