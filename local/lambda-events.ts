/**
 * The Lambda event and context shapes the local gateway hands to connector handlers: exactly what
 * API Gateway (REST API, proxy integration, payload format 1.0) and the Lambda runtime hand over.
 * Tests build their events here too, so that they exercise the same shapes.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

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
