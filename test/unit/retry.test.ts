import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HttpMethod } from '../../functions/shared/config.js';
import { MAX_RETRY_AFTER_SECONDS } from '../../functions/shared/errors.js';
import {
  type AttemptFailure,
  backoffDelayMs,
  callerRetryAfterSeconds,
  isRetryable,
  parseRetryAfterMs,
  type RetryInput,
  retryDecision,
} from '../../functions/shared/http/retry.js';

/** The largest double below 1: what `Math.random()` may return at most. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('backoffDelayMs', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 2_000 };

  it('waits nothing when the jitter draw is 0', () => {
    // Prepare
    const random = () => 0;

    // Act
    const delays = [1, 2, 3, 10].map((retry) => backoffDelayMs(retry, policy, random));

    // Assess
    expect(delays).toEqual([0, 0, 0, 0]);
  });

  it('waits just under base * 2^(retry-1) when the draw is close to 1, doubling per retry', () => {
    // Prepare
    const random = () => ALMOST_ONE;

    // Act
    const delays = [1, 2, 3, 4].map((retry) => backoffDelayMs(retry, policy, random));

    // Assess
    expect(delays).toEqual([99, 199, 399, 799]);
  });

  it('scales linearly with the jitter draw within the ceiling', () => {
    // Prepare
    const random = () => 0.5;

    // Act
    const first = backoffDelayMs(1, policy, random);
    const third = backoffDelayMs(3, policy, random);

    // Assess
    expect(first).toBe(50);
    expect(third).toBe(200);
  });

  it('never waits maxDelayMs or more, however many retries', () => {
    // Prepare
    const random = () => ALMOST_ONE;

    // Act
    const delays = [6, 7, 20, 60].map((retry) => backoffDelayMs(retry, policy, random));

    // Assess
    expect(delays).toEqual([1_999, 1_999, 1_999, 1_999]);
  });

  it('uses Math.random when no draw is given', () => {
    // Prepare
    vi.spyOn(Math, 'random').mockReturnValue(0.25);

    // Act
    const delay = backoffDelayMs(2, policy);

    // Assess
    expect(delay).toBe(50);
  });

  it('always returns a whole number of ms in [0, min(maxDelayMs, base * 2^(retry-1)))', () => {
    // Prepare
    const arbitraries = [
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 0, max: 240_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    ] as const;

    // Act
    const property = fc.property(...arbitraries, (retry, baseDelayMs, extraMaxMs, draw) => {
      const maxDelayMs = baseDelayMs + extraMaxMs;
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
      const delay = backoffDelayMs(retry, { baseDelayMs, maxDelayMs }, () => draw);
      return Number.isInteger(delay) && delay >= 0 && delay < ceiling;
    });

    // Assess
    expect(() => fc.assert(property, { numRuns: 500 })).not.toThrow();
  });
});

describe('isRetryable', () => {
  const IDEMPOTENT: readonly HttpMethod[] = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'];
  const NON_IDEMPOTENT: readonly HttpMethod[] = ['POST', 'PATCH'];

  const status = (code: number): AttemptFailure => ({ kind: 'status', status: code });
  const label = (failure: AttemptFailure) =>
    failure.kind === 'status' ? `status ${failure.status}` : failure.kind;

  /** Failures every idempotent request may retry (docs/design.md §3). */
  const TRANSIENT: readonly AttemptFailure[] = [
    { kind: 'connectionRefused' },
    { kind: 'network' },
    { kind: 'timeout' },
    status(408),
    status(429),
    status(500),
    status(502),
    status(503),
    status(504),
  ];
  /** Answers that will not change when the same request is sent again. */
  const PERMANENT: readonly AttemptFailure[] = [
    status(400),
    status(401),
    status(403),
    status(404),
    status(422),
  ];
  /** Failures that prove a request was not processed. */
  const NOT_PROCESSED: readonly AttemptFailure[] = [{ kind: 'connectionRefused' }, status(429), status(503)];
  /** Failures after which a request may have been processed. */
  const MAYBE_PROCESSED: readonly AttemptFailure[] = [
    { kind: 'network' },
    { kind: 'timeout' },
    status(408),
    status(500),
    status(502),
    status(504),
  ];

  describe.each(IDEMPOTENT)('%s', (method) => {
    it.each(TRANSIENT.map((f) => [label(f), f] as const))('retries %s', (_name, failure) => {
      // Prepare
      const idempotencyKeySent = false;

      // Act
      const retryable = isRetryable(method, failure, idempotencyKeySent);

      // Assess
      expect(retryable).toBe(true);
    });

    it.each(PERMANENT.map((f) => [label(f), f] as const))('does not retry %s', (_name, failure) => {
      // Prepare
      const idempotencyKeySent = false;

      // Act
      const retryable = isRetryable(method, failure, idempotencyKeySent);

      // Assess
      expect(retryable).toBe(false);
    });
  });

  describe.each(NON_IDEMPOTENT)('%s without an idempotency key', (method) => {
    it.each(NOT_PROCESSED.map((f) => [label(f), f] as const))('retries %s', (_name, failure) => {
      // Prepare
      const idempotencyKeySent = false;

      // Act
      const retryable = isRetryable(method, failure, idempotencyKeySent);

      // Assess
      expect(retryable).toBe(true);
    });

    it.each([...MAYBE_PROCESSED, ...PERMANENT].map((f) => [label(f), f] as const))(
      'does not retry %s',
      (_name, failure) => {
        // Prepare
        const idempotencyKeySent = false;

        // Act
        const retryable = isRetryable(method, failure, idempotencyKeySent);

        // Assess
        expect(retryable).toBe(false);
      },
    );
  });

  describe.each(NON_IDEMPOTENT)('%s with an idempotency key sent upstream', (method) => {
    it.each(TRANSIENT.map((f) => [label(f), f] as const))('retries %s', (_name, failure) => {
      // Prepare
      const idempotencyKeySent = true;

      // Act
      const retryable = isRetryable(method, failure, idempotencyKeySent);

      // Assess
      expect(retryable).toBe(true);
    });

    it.each(PERMANENT.map((f) => [label(f), f] as const))('does not retry %s', (_name, failure) => {
      // Prepare
      const idempotencyKeySent = true;

      // Act
      const retryable = isRetryable(method, failure, idempotencyKeySent);

      // Assess
      expect(retryable).toBe(false);
    });
  });
});

describe('parseRetryAfterMs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads delta-seconds as milliseconds', () => {
    // Prepare
    const values = ['0', '1', '120', ' 30 '];

    // Act
    const parsed = values.map((v) => parseRetryAfterMs(v));

    // Assess
    expect(parsed).toEqual([0, 1_000, 120_000, 30_000]);
  });

  it('reads an IMF-fixdate relative to the given time', () => {
    // Prepare
    const nowMs = Date.UTC(2015, 9, 21, 7, 27, 30);

    // Act
    const parsed = parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', nowMs);

    // Assess
    expect(parsed).toBe(30_000);
  });

  it('reads an HTTP-date relative to the current time when no time is given', () => {
    // Prepare
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2015, 9, 21, 7, 26, 0));

    // Act
    const parsed = parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT');

    // Assess
    expect(parsed).toBe(120_000);
  });

  it('reads the obsolete RFC 850 date format recipients must accept (RFC 9110 §5.6.7)', () => {
    // Prepare
    const nowMs = Date.UTC(2015, 9, 21, 7, 28, 0);

    // Act
    const parsed = parseRetryAfterMs('Wednesday, 21-Oct-15 07:28:10 GMT', nowMs);

    // Assess
    expect(parsed).toBe(10_000);
  });

  it("reads the obsolete asctime date format recipients must accept, as GMT whatever the process's time zone", () => {
    // Prepare
    vi.stubEnv('TZ', 'Asia/Tokyo');
    const nowMs = Date.UTC(2015, 9, 21, 7, 28, 0);

    // Act
    const parsed = parseRetryAfterMs('Wed Oct 21 07:28:45 2015', nowMs);

    // Assess
    expect(parsed).toBe(45_000);
  });

  it('waits 0 ms for a date in the past', () => {
    // Prepare
    const nowMs = Date.UTC(2015, 9, 21, 8, 0, 0);

    // Act
    const parsed = parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', nowMs);

    // Assess
    expect(parsed).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['negative', '-5'],
    ['fractional', '1.5'],
    ['a word', 'soon'],
    ['a number with a unit', '10s'],
    ['an ISO date', '2015-10-21T07:28:00Z'],
    ['a date without a zone', '21 Oct 2015 07:28:00'],
    ['an impossible date', 'Wed, 45 Foo 2015 99:99:99 GMT'],
  ])('ignores %s value (%j)', (_name, value) => {
    // Prepare
    const nowMs = Date.UTC(2015, 9, 21, 7, 0, 0);

    // Act
    const parsed = parseRetryAfterMs(value, nowMs);

    // Assess
    expect(parsed).toBeUndefined();
  });

  it('ignores an absent header', () => {
    // Prepare
    const absent = [null, undefined];

    // Act
    const parsed = absent.map((v) => parseRetryAfterMs(v));

    // Assess
    expect(parsed).toEqual([undefined, undefined]);
  });
});

describe('callerRetryAfterSeconds (issue 8, defect 13)', () => {
  it.each([
    [0, 0, 0],
    [1, 0, 1],
    [1_500, 0, 2],
    [-5_000, 0, 0],
    [-5_000, 1, 1],
    [999_999_999_000, 0, MAX_RETRY_AFTER_SECONDS],
    [Number.POSITIVE_INFINITY, 1, MAX_RETRY_AFTER_SECONDS],
    [Number.NaN, 1, 1],
  ])('a wait of %d ms with a minimum of %d s gives %d s', (waitMs, minimum, expected) => {
    expect(callerRetryAfterSeconds(waitMs, minimum)).toBe(expected);
  });

  it('property: always a whole number of seconds within [minimum, cap]', () => {
    fc.assert(
      fc.property(fc.double(), fc.constantFrom(0, 1), (waitMs, minimum) => {
        const seconds = callerRetryAfterSeconds(waitMs, minimum);
        return Number.isInteger(seconds) && seconds >= minimum && seconds <= MAX_RETRY_AFTER_SECONDS;
      }),
    );
  });

  it('a Retry-After too long for a number still parses to a finite wait', () => {
    expect(Number.isFinite(parseRetryAfterMs('9'.repeat(400)))).toBe(true);
  });
});

describe('retryDecision', () => {
  const base: RetryInput = {
    method: 'GET',
    failure: { kind: 'status', status: 503 },
    idempotencyKeySent: false,
    attempt: 1,
    maxAttempts: 3,
    deadlineCut: false,
    refreshCredentials: false,
    vendorWaitMs: undefined,
    maxRetryAfterSeconds: 20,
    backoffMs: 150,
    remainingMs: 10_000,
    minAttemptMs: 20,
  };

  it('retries a retryable failure after the backoff', () => {
    expect(retryDecision(base)).toEqual({ retry: true, waitMs: 150 });
  });

  it('waits the vendor’s Retry-After instead of the backoff', () => {
    expect(retryDecision({ ...base, vendorWaitMs: 2_000 })).toEqual({ retry: true, waitMs: 2_000 });
  });

  it.each([
    ['an attempt cut by the deadline', { deadlineCut: true }, 'notRetryable'],
    ['an unusable answer', { failure: undefined }, 'notRetryable'],
    ['the last attempt', { attempt: 3 }, 'attemptsUsed'],
    ['a Retry-After past the cap', { vendorWaitMs: 21_000 }, 'vendorWaitTooLong'],
    ['a wait that leaves no time for an attempt', { remainingMs: 160 }, 'deadline'],
  ] as const)('does not retry %s', (_case, change, reason) => {
    expect(retryDecision({ ...base, ...change })).toEqual({ retry: false, reason });
  });

  it('refreshes credentials at once, even on the last attempt, while an attempt still fits', () => {
    expect(retryDecision({ ...base, attempt: 3, refreshCredentials: true })).toEqual({
      retry: true,
      waitMs: 0,
    });
    expect(retryDecision({ ...base, refreshCredentials: true, remainingMs: 10 })).toEqual({
      retry: false,
      reason: 'deadline',
    });
  });

  it('property: a retry’s wait always leaves time for an attempt before the deadline', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.option(fc.nat(100_000), { nil: undefined }),
        fc.nat(5_000),
        fc.integer({ min: -1_000, max: 60_000 }),
        (attempt, vendorWaitMs, backoffMs, remainingMs) => {
          const verdict = retryDecision({ ...base, attempt, vendorWaitMs, backoffMs, remainingMs });
          return !verdict.retry || verdict.waitMs + base.minAttemptMs <= remainingMs;
        },
      ),
    );
  });
});
