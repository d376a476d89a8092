/**
 * The catalogue of the chaos suite: every fault it injects, where it is injected and what a call
 * under it may end with. Shared by `test/chaos/faults.test.ts` and `npm run chaos`.
 */
import type { DynamoFault, SecretsFault } from './dependencies.js';
import { UPSTREAM_FAULTS, type UpstreamFault } from './fault-upstream.js';

/** The two ways into a connector. */
export type ChaosPath = 'api' | 'async';

/** One fault of the suite. */
export interface ChaosFault {
  /** Its name in the table. */
  name: string;
  /** What the upstream does (`ok` when the fault is elsewhere). */
  upstream: UpstreamFault;
  /** A DynamoDB fault on the idempotency store. */
  dynamo?: DynamoFault;
  /** A Secrets Manager fault on every other read of the connector's secret. */
  secrets?: SecretsFault;
  /** The SQS port throws the first time each message is sent to each of its methods. */
  queueFailFirst?: boolean;
  /** The EventBridge publisher throws the first time each event's result is published. */
  resultsFailFirst?: boolean;
  /** Fields of the chaos connector's config to override (e.g. a low `rateLimit`). */
  config?: Record<string, unknown>;
  /** The paths it runs on (SQS and EventBridge exist only on the asynchronous path). */
  paths: readonly ChaosPath[];
  /**
   * What a call may end with, by path (see {@link outcomeLabel}); any other ending is counted as
   * unexpected. Absent: anything but `INTERNAL_ERROR` and `unfinished`.
   */
  expected?: Partial<Record<ChaosPath, readonly string[]>>;
  /**
   * API path: after a call's last answer, the caller sends the same request (same key) once more,
   * after the in-progress record has expired: a side effect must not be repeated then either.
   */
  duplicateAfterInProgress?: boolean;
}

/** What a dependency fault's call may end with: the vendor's answer, or the retryable dependency error. */
const DEPENDENCY_EXPECTED = {
  api: ['200', '503 DEPENDENCY_UNAVAILABLE', '409 REQUEST_IN_PROGRESS'],
  // The fault is transient, and the suite's own failures never spend an event's attempts.
  async: ['succeeded'],
} as const;

const upstreamFaults: ChaosFault[] = (Object.keys(UPSTREAM_FAULTS) as UpstreamFault[])
  .filter((fault) => fault !== 'ok')
  .map((fault) => ({ name: `upstream ${fault}`, upstream: fault, paths: ['api', 'async'] }));

/** Every fault of the suite, in table order. */
export const CHAOS_FAULTS: readonly ChaosFault[] = [
  ...upstreamFaults,
  {
    name: 'dynamodb throttling',
    upstream: 'ok',
    dynamo: { commands: ['PutItemCommand'], kind: 'throttling' },
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'dynamodb 5xx',
    upstream: 'ok',
    dynamo: { commands: ['PutItemCommand'], kind: 'server' },
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'dynamodb timeout',
    upstream: 'ok',
    dynamo: { commands: ['PutItemCommand'], kind: 'timeout' },
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'dynamodb success write failed',
    upstream: 'ok',
    dynamo: { commands: ['UpdateItemCommand'], kind: 'server', successWriteOnly: true },
    paths: ['api', 'async'],
    // The vendor acted: the caller gets its answer (issue 8, defect 1).
    expected: { api: ['200', '409 REQUEST_IN_PROGRESS'], async: ['succeeded'] },
    duplicateAfterInProgress: true,
  },
  {
    name: 'secrets manager throttling',
    upstream: 'ok',
    secrets: 'throttling',
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'secrets manager 5xx',
    upstream: 'ok',
    secrets: 'server',
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'secrets manager timeout',
    upstream: 'ok',
    secrets: 'timeout',
    paths: ['api', 'async'],
    expected: DEPENDENCY_EXPECTED,
  },
  {
    name: 'sqs send failed (retry)',
    upstream: 'unavailable-three-times',
    queueFailFirst: true,
    paths: ['async'],
    expected: { async: ['succeeded'] },
  },
  {
    name: 'sqs send failed (dead letter)',
    upstream: 'unauthorized-forever',
    queueFailFirst: true,
    paths: ['async'],
    expected: { async: ['dead-lettered AUTHENTICATION_ERROR'] },
  },
  {
    // The connector's own throttling delays an event and never dead-letters it (issue 8, defect 6).
    name: 'connector rate limit',
    upstream: 'ok',
    config: { rateLimit: { requestsPerSecond: 2, burst: 1 } },
    paths: ['api', 'async'],
    expected: { api: ['200', '429 RATE_LIMIT_EXCEEDED'], async: ['succeeded'] },
  },
  {
    name: 'eventbridge publish failed',
    upstream: 'ok',
    resultsFailFirst: true,
    paths: ['async'],
    expected: { async: ['succeeded'] },
  },
];
