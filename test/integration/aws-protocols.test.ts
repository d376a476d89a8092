/**
 * The local gateway speaks the AWS protocols real clients send (issue 11, item 2): EventBridge
 * `PutEvents` (AWS JSON 1.1) and SQS (AWS JSON 1.0), driven here by the AWS SDK v3 clients, by
 * `npm run redrive`'s code, and by the real AWS CLI when it is installed; and the embedded DynamoDB
 * on a port of one's choosing, or an existing endpoint instead.
 *
 * One gateway serves every test; an in-test upstream answers `/orders` with 200 and
 * `/orders/reject` with 422 (a permanent failure: the event is dead-lettered at once) while
 * `rejecting` is true. Nothing waits for a guessed time: {@link waitFor} polls until the gateway's
 * results or queues say what the test waits for; the test's timeout is the only bound.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { INVOCATION_REQUESTED, INVOCATION_SUCCEEDED } from '../../functions/shared/runtime/async-contract.js';
import { startLocalDynamoDB } from '../../local/dynamodb.js';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import { main as redrive } from '../../scripts/redrive.js';
import { sendJson, startTestServer, suiteConfig, type TestServer } from '../support/integration-helpers.js';

const NO_SECRETS: CredentialStore = {
  getSecret: async (name) => {
    throw new Error(`no secret ${name} in this test`);
  },
};
/** Obviously fake credentials: the local gateway checks no signature. */
const CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
};
const TEST_TIMEOUT_MS = 300_000;

let upstream: TestServer;
let gateway: LocalGateway;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let rejecting = true;

beforeAll(async () => {
  upstream = await startTestServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/orders/reject') && rejecting) sendJson(res, 422, { error: 'order rejected' });
    else sendJson(res, 200, { ok: true });
  });
  gateway = await startLocalGateway({
    config: suiteConfig({
      connectors: [
        {
          name: 'orders',
          kind: 'http',
          baseUrl: upstream.url,
          allowedMethods: ['POST'],
          allowedPathPrefixes: ['/orders'],
          timeoutMs: 20_000,
          retry: { maxAttempts: 1 },
          async: { maxReceiveCount: 4, backoffBaseSeconds: 0.05, backoffMaxSeconds: 0.2 },
        },
      ],
    }),
    credentials: NO_SECRETS,
    port: 0,
    pollIntervalMs: 10,
  });
  eventBridge = new EventBridgeClient({ ...CLIENT_CONFIG, endpoint: gateway.endpoints.eventBridge });
  sqs = new SQSClient({ ...CLIENT_CONFIG, endpoint: gateway.endpoints.sqs });
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  eventBridge?.destroy();
  sqs?.destroy();
  await gateway?.close();
  await upstream?.close();
});

/** A `PutEvents` entry asking connector `orders` to POST `path`. */
function entry(idempotencyKey: string, path = '/orders', connector = 'orders') {
  return {
    Source: 'com.example.shop',
    DetailType: INVOCATION_REQUESTED,
    Detail: JSON.stringify({
      connector,
      operation: 'request',
      idempotencyKey,
      input: { method: 'POST', path, body: { key: idempotencyKey } },
    }),
  };
}

/** Polls `check` until it returns a value other than `undefined` (the test's timeout is the bound). */
async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The result event of the request `idempotencyKey`, once the connector published it. */
function resultOf(idempotencyKey: string) {
  return waitFor(() =>
    gateway.results
      .list({ connector: 'orders' })
      .find((event) => event.detail.idempotencyKey === idempotencyKey),
  );
}

/** Waits until the dead-letter queue of `orders` holds `count` letters. */
function deadLetters(count: number) {
  return waitFor(() => {
    const letters = gateway.queues.get('orders')?.deadLetters() ?? [];
    return letters.length === count ? letters : undefined;
  });
}

/** A stand-in for stdout or stderr that keeps what is written. */
function collector(): { text: string; write(chunk: string): boolean } {
  return {
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

async function queueUrl(name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  return QueueUrl as string;
}

describe('EventBridge PutEvents (AWS JSON 1.1) on the local gateway', () => {
  it(
    'delivers a matching entry to its inbox, the connector runs it, and answers PutEvents in entry order',
    async () => {
      const answer = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            entry('sdk-put-1'),
            entry('sdk-put-2', '/orders', 'nobody'),
            { Source: 'com.example.shop', DetailType: INVOCATION_REQUESTED, Detail: 'not json' },
          ],
        }),
      );
      expect(answer.FailedEntryCount).toBe(2);
      expect(answer.Entries).toHaveLength(3);
      expect(answer.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.Entries?.[1]).toMatchObject({ ErrorCode: 'NoMatchingRule' });
      expect(answer.Entries?.[1]?.ErrorMessage).toContain("No connector named 'nobody'");
      expect(answer.Entries?.[2]).toMatchObject({ ErrorCode: 'MalformedDetail' });
      const result = await resultOf('sdk-put-1');
      expect(result['detail-type']).toBe(INVOCATION_SUCCEEDED);
    },
    TEST_TIMEOUT_MS,
  );

  it('refuses more than 10 entries with a ValidationException, as AWS does', async () => {
    const entries = Array.from({ length: 11 }, (_, n) => entry(`sdk-limit-${n}`));
    const error = await eventBridge.send(new PutEventsCommand({ Entries: entries })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(
      gateway.queues
        .get('orders')
        ?.messages()
        .some((m) => m.body.includes('sdk-limit-')),
    ).toBe(false);
  });

  it('refuses a request over 256 KB, counted as AWS counts entry sizes', async () => {
    const big = { ...entry('sdk-big'), Resources: ['x'.repeat(256 * 1024)] };
    const error = await eventBridge.send(new PutEventsCommand({ Entries: [big] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
  });

  it('answers an unknown X-Amz-Target with UnknownOperationException', async () => {
    const error = await eventBridge.send(new ListRulesCommand({})).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    const response = await fetch(`${gateway.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSLambda.Invoke' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});

describe('SQS (AWS JSON 1.0) on the local gateway', () => {
  it(
    'lists the queues, counts a dead letter, receives and deletes it',
    async () => {
      rejecting = true;
      await eventBridge.send(new PutEventsCommand({ Entries: [entry('sqs-dead-1', '/orders/reject')] }));
      await deadLetters(1);

      const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'orders' }));
      expect(QueueUrls).toEqual([
        `${gateway.url}/000000000000/orders-inbox`,
        `${gateway.url}/000000000000/orders-dlq`,
      ]);
      const dlq = await queueUrl('orders-dlq');
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: dlq,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'QueueArn',
          ],
        }),
      );
      expect(Attributes).toEqual({
        ApproximateNumberOfMessages: '1',
        ApproximateNumberOfMessagesNotVisible: '0',
        QueueArn: 'arn:aws:sqs:local:000000000000:orders-dlq',
      });
      const inbox = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: await queueUrl('orders-inbox'), AttributeNames: ['All'] }),
      );
      expect(JSON.parse(inbox.Attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: 'arn:aws:sqs:local:000000000000:orders-dlq',
        maxReceiveCount: 4,
      });

      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      expect(Messages).toHaveLength(1);
      const [message] = Messages ?? [];
      expect(JSON.parse(message?.Body ?? '{}').detail.idempotencyKey).toBe('sqs-dead-1');
      expect(message?.MessageAttributes?.ErrorCode).toEqual({
        DataType: 'String',
        StringValue: 'UPSTREAM_REJECTED',
      });
      const hidden = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: dlq,
          AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      expect(hidden.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');

      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: message?.ReceiptHandle }));
      expect(gateway.queues.get('orders')?.deadLetters()).toEqual([]);
      const again = await sqs
        .send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: message?.ReceiptHandle }))
        .catch((e: unknown) => e);
      expect(again).toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    },
    TEST_TIMEOUT_MS,
  );

  it('names a missing queue QueueDoesNotExist, and keeps ReceiveMessage off the inbox', async () => {
    const missing = await sqs
      .send(new GetQueueUrlCommand({ QueueName: 'nobody-inbox' }))
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'QueueDoesNotExist' });
    const inbox = await sqs
      .send(new ReceiveMessageCommand({ QueueUrl: await queueUrl('orders-inbox') }))
      .catch((e: unknown) => e);
    expect(inbox).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect(String((inbox as Error).message)).toContain('dead-letter queues only');
  });

  it(
    'StartMessageMoveTask moves a dead letter back to its inbox and the connector runs it',
    async () => {
      rejecting = true;
      await eventBridge.send(new PutEventsCommand({ Entries: [entry('sqs-move-1', '/orders/reject')] }));
      await deadLetters(1);
      rejecting = false;
      const source = 'arn:aws:sqs:local:000000000000:orders-dlq';
      const { TaskHandle } = await sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: source,
          DestinationArn: 'arn:aws:sqs:local:000000000000:orders-inbox',
        }),
      );
      expect(TaskHandle).toBeTruthy();
      await waitFor(() =>
        gateway.results
          .list({ connector: 'orders' })
          .find((e) => e.detail.idempotencyKey === 'sqs-move-1' && e['detail-type'] === INVOCATION_SUCCEEDED),
      );
      const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: source }));
      expect(Results?.[0]).toMatchObject({
        TaskHandle,
        Status: 'COMPLETED',
        SourceArn: source,
        ApproximateNumberOfMessagesMoved: 1,
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "npm run redrive's code path (--endpoint-url) starts the move through the local SQS API",
    async () => {
      rejecting = true;
      await eventBridge.send(new PutEventsCommand({ Entries: [entry('redrive-cli-1', '/orders/reject')] }));
      await deadLetters(1);
      rejecting = false;
      const out = collector();
      const err = collector();
      const code = await redrive(['--connector', 'orders', '--endpoint-url', gateway.endpoints.sqs], {
        stdout: out,
        stderr: err,
        env: {},
      });
      expect(err.text).toBe('');
      expect(code).toBe(0);
      expect(out.text).toContain('from: arn:aws:sqs:local:000000000000:orders-dlq');
      expect(out.text).toContain(`--endpoint-url ${gateway.endpoints.sqs}`);
      await waitFor(() =>
        gateway.results
          .list({ connector: 'orders' })
          .find(
            (e) => e.detail.idempotencyKey === 'redrive-cli-1' && e['detail-type'] === INVOCATION_SUCCEEDED,
          ),
      );
      const missing = await redrive(['--connector', 'nobody', '--endpoint-url', gateway.endpoints.sqs], {
        stdout: collector(),
        stderr: err,
        env: {},
      });
      expect(missing).toBe(1);
      expect(err.text).toContain('has no queue nobody-inbox');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('DynamoDB endpoints', () => {
  it('exposes the idempotency store on gateway.endpoints.dynamoDB, holding the records', async () => {
    const client = new DynamoDBClient({ ...CLIENT_CONFIG, endpoint: gateway.endpoints.dynamoDB });
    try {
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(TableNames).toContain('connector-suite-idempotency');
      // The events the tests above ran left their idempotency records.
      const { Count } = await client.send(new ScanCommand({ TableName: 'connector-suite-idempotency' }));
      expect(Count).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });

  it('uses an existing endpoint instead of starting dynalite, creating the table only if missing', async () => {
    const shared = await startLocalDynamoDB({ tableName: 'shared-table' });
    try {
      const first = await startLocalDynamoDB({ endpoint: shared.endpoint, tableName: 'shared-table' });
      expect(first.endpoint).toBe(shared.endpoint);
      await first.close();
      // The shared endpoint is still up after the user closed.
      const { TableNames } = await shared.client.send(new ListTablesCommand({}));
      expect(TableNames).toEqual(['shared-table']);
    } finally {
      await shared.close();
    }
  });
});

const execFileAsync = promisify(execFile);

/**
 * The AWS CLIs to try: `aws` on the PATH, and Debian's `/usr/bin/aws` when it is another one (each
 * by its version line). Debian 12's awscli 2.9.19 speaks SQS's query protocol; an AWS CLI whose
 * botocore is from late 2023 or newer (v1 1.31+, v2 2.13+) speaks SQS's JSON protocol.
 */
async function awsClis(): Promise<Array<{ command: string; version: string }>> {
  const found: Array<{ command: string; version: string }> = [];
  for (const command of ['aws', '/usr/bin/aws']) {
    const version = await execFileAsync(command, ['--version']).then(
      (out) => `${out.stdout}${out.stderr}`.trim(),
      () => undefined,
    );
    if (version !== undefined && !found.some((cli) => cli.version === version))
      found.push({ command, version });
  }
  return found;
}
const clis = await awsClis();

if (clis.length === 0) {
  describe('the real AWS CLI', () => {
    it.skip('is not installed (apt-get install awscli; .ci/run does): its tests are skipped', () => {});
  });
}

describe.each(clis)('the real AWS CLI $command ($version)', ({ command }) => {
  const cliEnv = () => ({
    ...process.env,
    AWS_ACCESS_KEY_ID: 'LOCALFAKEKEY',
    AWS_SECRET_ACCESS_KEY: 'local-fake-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  const aws = async (args: string[]) =>
    JSON.parse((await execFileAsync(command, [...args, '--output', 'json'], { env: cliEnv() })).stdout);

  it(
    'aws events put-events prints FailedEntryCount 0 and the connector runs',
    async () => {
      const key = `cli-put-${command.replaceAll('/', '-')}`;
      const answer = await aws([
        'events',
        'put-events',
        '--endpoint-url',
        gateway.endpoints.eventBridge,
        '--entries',
        JSON.stringify([entry(key)]),
      ]);
      expect(answer).toMatchObject({ FailedEntryCount: 0 });
      const result = await resultOf(key);
      expect(result['detail-type']).toBe(INVOCATION_SUCCEEDED);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'aws dynamodb scan shows the idempotency records',
    async () => {
      const scanned = await aws([
        'dynamodb',
        'scan',
        '--endpoint-url',
        gateway.endpoints.dynamoDB,
        '--table-name',
        'connector-suite-idempotency',
      ]);
      expect(scanned.Count).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'aws sqs list-queues and get-queue-attributes show the local queues',
    async () => {
      const listed = await aws(['sqs', 'list-queues', '--endpoint-url', gateway.endpoints.sqs]);
      const dlq = `${gateway.url}/000000000000/orders-dlq`;
      expect(listed.QueueUrls).toContain(dlq);
      const attributes = await aws([
        'sqs',
        'get-queue-attributes',
        '--endpoint-url',
        gateway.endpoints.sqs,
        '--queue-url',
        dlq,
        '--attribute-names',
        'All',
      ]);
      expect(attributes.Attributes).toMatchObject({
        QueueArn: 'arn:aws:sqs:local:000000000000:orders-dlq',
        ApproximateNumberOfMessages: expect.stringMatching(/^\d+$/),
      });
    },
    TEST_TIMEOUT_MS,
  );
});
