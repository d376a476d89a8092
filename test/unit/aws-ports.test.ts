/**
 * The asynchronous path's AWS ports load their SDK clients on first use: the client function runs
 * once, on the first call that needs it, and again after a failed load.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import {
  EventBridgeResultPublisher,
  lazily,
  SqsQueuePort,
} from '../../functions/shared/runtime/aws-ports.js';

const URLS = { inbox: 'https://sqs.example.com/inbox', deadLetter: 'https://sqs.example.com/dlq' };
const MESSAGE = { receiptHandle: 'rh-1', body: '{}' };

function fakeClient<T>() {
  const send = vi.fn(async (_command: unknown) => ({}));
  return { client: { send } as unknown as T, send };
}

describe('lazily', () => {
  it('makes the client once, on the first call, for concurrent callers too', async () => {
    // Prepare
    const make = vi.fn(async () => ({ id: 1 }));
    const get = lazily(make);

    // Act
    const before = make.mock.calls.length;
    const [a, b] = await Promise.all([get(), get()]);
    const c = await get();

    // Assess
    expect(before).toBe(0);
    expect(make).toHaveBeenCalledTimes(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
  });

  it('tries again after a failed load', async () => {
    // Prepare
    const make = vi
      .fn<() => Promise<{ id: number }>>()
      .mockRejectedValueOnce(new Error('load failed'))
      .mockResolvedValueOnce({ id: 2 });
    const get = lazily(make);

    // Act
    const first = get();

    // Assess
    await expect(first).rejects.toThrow('load failed');
    await expect(get()).resolves.toEqual({ id: 2 });
    expect(make).toHaveBeenCalledTimes(2);
  });

  it('hands a client given as is', async () => {
    // Prepare
    const client = { id: 3 };

    // Act
    const got = await lazily(client)();

    // Assess
    expect(got).toBe(client);
  });
});

describe('SqsQueuePort', () => {
  it('makes its client on the first queue call only, and sends through it', async () => {
    // Prepare
    const { client, send } = fakeClient<SQSClient>();
    const make = vi.fn(async () => client);
    const port = new SqsQueuePort(make, URLS);

    // Act
    const before = make.mock.calls.length;
    await port.deadLetter(MESSAGE, { errorCode: 'UPSTREAM_ERROR' });
    await port.requeue(MESSAGE, 1.5, {});

    // Assess
    expect(before).toBe(0);
    expect(make).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalledTimes(2);
    const [dead, requeued] = send.mock.calls.map(([command]) => command as SendMessageCommand);
    expect(dead).toBeInstanceOf(SendMessageCommand);
    expect(dead?.input).toMatchObject({ QueueUrl: URLS.deadLetter, MessageBody: '{}' });
    expect(requeued?.input).toMatchObject({ QueueUrl: URLS.inbox, DelaySeconds: 2 });
  });
});

describe('EventBridgeResultPublisher', () => {
  it('makes its client on the first publish with events, not for an empty one', async () => {
    // Prepare
    const { client, send } = fakeClient<EventBridgeClient>();
    const make = vi.fn(async () => client);
    const publisher = new EventBridgeResultPublisher(make, 'bus');

    // Act
    await publisher.publish([]);
    const afterEmpty = make.mock.calls.length;
    await publisher.publish([{ detailType: 'connector.request.succeeded', detail: { ok: true } } as never]);

    // Assess
    expect(afterEmpty).toBe(0);
    expect(make).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalledTimes(1);
  });
});
