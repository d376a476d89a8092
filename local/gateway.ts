/**
 * The local gateway (DESIGN §7): serves `POST /v1/connectors/{connector}/{operation}` on 127.0.0.1
 * exactly as API Gateway would, by building the same REST proxy event and calling the same handler
 * that Lambda runs, with idempotency in an embedded DynamoDB and credentials from a local file.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ConnectorConfig, SuiteConfig } from '../functions/shared/config.js';
import type { CredentialStore } from '../functions/shared/credentials/store.js';
import { ConnectorError } from '../functions/shared/errors.js';
import { createPowertools } from '../functions/shared/powertools.js';
import type { ConnectorHandler } from '../functions/shared/runtime/index.js';
import { CONNECTOR_KINDS } from './connectors.js';
import { type LocalDynamoDB, startLocalDynamoDB } from './dynamodb.js';
import { connectorProxyEvent, lambdaContext } from './lambda-events.js';

/** The largest request body accepted, in bytes (a Lambda request payload is at most 6 MB). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

const CONNECTOR_ROUTE = /^\/v1\/connectors\/([^/]+)\/([^/]+)$/;

/** Options of {@link startLocalGateway}. */
export interface LocalGatewayOptions {
  /** The validated suite (parsed with `allowLoopbackHttp`). */
  config: SuiteConfig;
  /** Where connectors read their secrets. */
  credentials: CredentialStore;
  /** @default 3000; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** An idempotency store already running; @default a new embedded dynalite, closed with the gateway */
  dynamo?: LocalDynamoDB;
  /** @default globalThis.fetch (tests inject their own) */
  fetch?: typeof fetch;
  /** @default a Powertools Logger with service `local-gateway` */
  logger?: Logger;
}

/** A running local gateway. */
export interface LocalGateway {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The handler of each connector, by name. */
  handlers: ReadonlyMap<string, ConnectorHandler>;
  /** Stops accepting requests and closes the embedded DynamoDB it started. */
  close(): Promise<void>;
}

/**
 * Starts the local gateway.
 * @throws ConnectorError `CONFIGURATION_ERROR` when a connector cannot be built; the listen error
 *   (e.g. `EADDRINUSE`) when the port is taken
 */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const logger = options.logger ?? createPowertools({ serviceName: 'local-gateway' }).logger;
  const dynamo = options.dynamo ?? (await startLocalDynamoDB());
  const handlers = new Map<string, ConnectorHandler>();
  const timeouts = new Map<string, number>();
  try {
    for (const config of options.config.connectors) {
      handlers.set(config.name, buildHandler(config, options, dynamo));
      timeouts.set(config.name, config.functionTimeoutSeconds * 1000);
    }
  } catch (error) {
    if (!options.dynamo) await dynamo.close();
    throw error;
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      logger.error('The local gateway failed to answer', { error });
      if (!res.headersSent)
        send(res, 500, new ConnectorError('INTERNAL_ERROR', 'The local gateway failed.').toBody(''));
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = CONNECTOR_ROUTE.exec(url.pathname);
    const connector = match?.[1] === undefined ? undefined : decodeSegment(match[1]);
    const operation = match?.[2] === undefined ? undefined : decodeSegment(match[2]);
    const handler = connector === undefined ? undefined : handlers.get(connector);
    let status: number;
    if (!match || req.method !== 'POST' || !handler || connector === undefined || operation === undefined) {
      req.resume();
      const message = !match
        ? `No route ${req.method} ${url.pathname}; use POST /v1/connectors/{connector}/{operation}.`
        : req.method !== 'POST'
          ? 'Use POST.'
          : `No connector named '${connector}'. Configured: ${[...handlers.keys()].join(', ')}.`;
      status = 404;
      send(res, status, new ConnectorError('NOT_FOUND', message).toBody(requestId), {
        'x-request-id': requestId,
      });
    } else {
      const body = await readBody(req);
      if (body === undefined) {
        status = 400;
        const error = new ConnectorError(
          'VALIDATION_ERROR',
          `The body is larger than ${MAX_BODY_BYTES} bytes.`,
        );
        send(res, status, error.toBody(requestId), { 'x-request-id': requestId });
      } else {
        const event = connectorProxyEvent({
          connector,
          operation,
          headers: pairs(req.rawHeaders),
          query: [...url.searchParams],
          body,
          requestId,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          protocol: `HTTP/${req.httpVersion}`,
        });
        const context = lambdaContext(
          `connector-suite-local-${connector}`,
          timeouts.get(connector) ?? 29_000,
        );
        const result = await handler(event, context);
        status = result.statusCode;
        res.writeHead(result.statusCode, flattenHeaders(result.headers));
        res.end(result.body);
      }
    }
    logger.info('request', {
      method: req.method,
      path: url.pathname,
      status,
      durationMs: Date.now() - startedAt,
      requestId,
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    if (!options.dynamo) await dynamo.close();
    throw error;
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    handlers,
    async close() {
      await closeServer(server);
      if (!options.dynamo) await dynamo.close();
    },
  };
}

function buildHandler(
  config: ConnectorConfig,
  options: LocalGatewayOptions,
  dynamo: LocalDynamoDB,
): ConnectorHandler {
  const definition = CONNECTOR_KINDS[config.kind];
  return definition.createHandler({
    config,
    credentials: options.credentials,
    idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
    allowLoopbackHttp: true,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** `[name, value]` pairs of Node's flat `rawHeaders`. */
function pairs(raw: readonly string[]): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) result.push([raw[i] as string, raw[i + 1] as string]);
  return result;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function flattenHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) flat[name] = String(value);
  return flat;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** A path segment, percent-decoded; kept as sent when its encoding is malformed (it then matches nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
