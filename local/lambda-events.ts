/**
 * The Lambda event and context shapes the local gateway hands to connector handlers: exactly what
 * API Gateway (REST API, proxy integration, payload format 1.0), an SQS event source mapping and
 * the Lambda runtime hand over.
 * Tests build their events here too, so that they exercise the same shapes.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context, SQSEvent, SQSRecord } from 'aws-lambda';

/** The API Gateway resource of the connector route. */
export const CONNECTOR_RESOURCE = '/v1/connectors/{connector}/{operation}';

/** What a `POST /v1/connectors/{connector}/{operation}` request carries. */
export interface ConnectorRequest {
  connector: string;
  operation: string;
  /** Header pairs in the order received; a name may repeat. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Query pairs in the order received. */
  query?: ReadonlyArray<readonly [string, string]>;
  /** The raw body; `null` or `''` for none. */
  body: string | null;
  /** @default a new UUID */
  requestId?: string;
  /** @default '127.0.0.1' */
  sourceIp?: string;
  /** @default 'local' */
  stage?: string;
  /** @default 'HTTP/1.1' */
  protocol?: string;
}

function group(pairs: ReadonlyArray<readonly [string, string]>) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { single, multi };
}

/** The REST API proxy event API Gateway sends for a connector request. */
export function connectorProxyEvent(request: ConnectorRequest): APIGatewayProxyEvent {
  const headers = group(request.headers ?? []);
  const query = group(request.query ?? []);
  const hasQuery = (request.query ?? []).length > 0;
  const stage = request.stage ?? 'local';
  const path = `/v1/connectors/${encodeURIComponent(request.connector)}/${encodeURIComponent(request.operation)}`;
  return {
    resource: CONNECTOR_RESOURCE,
    path,
    httpMethod: 'POST',
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: hasQuery ? query.single : null,
    multiValueQueryStringParameters: hasQuery ? query.multi : null,
    pathParameters: { connector: request.connector, operation: request.operation },
    stageVariables: null,
    body: request.body === '' ? null : request.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: stage,
      authorizer: null,
      protocol: request.protocol ?? 'HTTP/1.1',
      httpMethod: 'POST',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp ?? '127.0.0.1',
        user: null,
        userAgent: headers.single['user-agent'] ?? headers.single['User-Agent'] ?? null,
        userArn: null,
      },
      path: `/${stage}${path}`,
      stage,
      requestId: request.requestId ?? randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: stage,
      resourcePath: CONNECTOR_RESOURCE,
    },
  };
}

/**
 * A Lambda context whose remaining time counts down from `timeoutMs`, as a function with that
 * timeout would see it at the start of an invocation.
 */
export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The account id of every local ARN. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** The region of every local ARN and event. */
export const LOCAL_REGION = 'local';
/** The `SenderId` of local SQS messages (in AWS: the principal that sent the message). */
export const LOCAL_SQS_SENDER_ID = 'AIDALOCALCONNECTORSUITE';

/** One delivery of a message of a local queue, as {@link sqsEvent} turns it into a record. */
export interface SqsDelivery {
  messageId: string;
  /** The receipt handle of this delivery. */
  receiptHandle: string;
  body: string;
  /** String message attributes, by name. */
  messageAttributes: Readonly<Record<string, string>>;
  /** Receives of the message so far, this one included. */
  receiveCount: number;
  /** When the message was sent, in epoch ms. */
  sentAtMs: number;
  /** When the message was first received, in epoch ms. */
  firstReceivedAtMs: number;
}

/** The name of a connector's inbox queue in local ARNs: `{connector}-inbox`. */
export function inboxQueueName(connector: string): string {
  return `${connector}-inbox`;
}

/** The ARN of a local SQS queue: `arn:aws:sqs:local:000000000000:{name}`. */
export function sqsQueueArn(queueName: string): string {
  return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${queueName}`;
}

/**
 * The MD5 SQS computes over message attributes (`MD5OfMessageAttributes`): for each attribute in
 * name order, the name, the data type, the transport type (1: string) and the value, each string
 * preceded by its UTF-8 length as a 4-byte big-endian integer.
 */
export function md5OfMessageAttributes(attributes: Readonly<Record<string, string>>): string {
  const hash = createHash('md5');
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    field(name);
    field('String');
    hash.update(Buffer.from([1]));
    field(attributes[name] as string);
  }
  return hash.digest('hex');
}

/** The record of one delivery in the SQS event Lambda's event source mapping sends. */
export function sqsRecord(delivery: SqsDelivery, queueName: string): SQSRecord {
  const names = Object.keys(delivery.messageAttributes);
  return {
    messageId: delivery.messageId,
    receiptHandle: delivery.receiptHandle,
    body: delivery.body,
    attributes: {
      ApproximateReceiveCount: String(delivery.receiveCount),
      SentTimestamp: String(delivery.sentAtMs),
      SenderId: LOCAL_SQS_SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(delivery.firstReceivedAtMs),
    },
    messageAttributes: Object.fromEntries(
      names.map((name) => [
        name,
        {
          stringValue: delivery.messageAttributes[name],
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
      ]),
    ),
    md5OfBody: createHash('md5').update(delivery.body, 'utf8').digest('hex'),
    ...(names.length > 0
      ? { md5OfMessageAttributes: md5OfMessageAttributes(delivery.messageAttributes) }
      : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: sqsQueueArn(queueName),
    awsRegion: LOCAL_REGION,
  };
}

/**
 * The SQS event Lambda's event source mapping sends for a batch of a connector's inbox
 * (`arn:aws:sqs:local:000000000000:{connector}-inbox`).
 */
export function sqsEvent(connector: string, deliveries: readonly SqsDelivery[]): SQSEvent {
  const queueName = inboxQueueName(connector);
  return { Records: deliveries.map((delivery) => sqsRecord(delivery, queueName)) };
}
