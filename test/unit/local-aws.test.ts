/**
 * The pieces of the local gateway's AWS protocols that need no gateway: PutEvents' entry size, the
 * SQS query protocol's answers, the DynamoDB settings of `npm start`, and `npm run redrive`'s
 * `--endpoint-url` option. The protocols end to end: test/integration/aws-protocols.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { putEventsEntrySize } from '../../local/aws/eventbridge.js';
import { LocalSqsService } from '../../local/aws/sqs.js';
import { sqsQueryOperation } from '../../local/aws/sqs-query.js';
import { dynamoDBSettingsFromEnv } from '../../local/dynamodb.js';
import { LocalQueue } from '../../local/queue.js';
import { parseOptions, UsageError } from '../../scripts/redrive.js';

describe('putEventsEntrySize', () => {
  it('counts as AWS documents: UTF-8 bytes of Source, DetailType, Detail and each resource, 14 for Time', () => {
    expect(putEventsEntrySize({ Source: 'ab', DetailType: 'é', Detail: '{}' })).toBe(2 + 2 + 2);
    expect(putEventsEntrySize({ Source: 'a', Resources: ['xy', 'z'], Time: 0 })).toBe(1 + 3 + 14);
    expect(putEventsEntrySize('not an entry')).toBe(0);
  });
});

describe('the SQS query protocol', () => {
  const queues = new Map([
    ['orders', new LocalQueue({ connector: 'orders', visibilityTimeoutSeconds: 30, maxReceiveCount: 3 })],
  ]);
  const service = new LocalSqsService('http://127.0.0.1:3000', queues);

  it('answers ListQueues in XML', () => {
    const answer = sqsQueryOperation(service, 'Action=ListQueues&Version=2012-11-05');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('<QueueUrl>http://127.0.0.1:3000/000000000000/orders-inbox</QueueUrl>');
    expect(answer.body).toContain('<QueueUrl>http://127.0.0.1:3000/000000000000/orders-dlq</QueueUrl>');
  });

  it('answers GetQueueAttributes with the named attributes', () => {
    const answer = sqsQueryOperation(
      service,
      'Action=GetQueueAttributes&QueueUrl=http%3A%2F%2F127.0.0.1%3A3000%2F000000000000%2Forders-dlq&AttributeName.1=QueueArn',
    );
    expect(answer.body).toContain(
      '<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:local:000000000000:orders-dlq</Value></Attribute>',
    );
    expect(answer.body).not.toContain('ApproximateNumberOfMessages');
  });

  it('answers a missing queue and an action it does not serve with SQS error codes', () => {
    const missing = sqsQueryOperation(service, 'Action=GetQueueUrl&QueueName=nobody-inbox');
    expect(missing.status).toBe(400);
    expect(missing.body).toContain('<Code>AWS.SimpleQueueService.NonExistentQueue</Code>');
    const other = sqsQueryOperation(service, 'Action=SendMessage&MessageBody=x');
    expect(other.body).toContain('<Code>InvalidAction</Code>');
  });
});

describe('dynamoDBSettingsFromEnv', () => {
  it('defaults to port 8000 and no endpoint', () => {
    expect(dynamoDBSettingsFromEnv({})).toEqual({ port: 8000 });
  });

  it('reads DYNAMODB_PORT (0 for a free one) and DYNAMODB_ENDPOINT', () => {
    expect(
      dynamoDBSettingsFromEnv({ DYNAMODB_PORT: '0', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8001' }),
    ).toEqual({
      port: 0,
      endpoint: 'http://127.0.0.1:8001',
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => dynamoDBSettingsFromEnv({ DYNAMODB_PORT: '80000' })).toThrow(/DYNAMODB_PORT/);
    expect(() => dynamoDBSettingsFromEnv({ DYNAMODB_ENDPOINT: 'localhost:8000' })).toThrow(
      /DYNAMODB_ENDPOINT/,
    );
  });
});

describe('npm run redrive --endpoint-url', () => {
  it('takes an http(s) endpoint', () => {
    const parsed = parseOptions(['--connector', 'orders', '--endpoint-url', 'http://127.0.0.1:3000']);
    expect(parsed).toMatchObject({ connector: 'orders', endpointUrl: new URL('http://127.0.0.1:3000') });
  });

  it('refuses --url with it, and a non-URL', () => {
    expect(() =>
      parseOptions([
        '--connector',
        'a',
        '--url',
        'http://127.0.0.1:3000',
        '--endpoint-url',
        'http://127.0.0.1:3000',
      ]),
    ).toThrow(UsageError);
    expect(() => parseOptions(['--connector', 'a', '--endpoint-url', 'ftp://x'])).toThrow(/--endpoint-url/);
  });
});
