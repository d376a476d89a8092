/**
 * The runner of the chaos suite: runs calls under one {@link ChaosFault} through the real http
 * connector handler, on the API path (API Gateway proxy events, a caller that retries what the
 * suite calls retryable) or the asynchronous path (SQS events, redelivered as SQS would until each
 * event succeeds or is dead-lettered), and counts what the table of `npm run chaos` shows.
 *
 * Timing (the same for every fault): each invocation gets a Lambda context with
 * {@link FUNCTION_TIMEOUT_MS} left and the connector keeps {@link DEADLINE_MARGIN_MS} back, so its
 * deadline is 1,000 ms after the invocation starts. An invocation that answers later than
 * deadline + {@link CHAOS_MARGIN_MS} (1,250 ms; still before the function would time out) is
 * counted as **past deadline + margin**. Durations are measured with `Date.now()`, the clock the
 * runtime computes its deadline with.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import { httpConnector } from '../../../functions/http/connector.js';
import { type HttpConnectorConfig, parseConnectorConfig } from '../../../functions/shared/config.js';
import { SecretsManagerCredentialStore } from '../../../functions/shared/credentials/secrets-manager.js';
import { acceptSecret, type CredentialStore } from '../../../functions/shared/credentials/store.js';
import { redactor } from '../../../functions/shared/redaction.js';
import {
  type ConnectorDependencies,
  type ConnectorHandler,
  INVOCATION_REQUESTED,
  MESSAGE_ATTRIBUTE,
} from '../../../functions/shared/runtime/index.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../../local/dynamodb.js';
import {
  connectorProxyEvent,
  lambdaContext,
  type SqsDelivery,
  sqsEvent,
} from '../../../local/lambda-events.js';
import { faultyDynamoClient, faultySecretsClient, RecordingQueue, RecordingResults } from './dependencies.js';
import { FAULT_PATH_PREFIX, type FaultUpstream, startFaultUpstream } from './fault-upstream.js';
import type { ChaosFault, ChaosPath } from './faults.js';

/** The remaining time of every invocation's Lambda context, in ms. */
export const FUNCTION_TIMEOUT_MS = 1_500;
/** The connector's `deadlineMarginMs`: its deadline is {@link FUNCTION_TIMEOUT_MS} minus this. */
export const DEADLINE_MARGIN_MS = 500;
/**
 * How long after its deadline an invocation may still answer, in ms: the time to build an answer
 * on a loaded 2-core machine. Less than {@link DEADLINE_MARGIN_MS}, so a call within it also
 * answers before its function would time out.
 */
export const CHAOS_MARGIN_MS = 250;
/** The connector's per-attempt timeout, in ms. */
export const ATTEMPT_TIMEOUT_MS = 300;
/** Retries of an API caller after an answer that says `retryable: true`. */
export const CALLER_RETRIES = 2;
/** The longest an API caller waits before a retry, whatever the `Retry-After`, in ms. */
export const CALLER_MAX_WAIT_MS = 300;
/** The longest simulated SQS delay or visibility timeout, in ms (time is compressed, not skipped). */
export const REDELIVERY_WAIT_CAP_MS = 500;
/**
 * The longest simulated delay of a requeued event, in ms. Longer than the redelivery cap: the
 * connector's own rate limit requeues an event until the bucket's next free slot, which real time
 * (the bucket's clock) has to reach, or the event would come back to a still empty bucket until the
 * simulation gives up.
 */
export const REQUEUE_WAIT_CAP_MS = 3_000;
/** Deliveries of one event after which the simulation gives up and calls it unfinished. */
export const MAX_DELIVERIES = 20;
/** The chaos connector's `async.maxReceiveCount`. */
export const MAX_RECEIVE_COUNT = 4;

/** The name of the chaos connector. */
export const CHAOS_CONNECTOR = 'chaos';
/** Its secret: an obviously fake token. */
export const CHAOS_TOKEN = 'tok-example';

/** What the chaos suite runs against: the fault upstream and an embedded DynamoDB. */
export interface ChaosEnvironment {
  upstream: FaultUpstream;
  dynamo: LocalDynamoDB;
}

/** One row of the chaos table. */
export interface FaultReport {
  fault: string;
  path: ChaosPath;
  /** Handler invocations (API: every call and caller retry; async: every delivery). */
  calls: number;
  /** API: answers by `status code`; async: how each event ended. */
  answers: Record<string, number>;
  /** Answers, dead letters or result events with `INTERNAL_ERROR`, and invocations that threw. Must be 0. */
  internalErrors: number;
  /** Invocations that answered later than deadline + {@link CHAOS_MARGIN_MS}. Must be 0. */
  pastDeadline: number;
  /** POSTs that reached the upstream again after it had finished a 2xx for the same call. Must be 0. */
  repeatedSideEffects: number;
  /** Requests that reached the other origin or a path outside the allowed prefix. Must be 0. */
  escaped: number;
  /** Calls that ended in a way the fault does not allow (see {@link ChaosFault.expected}). Must be 0. */
  unexpected: number;
  /**
   * Async: events that ended without a published result event. Must be 0: a failed publish fails
   * the record, which is redelivered and answered from the idempotency store (issue 8, defect 8).
   * Always 0 on the API path, which publishes none.
   */
  resultsLost: number;
  /** The longest invocation, in ms. */
  maxDurationMs: number;
}

/** The columns that must be 0 for the suite to pass. */
export const MUST_BE_ZERO = [
  'internalErrors',
  'pastDeadline',
  'repeatedSideEffects',
  'escaped',
  'unexpected',
  'resultsLost',
] as const;

/** Whether every must-be-zero column of `report` is 0. */
export function passes(report: FaultReport): boolean {
  return MUST_BE_ZERO.every((column) => report[column] === 0);
}

/**
 * The longest `Retry-After` an answer may carry, in seconds (one day): a vendor's
 * `Retry-After: 999999999` must not reach the caller as is (issue 8, defect 13). Whatever cap the
 * runtime picks, it is below this.
 */
export const MAX_ANSWER_RETRY_AFTER_SECONDS = 86_400;

/** The chaos connector's config over the fault upstream, with `overrides` on top. */
export function chaosConfig(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
): HttpConnectorConfig {
  const config = parseConnectorConfig(
    {
      name: CHAOS_CONNECTOR,
      kind: 'http',
      baseUrl: upstreamUrl,
      auth: { type: 'bearer', secret: CHAOS_CONNECTOR },
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: [FAULT_PATH_PREFIX],
      forwardIdempotencyKey: true,
      timeoutMs: ATTEMPT_TIMEOUT_MS,
      deadlineMarginMs: DEADLINE_MARGIN_MS,
      functionTimeoutSeconds: Math.ceil(FUNCTION_TIMEOUT_MS / 1000),
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterSeconds: 1 },
      // The breaker is not under test here: keep it from opening across the calls of a fault.
      circuitBreaker: { minimumCalls: 1_000 },
      idempotencyTtlSeconds: 600,
      async: { maxReceiveCount: MAX_RECEIVE_COUNT, backoffBaseSeconds: 0.05, backoffMaxSeconds: 0.2 },
      ...overrides,
    },
    'chaos',
    { allowLoopbackHttp: true },
  );
  if (config.kind !== 'http') throw new Error('the chaos connector is an http connector');
  return config;
}

/** A credential store holding the chaos token (registered for redaction, like the real ones). */
function memoryCredentials(): CredentialStore {
  return {
    getSecret: async (name) => acceptSecret(name, 'the chaos suite', { token: CHAOS_TOKEN }, redactor),
  };
}

interface Harness {
  handler: ConnectorHandler;
  queue: RecordingQueue;
  results: RecordingResults;
}

function buildHarness(env: ChaosEnvironment, fault: ChaosFault): Harness {
  const queue = new RecordingQueue(fault.queueFailFirst ?? false);
  const results = new RecordingResults(fault.resultsFailFirst ?? false);
  const dynamoClient = fault.dynamo ? faultyDynamoClient(env.dynamo, fault.dynamo) : env.dynamo.client;
  const credentials = fault.secrets
    ? new SecretsManagerCredentialStore({
        client: faultySecretsClient(JSON.stringify({ token: CHAOS_TOKEN }), fault.secrets),
        maxAgeSeconds: 0,
      })
    : memoryCredentials();
  const deps: ConnectorDependencies<HttpConnectorConfig> = {
    config: chaosConfig(env.upstream.url, fault.config),
    credentials,
    idempotency: { dynamoClient, tableName: env.dynamo.tableName },
    allowLoopbackHttp: true,
    queue,
    results,
  };
  return { handler: httpConnector.createHandler(deps), queue, results };
}

/** The body of every chaos call: a POST to the fault's path (a side effect at the vendor). */
function requestInput(fault: ChaosFault, call: number) {
  return { method: 'POST', path: `${FAULT_PATH_PREFIX}/${fault.upstream}`, body: { call } };
}

/** A report with nothing counted yet. */
function emptyReport(fault: ChaosFault, path: ChaosPath): FaultReport {
  return {
    fault: fault.name,
    path,
    calls: 0,
    answers: {},
    internalErrors: 0,
    pastDeadline: 0,
    repeatedSideEffects: 0,
    escaped: 0,
    unexpected: 0,
    resultsLost: 0,
    maxDurationMs: 0,
  };
}

function count(answers: Record<string, number>, label: string): void {
  answers[label] = (answers[label] ?? 0) + 1;
}

/** Runs `invoke` with a fresh Lambda context and counts its timing in `report`. */
async function timed<T>(
  report: FaultReport,
  invoke: (context: ReturnType<typeof lambdaContext>) => Promise<T>,
) {
  const context = lambdaContext(`connector-suite-chaos-${CHAOS_CONNECTOR}`, FUNCTION_TIMEOUT_MS);
  const startedAt = Date.now();
  const deadlineAt = startedAt + FUNCTION_TIMEOUT_MS - DEADLINE_MARGIN_MS;
  report.calls += 1;
  try {
    return { ok: true as const, value: await invoke(context) };
  } catch (error) {
    return { ok: false as const, error };
  } finally {
    const endedAt = Date.now();
    report.maxDurationMs = Math.max(report.maxDurationMs, endedAt - startedAt);
    if (endedAt > deadlineAt + CHAOS_MARGIN_MS) report.pastDeadline += 1;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of {@link runFault}. */
export interface RunOptions {
  /** Calls (API) or events (async) to run. */
  calls: number;
}

/**
 * Runs `options.calls` calls under `fault` on `path` through a fresh handler (fresh breaker, rate
 * limit and caches) and returns its row of the table.
 */
export async function runFault(
  env: ChaosEnvironment,
  fault: ChaosFault,
  path: ChaosPath,
  options: RunOptions,
): Promise<FaultReport> {
  const harness = buildHarness(env, fault);
  const report = emptyReport(fault, path);
  const mark = env.upstream.requests.length;
  const runId = randomUUID().slice(0, 8);
  const calls = Array.from({ length: options.calls }, (_, i) => i + 1);
  if (path === 'api') {
    // One call after the other, as one caller would; the caller's retries are part of the call.
    for (const call of calls) await apiCall(harness, fault, report, `chaos-${runId}-${call}`, call);
  } else {
    await Promise.all(
      calls.map((call) => asyncEvent(harness, fault, report, `chaos-${runId}-evt-${call}`, call)),
    );
  }
  const received = env.upstream.since(mark);
  report.repeatedSideEffects = received.filter((request) => request.repeated).length;
  report.escaped = received.filter((request) => request.escaped).length;
  return report;
}

/** Whether `label` is an ending the fault allows on `path`. */
function allowed(fault: ChaosFault, path: ChaosPath, label: string): boolean {
  const expected = fault.expected?.[path];
  if (expected) return expected.includes(label);
  return !label.includes('INTERNAL_ERROR') && label !== 'unfinished' && label !== 'threw';
}

/** The label of an API answer: its status, and the error code when it is an error. */
export function outcomeLabel(result: APIGatewayProxyResult): {
  label: string;
  retryAfterMs: number | undefined;
  retryable: boolean;
} {
  let body: { error?: { code?: string; retryable?: boolean; retryAfterSeconds?: number } } = {};
  try {
    body = JSON.parse(result.body);
  } catch {
    return { label: `${result.statusCode} (not JSON)`, retryAfterMs: undefined, retryable: false };
  }
  const error = body.error;
  if (!error) return { label: String(result.statusCode), retryAfterMs: undefined, retryable: false };
  return {
    label: `${result.statusCode} ${error.code}`,
    retryAfterMs: error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000,
    retryable: error.retryable === true,
  };
}

async function apiCall(harness: Harness, fault: ChaosFault, report: FaultReport, key: string, call: number) {
  const invokeOnce = async (): Promise<{ retryable: boolean; retryAfterMs: number | undefined }> => {
    const event = connectorProxyEvent({
      connector: CHAOS_CONNECTOR,
      operation: 'request',
      headers: [
        ['content-type', 'application/json'],
        ['idempotency-key', key],
      ],
      body: JSON.stringify(requestInput(fault, call)),
      stage: 'chaos',
    });
    const outcome = await timed(report, (context) => harness.handler(event, context));
    if (!outcome.ok) {
      count(report.answers, 'threw');
      report.internalErrors += 1;
      report.unexpected += 1;
      return { retryable: false, retryAfterMs: undefined };
    }
    const { label, retryable, retryAfterMs } = outcomeLabel(outcome.value);
    const uncapped = retryAfterMs !== undefined && retryAfterMs > MAX_ANSWER_RETRY_AFTER_SECONDS * 1000;
    count(report.answers, uncapped ? `${label} (Retry-After ${retryAfterMs / 1000} s)` : label);
    if (label.includes('INTERNAL_ERROR')) report.internalErrors += 1;
    if (!allowed(fault, 'api', label) || uncapped) report.unexpected += 1;
    return { retryable, retryAfterMs };
  };

  for (let attempt = 0; attempt <= CALLER_RETRIES; attempt++) {
    const { retryable, retryAfterMs } = await invokeOnce();
    if (!retryable || attempt === CALLER_RETRIES) break;
    await sleep(Math.max(20, Math.min(CALLER_MAX_WAIT_MS, retryAfterMs ?? 0)));
  }
  if (fault.duplicateAfterInProgress) {
    // Powertools' in-progress record lives as long as the invocation's remaining time.
    await sleep(FUNCTION_TIMEOUT_MS + 100);
    await invokeOnce();
  }
}

/** One SQS message as the simulation keeps it. */
interface SimulatedMessage {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  receiveCount: number;
  sentAtMs: number;
  firstReceivedAtMs: number;
}

async function asyncEvent(
  harness: Harness,
  fault: ChaosFault,
  report: FaultReport,
  eventId: string,
  call: number,
) {
  const body = JSON.stringify({
    version: '0',
    id: eventId,
    'detail-type': INVOCATION_REQUESTED,
    source: 'chaos.suite',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [],
    detail: { connector: CHAOS_CONNECTOR, operation: 'request', input: requestInput(fault, call) },
  });
  const now = Date.now();
  let message: SimulatedMessage = {
    messageId: randomUUID(),
    body,
    attributes: {},
    receiveCount: 0,
    sentAtMs: now,
    firstReceivedAtMs: now,
  };
  let ending = 'unfinished';
  let endedByRuntime = false;
  for (let delivery = 1; delivery <= MAX_DELIVERIES; delivery++) {
    message.receiveCount += 1;
    const receiptHandle = `${message.messageId}#${message.receiveCount}`;
    const sqsDelivery: SqsDelivery = {
      messageId: message.messageId,
      receiptHandle,
      body: message.body,
      messageAttributes: message.attributes,
      receiveCount: message.receiveCount,
      sentAtMs: message.sentAtMs,
      firstReceivedAtMs: message.firstReceivedAtMs,
    };
    const outcome = await timed(report, (context) =>
      harness.handler(sqsEvent(CHAOS_CONNECTOR, [sqsDelivery]), context),
    );
    const actions = harness.queue.actionsOf(receiptHandle);
    const deadLetter = actions.find((action) => action.kind === 'deadLetter');
    const requeue = actions.find((action) => action.kind === 'requeue');
    const visibility = actions.find((action) => action.kind === 'changeVisibility');
    let failed: boolean;
    if (!outcome.ok) {
      // Lambda retries the whole batch of a handler that throws.
      report.internalErrors += 1;
      count(report.answers, 'threw');
      failed = true;
    } else {
      const response = outcome.value as SQSBatchResponse;
      failed = response.batchItemFailures.some((failure) => failure.itemIdentifier === message.messageId);
    }
    if (!failed && deadLetter?.kind === 'deadLetter') {
      const code = deadLetter.attributes[MESSAGE_ATTRIBUTE.errorCode] ?? 'unknown';
      ending = `dead-lettered ${code}`;
      endedByRuntime = true;
      break;
    }
    if (!failed && requeue?.kind === 'requeue') {
      await sleep(Math.min(REQUEUE_WAIT_CAP_MS, requeue.delaySeconds * 1000));
      const sentAt = Date.now();
      message = {
        messageId: randomUUID(),
        body: message.body,
        attributes: { ...requeue.attributes },
        receiveCount: 0,
        sentAtMs: sentAt,
        firstReceivedAtMs: sentAt,
      };
      continue;
    }
    if (!failed) {
      ending = 'succeeded';
      endedByRuntime = true;
      break;
    }
    if (message.receiveCount >= MAX_RECEIVE_COUNT) {
      // The inbox's redrive policy moves it to the dead-letter queue, with no error attributes.
      ending = 'moved by redrive policy';
      break;
    }
    const visibilityMs =
      visibility?.kind === 'changeVisibility' ? visibility.seconds * 1000 : REDELIVERY_WAIT_CAP_MS;
    await sleep(Math.min(REDELIVERY_WAIT_CAP_MS, visibilityMs));
  }
  count(report.answers, ending);
  if (ending.includes('INTERNAL_ERROR')) report.internalErrors += 1;
  if (!allowed(fault, 'async', ending)) report.unexpected += 1;
  if (endedByRuntime && !harness.results.has(eventId)) report.resultsLost += 1;
  const internalResult = harness.results.events.some(
    (event) => event.detail.eventId === eventId && event.detail.error?.code === 'INTERNAL_ERROR',
  );
  // A result event with INTERNAL_ERROR that did not also end the event as such.
  if (internalResult && !ending.includes('INTERNAL_ERROR')) report.internalErrors += 1;
}

/** Formats reports as the table `npm run chaos` prints (fixed-width columns). */
export function formatTable(reports: readonly FaultReport[]): string {
  const header = [
    'fault',
    'path',
    'calls',
    'answers by code',
    'INTERNAL_ERROR',
    'past deadline+margin',
    'repeated side effects',
    'escaped',
    'unexpected',
    'results lost',
    'max ms',
  ];
  const rows = reports.map((report) => [
    report.fault,
    report.path,
    String(report.calls),
    Object.entries(report.answers)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, n]) => `${label}: ${n}`)
      .join(', '),
    String(report.internalErrors),
    String(report.pastDeadline),
    String(report.repeatedSideEffects),
    String(report.escaped),
    String(report.unexpected),
    report.path === 'async' ? String(report.resultsLost) : '-',
    String(report.maxDurationMs),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** Starts the fault upstream and an embedded DynamoDB with the idempotency table. */
export async function startChaosEnvironment(): Promise<ChaosEnvironment & { close(): Promise<void> }> {
  const upstream = await startFaultUpstream();
  const dynamo = await startLocalDynamoDB({ tableName: 'connector-suite-chaos' }).catch(
    async (error: unknown) => {
      await upstream.close();
      throw error;
    },
  );
  return {
    upstream,
    dynamo,
    async close() {
      await Promise.all([upstream.close(), dynamo.close()]);
    },
  };
}
