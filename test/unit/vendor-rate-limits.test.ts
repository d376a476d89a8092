/**
 * Rate limits that do not say 429: GitHub's primary and secondary limits answer 403 with
 * `Retry-After`, or with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpClient } from '../../functions/shared/http/client.js';
import { isRateLimited, isRetryable, vendorWaitMs } from '../../functions/shared/http/retry.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { captureOutput, connectorErrorOf } from '../support/fakes.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('isRateLimited and vendorWaitMs', () => {
  it.each<[string, number, Record<string, string>, boolean]>([
    ['a 429', 429, {}, true],
    ['a 403 with Retry-After', 403, { 'retry-after': '60' }, true],
    [
      'a 403 with the quota used up',
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1795262460' },
      true,
    ],
    ['a 403 with quota left', 403, { 'x-ratelimit-remaining': '12' }, false],
    ['a plain 403', 403, {}, false],
    ['a 503 with Retry-After', 503, { 'retry-after': '5' }, false],
  ])('%s', (_name, status, headers, expected) => {
    // Prepare
    const answer = new Headers(headers);

    // Act
    const limited = isRateLimited(status, answer);

    // Assess
    expect(limited).toBe(expected);
  });

  it('waits for Retry-After first, else until x-ratelimit-reset once the quota is used up', () => {
    // Prepare
    const resetInSeconds = NOW / 1000 + 90;

    // Act
    const byRetryAfter = vendorWaitMs(new Headers({ 'retry-after': '7', 'x-ratelimit-remaining': '0' }), NOW);
    const byReset = vendorWaitMs(
      new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetInSeconds) }),
      NOW,
    );
    const quotaLeft = vendorWaitMs(
      new Headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '1' }),
      NOW,
    );

    // Assess
    expect(byRetryAfter).toBe(7_000);
    expect(byReset).toBe(90_000);
    expect(quotaLeft).toBeUndefined();
  });

  it('retries a rate-limited 403 even for a POST without an idempotency key', () => {
    // Prepare
    const failure = { kind: 'status' as const, status: 403, rateLimited: true };

    // Act
    const retryable = isRetryable('POST', failure, false);

    // Assess
    expect(retryable).toBe(true);
    expect(isRetryable('POST', { kind: 'status', status: 403 }, false)).toBe(false);
  });
});

describe('HttpClient with a rate-limited 403', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    captureOutput();
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  function client(answers: Response[]) {
    const redactor = new Redactor();
    const fetch = vi.fn(async () => answers.shift() ?? new Response(null, { status: 500 }));
    const http = new HttpClient({
      connector: 'github',
      baseUrl: 'https://api.github.example',
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterSeconds: 20 },
      circuitBreaker: { failureRateThreshold: 1, minimumCalls: 100, windowSeconds: 60, openSeconds: 30 },
      rateLimit: { requestsPerSecond: 100, burst: 100 },
      cacheTtlSeconds: 0,
      forwardIdempotencyKey: false,
      auth: { authorize: async () => {} },
      powertools: createPowertools({ serviceName: 'github', redactor }),
      redactor,
      fetch,
      random: () => 0,
    });
    return { http, fetch };
  }

  it('waits the Retry-After of a secondary rate limit, then succeeds', async () => {
    // Prepare
    const { http, fetch } = client([
      Response.json(
        { message: 'You have exceeded a secondary rate limit' },
        { status: 403, headers: { 'retry-after': '2' } },
      ),
      Response.json({ number: 1 }, { status: 201 }),
    ]);

    // Act
    const pending = http.request(
      { operation: 'createIssue', method: 'POST', path: '/repos/o/r/issues', body: { title: 't' } },
      { requestId: 'req', deadlineAtMs: NOW + 60_000 },
    );
    await vi.advanceTimersByTimeAsync(1_999);
    const callsBeforeTheWait = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const response = await pending;

    // Assess
    expect(callsBeforeTheWait).toBe(1);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(response.status).toBe(201);
  });

  it('ends with RATE_LIMIT_EXCEEDED and the wait until the reset when that is too long to wait', async () => {
    // Prepare
    const { http, fetch } = client([
      Response.json(
        { message: 'API rate limit exceeded' },
        {
          status: 403,
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 600) },
        },
      ),
    ]);

    // Act
    const error = await connectorErrorOf(
      http.request(
        { operation: 'createIssue', method: 'POST', path: '/repos/o/r/issues', body: { title: 't' } },
        { requestId: 'req', deadlineAtMs: NOW + 60_000 },
      ),
    );

    // Assess
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', upstreamStatus: 403, retryAfterSeconds: 600 });
  });
});
