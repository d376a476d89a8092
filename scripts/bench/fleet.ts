/**
 * The fleet figures of `npm run bench` (issue 13): DynamoDB requests per call in steady state for the
 * shared circuit breaker (`circuitBreaker.scope: "shared"`) and the shared rate limit
 * (`rateLimit.scope: "shared"`), counted by a middleware on the DynamoDB client of the idempotency
 * table, where both keep their state (items `breaker#<connector>` and `ratelimit#<connector>…`).
 *
 * Steady state: a healthy upstream, calls paced at a fixed rate through one `http` connector handler
 * whose limit is far above that rate; the first second (the first read of the breaker's state, the
 * first lease of tokens) is a warm-up and is not counted.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import { defaultLeaseSize } from '../../functions/shared/http/shared-rate-limit.js';
import { connectorHandler, requestEvent } from './runtime.js';
import { type Figure, verdict } from './stats.js';
import type { Upstream } from './upstream.js';

/** Which state an item of the idempotency table holds, by its partition key (`id`). */
export type StateKind = 'breaker' | 'rateLimit' | 'idempotency';

/** One request of a {@link DynamoRequestCounter}'s log. */
export interface LoggedRequest {
  /** When it was asked for, `performance.now()` ms. */
  atMs: number;
  kind: StateKind;
  /** The command without `Command`, e.g. `UpdateItem`. */
  command: string;
  write: boolean;
  /** When DynamoDB answered, `performance.now()` ms; unset while in flight. */
  doneAtMs?: number;
  /** Whether it succeeded (a failed condition is not a success); unset while in flight. */
  ok?: boolean;
}

/** The DynamoDB requests a client was asked to send, since the last {@link DynamoRequestCounter.reset}. */
export interface DynamoRequestCounter {
  /** Requests by state kind, then by command name without `Command` (e.g. `GetItem`). */
  readonly byKind: Record<StateKind, Record<string, number>>;
  /** Requests of one state kind (every command). */
  total(kind: StateKind): number;
  /** Requests of one state kind that write (PutItem, UpdateItem, DeleteItem, TransactWriteItems). */
  writes(kind: StateKind): number;
  /** Every request in the order asked for, since the last reset. */
  readonly log: ReadonlyArray<LoggedRequest>;
  /** Starts counting from zero. */
  reset(): void;
}

const WRITE_COMMANDS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'BatchWriteItem',
]);

/** The partition key of a request's item, marshalled (`{ S: '…' }`) or not (a DocumentClient's). */
function keyOf(input: Record<string, unknown>): string | undefined {
  const holder = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  const id = holder?.id as { S?: unknown } | string | undefined;
  if (typeof id === 'string') return id;
  return typeof id?.S === 'string' ? id.S : undefined;
}

/** The state kind of a key: `breaker#…`, `ratelimit#…`, else an idempotency record. */
export function stateKindOf(key: string | undefined): StateKind {
  if (key?.startsWith('breaker#')) return 'breaker';
  if (key?.startsWith('ratelimit#')) return 'rateLimit';
  return 'idempotency';
}

/** A fresh counter, to attach to one or more clients with {@link countDynamoRequests}. */
export function dynamoRequestCounter(): DynamoRequestCounter {
  const empty = (): Record<StateKind, Record<string, number>> => ({
    breaker: {},
    rateLimit: {},
    idempotency: {},
  });
  let byKind = empty();
  let log: LoggedRequest[] = [];
  const sum = (counts: Record<string, number>, only?: (command: string) => boolean) =>
    Object.entries(counts)
      .filter(([command]) => only?.(command) ?? true)
      .reduce((total, [, count]) => total + count, 0);
  return {
    get byKind() {
      return byKind;
    },
    get log() {
      return log;
    },
    total: (kind) => sum(byKind[kind]),
    writes: (kind) => sum(byKind[kind], (command) => WRITE_COMMANDS.has(command)),
    reset() {
      byKind = empty();
      log = [];
    },
  };
}

/**
 * Adds a middleware to `client` that counts every command it is asked to send into `counter`, by
 * the state kind of its key (a request without a key, e.g. a Query, counts as idempotency).
 * @returns `client`
 */
export function countDynamoRequests(client: DynamoDBClient, counter: DynamoRequestCounter): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      const kind = stateKindOf(keyOf(args.input as Record<string, unknown>));
      const counts = counter.byKind[kind];
      counts[command] = (counts[command] ?? 0) + 1;
      const entry: LoggedRequest = {
        atMs: performance.now(),
        kind,
        command,
        write: WRITE_COMMANDS.has(command),
      };
      (counter.log as LoggedRequest[]).push(entry);
      try {
        const output = await next(args);
        entry.ok = true;
        return output;
      } catch (error) {
        entry.ok = false;
        throw error;
      } finally {
        entry.doneAtMs = performance.now();
      }
    },
    { step: 'initialize', name: 'fleetRequestCounter' },
  );
  return client;
}

/** A client for a local endpoint (dynalite): obviously fake credentials, one attempt per request. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
  });
}

/** The connector settings that make the breaker and the limit shared (issue 13). */
export const SHARED_SCOPE = {
  circuitBreaker: { scope: 'shared' },
  rateLimit: { scope: 'shared' },
} as const;

/** Options of {@link fleetSteadyState}. */
export interface SteadyStateOptions {
  /** Instances (handlers, each with its own DynamoDB client), called round-robin. @default 4 */
  instances?: number;
  /** Calls per second sent to the whole fleet. @default 100 */
  callsPerSecond?: number;
  /** Seconds measured, after a one-second warm-up. @default 3 */
  seconds?: number;
  /**
   * Extra connector settings (e.g. `circuitBreaker.refreshMs`). @default a shared limit of 10× the
   * call rate with `leaseSize` a tenth of the call rate (10 at 100 calls/s)
   */
  overrides?: Record<string, unknown>;
}

/** DynamoDB requests per call of one state kind in steady state. */
export interface SteadyStateFigure {
  /** Calls made while counting. */
  calls: number;
  /** Requests per call (reads and writes, failed conditions included). */
  perCall: number;
  /** Writes per call (failed conditions included: they cost a write unit too). */
  writesPerCall: number;
  /** Writes per call whose condition failed (a lost race, a wrong guess of the item's state). */
  failedWritesPerCall: number;
  /** Requests by command, per call. */
  byCommand: Record<string, number>;
}

/** {@link fleetSteadyState}'s answer: one figure per feature. */
export interface SteadyStateFigures {
  breaker: SteadyStateFigure;
  rateLimit: SteadyStateFigure;
  /** The settings measured (after the config's defaults). */
  settings: {
    instances: number;
    callsPerSecond: number;
    requestsPerSecond: number;
    refreshMs: number;
    leaseSize: number;
  };
}

/**
 * Sends `callsPerSecond` successful calls per second, round-robin, through `instances` handlers of one
 * `http` connector with a shared breaker and a shared limit (10× the call rate, so nothing is
 * refused), state in the table of `dynamo`, and counts the DynamoDB requests of each feature over
 * `seconds` after a warm-up second.
 * @throws Error when a call does not answer 200
 */
export async function fleetSteadyState(
  upstream: Upstream,
  dynamo: { endpoint: string; tableName: string },
  options: SteadyStateOptions = {},
): Promise<SteadyStateFigures> {
  const instances = options.instances ?? 4;
  const callsPerSecond = options.callsPerSecond ?? 100;
  const seconds = options.seconds ?? 3;
  const requestsPerSecond = callsPerSecond * 10;
  const counter = dynamoRequestCounter();
  const overrides = options.overrides ?? {};
  const config = {
    ...overrides,
    circuitBreaker: {
      ...SHARED_SCOPE.circuitBreaker,
      ...(overrides.circuitBreaker as object),
    },
    rateLimit: {
      requestsPerSecond,
      burst: requestsPerSecond,
      ...SHARED_SCOPE.rateLimit,
      leaseSize: Math.max(1, Math.floor(callsPerSecond / 10)),
      ...(overrides.rateLimit as object),
    },
  };
  const parsed = parseConnectorConfig(
    {
      name: 'bench',
      kind: 'http',
      baseUrl: upstream.url,
      auth: { type: 'bearer', secret: 'bench' },
      allowedMethods: ['GET'],
      allowedPathPrefixes: ['/items'],
      ...config,
    },
    'bench',
    { allowLoopbackHttp: true },
  );
  const clients = Array.from({ length: instances }, () =>
    countDynamoRequests(localDynamoClient(dynamo.endpoint), counter),
  );
  const handlers = clients.map((client) =>
    connectorHandler(upstream, config, { dynamoClient: client, tableName: dynamo.tableName }),
  );
  try {
    const body = { method: 'GET', path: '/items/1' };
    let next = 0;
    const call = async () => {
      const handler = handlers[next++ % instances] as (typeof handlers)[number];
      const result: APIGatewayProxyResult = await handler(requestEvent(body));
      if (result.statusCode !== 200)
        throw new Error(`fleet call answered ${result.statusCode}: ${result.body}`);
    };
    await paced(callsPerSecond, 1, call);
    counter.reset();
    const calls = await paced(callsPerSecond, seconds, call);
    const figure = (kind: StateKind): SteadyStateFigure => ({
      calls,
      perCall: counter.total(kind) / calls,
      writesPerCall: counter.writes(kind) / calls,
      failedWritesPerCall:
        counter.log.filter((request) => request.kind === kind && request.write && request.ok === false)
          .length / calls,
      byCommand: Object.fromEntries(
        Object.entries(counter.byKind[kind]).map(([command, count]) => [command, count / calls]),
      ),
    });
    const { circuitBreaker, rateLimit } = parsed;
    return {
      breaker: figure('breaker'),
      rateLimit: figure('rateLimit'),
      settings: {
        instances,
        callsPerSecond,
        requestsPerSecond,
        refreshMs: circuitBreaker.refreshMs,
        leaseSize: rateLimit.leaseSize ?? defaultLeaseSize(rateLimit.requestsPerSecond, rateLimit.burst),
      },
    };
  } finally {
    for (const client of clients) client.destroy();
  }
}

/**
 * Starts `call` every `1000 / perSecond` ms for `seconds` (without waiting for the one before, so a
 * slow call does not slow the rate), then waits for the last; resolves with the number of calls.
 * Each start is scheduled from the run's start, so a late timer does not lower the rate.
 */
export async function paced(perSecond: number, seconds: number, call: () => Promise<void>): Promise<number> {
  const total = Math.round(perSecond * seconds);
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const waitMs = started + i * intervalMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    running.push(call());
  }
  await Promise.all(running);
  return total;
}

/**
 * The table rows of {@link fleetSteadyState}'s figures. Goals (issue 13): the shared breaker writes
 * nothing in steady state and each instance reads at most once per `refreshMs`; the shared limit
 * makes at most one successful write per `leaseSize` calls (plus one lease per instance begun in the
 * measured time). A failed conditional write costs a write unit too, so the limit's row shows them.
 */
export function fleetFigures(measured: SteadyStateFigures, seconds: number): Figure[] {
  const { breaker, rateLimit, settings } = measured;
  const commands = (figure: SteadyStateFigure) =>
    Object.entries(figure.byCommand)
      .map(([command, perCall]) => `${command} ${perCall.toFixed(3)}`)
      .join(', ') || 'none';
  const at = `${settings.instances} instance${settings.instances === 1 ? '' : 's'}, ${settings.callsPerSecond} calls/s in all`;
  const readsAllowed =
    (settings.instances * (Math.ceil((seconds * 1000) / settings.refreshMs) + 1)) / breaker.calls;
  const leasesAllowed = 1 / settings.leaseSize + settings.instances / rateLimit.calls;
  const leaseWrites = rateLimit.writesPerCall - rateLimit.failedWritesPerCall;
  return [
    {
      name: `shared breaker: DynamoDB requests per call, steady state (${at})`,
      goal: `0 writes, ≤ 1 read per refreshMs (${settings.refreshMs} ms) per instance`,
      measured: `${breaker.perCall.toFixed(3)} (${commands(breaker)}); writes ${breaker.writesPerCall.toFixed(3)}`,
      verdict: verdict(breaker.writesPerCall === 0 && breaker.perCall <= readsAllowed),
    },
    {
      name: `shared rate limit: DynamoDB requests per call, steady state (${at})`,
      goal: `≤ 1 lease write per leaseSize (${settings.leaseSize}) calls`,
      measured:
        `${rateLimit.perCall.toFixed(3)} (${commands(rateLimit)}); lease writes ${leaseWrites.toFixed(3)}, ` +
        `failed conditional writes ${rateLimit.failedWritesPerCall.toFixed(3)}`,
      verdict: verdict(leaseWrites <= leasesAllowed),
    },
  ];
}
