/**
 * The asynchronous path's contract (docs/design.md §2): the request event callers put on EventBridge, the
 * SQS message attributes the runtime reads and writes, the result events it publishes, and the two
 * ports it talks to (the queues and the event bus), with AWS and local implementations behind them.
 */
import * as z from 'zod';
import type { ErrorCode, ErrorSource } from '../errors.js';

/** `detail-type` of a request: `detail: {connector, operation, input, idempotencyKey?}`. */
export const INVOCATION_REQUESTED = 'Connector Invocation Requested';
/** `detail-type` of the result of an event that succeeded. */
export const INVOCATION_SUCCEEDED = 'Connector Invocation Succeeded';
/** `detail-type` of the result of an event that was dead-lettered. */
export const INVOCATION_FAILED = 'Connector Invocation Failed';
/** `source` of result events. */
export const RESULT_EVENT_SOURCE = 'connector-suite';

/**
 * Largest serialized `output` a result event carries, in bytes; a larger one is left out and the
 * event says `outputTruncated: true`. Well inside EventBridge's 256 KB per entry.
 */
export const MAX_RESULT_OUTPUT_BYTES = 64 * 1024;

/** An idempotency key: 1 to 255 visible ASCII characters (the `Idempotency-Key` header and `detail.idempotencyKey`). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** `detail` of a request event. */
export const invocationRequestSchema = z.object({
  connector: z.string().min(1),
  operation: z.string().min(1),
  input: z.unknown(),
  /** Defaults to the EventBridge event id, so a redelivered event is never run twice. */
  idempotencyKey: z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN, 'must be 1 to 255 visible ASCII characters')
    .optional(),
});
/** A request's `detail`. */
export type InvocationRequest = z.infer<typeof invocationRequestSchema>;

/** A request event as EventBridge delivers it (to Lambda, or as the body of an SQS message). */
export const requestEventSchema = z.looseObject({
  id: z.string().min(1),
  'detail-type': z.literal(INVOCATION_REQUESTED),
  source: z.string().min(1),
  time: z.string().optional(),
  detail: invocationRequestSchema,
});
/** A request event. */
export type RequestEvent = z.infer<typeof requestEventSchema>;

/**
 * SQS message attributes (String data type) the runtime writes and reads.
 * - On a dead letter: why it failed, after how many deliveries.
 * - On a message the runtime put back in the inbox itself (circuit breaker open, request in
 *   progress, a dependency unavailable, the connector's own rate limit, a result event not yet
 *   published): the deliveries already spent (`PriorAttempts`, since SQS counts receives of the new
 *   message from 1), how many times it was put back (`Requeues`, which grows its delay), since when
 *   it has been waiting (`WaitingSince`, epoch ms; bounded by the inbox's retention), and, when its
 *   call succeeded but the result event could not be published, when that was (`SucceededAt`, epoch
 *   ms; bounded by the idempotency TTL).
 */
export const MESSAGE_ATTRIBUTE = {
  errorCode: 'ErrorCode',
  errorMessage: 'ErrorMessage',
  errorSource: 'ErrorSource',
  attempts: 'Attempts',
  upstreamStatus: 'UpstreamStatus',
  deadLetteredAt: 'DeadLetteredAt',
  priorAttempts: 'PriorAttempts',
  requeues: 'Requeues',
  waitingSince: 'WaitingSince',
  succeededAt: 'SucceededAt',
} as const;

/** `detail` of a result event. */
export interface ResultDetail {
  connector: string;
  operation: string;
  idempotencyKey: string;
  /** The request id of the delivery that ended the event (its SQS message id, or the event id). */
  requestId: string;
  /** The EventBridge id of the request event. */
  eventId: string;
  /** Deliveries the event took, the last included. */
  attempts: number;
  /** Success only: the operation's output, unless {@link ResultDetail.outputTruncated}. */
  output?: unknown;
  /** Success only: the output was larger than {@link MAX_RESULT_OUTPUT_BYTES} and is left out. */
  outputTruncated?: boolean;
  /** Success only: served from the idempotency store (the event had already succeeded). */
  idempotentReplay?: boolean;
  /** Failure only: the error of the contract (docs/design.md §3). */
  error?: {
    code: ErrorCode;
    message: string;
    source: ErrorSource;
    retryable: boolean;
    upstreamStatus?: number;
  };
}

/** One result event to publish. */
export interface ResultEvent {
  detailType: typeof INVOCATION_SUCCEEDED | typeof INVOCATION_FAILED;
  detail: ResultDetail;
}

/** Where result events go: the suite's EventBridge bus, or the local gateway's list. */
export interface ResultPublisher {
  /**
   * Publishes the events.
   * @throws anything on failure; the runtime makes it a `DEPENDENCY_UNAVAILABLE` (EventBridge) and
   *   puts a succeeded event back in the inbox to publish its result again (see docs/async.md, "Result
   *   events")
   */
  publish(events: readonly ResultEvent[]): Promise<void>;
}

/** A message of the connector's inbox, as the runtime hands it back to the queue port. */
export interface QueueMessage {
  /** The message body (the request event as JSON). */
  body: string;
  /** The receipt handle of this delivery. */
  receiptHandle: string;
}

/** The connector's queues, as the runtime uses them. */
export interface QueuePort {
  /**
   * Keeps a received message hidden for `seconds` from now (SQS `ChangeMessageVisibility`), so it is
   * delivered again after that backoff.
   */
  changeVisibility(message: QueueMessage, seconds: number): Promise<void>;
  /**
   * Sends the message body to the dead-letter queue with `attributes` (see
   * {@link MESSAGE_ATTRIBUTE}); the caller then reports the delivery as done so it leaves the inbox.
   */
  deadLetter(message: QueueMessage, attributes: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Sends the body back to the inbox as a new message, delivered after `delaySeconds` (at most 900),
   * with `attributes`; the caller then reports the delivery as done. Used where a delivery must not
   * count as an attempt (the suite's own waits: see `waitsWithoutAttempt`; a result event to
   * publish again).
   */
  requeue(
    message: QueueMessage,
    delaySeconds: number,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void>;
}

/** The longest delay SQS accepts on a message, in seconds. */
export const SQS_MAX_DELAY_SECONDS = 900;
/**
 * The longest visibility timeout SQS accepts, in seconds (12 hours), counted from the message's
 * receipt: a `ChangeMessageVisibility` that would keep a message hidden past 12 hours after it was
 * received is refused (SQS API Reference, ChangeMessageVisibility).
 */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;
/** The longest message retention SQS accepts, in seconds (14 days); the shortest is 60 s. */
export const SQS_MAX_RETENTION_SECONDS = 1_209_600;
/** The shortest message retention SQS accepts, in seconds. */
export const SQS_MIN_RETENTION_SECONDS = 60;

/** The environment variables of the asynchronous path, set by the stack. */
export const ASYNC_ENV = {
  inboxQueueUrl: 'INBOX_QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Name of the bus result events go to; unset when the connector's result events are off. */
  eventBusName: 'EVENT_BUS_NAME',
} as const;
