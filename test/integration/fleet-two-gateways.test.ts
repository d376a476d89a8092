/**
 * Two `npm start` processes as two instances of one fleet (issue 13): both use the DynamoDB endpoint
 * of a dynalite this test starts (`DYNAMODB_ENDPOINT`), so they share the idempotency table and with
 * it the breaker and the limit of a connector whose `scope` is `shared`. The upstream is a counting
 * server in this process that fails on demand.
 *
 * Each process is awaited on its own output; the only waits on time are the features' own
 * (`refreshMs`, the seconds a rate is measured over).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import {
  type FleetUpstream,
  type GatewayProcess,
  hitsPerSecond,
  startFleetUpstream,
  startGatewayProcess,
} from '../support/fleet.js';
import { type Envelope, EXAMPLE_TOKEN, sleep } from '../support/integration-helpers.js';

/** The bound of the startup of two `npm start` (each loads Node, tsx and every vendor SDK; see npm-start.test.ts). */
const STARTUP_TIMEOUT_MS = 180_000;
/** Late timers and slow turns of a loaded 2-core machine, in ms. */
const SCHEDULING_SLACK_MS = 500;
const REFRESH_MS = 200;
const MINIMUM_CALLS = 4;
/** The shared limit of the `limited` connector, in requests per second (the figure). */
const LIMIT_PER_SECOND = 10;

let dynamo: LocalDynamoDB;
let upstream: FleetUpstream;
let dir: string;
let gateways: GatewayProcess[] = [];
let urls: string[] = [];

beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  upstream = await startFleetUpstream();
  dir = await mkdtemp(path.join(tmpdir(), 'fleet-two-gateways-'));
  const secretsFile = path.join(dir, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify({ fleet: { token: EXAMPLE_TOKEN } }));
  const connector = (name: string, settings: Record<string, unknown>) => ({
    name,
    kind: 'http',
    baseUrl: upstream.url,
    auth: { type: 'bearer', secret: 'fleet' },
    allowedMethods: ['GET'],
    allowedPathPrefixes: ['/fleet'],
    retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
    ...settings,
  });
  const configFile = path.join(dir, 'suite.config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      connectors: [
        connector('vendor', {
          circuitBreaker: {
            scope: 'shared',
            refreshMs: REFRESH_MS,
            minimumCalls: MINIMUM_CALLS,
            failureRateThreshold: 0.5,
            openSeconds: 60,
          },
          rateLimit: { scope: 'shared', requestsPerSecond: 50, burst: 50 },
        }),
        connector('limited', {
          rateLimit: { scope: 'shared', requestsPerSecond: LIMIT_PER_SECOND, burst: LIMIT_PER_SECOND },
        }),
      ],
    }),
  );
  const env = {
    SUITE_CONFIG: configFile,
    LOCAL_SECRETS_FILE: secretsFile,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
  };
  gateways = [startGatewayProcess(env), startGatewayProcess(env)];
  urls = await Promise.all(gateways.map((gateway) => gateway.listening));
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await upstream?.close();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One call of `connector` through gateway `gateway` (0 or 1): `GET /fleet/<gateway>`. */
async function call(
  gateway: number,
  connector: string,
): Promise<{ status: number; retryAfter: string | null; body: Envelope }> {
  const response = await fetch(`${urls[gateway]}/v1/connectors/${connector}/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'GET', path: `/fleet/${gateway}` }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Envelope,
  };
}

describe('two npm start processes on one DynamoDB endpoint', () => {
  it('after the breaker opens through the first, the second answers CIRCUIT_BREAKER_OPEN without calling the upstream', async () => {
    // Prepare
    upstream.failing = true;
    const from = upstream.hits.length;

    // Act: the first gateway until its breaker opens, one refresh, then the second.
    let first = await call(0, 'vendor');
    for (let i = 0; first.body.error?.code !== 'CIRCUIT_BREAKER_OPEN' && i < 2 * MINIMUM_CALLS; i++)
      first = await call(0, 'vendor');
    const sentByFirst = upstream.hits.length - from;
    await sleep(REFRESH_MS + SCHEDULING_SLACK_MS);
    const second = await call(1, 'vendor');

    // Assess
    expect(first.status).toBe(503);
    expect(first.body.error?.code).toBe('CIRCUIT_BREAKER_OPEN');
    expect(sentByFirst).toBe(MINIMUM_CALLS);
    expect(second.status).toBe(503);
    expect(second.body.error).toMatchObject({ code: 'CIRCUIT_BREAKER_OPEN', source: 'connector' });
    expect(Number(second.retryAfter)).toBeGreaterThan(0);
    expect(upstream.hits.slice(from).filter((hit) => hit.instance === 1)).toEqual([]);
    for (const gateway of gateways) expect(gateway.output()).not.toContain(EXAMPLE_TOKEN);
  }, 60_000);

  it(`with a shared limit of ${LIMIT_PER_SECOND} req/s, the two together send at most about ${LIMIT_PER_SECOND} per second`, async () => {
    // Prepare
    upstream.failing = false;
    const from = upstream.hits.length;
    const seconds = 4;
    const startedAtMs = performance.now();
    const stopAtMs = startedAtMs + seconds * 1000 + 100;
    const refusals: Array<{ status: number; retryAfter: string | null; code?: string }> = [];

    // Act: two callers per gateway, each calling again at once after a success and 20 ms after a refusal.
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        while (performance.now() < stopAtMs) {
          const result = await call(worker % 2, 'limited');
          if (result.status === 200) continue;
          refusals.push({
            status: result.status,
            retryAfter: result.retryAfter,
            ...(result.body.error ? { code: result.body.error.code } : {}),
          });
          await sleep(20);
        }
      }),
    );

    // Assess: after the first second (the burst), the upstream's count per second.
    const hits = upstream.hits.slice(from);
    const perSecond = hitsPerSecond(hits, startedAtMs + 1000, seconds - 1);
    const mean = perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
    expect(refusals.length, 'the offered load never exceeded the limit').toBeGreaterThan(0);
    expect(refusals[0]).toMatchObject({ status: 429, code: 'RATE_LIMIT_EXCEEDED' });
    expect(Number(refusals[0]?.retryAfter)).toBeGreaterThan(0);
    expect(new Set(hits.map((hit) => hit.instance))).toEqual(new Set([0, 1]));
    expect(mean, `per second: ${perSecond.join(', ')}`).toBeLessThanOrEqual(LIMIT_PER_SECOND * 1.1);
    expect(mean, `per second: ${perSecond.join(', ')}`).toBeGreaterThanOrEqual(LIMIT_PER_SECOND * 0.8);
    for (const count of perSecond) expect(count).toBeLessThanOrEqual(LIMIT_PER_SECOND + 2);
  }, 60_000);
});
