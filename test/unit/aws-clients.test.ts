/**
 * The suite's own AWS clients have explicit timeouts and bounded retries (issue 8, from defect 4):
 * with the SDK's defaults a stalled DynamoDB held a call without bound; with them it fails fast,
 * and the connector answers DEPENDENCY_UNAVAILABLE without calling the vendor.
 */

import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { AWS_CLIENT_TIMEOUTS, awsClientConfig } from '../../functions/shared/runtime/index.js';
import { apiGatewayEvent, captureOutput, lambdaContext, scriptedFetch } from '../support/fakes.js';

/** A TCP server that accepts connections and never answers: a stalled dependency. */
async function stalledServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A DynamoDB client for `endpoint` with `timeouts` (fake credentials). */
function dynamoClient(
  endpoint: string,
  timeouts = { connectionTimeoutMs: 200, requestTimeoutMs: 200, maxAttempts: 2 },
) {
  return new DynamoDBClient({
    ...awsClientConfig(timeouts),
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
}

let stalled: Awaited<ReturnType<typeof stalledServer>>;

beforeEach(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  stalled = await stalledServer();
});

afterEach(async () => {
  await stalled.close();
});

describe('AWS client timeouts', () => {
  it('every client of a deployed connector has a connection timeout, a request timeout and bounded attempts', () => {
    for (const timeouts of Object.values(AWS_CLIENT_TIMEOUTS)) {
      const config = awsClientConfig(timeouts);
      expect(config.requestHandler.connectionTimeout).toBeGreaterThan(0);
      expect(config.requestHandler.requestTimeout).toBeGreaterThan(0);
      expect(config.requestHandler.throwOnRequestTimeout).toBe(true);
      expect(config.maxAttempts).toBeGreaterThanOrEqual(1);
      expect(config.maxAttempts).toBeLessThanOrEqual(3);
    }
  });

  it('a DynamoDB client with them gives up on a stalled endpoint with a TimeoutError', async () => {
    // Prepare
    const client = dynamoClient(stalled.endpoint);

    // Act
    const outcome = await client
      .send(new GetItemCommand({ TableName: 'idempotency', Key: { id: { S: 'k' } } }))
      .then(
        () => 'answered',
        (error: Error) => error.name,
      );

    // Assess
    expect(outcome).toBe('TimeoutError');
    client.destroy();
  });

  it('the connector answers 503 DEPENDENCY_UNAVAILABLE, without calling the vendor, when DynamoDB stalls', async () => {
    // Prepare
    captureOutput();
    const client = dynamoClient(stalled.endpoint);
    const { fetch, requests } = scriptedFetch({ status: 200, body: { ok: true } });
    const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };
    const handler = httpConnector.createHandler({
      config: parseConnectorConfig(
        {
          kind: 'http',
          name: 'httpbin',
          baseUrl: 'https://httpbin.example.com',
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['POST'],
          allowedPathPrefixes: ['/anything'],
        },
        'test',
      ),
      credentials,
      fetch,
      idempotency: { dynamoClient: client, tableName: 'idempotency' },
    });

    // Act
    const result: APIGatewayProxyResult = await handler(
      apiGatewayEvent({
        body: { method: 'POST', path: '/anything/orders' },
        headers: { 'Idempotency-Key': 'order-stalled-1' },
      }),
      lambdaContext(),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      source: 'connector',
      retryable: true,
    });
    expect(requests).toHaveLength(0);
    client.destroy();
  });

  it('a stalled DynamoDB holds a call no longer than its deadline, whatever the client’s own timeouts', async () => {
    // Prepare: a client that would wait a minute; the call has about 1.5 s.
    captureOutput();
    const client = dynamoClient(stalled.endpoint, {
      connectionTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      maxAttempts: 1,
    });
    const { fetch, requests } = scriptedFetch({ status: 200, body: { ok: true } });
    const handler = httpConnector.createHandler({
      config: parseConnectorConfig(
        {
          kind: 'http',
          name: 'httpbin',
          baseUrl: 'https://httpbin.example.com',
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedMethods: ['POST'],
          allowedPathPrefixes: ['/anything'],
          deadlineMarginMs: 500,
        },
        'test',
      ),
      credentials: { getSecret: async () => ({ token: 'tok-example' }) },
      fetch,
      idempotency: { dynamoClient: client, tableName: 'idempotency' },
    });

    // Act: without the bound this waits out the client's minute and the test times out.
    const result = await handler(
      apiGatewayEvent({
        body: { method: 'POST', path: '/anything/orders' },
        headers: { 'Idempotency-Key': 'order-stalled-2' },
      }),
      lambdaContext(2_000),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(requests).toHaveLength(0);
    client.destroy();
  });
});
