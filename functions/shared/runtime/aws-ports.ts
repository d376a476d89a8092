/**
 * The AWS side of the asynchronous path's ports: the connector's SQS queues and the suite's
 * EventBridge bus.
 *
 * Both SDK client packages are loaded on first use (`await import()`), not at cold start: a
 * function loads them from the Lambda runtime's AWS SDK (the bundle leaves `@aws-sdk/*` out), and
 * an API Gateway call, the common cold start, never needs them.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import {
  type QueueMessage,
  type QueuePort,
  RESULT_EVENT_SOURCE,
  type ResultEvent,
  type ResultPublisher,
  SQS_MAX_DELAY_SECONDS,
} from './async-contract.js';

function stringAttributes(
  attributes: Readonly<Record<string, string>>,
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

/**
 * A client, or the function that makes it on first use (see {@link lazily}). A function lets the
 * client's package load only when a call needs it.
 */
export type ClientSource<T> = T | (() => Promise<T>);

/**
 * Memoizes `source`: the client itself, or the one promise of the client its function makes (a
 * failed load is not cached: the next call tries again).
 */
export function lazily<T extends object>(source: ClientSource<T>): () => Promise<T> {
  if (typeof source !== 'function') return () => Promise.resolve(source);
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= source().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** {@link QueuePort} over SQS. Fractional seconds are rounded up: SQS counts whole seconds. */
export class SqsQueuePort implements QueuePort {
  readonly #client: () => Promise<SQSClient>;

  /**
   * @param client - the SQS client, or a function that makes it on first use
   * @param urls - the connector's inbox and dead-letter queue URLs
   */
  constructor(
    client: ClientSource<SQSClient>,
    private readonly urls: { inbox: string; deadLetter: string },
  ) {
    this.#client = lazily(client);
  }

  /** @inheritdoc */
  async changeVisibility(message: QueueMessage, seconds: number): Promise<void> {
    const [client, { ChangeMessageVisibilityCommand }] = await Promise.all([
      this.#client(),
      import('@aws-sdk/client-sqs'),
    ]);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.urls.inbox,
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: Math.ceil(seconds),
      }),
    );
  }

  /** @inheritdoc */
  async deadLetter(message: QueueMessage, attributes: Readonly<Record<string, string>>): Promise<void> {
    const [client, { SendMessageCommand }] = await Promise.all([
      this.#client(),
      import('@aws-sdk/client-sqs'),
    ]);
    await client.send(
      new SendMessageCommand({
        QueueUrl: this.urls.deadLetter,
        MessageBody: message.body,
        MessageAttributes: stringAttributes(attributes),
      }),
    );
  }

  /** @inheritdoc */
  async requeue(
    message: QueueMessage,
    delaySeconds: number,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    const [client, { SendMessageCommand }] = await Promise.all([
      this.#client(),
      import('@aws-sdk/client-sqs'),
    ]);
    await client.send(
      new SendMessageCommand({
        QueueUrl: this.urls.inbox,
        MessageBody: message.body,
        DelaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delaySeconds)),
        MessageAttributes: stringAttributes(attributes),
      }),
    );
  }
}

/** {@link ResultPublisher} over EventBridge `PutEvents` (source `connector-suite`). */
export class EventBridgeResultPublisher implements ResultPublisher {
  readonly #client: () => Promise<EventBridgeClient>;

  /**
   * @param client - the EventBridge client, or a function that makes it on first use
   * @param eventBusName - the bus result events go to
   */
  constructor(
    client: ClientSource<EventBridgeClient>,
    private readonly eventBusName: string,
  ) {
    this.#client = lazily(client);
  }

  /**
   * @inheritdoc
   * @throws Error when EventBridge refuses an entry (its error code and message)
   */
  async publish(events: readonly ResultEvent[]): Promise<void> {
    if (events.length === 0) return;
    const [client, { PutEventsCommand }] = await Promise.all([
      this.#client(),
      import('@aws-sdk/client-eventbridge'),
    ]);
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const answer = await client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: this.eventBusName,
            Source: RESULT_EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          })),
        }),
      );
      const failedEntry = answer.Entries?.find((entry) => entry.ErrorCode);
      if ((answer.FailedEntryCount ?? 0) > 0 && failedEntry) {
        throw new Error(
          `PutEvents refused a result event: ${failedEntry.ErrorCode} ${failedEntry.ErrorMessage ?? ''}`,
        );
      }
    }
  }
}
