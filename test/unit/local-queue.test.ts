/**
 * The local inbox, dead-letter queue and event source mapping (local/queue.ts): SQS semantics with a
 * clock the tests move, and the poller driving a fake handler that acts as the runtime does.
 */
import { createHash } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MESSAGE_ATTRIBUTE } from '../../functions/shared/runtime/async-contract.js';
import { md5OfMessageAttributes, sqsEvent } from '../../local/lambda-events.js';
import {
  failedRecords,
  inboxVisibilityTimeoutSeconds,
  LocalQueue,
  LocalQueueError,
  LocalQueuePoller,
  type LocalQueuePollerOptions,
  type PollerLogger,
} from '../../local/queue.js';
import {
  type FakeClock,
  type FakeDecision,
  fakeAsyncHandler,
  fakeClock,
  waitFor,
} from '../support/local-fakes.js';

const VISIBILITY = 30;

function queueWith(clock: FakeClock, overrides: { maxReceiveCount?: number } = {}): LocalQueue {
  return new LocalQueue({
    connector: 'orders',
    visibilityTimeoutSeconds: VISIBILITY,
    maxReceiveCount: overrides.maxReceiveCount ?? 5,
    now: clock.now,
  });
}

/** The QueueMessage the runtime builds from a delivery. */
function messageOf(delivery: { body: string; receiptHandle: string }) {
  return { body: delivery.body, receiptHandle: delivery.receiptHandle };
}

async function errorOf(promise: Promise<unknown>): Promise<LocalQueueError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LocalQueueError) return error;
    throw error;
  }
  throw new Error('expected a LocalQueueError');
}

function silentLogger() {
  return {
    warn: vi.fn<PollerLogger['warn']>(),
    error: vi.fn<PollerLogger['error']>(),
  };
}

describe('LocalQueue', () => {
  it('sets the visibility timeout as the stack does: six times the function timeout, at least 30 s', () => {
    // Prepare
    const short = { functionTimeoutSeconds: 3 };
    const long = { functionTimeoutSeconds: 29 };

    // Act
    const seconds = [inboxVisibilityTimeoutSeconds(short), inboxVisibilityTimeoutSeconds(long)];

    // Assess
    expect(seconds).toEqual([30, 174]);
  });

  it('hides a received message for the visibility timeout, then delivers it again with a new handle and count', () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    const messageId = queue.send('{"n":1}', { messageAttributes: { Trace: 'a' } });

    // Act
    const first = queue.receive(10);
    const whileHidden = queue.receive(10);
    clock.advance(VISIBILITY - 0.001);
    const justBefore = queue.receive(10);
    clock.advance(0.001);
    const second = queue.receive(10);

    // Assess
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      messageId,
      body: '{"n":1}',
      receiveCount: 1,
      messageAttributes: { Trace: 'a' },
    });
    expect(whileHidden).toEqual([]);
    expect(justBefore).toEqual([]);
    expect(second).toHaveLength(1);
    expect(second[0]?.messageId).toBe(messageId);
    expect(second[0]?.receiveCount).toBe(2);
    expect(second[0]?.receiptHandle).not.toBe(first[0]?.receiptHandle);
    expect(second[0]?.firstReceivedAtMs).toBe(first[0]?.firstReceivedAtMs);
  });

  it('ignores the stale handle of an earlier delivery: delete does nothing and changeVisibility is refused', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('body');
    const [first] = queue.receive();
    clock.advance(VISIBILITY);
    const [second] = queue.receive();
    if (!first || !second) throw new Error('expected two deliveries');

    // Act
    const deletedWithStale = queue.delete(first.receiptHandle);
    const refused = await errorOf(queue.changeVisibility(first.receiptHandle, 0));
    const statsAfterStale = queue.stats();
    const deletedWithCurrent = queue.delete(second.receiptHandle);

    // Assess
    expect(deletedWithStale).toBe(false);
    expect(refused.code).toBe('ReceiptHandleIsInvalid');
    expect(statsAfterStale).toMatchObject({ visible: 0, inFlight: 1 });
    expect(deletedWithCurrent).toBe(true);
    expect(queue.messages()).toEqual([]);
  });

  it('delivers a message sent with a (fractional) delay only once the delay has passed, counting it as delayed', () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('later', { delaySeconds: 0.25 });

    // Act
    const early = queue.receive();
    const statsEarly = queue.stats();
    clock.advance(0.25);
    const statsReady = queue.stats();
    const onTime = queue.receive();

    // Assess
    expect(early).toEqual([]);
    expect(statsEarly).toMatchObject({ visible: 0, delayed: 1, inFlight: 0 });
    expect(statsReady).toMatchObject({ visible: 1, delayed: 0 });
    expect(onTime.map((d) => d.body)).toEqual(['later']);
  });

  it('hands out at most the batch size, oldest first', () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    for (let i = 0; i < 5; i++) queue.send(`m${i}`);

    // Act
    const batch = queue.receive(3);
    const rest = queue.receive(3);

    // Assess
    expect(batch.map((d) => d.body)).toEqual(['m0', 'm1', 'm2']);
    expect(rest.map((d) => d.body)).toEqual(['m3', 'm4']);
  });

  it('changeVisibility (with a QueueMessage or a handle) keeps a message hidden for that backoff, as delayed', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('a');
    queue.send('b');
    const [a, b] = queue.receive();
    if (!a || !b) throw new Error('expected two deliveries');

    // Act
    await queue.changeVisibility(messageOf(a), 0.5);
    await queue.changeVisibility(b.receiptHandle, 0);
    const stats = queue.stats();
    const immediately = queue.receive();
    clock.advance(0.5);
    const afterBackoff = queue.receive();

    // Assess
    expect(stats).toMatchObject({ visible: 1, inFlight: 0, delayed: 1 });
    expect(immediately.map((d) => [d.body, d.receiveCount])).toEqual([['b', 2]]);
    expect(afterBackoff.map((d) => [d.body, d.receiveCount])).toEqual([['a', 2]]);
  });

  it('refuses what SQS refuses: a visibility beyond 12 hours, a delay beyond 900 s, a message no longer in flight', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('x');
    const [delivery] = queue.receive();
    if (!delivery) throw new Error('expected a delivery');

    // Act
    const tooLong = await errorOf(queue.changeVisibility(delivery.receiptHandle, 43_201));
    const tooLate = (() => {
      try {
        queue.send('y', { delaySeconds: 901 });
      } catch (error) {
        return error as LocalQueueError;
      }
      return undefined;
    })();
    clock.advance(VISIBILITY);
    const notInFlight = await errorOf(queue.changeVisibility(delivery.receiptHandle, 10));

    // Assess
    expect(tooLong.code).toBe('InvalidParameterValue');
    expect(tooLate?.code).toBe('InvalidParameterValue');
    expect(notInFlight.code).toBe('MessageNotInflight');
  });

  it('refuses, as SQS does, a visibility change that would hide a message past 12 hours from its receipt', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('x');
    const [delivery] = queue.receive();
    if (!delivery) throw new Error('expected a delivery');
    clock.advance(20);

    // Act
    const pastTwelveHours = await errorOf(queue.changeVisibility(delivery.receiptHandle, 43_200 - 19));
    await queue.changeVisibility(delivery.receiptHandle, 43_200 - 20);
    clock.advance(43_200 - 21);
    const extended = await errorOf(queue.changeVisibility(delivery.receiptHandle, 2));
    await queue.changeVisibility(delivery.receiptHandle, 1);

    // Assess
    expect(pastTwelveHours.code).toBe('InvalidParameterValue');
    expect(pastTwelveHours.message).toMatch(/12 hours/);
    expect(extended.code).toBe('InvalidParameterValue');
    expect(queue.messages()[0]?.visibleAtMs).toBe(clock.now() + 1_000);
  });

  it('deletes a message older than the retention, in flight or not, as SQS does, and counts it', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = new LocalQueue({
      connector: 'orders',
      visibilityTimeoutSeconds: VISIBILITY,
      maxReceiveCount: 5,
      retentionSeconds: 60,
      now: clock.now,
    });
    queue.send('in flight');
    queue.send('waiting');
    clock.advance(1);
    queue.send('younger');
    const [inFlight] = queue.receive(1);
    if (!inFlight) throw new Error('expected a delivery');

    // Act
    clock.advance(59);
    const refused = await errorOf(queue.changeVisibility(inFlight.receiptHandle, 10));

    // Assess
    expect(refused.code).toBe('ReceiptHandleIsInvalid');
    expect(queue.messages().map((m) => m.body)).toEqual(['younger']);
    expect(queue.expired).toBe(2);
    expect(
      () =>
        new LocalQueue({
          connector: 'x',
          visibilityTimeoutSeconds: 30,
          maxReceiveCount: 1,
          retentionSeconds: 59,
        }),
    ).toThrow(LocalQueueError);
    expect(
      () =>
        new LocalQueue({
          connector: 'x',
          visibilityTimeoutSeconds: 30,
          maxReceiveCount: 1,
          retentionSeconds: 1_209_601,
        }),
    ).toThrow(LocalQueueError);
  });

  it("dead-letters through the QueuePort with the runtime's attributes; the completed delivery is not a success", async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    const sourceId = queue.send('{"id":"evt-1"}');
    const [delivery] = queue.receive();
    if (!delivery) throw new Error('expected a delivery');
    const attributes = {
      [MESSAGE_ATTRIBUTE.errorCode]: 'UPSTREAM_REJECTED',
      [MESSAGE_ATTRIBUTE.errorMessage]: 'The vendor refused the request.',
      [MESSAGE_ATTRIBUTE.errorSource]: 'upstream',
      [MESSAGE_ATTRIBUTE.attempts]: '1',
      [MESSAGE_ATTRIBUTE.deadLetteredAt]: '2026-01-02T03:04:05.000Z',
    };

    // Act
    await queue.deadLetter(messageOf(delivery), attributes);
    const completed = queue.complete(delivery.receiptHandle);

    // Assess
    expect(completed).toBe(true);
    expect(queue.deadLetters()).toEqual([
      {
        messageId: expect.any(String),
        sourceMessageId: sourceId,
        body: '{"id":"evt-1"}',
        attributes,
        receiveCount: 1,
        deadLetteredAt: '2026-01-02T03:04:05.000Z',
      },
    ]);
    expect(queue.stats()).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
      succeeded: 0,
      deadLettered: 1,
      expired: 0,
    });
  });

  it('requeues through the QueuePort as a new delayed message with PriorAttempts; the delivery is not a success', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    const originalId = queue.send('{"id":"evt-2"}');
    const [delivery] = queue.receive();
    if (!delivery) throw new Error('expected a delivery');

    // Act
    await queue.requeue(messageOf(delivery), 2, { [MESSAGE_ATTRIBUTE.priorAttempts]: '0' });
    queue.complete(delivery.receiptHandle);
    const statsWhileDelayed = queue.stats();
    clock.advance(2);
    const [again] = queue.receive();

    // Assess
    expect(statsWhileDelayed).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 1,
      succeeded: 0,
      deadLettered: 0,
      expired: 0,
    });
    expect(again?.messageId).not.toBe(originalId);
    expect(again?.receiveCount).toBe(1);
    expect(again?.messageAttributes).toEqual({ PriorAttempts: '0' });
  });

  it('counts a completed delivery the handler left alone as succeeded, once', () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('ok');
    const [delivery] = queue.receive();
    if (!delivery) throw new Error('expected a delivery');

    // Act
    const first = queue.complete(delivery.receiptHandle);
    const second = queue.complete(delivery.receiptHandle);

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(queue.stats().succeeded).toBe(1);
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue on its next receive, as it is', () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock, { maxReceiveCount: 2 });
    const messageId = queue.send('{"id":"evt-3"}', { messageAttributes: { PriorAttempts: '1' } });
    const counts: number[] = [];

    // Act
    for (let i = 0; i < 3; i++) {
      counts.push(...queue.receive().map((d) => d.receiveCount));
      clock.advance(VISIBILITY);
    }

    // Assess
    expect(counts).toEqual([1, 2]);
    expect(queue.messages()).toEqual([]);
    expect(queue.deadLetters()).toEqual([
      {
        messageId,
        sourceMessageId: messageId,
        body: '{"id":"evt-3"}',
        attributes: { PriorAttempts: '1' },
        receiveCount: 2,
        deadLetteredAt: new Date(clock.now() - VISIBILITY * 1000).toISOString(),
      },
    ]);
  });

  it('redrives every dead letter back to the inbox as a new message that starts over, without attributes', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock, { maxReceiveCount: 1 });
    queue.send('first', { messageAttributes: { PriorAttempts: '3' } });
    queue.send('second');
    const deliveries = queue.receive();
    const second = deliveries[1];
    if (!second) throw new Error('expected two deliveries');
    await queue.deadLetter(messageOf(second), { [MESSAGE_ATTRIBUTE.errorCode]: 'UPSTREAM_ERROR' });
    queue.complete(second.receiptHandle);
    clock.advance(VISIBILITY);
    queue.receive(); // the backstop moves 'first'
    const letters = queue.deadLetters();

    // Act
    const redriven = queue.redrive();
    const inbox = queue.receive();

    // Assess
    expect(letters.map((l) => l.body).sort()).toEqual(['first', 'second']);
    expect(redriven).toBe(2);
    expect(queue.deadLetters()).toEqual([]);
    expect(inbox.map((d) => [d.body, d.receiveCount, d.messageAttributes]).sort()).toEqual([
      ['first', 1, {}],
      ['second', 1, {}],
    ]);
    expect(inbox.map((d) => d.messageId)).not.toContain(letters[0]?.messageId);
  });
});

describe('sqsEvent', () => {
  it('builds records as the Lambda event source mapping does', () => {
    // Prepare
    const delivery = {
      messageId: 'm-1',
      receiptHandle: 'h-1',
      body: '{"id":"evt"}',
      messageAttributes: { PriorAttempts: '2' },
      receiveCount: 3,
      sentAtMs: 1_700_000_000_000,
      firstReceivedAtMs: 1_700_000_000_500,
    };

    // Act
    const event = sqsEvent('orders', [delivery, { ...delivery, messageId: 'm-2', messageAttributes: {} }]);

    // Assess
    expect(event.Records[0]).toEqual({
      messageId: 'm-1',
      receiptHandle: 'h-1',
      body: '{"id":"evt"}',
      attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: '1700000000000',
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: '1700000000500',
      },
      messageAttributes: {
        PriorAttempts: { stringValue: '2', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: createHash('md5').update('{"id":"evt"}').digest('hex'),
      md5OfMessageAttributes: md5OfMessageAttributes({ PriorAttempts: '2' }),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:orders-inbox',
      awsRegion: 'local',
    });
    expect(event.Records[1]?.messageAttributes).toEqual({});
    expect(event.Records[1]).not.toHaveProperty('md5OfMessageAttributes');
  });

  it("computes MD5OfMessageAttributes with SQS's encoding", () => {
    // Prepare
    const attributes = { b: 'two', a: 'one' };
    const field = (text: string) => {
      const bytes = Buffer.from(text);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const encoded = Buffer.concat(
      [
        ['a', 'one'],
        ['b', 'two'],
      ].flatMap(([name, value]) => [
        field(name as string),
        field('String'),
        Buffer.from([1]),
        field(value as string),
      ]),
    );

    // Act
    const md5 = md5OfMessageAttributes(attributes);

    // Assess
    expect(md5).toBe(createHash('md5').update(encoded).digest('hex'));
  });
});

describe('failedRecords', () => {
  it('reads a partial batch response as Lambda does', () => {
    // Prepare
    const ids = ['a', 'b'];

    // Act
    const answers = [
      failedRecords(undefined, ids),
      failedRecords({}, ids),
      failedRecords({ batchItemFailures: [] }, ids),
      failedRecords({ batchItemFailures: [{ itemIdentifier: 'b' }] }, ids),
      failedRecords({ batchItemFailures: [{ itemIdentifier: 'zzz' }] }, ids),
      failedRecords({ batchItemFailures: [{ itemIdentifier: '' }] }, ids),
      failedRecords({ batchItemFailures: [{ id: 'a' }] }, ids),
      failedRecords('ok', ids),
    ];

    // Assess
    expect(answers).toEqual([new Set(), new Set(), new Set(), new Set(['b']), 'all', 'all', 'all', 'all']);
  });
});

describe('LocalQueuePoller', () => {
  const pollers: LocalQueuePoller[] = [];

  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  });

  function startPoller(
    options: Omit<LocalQueuePollerOptions, 'functionTimeoutMs' | 'maxConcurrency' | 'batchSize'> &
      Partial<LocalQueuePollerOptions>,
  ): LocalQueuePoller {
    const poller = new LocalQueuePoller({
      batchSize: 10,
      maxConcurrency: 2,
      functionTimeoutMs: 5_000,
      intervalMs: 5,
      logger: silentLogger(),
      ...options,
    });
    pollers.push(poller);
    poller.start();
    return poller;
  }

  it('deletes the siblings of a failed record and delivers the failed one again after its backoff', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    for (const n of [1, 2, 3]) queue.send(JSON.stringify({ id: `evt-${n}` }));
    const fake = fakeAsyncHandler({
      connector: 'orders',
      queue,
      decide: ({ event, attempt }): FakeDecision =>
        (event as { id: string }).id === 'evt-2' && attempt === 1
          ? { kind: 'retry', backoffSeconds: 4 }
          : { kind: 'succeed' },
    });

    // Act
    startPoller({ queue, handler: fake.handler });
    await waitFor(() => queue.stats().succeeded === 2, 'the two siblings to succeed');
    const afterFirstBatch = queue.stats();
    clock.advance(4);
    await waitFor(() => queue.stats().succeeded === 3, 'the retried record to succeed');

    // Assess
    expect(fake.batches.map((batch) => batch.Records.length)).toEqual([3, 1]);
    expect(afterFirstBatch).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 1,
      succeeded: 2,
      deadLettered: 0,
      expired: 0,
    });
    expect(fake.records.map((r) => [JSON.parse(r.record.body).id, r.attempt])).toEqual([
      ['evt-1', 1],
      ['evt-2', 1],
      ['evt-3', 1],
      ['evt-2', 2],
    ]);
    expect(queue.stats()).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
      succeeded: 3,
      deadLettered: 0,
      expired: 0,
    });
  });

  it("counts the handler's dead letters and requeues, not as successes, and the requeued event keeps its attempts", async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send(JSON.stringify({ id: 'dead' }));
    queue.send(JSON.stringify({ id: 'breaker' }));
    let breakerOpen = true;
    const fake = fakeAsyncHandler({
      connector: 'orders',
      queue,
      decide: ({ event }): FakeDecision => {
        const id = (event as { id: string }).id;
        if (id === 'dead') {
          return {
            kind: 'deadLetter',
            code: 'UPSTREAM_REJECTED',
            message: 'no',
            source: 'upstream',
            upstreamStatus: 400,
          };
        }
        if (!breakerOpen) return { kind: 'succeed' };
        breakerOpen = false;
        return { kind: 'requeue', delaySeconds: 1 };
      },
    });

    // Act
    startPoller({ queue, handler: fake.handler });
    await waitFor(() => {
      const stats = queue.stats();
      return stats.inFlight === 0 && stats.delayed === 1;
    }, 'the first batch to end');
    const whileRequeued = queue.stats();
    clock.advance(1);
    await waitFor(() => queue.stats().succeeded === 1, 'the requeued event to succeed');

    // Assess
    expect(whileRequeued).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 1,
      succeeded: 0,
      deadLettered: 1,
      expired: 0,
    });
    const last = fake.records.at(-1);
    expect(last?.record.messageAttributes.PriorAttempts?.stringValue).toBe('0');
    expect(last?.attempt).toBe(1);
    expect(queue.deadLetters()[0]?.attributes).toMatchObject({
      ErrorCode: 'UPSTREAM_REJECTED',
      UpstreamStatus: '400',
    });
  });

  it('leaves the whole batch hidden when the handler throws, and delivers it again after the visibility timeout', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('a');
    queue.send('b');
    const logger = silentLogger();
    const seen: SQSEvent[] = [];
    const handler = vi.fn(async (event: SQSEvent) => {
      seen.push(event);
      if (seen.length === 1) throw new Error('boom');
      return { batchItemFailures: [] };
    });

    // Act
    startPoller({ queue, handler, logger });
    await waitFor(() => seen.length === 1 && logger.error.mock.calls.length === 1, 'the failed batch');
    const afterThrow = queue.stats();
    clock.advance(VISIBILITY);
    await waitFor(() => queue.stats().succeeded === 2, 'the batch to be delivered again');

    // Assess
    expect(afterThrow).toEqual({
      visible: 0,
      inFlight: 2,
      delayed: 0,
      succeeded: 0,
      deadLettered: 0,
      expired: 0,
    });
    expect(seen[1]?.Records.map((r) => [r.body, r.attributes.ApproximateReceiveCount])).toEqual([
      ['a', '2'],
      ['b', '2'],
    ]);
  });

  it('treats an answer naming an unknown record as a failure of the whole batch', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('a');
    const logger = silentLogger();
    const handler = vi.fn(async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }));

    // Act
    startPoller({ queue, handler, logger });
    await waitFor(() => logger.warn.mock.calls.length === 1, 'the warning');

    // Assess
    expect(queue.stats()).toMatchObject({ inFlight: 1, succeeded: 0 });
  });

  it('sends batches of at most batchSize and runs at most maxConcurrency of them at once', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    for (let i = 0; i < 7; i++) queue.send(`m${i}`);
    let running = 0;
    let most = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sizes: number[] = [];
    const handler = async (event: SQSEvent) => {
      sizes.push(event.Records.length);
      running += 1;
      most = Math.max(most, running);
      await gate;
      running -= 1;
      return {};
    };

    // Act
    const poller = startPoller({ queue, handler, batchSize: 2, maxConcurrency: 2 });
    await waitFor(() => running === 2, 'two batches to run');
    const inFlightWhileBlocked = poller.inFlightBatches;
    release();
    await waitFor(() => queue.stats().succeeded === 7, 'every message to succeed');

    // Assess
    expect(inFlightWhileBlocked).toBe(2);
    expect(most).toBe(2);
    expect(sizes).toEqual([2, 2, 2, 1]);
  });

  it('sends a full batch at once, however long the batching window', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    for (let i = 0; i < 3; i++) queue.send(`m${i}`);
    const sizes: number[] = [];
    const handler = async (event: SQSEvent) => {
      sizes.push(event.Records.length);
      return {};
    };

    // Act
    startPoller({ queue, handler, batchSize: 3, maxBatchingWindowSeconds: 300 });
    await waitFor(() => queue.stats().succeeded === 3, 'the full batch');

    // Assess
    expect(sizes).toEqual([3]);
  });

  it('gathers a partial batch for the batching window before sending it', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('first');
    const sizes: number[] = [];
    const handler = async (event: SQSEvent) => {
      sizes.push(event.Records.length);
      return {};
    };

    // Act
    const poller = startPoller({
      queue,
      handler,
      batchSize: 10,
      maxBatchingWindowSeconds: 0.2,
      now: clock.now,
    });
    await waitFor(() => poller.polls >= 3, 'a few polls');
    const sizesWithinWindow = [...sizes];
    queue.send('second');
    clock.advance(0.2);
    await waitFor(() => queue.stats().succeeded === 2, 'the gathered batch');

    // Assess
    expect(sizesWithinWindow).toEqual([]);
    expect(sizes).toEqual([2]);
  });

  it('waits for the running batches when stopped, and polls no more', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('a');
    let release: () => void = () => {};
    const handler = vi.fn(
      () =>
        new Promise<unknown>((resolve) => {
          release = () => resolve({});
        }),
    );
    const poller = startPoller({ queue, handler });
    await waitFor(() => handler.mock.calls.length === 1, 'the batch to start');

    // Act
    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    const stoppedBeforeRelease = stopped;
    queue.send('b');
    release();
    await stopping;

    // Assess
    expect(stoppedBeforeRelease).toBe(false);
    expect(queue.stats()).toMatchObject({ succeeded: 1, visible: 1 });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('gives up a batch whose handler outlives the function timeout, leaving it to reappear', async () => {
    // Prepare
    const clock = fakeClock();
    const queue = queueWith(clock);
    queue.send('slow');
    const logger = silentLogger();
    const handler = vi.fn(() => new Promise<unknown>(() => {}));

    // Act
    const poller = startPoller({ queue, handler, logger, functionTimeoutMs: 20 });
    await waitFor(() => logger.error.mock.calls.length === 1, 'the timeout');

    // Assess
    expect(poller.inFlightBatches).toBe(0);
    expect(queue.stats()).toMatchObject({ inFlight: 1, succeeded: 0 });
  });
});
