/**
 * The local stand-in for a connector's SQS inbox, its dead-letter queue and the Lambda event source
 * mapping that reads it (docs/design.md §2, §7), with the semantics the deployed stack has:
 *
 * - a received message stays hidden for the visibility timeout, then is delivered again with a higher
 *   receive count and a new receipt handle (an older handle no longer acts on it);
 * - `changeVisibility` keeps a received message hidden for a backoff, `delete` ends it;
 * - the redrive policy's backstop: a message received `maxReceiveCount` times goes to the
 *   dead-letter queue on its next receive, as it is (no error attributes);
 * - the poller hands batches to the connector's handler as Lambda does (at most `maxConcurrency`
 *   batches at once) and deletes every record the partial batch response does not name.
 *
 * The queue also implements the runtime's {@link QueuePort}, so the handler's own calls
 * (`changeVisibility`, `deadLetter`, `requeue`) act on it. Times are real (epoch ms), seconds may be
 * fractional (SQS would round them up to whole seconds).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { type ConnectorConfig, inboxVisibilitySeconds } from '../functions/shared/config.js';
import {
  type QueueMessage,
  type QueuePort,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_RETENTION_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
  SQS_MIN_RETENTION_SECONDS,
} from '../functions/shared/runtime/async-contract.js';
import { lambdaContext, type SqsDelivery, sqsEvent } from './lambda-events.js';

/** The longest delay of a message SQS accepts, in seconds. */
export const MAX_DELAY_SECONDS = SQS_MAX_DELAY_SECONDS;
/** The longest visibility timeout SQS accepts, in seconds. */
export const MAX_VISIBILITY_SECONDS = SQS_MAX_VISIBILITY_SECONDS;

/**
 * The inbox's visibility timeout for a connector, as the stack sets it: six times the function's
 * timeout, at least 30 seconds.
 */
export function inboxVisibilityTimeoutSeconds(
  config: Pick<ConnectorConfig, 'functionTimeoutSeconds'>,
): number {
  return inboxVisibilitySeconds(config.functionTimeoutSeconds);
}

/** A request SQS would refuse; `code` is the SQS error code. */
export class LocalQueueError extends Error {
  override readonly name = 'LocalQueueError';
  constructor(
    readonly code: 'ReceiptHandleIsInvalid' | 'MessageNotInflight' | 'InvalidParameterValue',
    message: string,
  ) {
    super(message);
  }
}

/** A message of the inbox, as {@link LocalQueue.messages} shows it. */
export interface LocalMessage {
  messageId: string;
  body: string;
  messageAttributes: Readonly<Record<string, string>>;
  /** Receives so far. */
  receiveCount: number;
  /** When it is (or was) visible again, in epoch ms. */
  visibleAtMs: number;
  /** When it was sent, in epoch ms. */
  sentAtMs: number;
}

/** A message of the dead-letter queue. */
export interface DeadLetter {
  /** The dead letter's message id (the inbox message's own id when the redrive policy moved it). */
  messageId: string;
  /** The id of the inbox message it came from. */
  sourceMessageId: string | undefined;
  body: string;
  /** Its message attributes: the error the runtime wrote (see `MESSAGE_ATTRIBUTE`), or none. */
  attributes: Readonly<Record<string, string>>;
  /** Receives of the inbox message it came from, when known. */
  receiveCount: number | undefined;
  /** ISO 8601. */
  deadLetteredAt: string;
}

/** What {@link LocalQueue.stats} counts. */
export interface QueueStats {
  /** Waiting in the inbox, ready to be received. */
  visible: number;
  /** Received and not yet visible again, nor deleted. */
  inFlight: number;
  /** Waiting to become visible: sent with a delay, or kept hidden for a backoff. */
  delayed: number;
  /** Deliveries the handler completed that it did not dead-letter or put back in the inbox. */
  succeeded: number;
  /** Messages in the dead-letter queue. */
  deadLettered: number;
  /** Messages deleted because they outlived the inbox's retention (SQS deletes them without a trace). */
  expired: number;
}

/** Options of {@link LocalQueue}. */
export interface LocalQueueOptions {
  /** The connector the queue belongs to. */
  connector: string;
  /** How long a received message stays hidden, in seconds (see {@link inboxVisibilityTimeoutSeconds}). */
  visibilityTimeoutSeconds: number;
  /** Receives after which the redrive policy moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  /**
   * How long the inbox keeps a message from when it was sent, in seconds (60 to 1,209,600, as SQS's
   * `MessageRetentionPeriod`); an older one is deleted, in flight or not, as SQS does (see
   * `inboxRetentionSeconds` in `functions/shared/config.ts` for the value the stack sets).
   * @default 345,600 (4 days, the SQS default)
   */
  retentionSeconds?: number;
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number;
}

/** Options of {@link LocalQueue.send}. */
export interface SendOptions {
  /** Seconds before the message becomes visible (0 to 900, fractional allowed). @default 0 */
  delaySeconds?: number;
  /** String message attributes. */
  messageAttributes?: Readonly<Record<string, string>>;
}

/**
 * What a {@link LocalQueue} keeps across a restart of `npm start` ({@link LocalQueue.snapshot}): its
 * inbox messages with their receive counts and when each is visible (epoch ms), and its dead letters
 * with their attributes. A delivery running when it was taken is not kept as such: its message is
 * visible at once on restore, with the receive count it had (as after a visibility timeout).
 */
export interface QueueState {
  connector: string;
  messages: Array<{
    messageId: string;
    body: string;
    messageAttributes: Record<string, string>;
    sentAtMs: number;
    receiveCount: number;
    visibleAtMs: number;
    firstReceivedAtMs?: number;
  }>;
  deadLetters: Array<{
    messageId: string;
    sourceMessageId?: string;
    body: string;
    attributes: Record<string, string>;
    receiveCount?: number;
    deadLetteredAt: string;
  }>;
}

const queueStateSchema = z.object({
  connector: z.string(),
  messages: z.array(
    z.object({
      messageId: z.string(),
      body: z.string(),
      messageAttributes: z.record(z.string(), z.string()),
      sentAtMs: z.number(),
      receiveCount: z.number().int().nonnegative(),
      visibleAtMs: z.number(),
      firstReceivedAtMs: z.number().optional(),
    }),
  ),
  deadLetters: z.array(
    z.object({
      messageId: z.string(),
      sourceMessageId: z.string().optional(),
      body: z.string(),
      attributes: z.record(z.string(), z.string()),
      receiveCount: z.number().int().nonnegative().optional(),
      deadLetteredAt: z.string(),
    }),
  ),
});

/** The file of {@link writeQueueStateFile}: a version, and the state of each connector's queue. */
const queueStateFileSchema = z.object({ version: z.literal(1), queues: z.array(queueStateSchema) });

/**
 * Writes the queues' state to `file` atomically: to a temporary file beside it, then renamed over it,
 * so a crash leaves the old file or the new one, never half of one. Creates the directory if missing.
 */
export async function writeQueueStateFile(file: string, states: readonly QueueState[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ version: 1, queues: states })}\n`, 'utf8');
  await rename(temporary, file);
}

/**
 * Reads a file {@link writeQueueStateFile} wrote.
 * @returns the queues' state, or `undefined` when the file does not exist
 * @throws Error naming the file when it is not such a file (e.g. edited by hand); `npm start -- --reset`
 *   starts without it
 */
export async function readQueueStateFile(file: string): Promise<QueueState[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const checked = queueStateFileSchema.safeParse(parsed);
  if (!checked.success) {
    throw new Error(
      `${file} is not a state file of the local queues; move it away or start clean with npm start -- --reset.`,
    );
  }
  return checked.data.queues as QueueState[];
}

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly messageAttributes: Readonly<Record<string, string>>;
  readonly sentAtMs: number;
  receiveCount: number;
  visibleAtMs: number;
  /** Why it is hidden while `visibleAtMs` is ahead: a running delivery, or a delay or backoff. */
  hiddenFor: 'delivery' | 'delay';
  firstReceivedAtMs: number | undefined;
  /** When the latest delivery was received: SQS keeps a message hidden at most 12 hours from then. */
  receivedAtMs: number | undefined;
  /** The handle of the latest delivery; older ones no longer act on the message. */
  receiptHandle: string | undefined;
  /** What the handler did with the latest delivery through the {@link QueuePort}. */
  outcome: 'deadLettered' | 'requeued' | undefined;
}

function checkSeconds(what: string, seconds: number, max: number): void {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > max) {
    throw new LocalQueueError(
      'InvalidParameterValue',
      `${what} must be between 0 and ${max} seconds, not ${seconds}.`,
    );
  }
}

/** A connector's inbox and dead-letter queue; see the module comment for its semantics. */
export class LocalQueue implements QueuePort {
  readonly connector: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly retentionSeconds: number;
  private readonly now: () => number;
  private expiredCount = 0;
  /** The inbox, oldest first. */
  private readonly inbox = new Map<string, StoredMessage>();
  /** The current receipt handle of each received message. */
  private readonly handles = new Map<string, StoredMessage>();
  private deadLetterQueue: DeadLetter[] = [];
  /** The dead letters received through SQS `ReceiveMessage` on the dead-letter queue, by message id. */
  private readonly deadLetterReceipts = new Map<string, { visibleAtMs: number; receiptHandle: string }>();
  private succeededCount = 0;

  constructor(options: LocalQueueOptions) {
    checkSeconds('visibilityTimeoutSeconds', options.visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    if (!Number.isInteger(options.maxReceiveCount) || options.maxReceiveCount < 1) {
      throw new LocalQueueError(
        'InvalidParameterValue',
        'maxReceiveCount must be a whole number of at least 1.',
      );
    }
    this.connector = options.connector;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds;
    this.maxReceiveCount = options.maxReceiveCount;
    const retentionSeconds = options.retentionSeconds ?? 345_600;
    if (
      !Number.isInteger(retentionSeconds) ||
      retentionSeconds < SQS_MIN_RETENTION_SECONDS ||
      retentionSeconds > SQS_MAX_RETENTION_SECONDS
    ) {
      throw new LocalQueueError(
        'InvalidParameterValue',
        `retentionSeconds must be a whole number from ${SQS_MIN_RETENTION_SECONDS} to ${SQS_MAX_RETENTION_SECONDS}, not ${retentionSeconds}.`,
      );
    }
    this.retentionSeconds = retentionSeconds;
    this.now = options.now ?? Date.now;
  }

  /** Messages deleted because they outlived the retention (SQS deletes them without a trace). */
  get expired(): number {
    this.expire(this.now());
    return this.expiredCount;
  }

  /**
   * Sends a message to the inbox (SQS `SendMessage`).
   * @returns its message id
   * @throws LocalQueueError `InvalidParameterValue` for a delay outside 0 to 900 seconds
   */
  send(body: string, options: SendOptions = {}): string {
    const delaySeconds = options.delaySeconds ?? 0;
    checkSeconds('delaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    const now = this.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      messageAttributes: { ...options.messageAttributes },
      sentAtMs: now,
      receiveCount: 0,
      visibleAtMs: now + delaySeconds * 1000,
      hiddenFor: 'delay',
      firstReceivedAtMs: undefined,
      receivedAtMs: undefined,
      receiptHandle: undefined,
      outcome: undefined,
    };
    this.inbox.set(message.messageId, message);
    return message.messageId;
  }

  /**
   * Receives up to `maxMessages` visible messages, oldest first (SQS `ReceiveMessage`): each one's
   * receive count goes up, it is hidden for the visibility timeout and gets a new receipt handle. A
   * visible message already received `maxReceiveCount` times goes to the dead-letter queue instead.
   */
  receive(maxMessages = 10): SqsDelivery[] {
    const now = this.now();
    this.expire(now);
    const deliveries: SqsDelivery[] = [];
    for (const message of this.inbox.values()) {
      if (deliveries.length >= maxMessages) break;
      if (message.visibleAtMs > now) continue;
      if (message.receiveCount >= this.maxReceiveCount) {
        this.moveToDeadLetterQueue(message, now);
        continue;
      }
      if (message.receiptHandle !== undefined) this.handles.delete(message.receiptHandle);
      message.receiveCount += 1;
      message.firstReceivedAtMs ??= now;
      message.receivedAtMs = now;
      message.visibleAtMs = now + this.visibilityTimeoutSeconds * 1000;
      message.hiddenFor = 'delivery';
      message.outcome = undefined;
      message.receiptHandle = Buffer.from(`${message.messageId}:${randomUUID()}`).toString('base64url');
      this.handles.set(message.receiptHandle, message);
      deliveries.push({
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        messageAttributes: message.messageAttributes,
        receiveCount: message.receiveCount,
        sentAtMs: message.sentAtMs,
        firstReceivedAtMs: message.firstReceivedAtMs,
      });
    }
    return deliveries;
  }

  /**
   * Deletes the message of a delivery (SQS `DeleteMessage`).
   * @returns whether it was deleted: `false` for a handle an older delivery had, or an unknown one
   */
  delete(receiptHandle: string): boolean {
    const message = this.handles.get(receiptHandle);
    if (!message) return false;
    this.handles.delete(receiptHandle);
    this.inbox.delete(message.messageId);
    return true;
  }

  /**
   * Ends a delivery the handler completed (a record its batch response did not name): deletes the
   * message, and counts it as succeeded unless the handler dead-lettered or requeued it.
   * @returns whether the delivery was still current (see {@link delete})
   */
  complete(receiptHandle: string): boolean {
    const outcome = this.handles.get(receiptHandle)?.outcome;
    const deleted = this.delete(receiptHandle);
    if (deleted && outcome === undefined) this.succeededCount += 1;
    return deleted;
  }

  /**
   * Keeps a received message hidden for `seconds` from now (SQS `ChangeMessageVisibility`); 0 makes it
   * visible at once. Accepts a receipt handle or the runtime's {@link QueueMessage}.
   * @throws LocalQueueError `ReceiptHandleIsInvalid` for a handle that is not the message's latest
   *   delivery (or was deleted), `MessageNotInflight` when the message is visible again,
   *   `InvalidParameterValue` for seconds outside 0 to 43,200, or that would keep the message hidden
   *   more than 12 hours after this delivery was received (as SQS refuses it: "you can't extend the
   *   timeout of a message ... to more than a total visibility timeout of 12 hours", SQS API
   *   Reference, ChangeMessageVisibility)
   */
  async changeVisibility(target: string | QueueMessage, seconds: number): Promise<void> {
    checkSeconds('The visibility timeout', seconds, MAX_VISIBILITY_SECONDS);
    const message = this.current(typeof target === 'string' ? target : target.receiptHandle);
    const now = this.now();
    if (message.visibleAtMs <= now) {
      throw new LocalQueueError('MessageNotInflight', `Message ${message.messageId} is not in flight.`);
    }
    const sinceReceiptSeconds = (now - (message.receivedAtMs ?? now)) / 1000;
    if (sinceReceiptSeconds + seconds > MAX_VISIBILITY_SECONDS) {
      throw new LocalQueueError(
        'InvalidParameterValue',
        `A visibility timeout of ${seconds} s, ${sinceReceiptSeconds} s after the message was received, would keep it hidden past ${MAX_VISIBILITY_SECONDS} s (12 hours) from its receipt.`,
      );
    }
    message.visibleAtMs = now + seconds * 1000;
    message.hiddenFor = 'delay';
  }

  /**
   * {@link QueuePort.deadLetter}: sends the body to the dead-letter queue with `attributes`, as a new
   * message; the delivery then no longer counts as succeeded when it completes.
   */
  async deadLetter(message: QueueMessage, attributes: Readonly<Record<string, string>>): Promise<void> {
    const source = this.handles.get(message.receiptHandle);
    this.deadLetterQueue.push({
      messageId: randomUUID(),
      sourceMessageId: source?.messageId,
      body: message.body,
      attributes: { ...attributes },
      receiveCount: source?.receiveCount,
      deadLetteredAt: attributes.DeadLetteredAt ?? new Date(this.now()).toISOString(),
    });
    if (source) source.outcome = 'deadLettered';
  }

  /**
   * {@link QueuePort.requeue}: sends the body back to the inbox as a new message with `attributes`,
   * visible after `delaySeconds`; the delivery then no longer counts as succeeded when it completes.
   * @throws LocalQueueError `InvalidParameterValue` for a delay outside 0 to 900 seconds
   */
  async requeue(
    message: QueueMessage,
    delaySeconds: number,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.send(message.body, { delaySeconds, messageAttributes: attributes });
    const source = this.handles.get(message.receiptHandle);
    if (source) source.outcome = 'requeued';
  }

  /**
   * Moves every dead letter back to the inbox as a new message, visible at once and without
   * attributes: it starts over with a full set of attempts.
   * @returns how many were moved
   */
  redrive(): number {
    const letters = this.deadLetterQueue;
    this.deadLetterQueue = [];
    this.deadLetterReceipts.clear();
    for (const letter of letters) this.send(letter.body);
    return letters.length;
  }

  /**
   * Moves every dead letter back to the inbox as SQS's `StartMessageMoveTask` does: as a new message,
   * visible at once, with its message attributes kept (the runtime reads them, as it does after a
   * move task in AWS).
   * @returns how many were moved
   */
  moveDeadLetters(): number {
    const letters = this.deadLetterQueue;
    this.deadLetterQueue = [];
    this.deadLetterReceipts.clear();
    for (const letter of letters) this.send(letter.body, { messageAttributes: letter.attributes });
    return letters.length;
  }

  /**
   * Receives up to `maxMessages` dead letters not hidden by an earlier receive, oldest first (SQS
   * `ReceiveMessage` on the dead-letter queue): each is hidden for `visibilityTimeoutSeconds` and gets
   * a new receipt handle for {@link deleteDeadLetter}.
   * @throws LocalQueueError `InvalidParameterValue` for a visibility timeout outside 0 to 43,200 s
   */
  receiveDeadLetters(
    maxMessages: number,
    visibilityTimeoutSeconds: number,
  ): Array<DeadLetter & { receiptHandle: string }> {
    checkSeconds('The visibility timeout', visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    const now = this.now();
    const received: Array<DeadLetter & { receiptHandle: string }> = [];
    for (const letter of this.deadLetterQueue) {
      if (received.length >= maxMessages) break;
      const receipt = this.deadLetterReceipts.get(letter.messageId);
      if (receipt && receipt.visibleAtMs > now) continue;
      const receiptHandle = Buffer.from(`${letter.messageId}:${randomUUID()}`).toString('base64url');
      this.deadLetterReceipts.set(letter.messageId, {
        visibleAtMs: now + visibilityTimeoutSeconds * 1000,
        receiptHandle,
      });
      received.push({ ...letter, receiptHandle });
    }
    return received;
  }

  /**
   * Deletes a dead letter received with {@link receiveDeadLetters} (SQS `DeleteMessage`).
   * @returns whether it was deleted: `false` for a handle that is not its latest receive
   */
  deleteDeadLetter(receiptHandle: string): boolean {
    for (const [messageId, receipt] of this.deadLetterReceipts) {
      if (receipt.receiptHandle !== receiptHandle) continue;
      this.deadLetterReceipts.delete(messageId);
      this.deadLetterQueue = this.deadLetterQueue.filter((letter) => letter.messageId !== messageId);
      return true;
    }
    return false;
  }

  /** The dead letters ready to be received, and those hidden by a receive (in flight). */
  deadLetterCounts(): { visible: number; inFlight: number } {
    const now = this.now();
    let inFlight = 0;
    for (const letter of this.deadLetterQueue) {
      const receipt = this.deadLetterReceipts.get(letter.messageId);
      if (receipt && receipt.visibleAtMs > now) inFlight += 1;
    }
    return { visible: this.deadLetterQueue.length - inFlight, inFlight };
  }

  /**
   * The queue's state to keep across a restart (see {@link QueueState}): messages sent more than the
   * retention ago are left out, and a delivery still running counts as ended (its message is visible
   * at once on restore, with its receive count).
   */
  snapshot(): QueueState {
    const now = this.now();
    this.expire(now);
    return {
      connector: this.connector,
      messages: [...this.inbox.values()].map((m) => ({
        messageId: m.messageId,
        body: m.body,
        messageAttributes: { ...m.messageAttributes },
        sentAtMs: m.sentAtMs,
        receiveCount: m.receiveCount,
        visibleAtMs: m.hiddenFor === 'delivery' ? Math.min(m.visibleAtMs, now) : m.visibleAtMs,
        ...(m.firstReceivedAtMs === undefined ? {} : { firstReceivedAtMs: m.firstReceivedAtMs }),
      })),
      deadLetters: this.deadLetterQueue.map((letter) => ({
        messageId: letter.messageId,
        ...(letter.sourceMessageId === undefined ? {} : { sourceMessageId: letter.sourceMessageId }),
        body: letter.body,
        attributes: { ...letter.attributes },
        ...(letter.receiveCount === undefined ? {} : { receiveCount: letter.receiveCount }),
        deadLetteredAt: letter.deadLetteredAt,
      })),
    };
  }

  /**
   * Adds the messages and dead letters of a {@link snapshot} (of this connector's queue, from an
   * earlier run) behind those the queue holds, keeping their ids, receive counts, delays and
   * attributes; a message already held (same id) is not added twice.
   * @returns how many messages and dead letters were added
   */
  restore(state: QueueState): { messages: number; deadLetters: number } {
    let messages = 0;
    for (const m of state.messages) {
      if (this.inbox.has(m.messageId)) continue;
      this.inbox.set(m.messageId, {
        messageId: m.messageId,
        body: m.body,
        messageAttributes: { ...m.messageAttributes },
        sentAtMs: m.sentAtMs,
        receiveCount: m.receiveCount,
        visibleAtMs: m.visibleAtMs,
        hiddenFor: 'delay',
        firstReceivedAtMs: m.firstReceivedAtMs,
        receivedAtMs: undefined,
        receiptHandle: undefined,
        outcome: undefined,
      });
      messages += 1;
    }
    const held = new Set(this.deadLetterQueue.map((letter) => letter.messageId));
    const letters = state.deadLetters.filter((letter) => !held.has(letter.messageId));
    for (const letter of letters) {
      this.deadLetterQueue.push({
        messageId: letter.messageId,
        sourceMessageId: letter.sourceMessageId,
        body: letter.body,
        attributes: { ...letter.attributes },
        receiveCount: letter.receiveCount,
        deadLetteredAt: letter.deadLetteredAt,
      });
    }
    this.expire(this.now());
    return { messages, deadLetters: letters.length };
  }

  /** The dead letters, oldest first. */
  deadLetters(): DeadLetter[] {
    return this.deadLetterQueue.map((letter) => ({ ...letter }));
  }

  /** The inbox's messages, oldest first. */
  messages(): LocalMessage[] {
    this.expire(this.now());
    return [...this.inbox.values()].map((m) => ({
      messageId: m.messageId,
      body: m.body,
      messageAttributes: m.messageAttributes,
      receiveCount: m.receiveCount,
      visibleAtMs: m.visibleAtMs,
      sentAtMs: m.sentAtMs,
    }));
  }

  /** Messages ready to be received. */
  visibleCount(): number {
    const now = this.now();
    this.expire(now);
    let visible = 0;
    for (const message of this.inbox.values()) if (message.visibleAtMs <= now) visible += 1;
    return visible;
  }

  /** The counters of `GET /v1/queue`. */
  stats(): QueueStats {
    const now = this.now();
    this.expire(now);
    const stats: QueueStats = {
      visible: 0,
      inFlight: 0,
      delayed: 0,
      succeeded: this.succeededCount,
      deadLettered: this.deadLetterQueue.length,
      expired: this.expiredCount,
    };
    for (const message of this.inbox.values()) {
      if (message.visibleAtMs <= now) stats.visible += 1;
      else if (message.hiddenFor === 'delivery') stats.inFlight += 1;
      else stats.delayed += 1;
    }
    return stats;
  }

  /** Deletes the messages sent more than the retention ago. */
  private expire(now: number): void {
    const oldestKeptMs = now - this.retentionSeconds * 1000;
    for (const message of this.inbox.values()) {
      if (message.sentAtMs > oldestKeptMs) continue;
      this.inbox.delete(message.messageId);
      if (message.receiptHandle !== undefined) this.handles.delete(message.receiptHandle);
      this.expiredCount += 1;
    }
  }

  private current(receiptHandle: string): StoredMessage {
    this.expire(this.now());
    const message = this.handles.get(receiptHandle);
    if (!message) {
      throw new LocalQueueError(
        'ReceiptHandleIsInvalid',
        'The receipt handle is not the latest delivery of a message in the inbox.',
      );
    }
    return message;
  }

  private moveToDeadLetterQueue(message: StoredMessage, now: number): void {
    this.inbox.delete(message.messageId);
    if (message.receiptHandle !== undefined) this.handles.delete(message.receiptHandle);
    this.deadLetterQueue.push({
      messageId: message.messageId,
      sourceMessageId: message.messageId,
      body: message.body,
      attributes: { ...message.messageAttributes },
      receiveCount: message.receiveCount,
      deadLetteredAt: new Date(now).toISOString(),
    });
  }
}

/** The connector handler as the poller calls it: an SQS event in, a partial batch response out. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

/** Where the poller reports what went wrong. */
export interface PollerLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** Options of {@link LocalQueuePoller}. */
export interface LocalQueuePollerOptions {
  queue: LocalQueue;
  handler: SqsBatchHandler;
  /** Messages per batch (`async.batchSize`). */
  batchSize: number;
  /**
   * How long to gather a fuller batch once a message is visible, in seconds
   * (`async.maxBatchingWindowSeconds`); 0 sends what there is at once. @default 0
   */
  maxBatchingWindowSeconds?: number;
  /** Batches running at once (`async.maxConcurrency`). */
  maxConcurrency: number;
  /** The Lambda function's timeout, in ms: the context's remaining time, and when a batch is given up. */
  functionTimeoutMs: number;
  /** @default `connector-suite-local-{connector}` */
  functionName?: string;
  /** How often to look for messages, in ms. @default 25 */
  intervalMs?: number;
  /** @default console */
  logger?: PollerLogger;
  /** The clock of the batching window, in epoch ms. @default Date.now */
  now?: () => number;
}

/**
 * Which records of a batch failed, from the handler's answer, as Lambda reads a partial batch
 * response: nothing, `{}` or no `batchItemFailures` is a full success; a failure without an
 * `itemIdentifier`, or one naming no message of the batch, fails the whole batch (`'all'`).
 */
export function failedRecords(response: unknown, messageIds: readonly string[]): Set<string> | 'all' {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') return 'all';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !known.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

/**
 * The event source mapping of one connector: every `intervalMs`, while fewer than `maxConcurrency`
 * batches run, receives a batch and calls the handler; then deletes every record the answer does
 * not name as failed. A failed record stays hidden until its visibility runs out (which the handler
 * may have changed); a handler that throws, answers an invalid partial batch response or outlives
 * its timeout leaves the whole batch to reappear after the visibility timeout.
 */
export class LocalQueuePoller {
  private readonly options: Required<Omit<LocalQueuePollerOptions, 'logger'>> & { logger: PollerLogger };
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private windowStartedAtMs: number | undefined;
  private pollCount = 0;

  constructor(options: LocalQueuePollerOptions) {
    this.options = {
      queue: options.queue,
      handler: options.handler,
      batchSize: options.batchSize,
      maxBatchingWindowSeconds: options.maxBatchingWindowSeconds ?? 0,
      maxConcurrency: options.maxConcurrency,
      functionTimeoutMs: options.functionTimeoutMs,
      functionName: options.functionName ?? `connector-suite-local-${options.queue.connector}`,
      intervalMs: options.intervalMs ?? 25,
      logger: options.logger ?? console,
      now: options.now ?? Date.now,
    };
  }

  /** Batches running now. */
  get inFlightBatches(): number {
    return this.running.size;
  }

  /** Looks at the inbox so far (one every `intervalMs`). */
  get polls(): number {
    return this.pollCount;
  }

  /** Starts polling; does nothing when already started. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops polling and waits for the batches still running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.poll();
      } catch (error) {
        this.options.logger.error('The local queue poller failed', {
          connector: this.options.queue.connector,
          error,
        });
      }
      this.schedule();
    }, this.options.intervalMs);
  }

  private poll(): void {
    const { queue, batchSize, maxConcurrency, now } = this.options;
    const windowMs = this.options.maxBatchingWindowSeconds * 1000;
    this.pollCount += 1;
    while (!this.stopped && this.running.size < maxConcurrency) {
      const visible = queue.visibleCount();
      if (visible === 0) {
        this.windowStartedAtMs = undefined;
        return;
      }
      if (visible < batchSize && windowMs > 0) {
        this.windowStartedAtMs ??= now();
        if (now() - this.windowStartedAtMs < windowMs) return;
      }
      this.windowStartedAtMs = undefined;
      const batch = queue.receive(batchSize);
      if (batch.length === 0) return;
      const run = this.run(batch).finally(() => this.running.delete(run));
      this.running.add(run);
    }
  }

  private async run(batch: SqsDelivery[]): Promise<void> {
    const { queue, handler, functionTimeoutMs, functionName, logger } = this.options;
    const fields = { connector: queue.connector, messages: batch.length };
    let timer: NodeJS.Timeout | undefined;
    let response: unknown;
    try {
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The handler did not answer within ${functionTimeoutMs} ms.`)),
          functionTimeoutMs,
        );
      });
      response = await Promise.race([
        handler(sqsEvent(queue.connector, batch), lambdaContext(functionName, functionTimeoutMs)),
        timedOut,
      ]);
    } catch (error) {
      logger.error('The batch failed; its messages are delivered again after the visibility timeout', {
        ...fields,
        error,
      });
      return;
    } finally {
      clearTimeout(timer);
    }
    const failed = failedRecords(
      response,
      batch.map((delivery) => delivery.messageId),
    );
    if (failed === 'all') {
      logger.warn(
        'The handler answered an invalid partial batch response; the whole batch is delivered again after the visibility timeout',
        fields,
      );
      return;
    }
    for (const delivery of batch) {
      if (!failed.has(delivery.messageId)) queue.complete(delivery.receiptHandle);
    }
  }
}
