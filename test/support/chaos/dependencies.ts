/**
 * Fault injection into the suite's own dependencies, for the chaos suite: DynamoDB (a real
 * dynalite-backed client with a middleware that throws), Secrets Manager (a real
 * `SecretsManagerCredentialStore` over a client whose middleware answers or throws, with no network)
 * and the asynchronous path's ports (an in-memory SQS `QueuePort` and EventBridge
 * `ResultPublisher` that throw when told to).
 *
 * Errors are thrown at the SDK's `initialize` step, i.e. as the client throws them once its own
 * retries are spent.
 */
import {
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  QueueMessage,
  QueuePort,
  ResultEvent,
  ResultPublisher,
} from '../../../functions/shared/runtime/async-contract.js';
import type { LocalDynamoDB } from '../../../local/dynamodb.js';

/** How long a "timeout" fault stalls before it throws `TimeoutError`, in ms: past any chaos call's deadline. */
export const STALL_MS = 1_600;

/** A DynamoDB fault: which command fails, how, and for which calls. */
export interface DynamoFault {
  /** SDK command names, e.g. `PutItemCommand` (Powertools writes the in-progress record with it). */
  commands: readonly string[];
  /** `throttling`: `ProvisionedThroughputExceededException`; `server`: `InternalServerError` (500);
   *  `timeout`: stalls {@link STALL_MS}, then `TimeoutError`. */
  kind: 'throttling' | 'server' | 'timeout';
  /** Only for an `UpdateItemCommand` that stores status COMPLETED (the success write). */
  successWriteOnly?: boolean;
}

function serviceError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 3 },
  });
}

function dynamoError(kind: DynamoFault['kind']): Error {
  const $metadata = { httpStatusCode: 400, attempts: 3 };
  if (kind === 'throttling') {
    return new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata,
    });
  }
  if (kind === 'server') {
    return new InternalServerError({
      message: 'Internal server error',
      $metadata: { ...$metadata, httpStatusCode: 500 },
    });
  }
  return serviceError('TimeoutError', 'Connection timed out after 1600 ms', 0);
}

function stall(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** What a faulty client did. */
export interface FaultCounter {
  /** Faults injected so far. */
  injected: number;
}

/**
 * A DynamoDB client on the local dynalite whose first matching command *per idempotency record*
 * fails with `fault` (so every call meets the fault once, and its retry or redelivery does not).
 */
export function faultyDynamoClient(dynamo: LocalDynamoDB, fault: DynamoFault): DynamoDBClient & FaultCounter {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
  const counter = Object.assign(client, { injected: 0 });
  const faulted = new Set<string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        Key?: { id?: { S?: string } };
        Item?: { id?: { S?: string } };
        ExpressionAttributeValues?: Record<string, { S?: string }>;
      };
      const id = input.Key?.id?.S ?? input.Item?.id?.S ?? '';
      const command = context.commandName ?? '';
      const successWrite = Object.values(input.ExpressionAttributeValues ?? {}).some(
        (value) => value.S === 'COMPLETED',
      );
      const matches =
        fault.commands.includes(command) && (!fault.successWriteOnly || successWrite) && !faulted.has(id);
      if (!matches) return next(args);
      faulted.add(id);
      counter.injected += 1;
      if (fault.kind === 'timeout') {
        await stall(STALL_MS, (args as { abortSignal?: AbortSignal }).abortSignal);
      }
      throw dynamoError(fault.kind);
    },
    { step: 'initialize', name: 'chaosDynamoFault' },
  );
  return counter;
}

/** A Secrets Manager fault: how every other read fails (the 1st, 3rd, 5th...). */
export type SecretsFault = 'throttling' | 'server' | 'timeout';

/**
 * A Secrets Manager client that never touches the network: `GetSecretValue` answers `secretString`,
 * except every other call, which fails with `fault`. Give it to a `SecretsManagerCredentialStore`
 * with `maxAgeSeconds: 0` so that every call reads the secret.
 */
export function faultySecretsClient(
  secretString: string,
  fault: SecretsFault,
): SecretsManagerClient & FaultCounter {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
  const counter = Object.assign(client, { injected: 0 });
  let calls = 0;
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      calls += 1;
      if (calls % 2 === 1) {
        counter.injected += 1;
        if (fault === 'throttling') throw serviceError('ThrottlingException', 'Rate exceeded', 400);
        if (fault === 'server')
          throw serviceError('InternalServiceError', 'An error occurred on the server side.', 500);
        await stall(STALL_MS, (args as { abortSignal?: AbortSignal }).abortSignal);
        throw serviceError('TimeoutError', 'Connection timed out after 1600 ms', 0);
      }
      if (context.commandName !== 'GetSecretValueCommand')
        throw new Error(`unexpected ${context.commandName}`);
      const name = (args.input as { SecretId?: string }).SecretId ?? '';
      return {
        output: {
          $metadata: { httpStatusCode: 200 },
          ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}`,
          Name: name,
          SecretString: secretString,
          VersionId: '00000000-0000-0000-0000-000000000000',
        },
        response: {},
      } as never;
    },
    { step: 'initialize', name: 'chaosSecretsFault' },
  );
  return counter;
}

/** One call of the runtime to the queue port, for the SQS simulation. */
export type QueueAction =
  | { kind: 'changeVisibility'; seconds: number }
  | { kind: 'deadLetter'; attributes: Readonly<Record<string, string>> }
  | { kind: 'requeue'; delaySeconds: number; attributes: Readonly<Record<string, string>> };

/**
 * An in-memory SQS `QueuePort`: it records what the runtime asked for each receipt handle, and,
 * with `failFirst`, throws (as `SQSClient.send` would on a throttled or failed call) the first time
 * each message body is sent to each method.
 */
export class RecordingQueue implements QueuePort {
  readonly #actions = new Map<string, QueueAction[]>();
  readonly #failed = new Set<string>();
  injected = 0;

  constructor(private readonly failFirst = false) {}

  /** What the runtime asked of the delivery with this receipt handle. */
  actionsOf(receiptHandle: string): QueueAction[] {
    return this.#actions.get(receiptHandle) ?? [];
  }

  #check(method: string, message: QueueMessage): void {
    const key = `${method}\n${message.body}`;
    if (this.failFirst && !this.#failed.has(key)) {
      this.#failed.add(key);
      this.injected += 1;
      throw serviceError('ThrottlingException', 'Rate exceeded', 400);
    }
  }

  #add(message: QueueMessage, action: QueueAction): void {
    this.#actions.set(message.receiptHandle, [...this.actionsOf(message.receiptHandle), action]);
  }

  async changeVisibility(message: QueueMessage, seconds: number): Promise<void> {
    this.#check('changeVisibility', message);
    this.#add(message, { kind: 'changeVisibility', seconds });
  }

  async deadLetter(message: QueueMessage, attributes: Readonly<Record<string, string>>): Promise<void> {
    this.#check('deadLetter', message);
    this.#add(message, { kind: 'deadLetter', attributes });
  }

  async requeue(
    message: QueueMessage,
    delaySeconds: number,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.#check('requeue', message);
    this.#add(message, { kind: 'requeue', delaySeconds, attributes });
  }
}

/**
 * An in-memory EventBridge `ResultPublisher`: keeps what was published, and with `failFirst` throws
 * (as `PutEvents` would when throttled) the first time each request event's result is published.
 */
export class RecordingResults implements ResultPublisher {
  readonly events: ResultEvent[] = [];
  readonly #failed = new Set<string>();
  injected = 0;

  constructor(private readonly failFirst = false) {}

  async publish(events: readonly ResultEvent[]): Promise<void> {
    for (const event of events) {
      if (this.failFirst && !this.#failed.has(event.detail.eventId)) {
        this.#failed.add(event.detail.eventId);
        this.injected += 1;
        throw serviceError('ThrottlingException', 'Rate exceeded', 400);
      }
    }
    this.events.push(...events);
  }

  /** Whether a result event of the request event `eventId` was published. */
  has(eventId: string): boolean {
    return this.events.some((event) => event.detail.eventId === eventId);
  }
}
