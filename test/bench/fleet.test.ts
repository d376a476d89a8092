/**
 * The fleet figures of `npm run bench` (scripts/bench/fleet.ts): the DynamoDB request counter, the
 * table rows, and one tiny steady-state run. Nothing here is timed: speed is the bench's to report.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import {
  countDynamoRequests,
  dynamoRequestCounter,
  fleetFigures,
  fleetSteadyState,
  localDynamoClient,
  paced,
  type SteadyStateFigures,
  stateKindOf,
} from '../../scripts/bench/fleet.js';
import { startUpstream, type Upstream } from '../../scripts/bench/upstream.js';
import { captureOutput } from '../support/fakes.js';

let dynamo: LocalDynamoDB;

beforeAll(async () => {
  dynamo = await startLocalDynamoDB({ tableName: 'bench-fleet-test' });
});

afterAll(async () => {
  await dynamo?.close();
});

describe('fleet bench: counting DynamoDB requests', () => {
  it('tells the state kinds apart by the key prefix', () => {
    expect(stateKindOf('breaker#stripe')).toBe('breaker');
    expect(stateKindOf('ratelimit#stripe#lease')).toBe('rateLimit');
    expect(stateKindOf('stripe-connector#abc123')).toBe('idempotency');
    expect(stateKindOf(undefined)).toBe('idempotency');
  });

  it('counts each request by kind and command, writes apart, and starts again on reset', async () => {
    // Prepare
    const counter = dynamoRequestCounter();
    const client = countDynamoRequests(localDynamoClient(dynamo.endpoint), counter);
    const TableName = dynamo.tableName;
    try {
      // Act
      await client.send(new PutItemCommand({ TableName, Item: { id: { S: 'breaker#example' } } }));
      await client.send(new GetItemCommand({ TableName, Key: { id: { S: 'breaker#example' } } }));
      await client.send(new GetItemCommand({ TableName, Key: { id: { S: 'ratelimit#example' } } }));
      await client.send(new GetItemCommand({ TableName, Key: { id: { S: 'example#key' } } }));

      // Assess
      expect(counter.byKind).toEqual({
        breaker: { PutItem: 1, GetItem: 1 },
        rateLimit: { GetItem: 1 },
        idempotency: { GetItem: 1 },
      });
      expect(counter.total('breaker')).toBe(2);
      expect(counter.writes('breaker')).toBe(1);
      expect(counter.writes('rateLimit')).toBe(0);
      expect(counter.log.map((request) => [request.kind, request.command, request.ok])).toEqual([
        ['breaker', 'PutItem', true],
        ['breaker', 'GetItem', true],
        ['rateLimit', 'GetItem', true],
        ['idempotency', 'GetItem', true],
      ]);
      counter.reset();
      expect(counter.total('breaker')).toBe(0);
      expect(counter.log).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('paces calls and resolves with their number once the last has ended', async () => {
    let ended = 0;
    const calls = await paced(200, 0.05, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      ended += 1;
    });
    expect(calls).toBe(10);
    expect(ended).toBe(10);
  });
});

describe('fleet bench: table rows', () => {
  const figures = (breakerWrites: number, leaseWrites: number, failedWrites = 0): SteadyStateFigures => ({
    breaker: {
      calls: 500,
      perCall: 0.04,
      writesPerCall: breakerWrites,
      failedWritesPerCall: 0,
      byCommand: { GetItem: 0.04 },
    },
    rateLimit: {
      calls: 500,
      perCall: leaseWrites + failedWrites,
      writesPerCall: leaseWrites + failedWrites,
      failedWritesPerCall: failedWrites,
      byCommand: { UpdateItem: leaseWrites + failedWrites },
    },
    settings: {
      instances: 4,
      callsPerSecond: 100,
      requestsPerSecond: 1_000,
      refreshMs: 1_000,
      leaseSize: 10,
    },
  });

  it('meets both goals with no breaker write and one lease write per leaseSize calls', () => {
    const rows = fleetFigures(figures(0, 0.1, 0.05), 5);
    expect(rows.map((row) => row.verdict)).toEqual(['met', 'met']);
    expect(rows[0]?.measured).toBe('0.040 (GetItem 0.040); writes 0.000');
    expect(rows[1]?.goal).toBe('≤ 1 lease write per leaseSize (10) calls');
    expect(rows[1]?.measured).toBe(
      '0.150 (UpdateItem 0.150); lease writes 0.100, failed conditional writes 0.050',
    );
  });

  it('misses them with a breaker write in steady state, or a lease write per call', () => {
    const rows = fleetFigures(figures(0.002, 1), 5);
    expect(rows.map((row) => row.verdict)).toEqual(['NOT met', 'NOT met']);
  });
});

describe('fleet bench: a tiny steady-state run', () => {
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterAll(async () => {
    await upstream?.close();
  });

  it('measures both features, and the breaker writes nothing while calls succeed', async () => {
    captureOutput();
    const steady = await fleetSteadyState(upstream, dynamo, { instances: 2, callsPerSecond: 20, seconds: 1 });
    expect(steady.breaker.calls).toBe(20);
    expect(steady.settings.instances).toBe(2);
    expect(steady.breaker.writesPerCall).toBe(0);
    expect(steady.settings.refreshMs).toBeGreaterThan(0);
    const rows = fleetFigures(steady, 1);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.name).toMatch(/^shared breaker: DynamoDB requests per call/);
  }, 60_000);
});
