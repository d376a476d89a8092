/**
 * A fleet in one process (issue 13): N instances of the real `http` connector, i.e. N handlers each
 * with its own HTTP client (its own in-memory breaker and token bucket) and its own DynamoDB client,
 * against ONE DynamoDB (dynalite) and ONE upstream that counts what it receives and fails on demand;
 * and `npm start` processes, as instances of a local fleet sharing one DynamoDB endpoint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { httpConnector } from '../../functions/http/connector.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import {
  countDynamoRequests,
  type DynamoRequestCounter,
  dynamoRequestCounter,
  localDynamoClient,
} from '../../scripts/bench/fleet.js';
import {
  EXAMPLE_TOKEN,
  lambdaContext,
  type ParsedResult,
  parseResult,
  proxyEvent,
  suiteConfig,
} from './integration-helpers.js';

/** One request the fleet upstream received. */
export interface UpstreamHit {
  /** When it arrived, `performance.now()` ms. */
  atMs: number;
  /** The instance that sent it (from its path, `/fleet/<instance>`), or -1. */
  instance: number;
  /** What it was answered. */
  status: number;
}

/** The upstream every instance calls: 200 while healthy, 503 during an outage. */
export interface FleetUpstream {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request, in order of arrival. */
  hits: UpstreamHit[];
  /** `true`: answer 503 (a vendor outage); `false`: answer 200. */
  failing: boolean;
  /** Resolves once `hits.length` reaches `count`. */
  waitForHits(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the fleet upstream on a free loopback port, healthy. */
export async function startFleetUpstream(): Promise<FleetUpstream> {
  const events = new EventEmitter();
  const hits: UpstreamHit[] = [];
  const sockets = new Set<Socket>();
  const state = { failing: false };
  const server = createServer((req, res) => {
    const match = /^\/fleet\/(\d+)/.exec(req.url ?? '');
    const status = state.failing ? 503 : 200;
    hits.push({ atMs: performance.now(), instance: match ? Number(match[1]) : -1, status });
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(state.failing ? { error: 'unavailable' } : { ok: true }));
    events.emit('hit');
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    async waitForHits(count) {
      while (hits.length < count) await once(events, 'hit');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  /** Instances (handlers). */
  size: number;
  upstream: FleetUpstream;
  /** The one DynamoDB: its endpoint and the idempotency table's name. */
  dynamo: { endpoint: string; tableName: string };
  /** The connector's settings beyond name, kind, base URL and auth (e.g. `circuitBreaker`, `rateLimit`). */
  settings: Record<string, unknown>;
  /** @default 'fleet' */
  connector?: string;
}

/** A fleet of instances of one connector. */
export interface Fleet {
  size: number;
  /** DynamoDB requests of every instance, by state kind and command. */
  dynamo: DynamoRequestCounter;
  /** One call through instance `instance`: `GET /fleet/<instance>`. */
  call(instance: number): Promise<ParsedResult>;
  /** Destroys the instances' DynamoDB clients. */
  close(): void;
}

/** The example token, from memory: the fleet reads no file. */
const credentials: CredentialStore = { getSecret: async () => ({ token: EXAMPLE_TOKEN }) };

/**
 * Builds `size` handlers of one `http` connector as Lambda would on `size` instances: each its own
 * handler (HTTP client, breaker, bucket) and its own DynamoDB client, all counted by one counter.
 */
export function startFleet(options: FleetOptions): Fleet {
  const connector = options.connector ?? 'fleet';
  const [config] = suiteConfig({
    connectors: [
      {
        name: connector,
        kind: 'http',
        baseUrl: options.upstream.url,
        auth: { type: 'bearer', secret: 'fleet' },
        allowedMethods: ['GET'],
        allowedPathPrefixes: ['/fleet'],
        ...options.settings,
      },
    ],
  }).connectors;
  if (config?.kind !== 'http') throw new Error('no http connector parsed');
  const counter = dynamoRequestCounter();
  const clients = Array.from({ length: options.size }, () =>
    countDynamoRequests(localDynamoClient(options.dynamo.endpoint), counter),
  );
  const handlers: ConnectorHandler[] = clients.map((dynamoClient) =>
    httpConnector.createHandler({
      config,
      credentials,
      idempotency: { dynamoClient, tableName: options.dynamo.tableName },
      allowLoopbackHttp: true,
    }),
  );
  return {
    size: options.size,
    dynamo: counter,
    async call(instance) {
      const handler = handlers[instance];
      if (!handler) throw new Error(`no instance ${instance}`);
      const event = proxyEvent({ connector, body: { method: 'GET', path: `/fleet/${instance}` } });
      return parseResult(await handler(event, lambdaContext()));
    },
    close() {
      for (const client of clients) client.destroy();
    },
  };
}

/** Upstream hits per whole second from `fromMs` (`performance.now()`), for `seconds` seconds. */
export function hitsPerSecond(hits: readonly UpstreamHit[], fromMs: number, seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0);
  for (const hit of hits) {
    const second = Math.floor((hit.atMs - fromMs) / 1000);
    if (second >= 0 && second < seconds) counts[second] = (counts[second] ?? 0) + 1;
  }
  return counts;
}

/** The project's root, where `npm start` runs. */
const ROOT = path.resolve(import.meta.dirname, '../..');
/** What `npm start` runs, with this Node (see test/integration/npm-start.test.ts for why not tsx's CLI). */
const START_ARGS = ['--import', 'tsx', 'local/server.ts'];
/** The first line of the startup block, with the gateway's URL. */
const LISTENING = /^Connector Suite local gateway listening on (http:\/\/\S+)$/m;

/** A running `npm start`. */
export interface GatewayProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<void>;
  /** Resolves with the gateway's URL once its startup block is printed; rejects if it exits first. */
  listening: Promise<string>;
  /** Kills its process group (the gateway and anything it started) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `npm start` (`node --import tsx local/server.ts`) in its own process group, with a free
 * `PORT`, its own `LOCAL_STATE_DIR` and the variables of `env` (e.g. `SUITE_CONFIG`,
 * `LOCAL_SECRETS_FILE`, `DYNAMODB_ENDPOINT`). Waits on the process's output, never on a guessed time.
 */
export function startGatewayProcess(env: Record<string, string>): GatewayProcess {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fleet-gateway-state-'));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DYNAMODB_PORT: '0',
    LOCAL_STATE_DIR: stateDir,
  };
  for (const name of ['SUITE_CONFIG', 'LOCAL_SECRETS_FILE', 'DYNAMODB_ENDPOINT', 'POWERTOOLS_DEV', 'LIVE'])
    delete childEnv[name];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, START_ARGS, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const events = new EventEmitter();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      events.emit('output');
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() =>
    rm(stateDir, { recursive: true, force: true }),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const check = () => {
      const url = LISTENING.exec(text)?.[1];
      if (url && text.includes('Ctrl-C stops it.')) {
        events.off('output', check);
        resolve(url);
      }
    };
    events.on('output', check);
    child.once('close', () => {
      check();
      reject(new Error(`npm start ended without reporting listening. Output:\n${text}`));
    });
  });
  listening.catch(() => undefined);
  return {
    child,
    output: () => text,
    exited,
    listening,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGKILL');
      }
      await exited;
    },
  };
}
