/**
 * The local queues' state across a restart of `npm start` (issue 11): a snapshot written to a file
 * and restored into a new queue keeps every message with its delay and receive count, and every dead
 * letter with its attributes.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalQueue, readQueueStateFile, writeQueueStateFile } from '../../local/queue.js';

function queueAt(clock: { now: number }): LocalQueue {
  return new LocalQueue({
    connector: 'orders',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 2,
    now: () => clock.now,
  });
}

describe('the local queue state round trip', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'queue-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps messages, delays, receive counts and dead letters through a file', async () => {
    // Prepare
    const clock = { now: 1_000_000 };
    const before = queueAt(clock);
    const visibleId = before.send('visible', { messageAttributes: { a: '1' } });
    const delayedId = before.send('delayed', { delaySeconds: 600 });
    const receivedId = before.send('received');
    // Receives 'visible' and 'received'; 'visible' then completes nothing and stays in flight.
    const [first, second] = before.receive(2);
    if (!first || !second) throw new Error('expected two deliveries');
    await before.deadLetter(second, { ErrorCode: 'UPSTREAM_ERROR' });
    before.complete(second.receiptHandle);
    const file = path.join(dir, 'queues.json');

    // Act
    await writeQueueStateFile(file, [before.snapshot()]);
    const [state] = (await readQueueStateFile(file)) ?? [];
    const after = queueAt(clock);
    const restored = state ? after.restore(state) : undefined;

    // Assert
    expect(restored).toEqual({ messages: 2, deadLetters: 1 });
    const messages = after.messages();
    expect(messages.map((m) => m.messageId)).toEqual([visibleId, delayedId]);
    // The delivery in flight at the snapshot counts as ended: visible at once, its receive count kept.
    expect(messages[0]).toMatchObject({ body: 'visible', receiveCount: 1, visibleAtMs: clock.now });
    expect(messages[0]?.messageAttributes).toEqual({ a: '1' });
    expect(messages[1]).toMatchObject({ body: 'delayed', receiveCount: 0, visibleAtMs: clock.now + 600_000 });
    expect(after.deadLetters()).toEqual([
      expect.objectContaining({
        sourceMessageId: receivedId,
        body: 'received',
        attributes: { ErrorCode: 'UPSTREAM_ERROR' },
        receiveCount: 1,
      }),
    ]);
    expect(after.stats()).toMatchObject({ visible: 1, delayed: 1, inFlight: 0, deadLettered: 1 });
    // The redrive policy still counts the receives of the earlier run: the next receive is the last.
    expect(after.receive(1)[0]).toMatchObject({ messageId: visibleId, receiveCount: 2 });
    // Atomic write: no temporary file left beside it.
    expect(await readdir(dir)).toEqual(['queues.json']);
  });

  it('restores a message once, and reads no file as no state', async () => {
    // Prepare
    const clock = { now: 5_000_000 };
    const before = queueAt(clock);
    before.send('one');
    const state = before.snapshot();
    const after = queueAt(clock);

    // Act
    after.restore(state);
    const again = after.restore(state);

    // Assert
    expect(again).toEqual({ messages: 0, deadLetters: 0 });
    expect(after.messages()).toHaveLength(1);
    expect(await readQueueStateFile(path.join(dir, 'missing.json'))).toBeUndefined();
  });

  it('names a file that is not a state file and how to start clean', async () => {
    // Prepare
    const file = path.join(dir, 'queues.json');
    await writeFile(file, '{"version": 1, "queues": [{"connector": 3}]}');

    // Act
    const read = readQueueStateFile(file);

    // Assert
    await expect(read).rejects.toThrow(`${file} is not a state file of the local queues`);
    await expect(read).rejects.toThrow('--reset');
  });
});
