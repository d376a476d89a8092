/**
 * Test doubles of the local asynchronous path: a settable clock, a wait for a condition, and a fake
 * connector handler that treats SQS batches the way the runtime does (changeVisibility and a batch
 * item failure for a retry, deadLetter or requeue and success otherwise), deciding each record's fate
 * with a function of the test.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ErrorCode, ErrorSource } from '../../functions/shared/errors.js';
import {
  INVOCATION_FAILED,
  INVOCATION_SUCCEEDED,
  MESSAGE_ATTRIBUTE,
  type QueueMessage,
  type QueuePort,
  type ResultPublisher,
} from '../../functions/shared/runtime/async-contract.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';

/** A clock that moves only when told. */
export interface FakeClock {
  now(): number;
  /** Moves the clock forward by `seconds` (fractional allowed). */
  advance(seconds: number): void;
}

/** A {@link FakeClock} starting at 2026-01-02T03:04:05Z. */
export function fakeClock(startMs = Date.parse('2026-01-02T03:04:05Z')): FakeClock {
  let current = startMs;
  return {
    now: () => current,
    advance: (seconds) => {
      current += seconds * 1000;
    },
  };
}

/**
 * Resolves once `condition` holds, checking every few ms; fails after `timeoutMs` with `what`, so a
 * test that waits for something that never comes says what it waited for. The bound is generous
 * (a minute): it only ends a wait for something that will never come, never a slow machine's wait.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What the fake handler does with one record. */
export type FakeDecision =
  | { kind: 'succeed'; output?: unknown }
  | { kind: 'retry'; backoffSeconds: number }
  | { kind: 'deadLetter'; code: ErrorCode; message: string; source: ErrorSource; upstreamStatus?: number }
  | { kind: 'requeue'; delaySeconds: number };

/** What the fake's decision function is told about one record. */
export interface FakeRecordInfo {
  record: SQSRecord;
  /** PriorAttempts + ApproximateReceiveCount, as the runtime counts. */
  attempt: number;
  /** The body, parsed (the raw body when it is not JSON). */
  event: unknown;
}

/** Options of {@link fakeAsyncHandler}. */
export interface FakeAsyncHandlerOptions {
  connector: string;
  queue: QueuePort | undefined;
  results?: ResultPublisher | undefined;
  /** Decides each record's fate; a throw fails the record without touching the queue. @default succeed */
  decide?: (info: FakeRecordInfo) => FakeDecision | Promise<FakeDecision>;
}

/** A fake connector handler and what it was given. */
export interface FakeAsyncHandler {
  /** Serves SQS events as the runtime does; answers any other event with a 200 envelope. */
  handler: (event: unknown, context: Context) => Promise<unknown>;
  /** The SQS events it was called with, in order. */
  batches: SQSEvent[];
  /** Every record it saw, with the attempt it counted. */
  records: Array<{ record: SQSRecord; attempt: number }>;
  /** The same function typed as the runtime's handler, for the gateway's `createHandler` option. */
  asConnectorHandler(): ConnectorHandler;
}

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && (records[0] as SQSRecord | undefined)?.eventSource === 'aws:sqs';
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** A fake of the runtime's SQS handling (see the module comment). */
export function fakeAsyncHandler(options: FakeAsyncHandlerOptions): FakeAsyncHandler {
  const batches: SQSEvent[] = [];
  const records: FakeAsyncHandler['records'] = [];
  const decide = options.decide ?? ((): FakeDecision => ({ kind: 'succeed' }));

  async function handleRecord(record: SQSRecord): Promise<boolean> {
    const { queue, results } = options;
    if (!queue) throw new Error('the fake handler was built without a queue');
    const prior = Number(record.messageAttributes[MESSAGE_ATTRIBUTE.priorAttempts]?.stringValue ?? 0);
    const attempt = prior + Number(record.attributes.ApproximateReceiveCount);
    records.push({ record, attempt });
    const message: QueueMessage = { body: record.body, receiptHandle: record.receiptHandle };
    const event = parse(record.body) as {
      id?: string;
      detail?: { operation?: string; idempotencyKey?: string };
    };
    const base = {
      connector: options.connector,
      operation: event.detail?.operation ?? '',
      idempotencyKey: event.detail?.idempotencyKey ?? event.id ?? '',
      requestId: record.messageId,
      eventId: event.id ?? '',
      attempts: attempt,
    };
    const decision = await decide({ record, attempt, event });
    switch (decision.kind) {
      case 'succeed':
        await results?.publish([
          { detailType: INVOCATION_SUCCEEDED, detail: { ...base, output: decision.output ?? null } },
        ]);
        return true;
      case 'retry':
        await queue.changeVisibility(message, decision.backoffSeconds);
        return false;
      case 'deadLetter':
        await queue.deadLetter(message, {
          [MESSAGE_ATTRIBUTE.errorCode]: decision.code,
          [MESSAGE_ATTRIBUTE.errorMessage]: decision.message,
          [MESSAGE_ATTRIBUTE.errorSource]: decision.source,
          [MESSAGE_ATTRIBUTE.attempts]: String(attempt),
          ...(decision.upstreamStatus === undefined
            ? {}
            : { [MESSAGE_ATTRIBUTE.upstreamStatus]: String(decision.upstreamStatus) }),
          [MESSAGE_ATTRIBUTE.deadLetteredAt]: '2026-01-02T03:04:05.000Z',
        });
        await results?.publish([
          {
            detailType: INVOCATION_FAILED,
            detail: {
              ...base,
              error: {
                code: decision.code,
                message: decision.message,
                source: decision.source,
                retryable: false,
                ...(decision.upstreamStatus === undefined ? {} : { upstreamStatus: decision.upstreamStatus }),
              },
            },
          },
        ]);
        return true;
      case 'requeue':
        await queue.requeue(message, decision.delaySeconds, {
          [MESSAGE_ATTRIBUTE.priorAttempts]: String(attempt - 1),
        });
        return true;
    }
  }

  const handler = async (event: unknown, _context: Context): Promise<unknown> => {
    if (!isSqsEvent(event)) {
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"data":"fake"}' };
    }
    batches.push(event);
    const response: SQSBatchResponse = { batchItemFailures: [] };
    for (const record of event.Records) {
      let done = false;
      try {
        done = await handleRecord(record);
      } catch {
        done = false;
      }
      if (!done) response.batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return response;
  };
  return {
    handler,
    batches,
    records,
    // The fake has no HTTP client: only the gateway's calls are served.
    asConnectorHandler: () => handler as unknown as ConnectorHandler,
  };
}
