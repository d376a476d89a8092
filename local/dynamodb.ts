/**
 * An embedded DynamoDB (dynalite, in memory or in a directory) holding the idempotency table, for `npm start` and tests;
 * or an existing DynamoDB endpoint (DynamoDB Local, a shared dynalite) where the table is created if
 * missing.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
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
  /**
   * A directory where dynalite keeps its data (LevelDB), so the idempotency records outlive the
   * process; created if missing. Ignored with `endpoint`.
   * @default none: in memory
   */
  path?: string;
  /** The port dynalite listens on, on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /**
   * An endpoint already running (e.g. `http://127.0.0.1:8000` of DynamoDB Local) to use instead of
   * starting dynalite; `port` is then ignored, and `close` leaves that endpoint running.
   */
  endpoint?: string;
}

/** The DynamoDB settings of `npm start` from its environment. */
export interface DynamoDBSettings {
  /** From `DYNAMODB_PORT`: the embedded dynalite's port (0 picks a free one). @default 8000 */
  port: number;
  /** From `DYNAMODB_ENDPOINT`: an existing endpoint to use instead of dynalite. */
  endpoint?: string;
}

/** The port of the embedded DynamoDB of `npm start` (DynamoDB Local's port too). */
export const DEFAULT_DYNAMODB_PORT = 8000;

/**
 * Reads `DYNAMODB_PORT` (a whole number from 0 to 65535; default 8000) and `DYNAMODB_ENDPOINT` (an
 * http(s) URL).
 * @throws Error naming the variable for a value that is not a port or a URL
 */
export function dynamoDBSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DynamoDBSettings {
  const settings: DynamoDBSettings = { port: DEFAULT_DYNAMODB_PORT };
  const port = env.DYNAMODB_PORT?.trim();
  if (port) {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) {
      throw new Error(`DYNAMODB_PORT must be a port from 0 to 65535 (0 picks a free one), not '${port}'.`);
    }
    settings.port = Number(port);
  }
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  if (endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new Error(
        `DYNAMODB_ENDPOINT must be an http(s) URL such as http://127.0.0.1:8000, not '${endpoint}'.`,
      );
    }
    settings.endpoint = endpoint;
  }
  return settings;
}

/**
 * Starts dynalite on 127.0.0.1 (or uses `endpoint`) and creates the idempotency table (partition key
 * `id`, the shape the stack deploys) unless it exists.
 * @throws the listen error (e.g. `EADDRINUSE` when `port` is taken), or the SDK's error when the
 *   table cannot be created
 */
export async function startLocalDynamoDB(options: LocalDynamoDBOptions = {}): Promise<LocalDynamoDB> {
  const tableName = options.tableName ?? 'connector-suite-idempotency';
  let server: ReturnType<typeof dynalite> | undefined;
  let endpoint: string;
  if (options.endpoint !== undefined) {
    endpoint = options.endpoint.replace(/\/+$/, '');
  } else {
    const started = dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
    await new Promise<void>((resolve, reject) => {
      started.once('error', reject);
      started.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    server = started;
    const { port } = started.address() as AddressInfo;
    endpoint = `http://127.0.0.1:${port}`;
  }
  const stop = () =>
    server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  // dynalite checks nothing, but the SDK needs credentials and a region to sign with: obviously fake ones.
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      // An existing endpoint may hold the table already.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let i = 0; i < 50; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    // Never leave a listening server behind when the table cannot be made.
    client.destroy();
    await stop();
    throw error;
  }
  return {
    endpoint,
    client,
    tableName,
    async close() {
      client.destroy();
      await stop();
    },
  };
}
