/**
 * SQS on the local gateway, in its JSON protocol (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.{Action}`),
 * enough to inspect and operate the local queues with the AWS SDK v3, the AWS CLI and
 * `npm run redrive`: `ListQueues`, `GetQueueUrl`, `GetQueueAttributes`, `ReceiveMessage` and
 * `DeleteMessage` (dead-letter queues only: the inboxes belong to the connectors' pollers),
 * `StartMessageMoveTask` and `ListMessageMoveTasks`.
 *
 * Each connector has two queues, named and addressed as:
 *
 * | queue           | name                  | URL                                   | ARN                                              |
 * | --------------- | --------------------- | ------------------------------------- | ------------------------------------------------ |
 * | inbox           | `{connector}-inbox`   | `{gateway}/000000000000/{name}`       | `arn:aws:sqs:local:000000000000:{name}`           |
 * | dead-letter     | `{connector}-dlq`     | same scheme                           | same scheme                                      |
 *
 * A move task moves every dead letter at once (SQS moves them in the background at up to
 * `MaxNumberOfMessagesPerSecond`); it is `COMPLETED` when `StartMessageMoveTask` answers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../lambda-events.js';
import type { LocalQueue } from '../queue.js';
import { type AwsJsonAnswer, AwsJsonError } from './protocol.js';

/** The suffix of a connector's inbox name. */
export const INBOX_SUFFIX = '-inbox';
/** The suffix of a connector's dead-letter queue name. */
export const DEAD_LETTER_QUEUE_SUFFIX = '-dlq';

/** One of the local queues, as SQS names it. */
export interface LocalSqsQueue {
  connector: string;
  role: 'inbox' | 'deadLetter';
  name: string;
  url: string;
  arn: string;
  queue: LocalQueue;
}

/** A move task, as `ListMessageMoveTasks` lists it. */
export interface MessageMoveTask {
  TaskHandle: string;
  Status: 'COMPLETED';
  SourceArn: string;
  DestinationArn: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
}

/** The SQS names, URL and ARN of a connector's inbox and dead-letter queue. */
export function sqsQueues(gatewayUrl: string, queues: ReadonlyMap<string, LocalQueue>): LocalSqsQueue[] {
  const list: LocalSqsQueue[] = [];
  for (const [connector, queue] of queues) {
    for (const role of ['inbox', 'deadLetter'] as const) {
      const name = `${connector}${role === 'inbox' ? INBOX_SUFFIX : DEAD_LETTER_QUEUE_SUFFIX}`;
      list.push({
        connector,
        role,
        name,
        url: `${gatewayUrl}/${LOCAL_ACCOUNT_ID}/${name}`,
        arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`,
        queue,
      });
    }
  }
  return list;
}

const nonExistent = (what: string) =>
  new AwsJsonError(
    'com.amazonaws.sqs#QueueDoesNotExist',
    `The specified queue does not exist: ${what}`,
    400,
    'AWS.SimpleQueueService.NonExistentQueue',
  );
const invalid = (message: string) =>
  new AwsJsonError('com.amazonaws.sqs#InvalidParameterValue', message, 400, 'InvalidParameterValue');

/**
 * The local SQS service of one gateway. Its move tasks are kept for `ListMessageMoveTasks`.
 */
export class LocalSqsService {
  private readonly tasks: MessageMoveTask[] = [];

  /**
   * @param gatewayUrl the gateway's base URL, e.g. `http://127.0.0.1:3000` (the queue URLs start with it)
   * @param queues the inbox and dead-letter queue of each connector, by name
   */
  constructor(
    private readonly gatewayUrl: string,
    private readonly queues: ReadonlyMap<string, LocalQueue>,
  ) {}

  /**
   * Answers an `AmazonSQS.{action}` request (its body, parsed).
   * @throws AwsJsonError as SQS answers: `QueueDoesNotExist`, `InvalidParameterValue`,
   *   `ReceiptHandleIsInvalid`, `UnsupportedOperation`, `ResourceNotFoundException`, or
   *   `UnknownOperationException` for an action the local gateway does not serve
   */
  operation(action: string, request: Record<string, unknown>): AwsJsonAnswer {
    const ok = (body: unknown): AwsJsonAnswer => ({ status: 200, body });
    switch (action) {
      case 'ListQueues': {
        const prefix = typeof request.QueueNamePrefix === 'string' ? request.QueueNamePrefix : '';
        const urls = this.all()
          .filter((queue) => queue.name.startsWith(prefix))
          .map((queue) => queue.url);
        const max = typeof request.MaxResults === 'number' ? request.MaxResults : 1000;
        return ok(urls.length === 0 ? {} : { QueueUrls: urls.slice(0, max) });
      }
      case 'GetQueueUrl': {
        const queue = this.all().find((candidate) => candidate.name === request.QueueName);
        if (!queue) throw nonExistent(String(request.QueueName));
        return ok({ QueueUrl: queue.url });
      }
      case 'GetQueueAttributes':
        return ok({ Attributes: this.attributes(this.byUrl(request.QueueUrl), request.AttributeNames) });
      case 'ReceiveMessage':
        return ok(this.receive(request));
      case 'DeleteMessage': {
        const queue = this.deadLetterQueue(this.byUrl(request.QueueUrl), 'DeleteMessage');
        const handle = typeof request.ReceiptHandle === 'string' ? request.ReceiptHandle : '';
        if (!queue.queue.deleteDeadLetter(handle)) {
          throw new AwsJsonError(
            'com.amazonaws.sqs#ReceiptHandleIsInvalid',
            'The receipt handle is not the latest receive of a message in the queue.',
            400,
            'ReceiptHandleIsInvalid',
          );
        }
        return ok({});
      }
      case 'StartMessageMoveTask':
        return ok(this.startMove(request));
      case 'ListMessageMoveTasks': {
        const source = this.byArn(request.SourceArn);
        const max = typeof request.MaxResults === 'number' ? request.MaxResults : 1;
        const results = this.tasks
          .filter((task) => task.SourceArn === source.arn)
          .reverse()
          .slice(0, max);
        return ok({ Results: results });
      }
      default:
        throw new AwsJsonError(
          'UnknownOperationException',
          `The local gateway serves AmazonSQS.${SERVED.join(', AmazonSQS.')}; not AmazonSQS.${action}.`,
        );
    }
  }

  private all(): LocalSqsQueue[] {
    return sqsQueues(this.gatewayUrl, this.queues);
  }

  /** The queue a `QueueUrl` names; its path is enough (`/000000000000/{name}`), whatever the host. */
  private byUrl(url: unknown): LocalSqsQueue {
    if (typeof url !== 'string' || url === '') throw invalid('QueueUrl is required.');
    const name = url.split('/').pop();
    const queue = this.all().find((candidate) => candidate.name === name);
    if (!queue) throw nonExistent(url);
    return queue;
  }

  private byArn(arn: unknown): LocalSqsQueue {
    if (typeof arn !== 'string' || arn === '') throw invalid('SourceArn is required.');
    const queue = this.all().find((candidate) => candidate.arn === arn);
    if (!queue) {
      throw new AwsJsonError(
        'com.amazonaws.sqs#ResourceNotFoundException',
        `No local queue has the ARN ${arn}.`,
        400,
        'ResourceNotFoundException',
      );
    }
    return queue;
  }

  private deadLetterQueue(queue: LocalSqsQueue, action: string): LocalSqsQueue {
    if (queue.role === 'deadLetter') return queue;
    throw new AwsJsonError(
      'com.amazonaws.sqs#UnsupportedOperation',
      `${action} is served on the dead-letter queues only: ${queue.name} belongs to the poller of connector '${queue.connector}'.`,
      400,
      'AWS.SimpleQueueService.UnsupportedOperation',
    );
  }

  private attributes(queue: LocalSqsQueue, names: unknown): Record<string, string> {
    const all: Record<string, string> = { QueueArn: queue.arn };
    if (queue.role === 'inbox') {
      const stats = queue.queue.stats();
      const deadLetterArn = this.all().find(
        (candidate) => candidate.connector === queue.connector && candidate.role === 'deadLetter',
      )?.arn;
      Object.assign(all, {
        ApproximateNumberOfMessages: String(stats.visible),
        ApproximateNumberOfMessagesNotVisible: String(stats.inFlight),
        ApproximateNumberOfMessagesDelayed: String(stats.delayed),
        VisibilityTimeout: String(queue.queue.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterArn,
          maxReceiveCount: queue.queue.maxReceiveCount,
        }),
      });
    } else {
      const counts = queue.queue.deadLetterCounts();
      Object.assign(all, {
        ApproximateNumberOfMessages: String(counts.visible),
        ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
        ApproximateNumberOfMessagesDelayed: '0',
      });
    }
    const wanted = Array.isArray(names) ? names.map(String) : [];
    if (wanted.includes('All')) return all;
    return Object.fromEntries(Object.entries(all).filter(([name]) => wanted.includes(name)));
  }

  private receive(request: Record<string, unknown>): unknown {
    const queue = this.deadLetterQueue(this.byUrl(request.QueueUrl), 'ReceiveMessage');
    const max = request.MaxNumberOfMessages ?? 1;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10) {
      throw invalid('MaxNumberOfMessages must be a whole number from 1 to 10.');
    }
    const visibility = request.VisibilityTimeout ?? 30;
    if (
      typeof visibility !== 'number' ||
      !Number.isInteger(visibility) ||
      visibility < 0 ||
      visibility > 43_200
    ) {
      throw invalid('VisibilityTimeout must be a whole number of seconds from 0 to 43,200.');
    }
    const wanted = Array.isArray(request.MessageAttributeNames)
      ? request.MessageAttributeNames.map(String)
      : [];
    const everyAttribute = wanted.includes('All') || wanted.includes('.*');
    const messages = queue.queue.receiveDeadLetters(max, visibility).map((letter) => {
      const attributes = Object.entries(letter.attributes)
        .filter(([name]) => everyAttribute || wanted.includes(name))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return {
        MessageId: letter.messageId,
        ReceiptHandle: letter.receiptHandle,
        MD5OfBody: md5(Buffer.from(letter.body, 'utf8')),
        Body: letter.body,
        ...(attributes.length === 0
          ? {}
          : {
              MessageAttributes: Object.fromEntries(
                attributes.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
              ),
              MD5OfMessageAttributes: messageAttributesMd5(attributes),
            }),
      };
    });
    return messages.length === 0 ? {} : { Messages: messages };
  }

  private startMove(request: Record<string, unknown>): { TaskHandle: string } {
    const source = this.byArn(request.SourceArn);
    if (source.role !== 'deadLetter') {
      throw invalid(`The source queue must be a dead-letter queue; ${source.name} is an inbox.`);
    }
    const inbox = this.all().find(
      (candidate) => candidate.connector === source.connector && candidate.role === 'inbox',
    ) as LocalSqsQueue;
    if (request.DestinationArn !== undefined && request.DestinationArn !== inbox.arn) {
      throw invalid(
        `The destination must be the inbox of the dead-letter queue, ${inbox.arn} (or left out), not ${String(request.DestinationArn)}.`,
      );
    }
    const startedAtMs = Date.now();
    const moved = source.queue.moveDeadLetters();
    const TaskHandle = Buffer.from(
      JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn }),
      'utf8',
    ).toString('base64');
    this.tasks.push({
      TaskHandle,
      Status: 'COMPLETED',
      SourceArn: source.arn,
      DestinationArn: inbox.arn,
      ApproximateNumberOfMessagesMoved: moved,
      ApproximateNumberOfMessagesToMove: moved,
      StartedTimestamp: startedAtMs,
    });
    return { TaskHandle };
  }
}

/** The actions {@link LocalSqsService.operation} serves. */
export const SERVED = [
  'ListQueues',
  'GetQueueUrl',
  'GetQueueAttributes',
  'ReceiveMessage',
  'DeleteMessage',
  'StartMessageMoveTask',
  'ListMessageMoveTasks',
] as const;

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * `MD5OfMessageAttributes` of string attributes sorted by name, as SQS computes it (SQS Developer
 * Guide, "Calculating the MD5 message digest for message attributes"): for each, the name, the data
 * type and the value, each as a 4-byte big-endian length then its UTF-8 bytes, with the transport
 * type byte 1 (string) before the value.
 */
export function messageAttributesMd5(attributes: ReadonlyArray<readonly [string, string]>): string {
  const parts: Buffer[] = [];
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const [name, value] of attributes) {
    field(name);
    field('String');
    parts.push(Buffer.from([1]));
    field(value);
  }
  return md5(Buffer.concat(parts));
}
