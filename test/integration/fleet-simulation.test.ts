/**
 * Proof by simulation (issue 13): N instances of the real `http` connector in one process (N
 * handlers, each with its own breaker, bucket and DynamoDB client) share one dynalite and one
 * upstream, with `circuitBreaker.scope: "shared"` and `rateLimit.scope: "shared"`.
 *
 * Load is offered at a fixed total rate whatever N (a vendor's callers do not send more because
 * Lambda runs more instances), spread round-robin over the instances. Timings are the features' own
 * (`refreshMs`, `openSeconds`); where a test compares a time it allows {@link SCHEDULING_SLACK_MS}
 * for a loaded 2-core machine, and it never waits for a guessed time to see an effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { paced } from '../../scripts/bench/fleet.js';
import {
  type Fleet,
  type FleetUpstream,
  hitsPerSecond,
  startFleet,
  startFleetUpstream,
  type UpstreamHit,
} from '../support/fleet.js';
import { type CapturedOutput, captureOutput, sleep } from '../support/integration-helpers.js';

/** Late timers and slow turns of a loaded 2-core machine, in ms. */
const SCHEDULING_SLACK_MS = 500;
/** Calls per second offered to the whole fleet during the outage, whatever its size. */
const OUTAGE_CALLS_PER_SECOND = 40;
const BREAKER = {
  scope: 'shared',
  refreshMs: 200,
  failureRateThreshold: 0.5,
  minimumCalls: 4,
  windowSeconds: 30,
  openSeconds: 1,
} as const;
/** The connector of the outage tests: one attempt per call, so a call is an upstream request. */
const OUTAGE_SETTINGS = {
  retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
  circuitBreaker: BREAKER,
  rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
};
/** The fleet is driven this long during an outage, in seconds: a few open periods. */
const OUTAGE_SECONDS = 4;
/** The shared limit of the rate test, in requests per second. */
const LIMIT_PER_SECOND = 20;

let output: CapturedOutput;
let dynamo: LocalDynamoDB;
let upstream: FleetUpstream;
const fleets: Fleet[] = [];

beforeAll(async () => {
  output = captureOutput();
  dynamo = await startLocalDynamoDB({ tableName: 'fleet-simulation' });
  upstream = await startFleetUpstream();
});

afterAll(async () => {
  for (const fleet of fleets) fleet.close();
  await upstream?.close();
  await dynamo?.close();
  output?.restore();
});

/** A fleet of `size` instances of the connector `name` (each test its own name, so its own shared state). */
function fleetOf(size: number, name: string, settings: Record<string, unknown>): Fleet {
  const fleet = startFleet({ size, upstream, dynamo, connector: name, settings });
  fleets.push(fleet);
  return fleet;
}

/** One answer the fleet gave during a run. */
interface Answer {
  atMs: number;
  instance: number;
  status: number;
  code?: string;
}

/** Calls the fleet at `perSecond` calls per second in all, round-robin, for `seconds`. */
async function drive(fleet: Fleet, perSecond: number, seconds: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await paced(perSecond, seconds, async () => {
    const instance = next++ % fleet.size;
    const result = await fleet.call(instance);
    answers.push({
      atMs: performance.now(),
      instance,
      status: result.status,
      ...(result.body.error ? { code: result.body.error.code } : {}),
    });
  });
  return answers;
}

describe('a fleet sharing its circuit breaker', () => {
  /**
   * The bound on upstream calls after the first breaker opens, which does not grow with N: the
   * calls the fleet offers during one refresh (the others learn of the open state within `refreshMs`)
   * plus one half-open probe per `openSeconds`.
   */
  function boundAfterOpen(openForMs: number): number {
    const refreshCalls = Math.ceil(
      (OUTAGE_CALLS_PER_SECOND * (BREAKER.refreshMs + SCHEDULING_SLACK_MS)) / 1000,
    );
    return refreshCalls + Math.ceil(openForMs / (BREAKER.openSeconds * 1000)) + 1;
  }

  /**
   * Only half-open probes: never two within one openSeconds, fleet-wide. A failure message lists the
   * hits (ms after `fromMs`, instance) and the WARN lines of store failures (an instance whose store
   * failed decides alone, by design).
   */
  function expectProbesOnly(hits: readonly UpstreamHit[], fromMs: number): void {
    const explain = () =>
      `two upstream calls within one openSeconds; hits: ${hits
        .map((hit) => `${Math.round(hit.atMs - fromMs)} ms #${hit.instance}`)
        .join(', ')}; store failures logged: ${
        output.lines().filter((line) => line.includes("shared circuit breaker's state could not be used"))
          .length
      }`;
    for (let i = 1; i < hits.length; i++) {
      const gapMs = (hits[i] as UpstreamHit).atMs - (hits[i - 1] as UpstreamHit).atMs;
      expect(gapMs, explain()).toBeGreaterThanOrEqual(BREAKER.openSeconds * 1000 - 50);
    }
  }

  it.each([2, 8])(
    'vendor outage, %i instances: once the first opens, the others call nothing but one probe per openSeconds',
    async (size) => {
      // Prepare
      const fleet = fleetOf(size, `outage-first-${size}`, OUTAGE_SETTINGS);
      upstream.failing = true;
      const from = upstream.hits.length;

      // Act: the first instance alone until its breaker opens, then one refresh, then the whole fleet.
      let first = await fleet.call(0);
      for (let i = 0; first.body.error?.code !== 'CIRCUIT_BREAKER_OPEN' && i < 2 * BREAKER.minimumCalls; i++)
        first = await fleet.call(0);
      // The fleet's open time: the first write of the breaker's item (its probe time is counted from the write's start).
      const openedAtMs = fleet.dynamo.log.find(
        (request) => request.kind === 'breaker' && request.write,
      )?.atMs;
      if (openedAtMs === undefined) throw new Error('the first instance did not publish its open breaker');
      expect(upstream.hits.length - from).toBe(BREAKER.minimumCalls);
      await sleep(BREAKER.refreshMs + SCHEDULING_SLACK_MS);
      const fleetFromMs = performance.now();
      const answers = await drive(fleet, OUTAGE_CALLS_PER_SECOND, OUTAGE_SECONDS);
      const endMs = performance.now();

      // Assess
      const hits = upstream.hits.slice(from + BREAKER.minimumCalls);
      // No instance calls before the open time is over; then one probe per openSeconds, fleet-wide.
      expect(hits.filter((hit) => hit.atMs < openedAtMs + BREAKER.openSeconds * 1000 - 50)).toEqual([]);
      expectProbesOnly(hits, openedAtMs);
      expect(hits.length).toBeGreaterThanOrEqual(1);
      // The bound does not depend on the fleet's size: minimumCalls + one probe per openSeconds.
      const bound = BREAKER.minimumCalls + Math.ceil((endMs - openedAtMs) / (BREAKER.openSeconds * 1000)) + 1;
      expect(upstream.hits.length - from).toBeLessThanOrEqual(bound);
      // Every instance answered CIRCUIT_BREAKER_OPEN itself, learnt from the table.
      const refusing = new Set(
        answers.filter((answer) => answer.code === 'CIRCUIT_BREAKER_OPEN').map((answer) => answer.instance),
      );
      expect(refusing.size).toBe(size);
      expect(answers.filter((answer) => answer.atMs < fleetFromMs)).toEqual([]);
    },
    60_000,
  );

  it.each([2, 8])(
    'vendor outage, %i instances called from the start: a bound that does not grow with N after the first opens',
    async (size) => {
      // Prepare
      const fleet = fleetOf(size, `outage-all-${size}`, OUTAGE_SETTINGS);
      upstream.failing = true;
      const from = upstream.hits.length;

      // Act
      const answers = await drive(fleet, OUTAGE_CALLS_PER_SECOND, OUTAGE_SECONDS);
      const endMs = performance.now();

      // Assess
      const hits = upstream.hits.slice(from);
      // The first instance's breaker opened: its write of the open state is the breaker item's first write.
      const opened = fleet.dynamo.log.find(
        (request) => request.kind === 'breaker' && request.write && request.ok,
      );
      expect(opened?.doneAtMs, 'no instance published an open breaker').toBeDefined();
      const openedAtMs = opened?.doneAtMs as number;
      // Before it: at most minimumCalls per instance (each judges its own window).
      expect(hits.filter((hit) => hit.atMs <= openedAtMs).length).toBeLessThanOrEqual(
        size * BREAKER.minimumCalls,
      );
      // After it: the calls offered during one refresh, then probes; the same bound for 2 and 8 instances.
      const afterOpen = hits.filter((hit) => hit.atMs > openedAtMs);
      expect(afterOpen.length).toBeLessThanOrEqual(boundAfterOpen(endMs - openedAtMs));
      // Once every instance has refreshed, only half-open probes reach the upstream.
      const probes = hits.filter((hit) => hit.atMs > openedAtMs + BREAKER.refreshMs + SCHEDULING_SLACK_MS);
      expectProbesOnly(probes, openedAtMs);
      expect(probes.length).toBeGreaterThanOrEqual(1);
      const refusing = new Set(
        answers.filter((answer) => answer.code === 'CIRCUIT_BREAKER_OPEN').map((answer) => answer.instance),
      );
      expect(refusing.size).toBe(size);
    },
    60_000,
  );

  it('recovery: after a successful probe every instance calls again within refreshMs', async () => {
    // Prepare
    const size = 4;
    const fleet = fleetOf(size, 'recovery', OUTAGE_SETTINGS);
    upstream.failing = true;
    await drive(fleet, OUTAGE_CALLS_PER_SECOND, 2);

    // Act
    upstream.failing = false;
    // Calls until the first success (the half-open probe), then one refresh more, for each instance.
    let closed = false;
    for (let round = 0; !closed && round < 200; round++) {
      const answers = await drive(fleet, OUTAGE_CALLS_PER_SECOND, 0.25);
      closed = answers.some((answer) => answer.status === 200);
    }
    expect(closed).toBe(true);
    await sleep(BREAKER.refreshMs + SCHEDULING_SLACK_MS);
    const after = await Promise.all(Array.from({ length: size }, (_, i) => fleet.call(i)));

    // Assess
    expect(after.map((result) => result.status)).toEqual(Array(size).fill(200));
  }, 60_000);
});

describe('a fleet sharing its rate limit', () => {
  it.each([2, 8])(
    `%i instances at full load: the upstream sees ${LIMIT_PER_SECOND} req/s ± 10 %`,
    async (size) => {
      // Prepare
      const fleet = fleetOf(size, `limit-${size}`, {
        retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
        rateLimit: {
          scope: 'shared',
          requestsPerSecond: LIMIT_PER_SECOND,
          burst: LIMIT_PER_SECOND,
          leaseSize: 2,
        },
      });
      upstream.failing = false;
      const from = upstream.hits.length;
      const seconds = 4;
      const startedAtMs = performance.now();
      const stopAtMs = startedAtMs + seconds * 1000 + 100;
      let refused = 0;

      // Act: two callers per instance, each calling again at once after a success and 20 ms after a refusal.
      await Promise.all(
        Array.from({ length: size * 2 }, async (_, worker) => {
          while (performance.now() < stopAtMs) {
            const result = await fleet.call(worker % size);
            if (result.body.error?.code === 'RATE_LIMIT_EXCEEDED') {
              refused += 1;
              await sleep(20);
            } else expect(result.status).toBe(200);
          }
        }),
      );

      // Assess: after the first second (the burst), each second's count and their mean.
      const perSecond = hitsPerSecond(upstream.hits.slice(from), startedAtMs + 1000, seconds - 1);
      const mean = perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
      expect(refused, 'the offered load never exceeded the limit').toBeGreaterThan(0);
      expect(mean, `per second: ${perSecond.join(', ')}`).toBeGreaterThanOrEqual(LIMIT_PER_SECOND * 0.9);
      expect(mean, `per second: ${perSecond.join(', ')}`).toBeLessThanOrEqual(LIMIT_PER_SECOND * 1.1);
      for (const count of perSecond) expect(count).toBeLessThanOrEqual(Math.ceil(LIMIT_PER_SECOND * 1.1));
    },
    60_000,
  );
});

describe('DynamoDB requests per call in steady state', () => {
  const size = 4;
  const callsPerSecond = 100;
  const seconds = 3;

  /** A warm fleet of `size` with `settings`, then `seconds` of healthy calls counted from zero. */
  async function steadyCalls(
    name: string,
    settings: Record<string, unknown>,
  ): Promise<{ fleet: Fleet; calls: number }> {
    const fleet = fleetOf(size, name, {
      retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
      ...settings,
    });
    upstream.failing = false;
    await drive(fleet, callsPerSecond, 1);
    fleet.dynamo.reset();
    const answers = await drive(fleet, callsPerSecond, seconds);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    return { fleet, calls: answers.length };
  }

  it('the shared breaker writes nothing and reads at most once per refreshMs per instance', async () => {
    // Prepare
    const refreshMs = 500;

    // Act
    const { fleet } = await steadyCalls('steady-breaker', {
      circuitBreaker: { scope: 'shared', refreshMs },
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    });

    // Assess
    const refreshes = size * (Math.ceil((seconds * 1000 + SCHEDULING_SLACK_MS) / refreshMs) + 1);
    expect(fleet.dynamo.writes('breaker')).toBe(0);
    expect(fleet.dynamo.total('breaker')).toBeGreaterThan(0);
    expect(fleet.dynamo.total('breaker')).toBeLessThanOrEqual(refreshes);
  }, 60_000);

  it('the shared limit writes about once per leaseSize calls', async () => {
    // Prepare
    const leaseSize = 10;

    // Act
    const { fleet, calls } = await steadyCalls('steady-limit', {
      rateLimit: { scope: 'shared', requestsPerSecond: 1_000, burst: 1_000, leaseSize },
    });

    // Assess: one successful lease write per leaseSize calls, plus a lease per instance begun in the
    // measured time. A lease whose guess of the item's state was wrong costs one failed
    // conditional write more (a write unit too), so all requests stay within twice that.
    const leases = Math.ceil(calls / leaseSize) + size;
    const leaseWrites = fleet.dynamo.log.filter((request) => request.kind === 'rateLimit' && request.write);
    const succeeded = leaseWrites.filter((request) => request.ok).length;
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThanOrEqual(leases);
    expect(fleet.dynamo.total('rateLimit')).toBeLessThanOrEqual(2 * leases);
  }, 60_000);
});
