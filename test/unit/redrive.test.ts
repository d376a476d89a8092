/**
 * `npm run redrive` (scripts/redrive.ts): options, the deployed path through CloudFormation outputs
 * and an SQS message move task (mocked clients), and the local path against an in-test gateway.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsClients,
  localRedriveUrl,
  main,
  outputNames,
  parseOptions,
  queueArns,
  type RedriveOptions,
  UsageError,
} from '../../scripts/redrive.js';

const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:ConnectorSuite-dev-MyApiDeadLetterQueue-abc';
const INBOX_ARN = 'arn:aws:sqs:eu-west-1:123456789012:ConnectorSuite-dev-MyApiInbox-def';
const OUTPUTS = [
  { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/dev/' },
  { OutputKey: 'MyApiDeadLetterQueueArn', OutputValue: DLQ_ARN },
  { OutputKey: 'MyApiInboxQueueArn', OutputValue: INBOX_ARN },
  { OutputKey: 'BillingDeadLetterQueueArn', OutputValue: 'arn:aws:sqs:eu-west-1:123456789012:b-dlq' },
  { OutputKey: 'BillingInboxQueueArn', OutputValue: 'arn:aws:sqs:eu-west-1:123456789012:b-inbox' },
];

/** What `main` wrote to its two streams. */
function streams() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (chunk: string) => out.push(chunk) > 0 },
    stderr: { write: (chunk: string) => err.push(chunk) > 0 },
    out: () => out.join(''),
    err: () => err.join(''),
  } as const;
}

function optionsOf(argv: string[]): RedriveOptions {
  const parsed = parseOptions(argv);
  if ('help' in parsed) throw new Error('expected options, got --help');
  return parsed;
}

function usageErrorOf(argv: string[]): UsageError {
  try {
    parseOptions(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseOptions', () => {
  it('reads the connector, the stage (dev by default), the region and a loopback url', () => {
    // Prepare
    const deployed = ['--connector', 'my-api', '--stage', 'prod', '--region', 'eu-west-1'];
    const local = ['--connector', 'my-api', '--url', 'http://localhost:3000/?x=1'];

    // Act
    const [a, b] = [optionsOf(deployed), optionsOf(local)];

    // Assess
    expect(a).toEqual({ connector: 'my-api', stage: 'prod', region: 'eu-west-1' });
    expect(b.stage).toBe('dev');
    expect(b.url?.href).toBe('http://localhost:3000/');
  });

  it('refuses what it cannot use, in one line', () => {
    // Prepare
    const cases = [
      [],
      ['--connector', 'My_Api'],
      ['--connector', 'a', '--stage', 'staging'],
      ['--connector', 'a', '--url', 'https://example.com'],
      ['--connector', 'a', '--url', 'ftp://127.0.0.1'],
      ['--connector', 'a', '--region', 'EU WEST'],
      ['--connector', 'a', '--bogus'],
      ['--connector', 'a', 'extra'],
    ];

    // Act
    const messages = cases.map((argv) => usageErrorOf(argv).message);

    // Assess
    expect(messages[0]).toBe('--connector is required (see --help)');
    expect(messages[1]).toContain('--connector is not a connector name');
    expect(messages[2]).toBe("--stage must be dev or prod, not 'staging'");
    expect(messages[3]).toContain('loopback');
    expect(messages[4]).toContain('http(s)');
    expect(messages[5]).toContain('--region');
    expect(messages.every((message) => !message.includes('\n'))).toBe(true);
  });
});

describe('the pure helpers', () => {
  it('names the outputs after the resource id and builds the local URL under the base path', () => {
    // Prepare
    const base = new URL('http://127.0.0.1:3000/prefix');

    // Act
    const names = outputNames('my-api');
    const url = localRedriveUrl(base, 'my-api');

    // Assess
    expect(names).toEqual({
      deadLetterQueueArn: 'MyApiDeadLetterQueueArn',
      inboxQueueArn: 'MyApiInboxQueueArn',
    });
    expect(url.href).toBe('http://127.0.0.1:3000/prefix/v1/dead-letters/redrive?connector=my-api');
  });

  it('finds the queue ARNs, or names the missing output and the connectors the stack has', () => {
    // Prepare
    const stack = 'ConnectorSuite-dev';

    // Act
    const found = queueArns(OUTPUTS, 'my-api', stack);
    const missing = (() => {
      try {
        queueArns(OUTPUTS, 'orders', stack);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();

    // Assess
    expect(found).toEqual({ deadLetterQueueArn: DLQ_ARN, inboxQueueArn: INBOX_ARN });
    expect(missing).toBe(
      "the stack ConnectorSuite-dev has no output OrdersDeadLetterQueueArn: is 'orders' a connector of this stage? " +
        'Connectors with queues: MyApi, Billing (resource ids)',
    );
  });
});

describe('main, deployed', () => {
  const cloudFormation = new CloudFormationClient({ region: 'eu-west-1' });
  const sqs = new SQSClient({ region: 'eu-west-1' });
  const cfnMock = mockClient(cloudFormation);
  const sqsMock = mockClient(sqs);
  const regions: Array<string | undefined> = [];
  const clients = (region: string | undefined): AwsClients => {
    regions.push(region);
    return { cloudFormation, sqs };
  };

  beforeEach(() => {
    cfnMock.reset();
    sqsMock.reset();
    regions.length = 0;
  });

  it('reads the stack outputs and starts a move task from the dead-letter queue to the inbox', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand, { StackName: 'ConnectorSuite-prod' }).resolves({
      Stacks: [
        {
          StackName: 'ConnectorSuite-prod',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: OUTPUTS,
        },
      ],
    });
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-handle-1' });
    const io = streams();

    // Act
    const code = await main(['--connector', 'my-api', '--stage', 'prod', '--region', 'eu-west-1'], {
      clients,
      ...io,
    });

    // Assess
    expect(code).toBe(0);
    expect(regions).toEqual(['eu-west-1']);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand).map((call) => call.args[0].input)).toEqual([
      { SourceArn: DLQ_ARN, DestinationArn: INBOX_ARN },
    ]);
    expect(io.out()).toContain('task handle: task-handle-1');
    expect(io.out()).toContain(`aws sqs list-message-move-tasks --source-arn ${DLQ_ARN} --region eu-west-1`);
    expect(io.err()).toBe('');
  });

  it('says in one line when the stack does not exist, and exits 1', async () => {
    // Prepare
    const error = Object.assign(new Error('Stack with id ConnectorSuite-dev does not exist'), {
      name: 'ValidationError',
    });
    cfnMock.on(DescribeStacksCommand).rejects(error);
    const io = streams();

    // Act
    const code = await main(['--connector', 'my-api'], { clients, ...io });

    // Assess
    expect(code).toBe(1);
    expect(regions).toEqual([undefined]);
    expect(io.err()).toBe(
      'redrive: the stack ConnectorSuite-dev does not exist in this account and region: deploy it, or pass --stage or --region\n',
    );
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('reports an unknown connector and an SQS refusal in one line each, without a stack trace', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 's', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: OUTPUTS },
      ],
    });
    sqsMock.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error('There is already a task running.\n    at somewhere'), {
        name: 'UnsupportedOperation',
      }),
    );
    const unknownIo = streams();
    const refusedIo = streams();

    // Act
    const unknown = await main(['--connector', 'orders'], { clients, ...unknownIo });
    const refused = await main(['--connector', 'my-api'], { clients, ...refusedIo });

    // Assess
    expect(unknown).toBe(1);
    expect(unknownIo.err()).toContain(
      'redrive: the stack ConnectorSuite-dev has no output OrdersDeadLetterQueueArn',
    );
    expect(refused).toBe(1);
    expect(refusedIo.err()).toBe(
      'redrive: SQS did not start the move: UnsupportedOperation: There is already a task running.\n',
    );
  });

  it('exits 2 for a usage error and prints the usage for --help', async () => {
    // Prepare
    const bad = streams();
    const help = streams();

    // Act
    const badCode = await main(['--stage', 'prod'], { clients, ...bad });
    const helpCode = await main(['--help'], { clients, ...help });

    // Assess
    expect(badCode).toBe(2);
    expect(bad.err()).toBe('redrive: --connector is required (see --help)\n');
    expect(helpCode).toBe(0);
    expect(help.out()).toContain('Usage: npm run redrive');
    expect(regions).toEqual([]);
  });
});

describe('main, local gateway', () => {
  let server: Server;
  let url: string;
  const requests: Array<{ method: string | undefined; url: string | undefined }> = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      req.resume();
      requests.push({ method: req.method, url: req.url });
      const connector = new URL(req.url ?? '/', 'http://x').searchParams.get('connector');
      if (connector === 'orders') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ redriven: 3 }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { code: 'NOT_FOUND', message: `No connector named '${connector}'.` } }),
        );
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it("POSTs the gateway's redrive route and prints its answer, never touching AWS", async () => {
    // Prepare
    const clients = vi.fn<(region: string | undefined) => AwsClients>();
    const io = streams();

    // Act
    const code = await main(['--connector', 'orders', '--url', url], { clients, ...io });

    // Assess
    expect(code).toBe(0);
    expect(requests.at(-1)).toEqual({ method: 'POST', url: '/v1/dead-letters/redrive?connector=orders' });
    expect(JSON.parse(io.out())).toEqual({ redriven: 3 });
    expect(clients).not.toHaveBeenCalled();
  });

  it("exits 1 with the gateway's message for an error answer, and for a gateway that is not running", async () => {
    // Prepare
    const refusedIo = streams();
    const downIo = streams();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    // Act
    const refused = await main(['--connector', 'nope', '--url', url], refusedIo);
    const down = await main(['--connector', 'orders', '--url', downUrl], downIo);

    // Assess
    expect(refused).toBe(1);
    expect(refusedIo.err()).toBe(
      "redrive: the local gateway answered HTTP 404: No connector named 'nope'.\n",
    );
    expect(down).toBe(1);
    expect(downIo.err()).toMatch(
      /^redrive: request to .* failed: .*ECONNREFUSED.*\(is npm start running\?\)\n$/,
    );
  });
});
