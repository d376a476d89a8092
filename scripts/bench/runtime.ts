/**
 * The in-process figures of `npm run bench`: warm-call throughput ratios, breaker-open latency,
 * DynamoDB requests per idempotent call, and memory. Everything runs the current sources.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { createPowertools, type Powertools } from '../../functions/shared/powertools.js';
import type { IdempotencyStore } from '../../functions/shared/runtime/idempotency.js';
import { connectorProxyEvent, lambdaContext } from '../../local/lambda-events.js';
import { createPeerHandler, createTelemetryFloor } from './peer.js';
import { percentile, type Spread, spread } from './stats.js';
import type { Upstream } from './upstream.js';

/** The bearer token every contender sends: an obviously fake value. */
export const TOKEN = 'tok-example';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** The `http` connector's handler on `upstream`, as the issue describes: bearer, default policies, rate limit lifted. */
export function connectorHandler(
  upstream: Upstream,
  overrides: Record<string, unknown> = {},
  idempotency?: IdempotencyStore,
  powertools?: Powertools,
): Handler {
  const config = parseConnectorConfig(
    {
      name: 'bench',
      kind: 'http',
      baseUrl: upstream.url,
      auth: { type: 'bearer', secret: 'bench' },
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: ['/items', '/fail', '/big'],
      rateLimit: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
      ...overrides,
    },
    'bench',
    { allowLoopbackHttp: true },
  );
  const credentials: CredentialStore = { getSecret: async () => ({ token: TOKEN }) };
  const handler = httpConnector.createHandler({
    config,
    credentials,
    allowLoopbackHttp: true,
    ...(idempotency ? { idempotency } : {}),
    ...(powertools ? { powertools } : {}),
  });
  return (event) => handler(event, lambdaContext('bench', 29_000));
}

/** An API Gateway event for the `http` connector's `request` operation. */
export function requestEvent(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return connectorProxyEvent({
    connector: 'bench',
    operation: 'request',
    headers: Object.entries({ 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
  });
}

/** One contender of the warm-call figure: a function making one call. */
export type Contender = () => Promise<void>;

/** The contenders of the warm-call figures. */
export interface WarmContenders {
  /** Raw `fetch`. */
  fetch: Contender;
  /** The `http` connector's handler as deployed (Logger at INFO, EMF metrics). */
  handler: Contender;
  /** The hand-rolled peer (scripts/bench/peer.ts). */
  peer: Contender;
  /**
   * Reference: raw `fetch` plus the least any call meeting the requirements pays (an abort
   * signal with a timer for its deadline, one Powertools Logger line, one EMF document).
   */
  floor?: Contender;
  /** Reference: the handler with its Logger and Metrics silenced (the runtime without its telemetry). */
  quiet?: Contender;
}

/** The contenders of the warm-call figures, on `upstream`. */
export function warmContenders(upstream: Upstream): Required<WarmContenders> {
  const url = `${upstream.url}/items/1?limit=10`;
  const handler = connectorHandler(upstream);
  const quiet = connectorHandler(upstream, {}, undefined, silencedPowertools());
  const peer = createPeerHandler({ baseUrl: upstream.url, token: TOKEN });
  const floor = createTelemetryFloor({ url, token: TOKEN });
  const body = { method: 'GET', path: '/items/1', query: { limit: 10 } };
  const check = (result: APIGatewayProxyResult) => {
    if (result.statusCode !== 200)
      throw new Error(`bench call answered ${result.statusCode}: ${result.body}`);
  };
  return {
    fetch: async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (response.status !== 200) throw new Error(`fetch answered ${response.status}`);
      await response.json();
    },
    handler: async () => check(await handler(requestEvent(body))),
    peer: async () => check(await peer(requestEvent(body))),
    floor,
    quiet: async () => check(await quiet(requestEvent(body))),
  };
}

/**
 * Powertools whose Logger and Metrics print nothing and keep nothing: the methods the runtime calls
 * on them are no-ops (Tracer is a no-op outside Lambda anyway).
 */
function silencedPowertools(): Powertools {
  const powertools = createPowertools({ serviceName: 'bench-quiet' });
  const nothing = () => undefined;
  for (const method of ['info', 'warn', 'error', 'debug', 'addContext'] as const)
    Object.assign(powertools.logger, { [method]: nothing });
  Object.assign(powertools.metrics, {
    addMetric: nothing,
    addDimensionedCount: nothing,
    hasStoredMetrics: () => false,
    publishStoredMetrics: () => powertools.metrics,
  });
  return powertools;
}

/** Calls per second of `contender` making `calls` calls with `concurrency` in flight. */
export async function throughput(contender: Contender, calls: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next += 1;
        await contender();
      }
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

/** The ratios of the warm-call figure at one concurrency. */
export interface WarmRatios {
  /** handler / fetch, per round. */
  vsFetch: Spread;
  /** handler / peer, per round. */
  vsPeer: Spread;
  /** floor / fetch, per round (when a floor contender ran). */
  floorVsFetch?: Spread;
  /** quiet handler / peer, per round (when a quiet contender ran). */
  quietVsPeer?: Spread;
  /** Median calls per second of each contender that ran. */
  callsPerSecond: { fetch: number; handler: number; peer: number; floor?: number; quiet?: number };
}

/**
 * Alternated rounds (fetch, handler, peer, then the references, fetch, …) of `calls` calls each at
 * `concurrency`, after one warm-up round; the ratios are taken per round, so a machine that slows
 * down mid-run moves all of them alike.
 */
export async function warmRounds(
  contenders: WarmContenders,
  options: { rounds: number; calls: number; concurrency: number },
): Promise<WarmRatios> {
  const { rounds, calls, concurrency } = options;
  const names = (['fetch', 'handler', 'peer', 'floor', 'quiet'] as const).filter(
    (name) => contenders[name] !== undefined,
  );
  for (const name of names) {
    await throughput(contenders[name] as Contender, Math.max(50, Math.floor(calls / 4)), concurrency);
  }
  const rates: Partial<Record<(typeof names)[number], number[]>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const rate = await throughput(contenders[name] as Contender, calls, concurrency);
      rates[name] = [...(rates[name] ?? []), rate];
    }
  }
  const ratio = (over: number[] | undefined, under: number[] | undefined) =>
    over && under ? spread(over.map((value, i) => value / (under[i] as number))) : undefined;
  const median = (values: number[] | undefined) => (values ? spread(values).median : undefined);
  const floorVsFetch = ratio(rates.floor, rates.fetch);
  const quietVsPeer = ratio(rates.quiet, rates.peer);
  const floor = median(rates.floor);
  const quiet = median(rates.quiet);
  return {
    vsFetch: ratio(rates.handler, rates.fetch) as Spread,
    vsPeer: ratio(rates.handler, rates.peer) as Spread,
    ...(floorVsFetch ? { floorVsFetch } : {}),
    ...(quietVsPeer ? { quietVsPeer } : {}),
    callsPerSecond: {
      fetch: median(rates.fetch) as number,
      handler: median(rates.handler) as number,
      peer: median(rates.peer) as number,
      ...(floor === undefined ? {} : { floor }),
      ...(quiet === undefined ? {} : { quiet }),
    },
  };
}

/** What {@link breakerOpen} measures. */
export interface BreakerFigures {
  p50Ms: number;
  p99Ms: number;
  /** Upstream requests while the breaker was open (must be 0). */
  upstreamCalls: number;
  /** The error code of the refused calls. */
  code: string;
}

/**
 * Trips the breaker of an `http` connector on an upstream answering 503, then times `calls`
 * sequential calls that the open breaker refuses.
 */
export async function breakerOpen(upstream: Upstream, calls: number): Promise<BreakerFigures> {
  const handler = connectorHandler(upstream, {
    retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 5, windowSeconds: 60, openSeconds: 600 },
  });
  const event = requestEvent({ method: 'GET', path: '/fail/1' });
  let code = '';
  for (let i = 0; i < 20 && code !== 'CIRCUIT_BREAKER_OPEN'; i++) {
    code = (JSON.parse((await handler(event)).body) as { error?: { code?: string } }).error?.code ?? '';
  }
  if (code !== 'CIRCUIT_BREAKER_OPEN') throw new Error(`the breaker did not open (last code ${code})`);
  const before = upstream.requests;
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const result = await handler(event);
    latencies.push(performance.now() - started);
    if (result.statusCode !== 503) throw new Error(`an open breaker answered ${result.statusCode}`);
  }
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    upstreamCalls: upstream.requests - before,
    code,
  };
}

/** DynamoDB requests of one kind of idempotent call, by command. */
export interface DynamoCount {
  /** HTTP requests to DynamoDB per call (SDK retries included), averaged. */
  perCall: number;
  /** Requests by command name over all calls. */
  byCommand: Record<string, number>;
  /**
   * `PutItem` conditional failures whose error carried no `Item`: DynamoDB returns the existing
   * item with `ReturnValuesOnConditionCheckFailure: ALL_OLD`; dynalite does not, so Powertools reads it
   * with a `GetItem` that DynamoDB would not need.
   */
  conditionFailuresWithoutItem: number;
}

/**
 * Counts DynamoDB requests per new idempotent call and per replay (same `Idempotency-Key`), with SDK
 * middleware on `client` (innermost in the finalize step, so each attempt counts).
 */
export async function idempotentCalls(
  upstream: Upstream,
  dynamo: { client: DynamoDBClient; tableName: string },
  calls: number,
): Promise<{ fresh: DynamoCount; replay: DynamoCount }> {
  let current: DynamoCount = { perCall: 0, byCommand: {}, conditionFailuresWithoutItem: 0 };
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      current.byCommand[name] = (current.byCommand[name] ?? 0) + 1;
      try {
        return await next(args);
      } catch (error) {
        const named = error as { name?: string; Item?: unknown };
        if (named.name === 'ConditionalCheckFailedException' && named.Item === undefined) {
          current.conditionFailuresWithoutItem += 1;
        }
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchRequestCounter' },
  );
  const handler = connectorHandler(
    upstream,
    {},
    { dynamoClient: dynamo.client, tableName: dynamo.tableName },
  );
  const keys = Array.from({ length: calls }, () => `bench-${randomUUID()}`);
  const run = async (): Promise<DynamoCount> => {
    current = { perCall: 0, byCommand: {}, conditionFailuresWithoutItem: 0 };
    for (const key of keys) {
      const result = await handler(
        requestEvent(
          { method: 'POST', path: '/items', body: { note: 'example' } },
          { 'Idempotency-Key': key },
        ),
      );
      if (result.statusCode !== 200)
        throw new Error(`idempotent call answered ${result.statusCode}: ${result.body}`);
    }
    const total = Object.values(current.byCommand).reduce((a, b) => a + b, 0);
    return { ...current, perCall: total / calls };
  };
  const fresh = await run();
  const replay = await run();
  return { fresh, replay };
}

/** What {@link heapGrowth} measures: `heapUsed` after a settled full GC, in bytes. */
export interface HeapFigures {
  /** Before any call of this measurement (the contender may have run before). */
  startBytes: number;
  /** After the warm-up calls. */
  warmedBytes: number;
  /** After each quarter of the measured calls; the last is the heap after all of them. */
  checkpointBytes: number[];
}

/** A full GC, then one turn for the finalizers it queued (undici's `FinalizationRegistry` callbacks), then another. */
async function settledHeapBytes(gc: () => void): Promise<number> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap across `calls` calls at concurrency 32, measured only after `warmupCalls` calls: the first
 * thousands of calls grow the heap once (compiled code, lazily built caches, the connection pool,
 * per-signal listeners that undici frees through a `FinalizationRegistry`, i.e. a GC later), which
 * is a warm-up, not a leak. A leak shows as checkpoints that keep rising; a bounded heap wanders
 * by a few MB between them (see docs/performance.md).
 *
 * @param calls - calls measured, made in four quarters with a checkpoint after each.
 * @param warmupCalls - calls made before the baseline. @default calls
 * @throws Error when `global.gc` is missing (run node with `--expose-gc`, as `npm run bench` does).
 */
export async function heapGrowth(
  contender: Contender,
  calls: number,
  warmupCalls: number = calls,
): Promise<HeapFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  const startBytes = await settledHeapBytes(gc);
  await throughput(contender, warmupCalls, 32);
  const warmedBytes = await settledHeapBytes(gc);
  const checkpointBytes: number[] = [];
  for (let quarter = 0; quarter < 4; quarter++) {
    await throughput(contender, Math.ceil(calls / 4), 32);
    checkpointBytes.push(await settledHeapBytes(gc));
  }
  return { startBytes, warmedBytes, checkpointBytes };
}

/**
 * Peak RSS above the starting RSS while the connector fetches a 200 MB upstream body (sampled every
 * 5 ms), and the status it answers.
 */
export async function bigBodyPeak(upstream: Upstream): Promise<{ peakGrowthBytes: number; status: number }> {
  const handler = connectorHandler(upstream, { retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await handler(requestEvent({ method: 'GET', path: '/big/1' }));
    peak = Math.max(peak, process.memoryUsage.rss());
    return { peakGrowthBytes: peak - baseline, status: result.statusCode };
  } finally {
    clearInterval(sampler);
  }
}
