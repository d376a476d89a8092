import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type TakeResult, TokenBucket } from '../../functions/shared/http/rate-limit.js';

/** Takes `count` tokens and returns the answers. */
function takeMany(bucket: TokenBucket, count: number): TakeResult[] {
  return Array.from({ length: count }, () => bucket.tryTake());
}

describe('TokenBucket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows a whole burst at once', () => {
    // Prepare
    const bucket = new TokenBucket(10, 5);

    // Act
    const results = takeMany(bucket, 5);

    // Assess
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ ok: true })));
  });

  it('refuses the request after the burst, asking to wait one refill interval', () => {
    // Prepare
    const bucket = new TokenBucket(10, 5);
    takeMany(bucket, 5);

    // Act
    const refused = bucket.tryTake();

    // Assess
    expect(refused).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('asks to wait only for the part of a token not yet refilled', () => {
    // Prepare
    const bucket = new TokenBucket(10, 5);
    takeMany(bucket, 5);
    vi.advanceTimersByTime(40);

    // Act
    const refused = bucket.tryTake();

    // Assess
    expect(refused).toEqual({ ok: false, retryAfterMs: 60 });
  });

  it('allows a request again once retryAfterMs has passed, not before', () => {
    // Prepare
    const bucket = new TokenBucket(4, 2);
    takeMany(bucket, 2);
    const refused = bucket.tryTake();
    if (refused.ok) throw new Error('expected the bucket to be empty');

    // Act
    vi.advanceTimersByTime(refused.retryAfterMs - 1);
    const tooEarly = bucket.tryTake();
    vi.advanceTimersByTime(1);
    const onTime = bucket.tryTake();

    // Assess
    expect(refused.retryAfterMs).toBe(250);
    expect(tooEarly.ok).toBe(false);
    expect(onTime).toEqual({ ok: true });
  });

  it('refills at requestsPerSecond', () => {
    // Prepare
    const bucket = new TokenBucket(10, 20);
    takeMany(bucket, 20);

    // Act
    vi.advanceTimersByTime(1_000);
    const results = takeMany(bucket, 11);

    // Assess
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results[10]?.ok).toBe(false);
  });

  it('never holds more than burst tokens, however long it stays idle', () => {
    // Prepare
    const bucket = new TokenBucket(10, 5);
    takeMany(bucket, 1);

    // Act
    vi.advanceTimersByTime(60_000);
    const available = bucket.available;
    const results = takeMany(bucket, 6);

    // Assess
    expect(available).toBe(5);
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results[5]).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('does not gain tokens when the clock goes backwards', () => {
    // Prepare
    const bucket = new TokenBucket(10, 5);
    takeMany(bucket, 5);

    // Act
    vi.setSystemTime(Date.now() - 10_000);
    const refused = bucket.tryTake();

    // Assess
    expect(refused).toEqual({ ok: false, retryAfterMs: 100 });
    expect(bucket.available).toBe(0);
  });

  it('supports rates below one request per second', () => {
    // Prepare
    const bucket = new TokenBucket(0.5, 1);
    bucket.tryTake();

    // Act
    const refused = bucket.tryTake();
    vi.advanceTimersByTime(2_000);
    const allowed = bucket.tryTake();

    // Assess
    expect(refused).toEqual({ ok: false, retryAfterMs: 2_000 });
    expect(allowed).toEqual({ ok: true });
  });
});
