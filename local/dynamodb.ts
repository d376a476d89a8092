/**
 * An embedded DynamoDB (dynalite, in memory) holding the idempotency table, for `npm start` and tests.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** A running embedded DynamoDB. */
export interface LocalDynamoDB {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** A client for it (dummy credentials, region `us-east-1`). */
  client: DynamoDBClient;
  /** The idempotency table's name. */
  tableName: string;
  /** Stops the server and the client. */
  close(): Promise<void>;
}

/** Options of {@link startLocalDynamoDB}. */
export interface LocalDynamoDBOptions {
  /** @default 'connector-suite-idempotency' */
  tableName?: string;
  /** @default 0 (any free port) */
  port?: number;
}

/**
 * Starts dynalite on 127.0.0.1 and creates the idempotency table (partition key `id`, the shape the
 * stack deploys).
 */
export async function startLocalDynamoDB(options: LocalDynamoDBOptions = {}): Promise<LocalDynamoDB> {
  const tableName = options.tableName ?? 'connector-suite-idempotency';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  // dynalite checks nothing, but the SDK needs credentials and a region to sign with: obviously fake ones.
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let i = 0; i < 50; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    // Never leave a listening server behind when the table cannot be made.
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  return {
    endpoint,
    client,
    tableName,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
