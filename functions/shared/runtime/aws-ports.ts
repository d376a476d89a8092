/**
 * The AWS side of the asynchronous path's ports: the connector's SQS queues and the suite's
 * EventBridge bus.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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

/** {@link QueuePort} over SQS. Fractional seconds are rounded up: SQS counts whole seconds. */
export class SqsQueuePort implements QueuePort {
  constructor(
    private readonly client: SQSClient,
    private readonly urls: { inbox: string; deadLetter: string },
  ) {}

  /** @inheritdoc */
  async changeVisibility(message: QueueMessage, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.urls.inbox,
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: Math.ceil(seconds),
      }),
    );
  }

  /** @inheritdoc */
  async deadLetter(message: QueueMessage, attributes: Readonly<Record<string, string>>): Promise<void> {
    await this.client.send(
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
    await this.client.send(
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
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  /**
   * @inheritdoc
   * @throws Error when EventBridge refuses an entry (its error code and message)
   */
  async publish(events: readonly ResultEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const answer = await this.client.send(
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

export { EventBridgeClient };
