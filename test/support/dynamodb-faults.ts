/**
 * Fault injection for DynamoDB: a real SDK client (usually over dynalite) whose chosen commands fail
 * with the errors DynamoDB and the SDK really throw, before they are sent. The idempotency layer
 * sees exactly what it would see in AWS.
 */
import {
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';

/** The commands Powertools' DynamoDB persistence layer sends. */
export type IdempotencyCommand =
  | 'PutItemCommand'
  | 'GetItemCommand'
  | 'UpdateItemCommand'
  | 'DeleteItemCommand';

/** One fault: which command fails, how, how often. */
export interface DynamoFault {
  command: IdempotencyCommand;
  /** The error thrown instead of sending. */
  error: () => Error;
  /** How many times it fails before the command works again. @default every time */
  times?: number;
  /** Fails only the commands whose input passes this test. @default every one */
  when?: (input: Record<string, unknown>) => boolean;
  /** Stalls this long (ms) before it throws, like a dependency that hangs. @default 0 */
  stallMs?: number;
}

/** The errors of {@link DynamoFault.error}, as the SDK throws them. */
export const dynamoErrors = {
  /** Provisioned capacity exceeded (a throttle; the SDK retries it before giving up). */
  throttled: () =>
    new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: { httpStatusCode: 400 },
    }),
  /** A 500 of DynamoDB itself. */
  internal: () =>
    new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }),
  /** What the SDK throws when `requestTimeout` passes. */
  timeout: () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
  /** DynamoDB's answer to an item over 400 KB. */
  itemTooLarge: () =>
    new DynamoDBServiceException({
      name: 'ValidationException',
      $fault: 'client',
      message: 'Item size has exceeded the maximum allowed size',
      $metadata: { httpStatusCode: 400 },
    }),
  /** The table does not exist (a deployment error, not an outage). */
  tableNotFound: () =>
    new DynamoDBServiceException({
      name: 'ResourceNotFoundException',
      $fault: 'client',
      message: 'Requested resource not found',
      $metadata: { httpStatusCode: 400 },
    }),
} as const;

/** A DynamoDB client with faults, and a log of the commands it was asked to send. */
export interface FaultyDynamoClient {
  client: DynamoDBClient;
  /** Every command asked for, in order, with whether it was failed. */
  calls: Array<{ command: string; failed: boolean }>;
  /** Replaces the faults (an empty list heals the client). */
  setFaults(faults: DynamoFault[]): void;
}

/**
 * A client for `endpoint` (dynalite; fake credentials) that fails the commands `faults` name.
 * @param options - extra client options (e.g. timeouts)
 */
export function faultyDynamoClient(
  endpoint: string,
  faults: DynamoFault[] = [],
  options: Record<string, unknown> = {},
): FaultyDynamoClient {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
    maxAttempts: 1,
    ...options,
  });
  let active = faults.map((fault) => ({ ...fault, left: fault.times ?? Number.POSITIVE_INFINITY }));
  const calls: FaultyDynamoClient['calls'] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const input = args.input as Record<string, unknown>;
      const fault = active.find((f) => f.command === command && f.left > 0 && (f.when?.(input) ?? true));
      calls.push({ command, failed: fault !== undefined });
      if (fault) {
        fault.left -= 1;
        if (fault.stallMs) await new Promise((resolve) => setTimeout(resolve, fault.stallMs).unref());
        throw fault.error();
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  return {
    client,
    calls,
    setFaults(next) {
      active = next.map((fault) => ({ ...fault, left: fault.times ?? Number.POSITIVE_INFINITY }));
    },
  };
}
