import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthScheme } from '../../functions/shared/auth/index.js';
import type { AuthScheme } from '../../functions/shared/auth/types.js';
import type { HttpMethod } from '../../functions/shared/config.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import {
  type CallContext,
  HttpClient,
  type HttpClientOptions,
  type OutboundRequest,
} from '../../functions/shared/http/client.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  captureOutput,
  connectorErrorOf,
  networkError,
  neverAnswers,
  scriptedFetch,
  track,
  type UpstreamStep,
} from '../support/fakes.js';

const BASE_URL = 'https://api.example.com';
const SECRET = 'tok-example-5f0c2a9d';

interface Setup {
  client: HttpClient;
  fetch: ReturnType<typeof scriptedFetch>['fetch'];
  requests: ReturnType<typeof scriptedFetch>['requests'];
  auth: { authorize: ReturnType<typeof vi.fn<AuthScheme['authorize']>> };
  output: ReturnType<typeof captureOutput>;
  redactor: Redactor;
}

/** An HttpClient over a scripted upstream; every policy generous unless `options` says otherwise. */
function setup(steps: UpstreamStep[], options: Partial<HttpClientOptions> = {}): Setup {
  const output = captureOutput();
  const redactor = new Redactor();
  redactor.addSecret(SECRET);
  const powertools = createPowertools({ serviceName: 'test', redactor });
  const { fetch, requests } = scriptedFetch(...steps);
  const auth = {
    authorize: vi.fn<AuthScheme['authorize']>(async (request) => {
      request.headers.set('authorization', `Bearer ${SECRET}`);
    }),
  };
  const client = new HttpClient({
    connector: 'example',
    baseUrl: BASE_URL,
    timeoutMs: 5_000,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 1_000, windowSeconds: 60, openSeconds: 30 },
    rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: false,
    auth,
    powertools,
    redactor,
    fetch,
    random: () => 0,
    ...options,
  });
  return { client, fetch, requests, auth, output, redactor };
}

function get(path = '/anything/items', extra: Partial<OutboundRequest> = {}): OutboundRequest {
  return { operation: 'request', method: 'GET', path, ...extra };
}

function post(extra: Partial<OutboundRequest> = {}): OutboundRequest {
  return { operation: 'request', method: 'POST', path: '/anything/orders', body: { amount: 10 }, ...extra };
}

function callContext(deadlineInMs = 60_000): CallContext {
  return { requestId: 'req-0001', deadlineAtMs: Date.now() + deadlineInMs };
}

beforeEach(() => {
  // Single metrics print EMF at once; keep stdout to the log lines under test.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});

afterEach(() => {
  vi.useRealTimers();
});

describe('HttpClient: success', () => {
  it('makes one attempt and parses a JSON body', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 200, body: { id: 42, name: 'widget' } }]);

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: 42, name: 'widget' });
    expect(response.attempts).toBe(1);
    expect(response.cached).toBe(false);
    expect(response.headers['content-type']).toBe('application/json');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('parses a vendor JSON media type such as application/problem+json', async () => {
    // Prepare
    const { client } = setup([
      { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/vnd.api+json' } },
    ]);

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.body).toEqual({ ok: true });
  });

  it('returns text as text when the answer is not JSON', async () => {
    // Prepare
    const { client } = setup([
      { status: 200, body: '{"looks":"like json"}', headers: { 'content-type': 'text/plain' } },
    ]);

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.body).toBe('{"looks":"like json"}');
    expect(response.attempts).toBe(1);
  });

  it('sends the request below the base URL with the query, the credentials and a JSON body', async () => {
    // Prepare
    const { client, requests } = setup([{ status: 201, body: { created: true } }], {
      baseUrl: 'https://api.example.com/v2/',
    });

    // Act
    await client.request(post({ query: { expand: ['customer', 'items'], limit: 5 } }), callContext());

    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe(
      'https://api.example.com/v2/anything/orders?expand=customer&expand=items&limit=5',
    );
    expect(requests[0]?.method).toBe('POST');
    expect(requests[0]?.headers.get('authorization')).toBe(`Bearer ${SECRET}`);
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');
    expect(requests[0]?.body).toBe('{"amount":10}');
  });
});

describe('HttpClient: retries and backoff', () => {
  it('gives up on a GET that keeps answering 503 after maxAttempts, as UPSTREAM_ERROR', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 503, body: 'unavailable' }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.httpStatus).toBe(502);
    expect(error.upstreamStatus).toBe(503);
    expect(error.attempts).toBe(3);
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('waits the exponential backoff with jitter between attempts, capped at maxDelayMs', async () => {
    // Prepare: random 0.5 gives waits of 50, 100, then 150 (half of the 300 cap, not of 400)
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 503 }], {
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300, maxRetryAfterSeconds: 20 },
      random: () => 0.5,
    });

    // Act
    const call = track(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(49);
    const afterFirstWaitLess1 = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const afterFirstWait = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(99);
    const afterSecondWaitLess1 = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const afterSecondWait = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(149);
    const afterThirdWaitLess1 = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const outcome = await call.result;

    // Assess
    expect([afterFirstWaitLess1, afterFirstWait]).toEqual([1, 2]);
    expect([afterSecondWaitLess1, afterSecondWait]).toEqual([2, 3]);
    expect(afterThirdWaitLess1).toBe(3);
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error instanceof ConnectorError && outcome.error.attempts).toBe(4);
  });

  it('honours Retry-After in delta-seconds: the next attempt not before 2 s', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([
      { status: 503, headers: { 'retry-after': '2' } },
      { status: 200, body: { ok: true } },
    ]);

    // Act
    const call = track(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(1_999);
    const before = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const after = fetch.mock.calls.length;
    const outcome = await call.result;

    // Assess
    expect(before).toBe(1);
    expect(after).toBe(2);
    expect(outcome.ok && outcome.value.body).toEqual({ ok: true });
    expect(outcome.ok && outcome.value.attempts).toBe(2);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    // Prepare
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-03-04T10:00:00.000Z'));
    const { client, fetch } = setup([
      { status: 429, headers: { 'retry-after': 'Tue, 04 Mar 2025 10:00:03 GMT' } },
      { status: 200, body: { ok: true } },
    ]);

    // Act
    const call = track(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(2_999);
    const before = fetch.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const after = fetch.mock.calls.length;
    const outcome = await call.result;

    // Assess
    expect(before).toBe(1);
    expect(after).toBe(2);
    expect(outcome.ok).toBe(true);
  });

  it('does not retry when Retry-After is longer than maxRetryAfterSeconds, and says how long to wait', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 503, headers: { 'retry-after': '30' } }], {
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterSeconds: 20 },
    });

    // Act
    const call = track(client.request(get(), callContext(10 * 60_000)));
    await vi.advanceTimersByTimeAsync(0);
    const settledWithoutWaiting = call.settled;
    const outcome = await call.result;

    // Assess
    expect(settledWithoutWaiting).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
    const error = outcome.ok ? undefined : outcome.error;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 503, retryAfterSeconds: 30 });
  });
});

describe('HttpClient: the deadline', () => {
  it('does not take a Retry-After wait that would outlive the deadline; the call ends with the last error', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 503, headers: { 'retry-after': '5' } }, { status: 200 }]);

    // Act
    const call = track(client.request(get(), callContext(3_000)));
    await vi.advanceTimersByTimeAsync(0);
    const settledWithoutWaiting = call.settled;
    const outcome = await call.result;

    // Assess
    expect(settledWithoutWaiting).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 503,
    });
  });

  it('does not take a backoff wait that would outlive the deadline', async () => {
    // Prepare: the first backoff would be 990 ms, the deadline is 500 ms away
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 500 }, { status: 200 }], {
      retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 2_000, maxRetryAfterSeconds: 20 },
      random: () => 0.99,
    });

    // Act
    const call = track(client.request(get(), callContext(500)));
    await vi.advanceTimersByTimeAsync(0);
    const settledWithoutWaiting = call.settled;
    const outcome = await call.result;

    // Assess
    expect(settledWithoutWaiting).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 500,
    });
  });

  it('starts no attempt when the deadline has passed', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 200 }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext(-1)));

    // Assess
    expect(error.code).toBe('API_TIMEOUT');
    expect(error.httpStatus).toBe(504);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('starts no retry when the first attempt used up the time until the deadline', async () => {
    // Prepare: the first attempt takes 2,995 ms of a 3,000 ms budget
    vi.useFakeTimers();
    const { client, fetch } = setup([
      () => {
        vi.setSystemTime(Date.now() + 2_995);
        return new Response('busy', { status: 503 });
      },
      { status: 200 },
    ]);

    // Act
    const call = track(client.request(get(), callContext(3_000)));
    await vi.advanceTimersByTimeAsync(10_000);
    const outcome = await call.result;

    // Assess
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 503,
    });
  });

  it('ends an attempt after timeoutMs with API_TIMEOUT', async () => {
    // Prepare
    const { client, fetch } = setup([neverAnswers], {
      timeoutMs: 30,
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    });

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('API_TIMEOUT');
    expect(error.httpStatus).toBe(504);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('retries a GET that timed out, and reports the attempts', async () => {
    // Prepare
    const { client, fetch } = setup([neverAnswers], {
      timeoutMs: 30,
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    });

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('API_TIMEOUT');
    expect(error.attempts).toBe(2);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('cuts an attempt at the deadline and does not retry past it', async () => {
    // Prepare: a per-attempt timeout far beyond the test timeout, but only 80 ms to the deadline
    const { client, fetch } = setup([neverAnswers], { timeoutMs: 600_000 });

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext(80)));

    // Assess
    expect(error.code).toBe('API_TIMEOUT');
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe('HttpClient: retry safety (docs/design.md §3)', () => {
  it.each([
    { status: 500, retried: false },
    { status: 502, retried: false },
    { status: 504, retried: false },
    { status: 408, retried: false },
    { status: 503, retried: true },
    { status: 429, retried: true },
  ])('POST without an idempotency key answered $status: retried $retried', async ({ status, retried }) => {
    // Prepare
    const { client, fetch } = setup([{ status }, { status: 201, body: { id: 'ord_1' } }]);

    // Act
    const call = track(client.request(post(), callContext()));
    const outcome = await call.result;

    // Assess
    expect(fetch).toHaveBeenCalledTimes(retried ? 2 : 1);
    expect(outcome.ok).toBe(retried);
  });

  it.each<{ method: HttpMethod; status: number }>([
    { method: 'GET', status: 500 },
    { method: 'GET', status: 502 },
    { method: 'GET', status: 504 },
    { method: 'GET', status: 408 },
    { method: 'PUT', status: 500 },
    { method: 'DELETE', status: 502 },
  ])('$method answered $status is retried', async ({ method, status }) => {
    // Prepare
    const { client, fetch } = setup([{ status }, { status: 200, body: { ok: true } }]);

    // Act
    const response = await client.request(
      { operation: 'request', method, path: '/anything/items/1' },
      callContext(),
    );

    // Assess
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(response.attempts).toBe(2);
  });

  it.each([400, 404, 409, 422])('GET answered %i is not retried', async (status) => {
    // Prepare
    const { client, fetch } = setup([{ status }, { status: 200 }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_REJECTED');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('does not retry a POST without an idempotency key that timed out: the vendor may have processed it', async () => {
    // Prepare
    const { client, fetch } = setup([neverAnswers], { timeoutMs: 30 });

    // Act
    const error = await connectorErrorOf(client.request(post(), callContext()));

    // Assess
    expect(error.code).toBe('API_TIMEOUT');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('retries a POST whose connection was refused: it never reached the vendor', async () => {
    // Prepare
    const { client, fetch } = setup([
      () => {
        throw networkError('ECONNREFUSED');
      },
      { status: 201, body: { id: 'ord_1' } },
    ]);

    // Act
    const response = await client.request(post(), callContext());

    // Assess
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(response.status).toBe(201);
    expect(response.attempts).toBe(2);
  });

  it('does not retry a POST whose connection was reset: the vendor may have processed it', async () => {
    // Prepare
    const { client, fetch } = setup([
      () => {
        throw networkError('ECONNRESET');
      },
      { status: 201 },
    ]);

    // Act
    const error = await connectorErrorOf(client.request(post(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.httpStatus).toBe(502);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('retries a GET whose connection was reset', async () => {
    // Prepare
    const { client, fetch } = setup([
      () => {
        throw networkError('ECONNRESET');
      },
      { status: 200, body: { ok: true } },
    ]);

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(response.body).toEqual({ ok: true });
  });

  it('retries a POST answered 500 when it forwards the idempotency key, sending it on every attempt', async () => {
    // Prepare
    const { client, requests } = setup([{ status: 500 }, { status: 201, body: { id: 'ord_1' } }], {
      forwardIdempotencyKey: true,
    });

    // Act
    const response = await client.request(post({ idempotencyKey: 'order-2025-0042' }), callContext());

    // Assess
    expect(response.status).toBe(201);
    expect(requests).toHaveLength(2);
    expect(requests.map((r) => r.headers.get('idempotency-key'))).toEqual([
      'order-2025-0042',
      'order-2025-0042',
    ]);
  });

  it('neither sends the idempotency key nor retries a POST 500 when the connector does not forward it', async () => {
    // Prepare
    const { client, requests } = setup([{ status: 500 }, { status: 201 }], { forwardIdempotencyKey: false });

    // Act
    const error = await connectorErrorOf(
      client.request(post({ idempotencyKey: 'order-2025-0042' }), callContext()),
    );

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.has('idempotency-key')).toBe(false);
  });

  it('does not retry a POST 500 when forwarding is on but the caller sent no key', async () => {
    // Prepare
    const { client, requests } = setup([{ status: 500 }, { status: 201 }], { forwardIdempotencyKey: true });

    // Act
    const error = await connectorErrorOf(client.request(post(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.has('idempotency-key')).toBe(false);
  });
});

describe('HttpClient: status mapping', () => {
  it('maps a 404 to UPSTREAM_REJECTED (422) with an excerpt of the upstream body', async () => {
    // Prepare
    const { client } = setup([{ status: 404, body: { message: 'No such order: ord_404' } }]);

    // Act
    const error = await connectorErrorOf(client.request(get('/anything/orders/ord_404'), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_REJECTED');
    expect(error.httpStatus).toBe(422);
    expect(error.source).toBe('upstream');
    expect(error.upstreamStatus).toBe(404);
    expect(error.details).toEqual({ upstreamBody: '{"message":"No such order: ord_404"}' });
  });

  it('keeps the upstream body excerpt short', async () => {
    // Prepare
    const { client } = setup([{ status: 400, body: 'x'.repeat(20_000) }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    const { upstreamBody } = error.details as { upstreamBody: string };
    expect(upstreamBody.startsWith('xxxx')).toBe(true);
    expect(upstreamBody.length).toBeLessThanOrEqual(1_024);
  });

  it('maps a 429 to RATE_LIMIT_EXCEEDED with retryAfterSeconds from Retry-After', async () => {
    // Prepare
    const { client } = setup([{ status: 429, headers: { 'retry-after': '7' } }], {
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    });

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(error.httpStatus).toBe(429);
    expect(error.upstreamStatus).toBe(429);
    expect(error.retryAfterSeconds).toBe(7);
  });

  it('after a 401 refreshes the credentials once, then answers AUTHENTICATION_ERROR if still rejected', async () => {
    // Prepare
    const { client, fetch, auth } = setup([{ status: 401, body: { error: 'invalid_token' } }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('AUTHENTICATION_ERROR');
    expect(error.httpStatus).toBe(502);
    expect(error.upstreamStatus).toBe(401);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(auth.authorize).toHaveBeenCalledTimes(2);
    expect(auth.authorize.mock.calls[0]?.[1]?.forceRefresh).toBe(false);
    expect(auth.authorize.mock.calls[1]?.[1]?.forceRefresh).toBe(true);
  });

  it('succeeds when the forced refresh after a 401 brings rotated credentials', async () => {
    // Prepare
    const { client, auth } = setup([
      (request) =>
        new Response(null, {
          status: request.headers.get('authorization') === 'Bearer tok-example-rotated' ? 200 : 401,
        }),
    ]);
    auth.authorize.mockImplementation(async (request, options) => {
      request.headers.set(
        'authorization',
        options?.forceRefresh ? 'Bearer tok-example-rotated' : 'Bearer tok-example-old',
      );
    });

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.status).toBe(200);
    expect(response.attempts).toBe(2);
  });

  it('maps a 403 to AUTHENTICATION_ERROR without retrying', async () => {
    // Prepare
    const { client, fetch, auth } = setup([{ status: 403 }]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('AUTHENTICATION_ERROR');
    expect(error.upstreamStatus).toBe(403);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(auth.authorize).toHaveBeenCalledTimes(1);
  });

  it('redacts a registered secret that the upstream echoes in its error body', async () => {
    // Prepare
    const { client } = setup([
      { status: 400, body: { message: `Invalid token ${SECRET}`, header: `Bearer ${SECRET}` } },
    ]);

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_REJECTED');
    const body = JSON.stringify(error.toBody('req-0001'));
    expect(body).not.toContain(SECRET);
    expect(body).toContain('[REDACTED]');
  });
});

describe('HttpClient: circuit breaker', () => {
  const breaker = { failureRateThreshold: 0.5, minimumCalls: 2, windowSeconds: 60, openSeconds: 10 };
  const once = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 };

  it('opens after enough failed calls and then fails fast without calling the upstream', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 500 }], { circuitBreaker: breaker, retry: once });
    await connectorErrorOf(client.request(get(), callContext()));
    await connectorErrorOf(client.request(get(), callContext()));

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('CIRCUIT_BREAKER_OPEN');
    expect(error.httpStatus).toBe(503);
    expect(error.retryAfterSeconds).toBe(10);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('lets one probe through after openSeconds; its success closes the breaker', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 500 }, { status: 500 }, { status: 200, body: { ok: true } }], {
      circuitBreaker: breaker,
      retry: once,
    });
    await connectorErrorOf(client.request(get(), callContext()));
    await connectorErrorOf(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(9_000);
    const stillOpen = await connectorErrorOf(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(1_000);

    // Act
    const probe = await client.request(get(), callContext());
    const next = await client.request(get(), callContext());

    // Assess
    expect(stillOpen.code).toBe('CIRCUIT_BREAKER_OPEN');
    expect(stillOpen.retryAfterSeconds).toBe(1);
    expect(probe.status).toBe(200);
    expect(next.status).toBe(200);
    expect(client.circuitBreaker.state).toBe('closed');
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it('lets only the probe reach the upstream while it is in flight', async () => {
    // Prepare
    vi.useFakeTimers();
    let answerProbe: (response: Response) => void = () => {};
    const probeAnswer = new Promise<Response>((resolve) => {
      answerProbe = resolve;
    });
    const { client, fetch } = setup([{ status: 500 }, { status: 500 }, () => probeAnswer], {
      circuitBreaker: breaker,
      retry: once,
    });
    await connectorErrorOf(client.request(get(), callContext()));
    await connectorErrorOf(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(10_000);

    // Act
    const probe = track(client.request(get(), callContext()));
    const concurrent = track(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(0);
    const callsWhileProbing = fetch.mock.calls.length;
    answerProbe(new Response('still down', { status: 500 }));
    const [probeOutcome, concurrentOutcome] = await Promise.all([probe.result, concurrent.result]);

    // Assess
    expect(callsWhileProbing).toBe(3);
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(probeOutcome.ok ? undefined : probeOutcome.error).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(concurrentOutcome.ok ? undefined : concurrentOutcome.error).toMatchObject({
      code: 'CIRCUIT_BREAKER_OPEN',
    });
  });

  it('opens again when the probe fails', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 500 }], { circuitBreaker: breaker, retry: once });
    await connectorErrorOf(client.request(get(), callContext()));
    await connectorErrorOf(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(10_000);

    // Act
    const probe = await connectorErrorOf(client.request(get(), callContext()));
    const after = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(probe.code).toBe('UPSTREAM_ERROR');
    expect(after.code).toBe('CIRCUIT_BREAKER_OPEN');
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('is not tripped by answers that are the caller’s fault (4xx)', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 404 }], { circuitBreaker: breaker, retry: once });
    await connectorErrorOf(client.request(get(), callContext()));
    await connectorErrorOf(client.request(get(), callContext()));

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_REJECTED');
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});

describe('HttpClient: local rate limit', () => {
  it('refuses the call over the burst with RATE_LIMIT_EXCEEDED from the connector, without calling the upstream', async () => {
    // Prepare: 2 at once, then one every 100 s
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 200 }], { rateLimit: { requestsPerSecond: 0.01, burst: 2 } });
    await client.request(get(), callContext());
    await client.request(get(), callContext());

    // Act
    const error = await connectorErrorOf(client.request(get(), callContext()));

    // Assess
    expect(error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(error.source).toBe('connector');
    expect(error.httpStatus).toBe(429);
    expect(error.retryAfterSeconds).toBe(100);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('serves calls again once the bucket has refilled', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup([{ status: 200 }], { rateLimit: { requestsPerSecond: 0.01, burst: 1 } });
    await client.request(get(), callContext());
    await connectorErrorOf(client.request(get(), callContext()));
    await vi.advanceTimersByTimeAsync(100_000);

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.status).toBe(200);
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe('HttpClient: GET cache', () => {
  it('serves a second identical GET from the cache until the TTL runs out', async () => {
    // Prepare
    vi.useFakeTimers();
    const { client, fetch } = setup(
      [
        { status: 200, body: { version: 1 } },
        { status: 200, body: { version: 2 } },
      ],
      {
        cacheTtlSeconds: 60,
      },
    );
    const first = await client.request(get('/anything/items', { query: { page: 1 } }), callContext());

    // Act
    const second = await client.request(get('/anything/items', { query: { page: 1 } }), callContext());
    await vi.advanceTimersByTimeAsync(60_000);
    const third = await client.request(get('/anything/items', { query: { page: 1 } }), callContext());

    // Assess
    expect(first).toMatchObject({ cached: false, attempts: 1, body: { version: 1 } });
    expect(second).toMatchObject({ cached: true, attempts: 0, status: 200, body: { version: 1 } });
    expect(third).toMatchObject({ cached: false, attempts: 1, body: { version: 2 } });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('keys the cache on the query: a different query is fetched', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 200, body: { ok: true } }], { cacheTtlSeconds: 60 });
    await client.request(get('/anything/items', { query: { page: 1 } }), callContext());

    // Act
    const other = await client.request(get('/anything/items', { query: { page: 2 } }), callContext());

    // Assess
    expect(other.cached).toBe(false);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('does not serve one caller’s cached answer to a GET with different request headers', async () => {
    // Prepare: a header that selects whose data the vendor answers with (as Stripe-Account does)
    const { client, fetch } = setup(
      [(request) => Response.json({ account: request.headers.get('x-account') })],
      { cacheTtlSeconds: 60 },
    );
    await client.request(get('/anything/balance', { headers: { 'x-account': 'acct_A' } }), callContext());

    // Act
    const other = await client.request(
      get('/anything/balance', { headers: { 'x-account': 'acct_B' } }),
      callContext(),
    );
    const same = await client.request(
      get('/anything/balance', { headers: { 'X-Account': 'acct_A' } }),
      callContext(),
    );

    // Assess
    expect(other).toMatchObject({ cached: false, body: { account: 'acct_B' } });
    expect(same).toMatchObject({ cached: true, body: { account: 'acct_A' } });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('never caches a POST', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 201, body: { id: 'ord_1' } }], { cacheTtlSeconds: 60 });
    await client.request(post(), callContext());

    // Act
    const second = await client.request(post(), callContext());

    // Assess
    expect(second.cached).toBe(false);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('does not cache an error answer', async () => {
    // Prepare
    const { client, fetch } = setup([{ status: 404 }, { status: 200, body: { found: true } }], {
      cacheTtlSeconds: 60,
    });
    await connectorErrorOf(client.request(get(), callContext()));

    // Act
    const second = await client.request(get(), callContext());

    // Assess
    expect(second).toMatchObject({ cached: false, status: 200, body: { found: true } });
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe('HttpClient: redirects', () => {
  it('follows a same-origin redirect and returns the final answer', async () => {
    // Prepare
    const { client, requests } = setup([
      { status: 302, headers: { location: '/anything/final' } },
      { status: 200, body: { final: true } },
    ]);

    // Act
    const response = await client.request(get('/anything/start'), callContext());

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ final: true });
    expect(requests.map((r) => r.url)).toEqual([`${BASE_URL}/anything/start`, `${BASE_URL}/anything/final`]);
  });

  it.each([
    'https://evil.example/collect',
    'http://api.example.com/anything/final',
    'https://api.example.com:8443/anything/final',
  ])('does not follow a redirect to another origin (%s)', async (location) => {
    // Prepare
    const { client, requests } = setup([{ status: 302, headers: { location } }, { status: 200 }]);

    // Act
    const error = await connectorErrorOf(client.request(get('/anything/start'), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(requests.map((r) => r.url)).toEqual([`${BASE_URL}/anything/start`]);
  });

  it('follows up to 5 redirects', async () => {
    // Prepare
    const hops: UpstreamStep[] = [1, 2, 3, 4, 5].map((n) => ({
      status: 307,
      headers: { location: `/anything/hop/${n}` },
    }));
    const { client, requests } = setup([...hops, { status: 200, body: { hops: 5 } }]);

    // Act
    const response = await client.request(get('/anything/start'), callContext());

    // Assess
    expect(response.body).toEqual({ hops: 5 });
    expect(requests).toHaveLength(6);
  });

  it('answers UPSTREAM_ERROR after more than 5 redirects, without retrying', async () => {
    // Prepare
    const { client, fetch } = setup([
      (request) =>
        new Response(null, { status: 302, headers: { location: `${new URL(request.url).pathname}/again` } }),
    ]);

    // Act
    const error = await connectorErrorOf(client.request(get('/anything/loop'), callContext()));

    // Assess
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(fetch).toHaveBeenCalledTimes(6);
  });

  it('keeps a query-borne API key on a same-origin redirect', async () => {
    // Prepare
    const redactor = new Redactor();
    const auth = createAuthScheme(
      { type: 'apiKey', in: 'query', name: 'api_key', secret: 'example' },
      { credentials: { getSecret: async () => ({ apiKey: 'fake-api-key-example' }) }, redactor },
    );
    const { client, requests } = setup(
      [
        { status: 302, headers: { location: '/anything/final?page=2' } },
        { status: 200, body: { final: true } },
      ],
      { auth, redactor },
    );

    // Act
    const response = await client.request(get('/anything/start'), callContext());

    // Assess
    expect(response.status).toBe(200);
    const finalUrl = new URL(requests[1]?.url ?? '');
    expect(finalUrl.pathname).toBe('/anything/final');
    expect(finalUrl.searchParams.get('page')).toBe('2');
    expect(finalUrl.searchParams.get('api_key')).toBe('fake-api-key-example');
  });

  it('continues a POST answered 303 as a GET without the body', async () => {
    // Prepare
    const { client, requests } = setup([
      { status: 303, headers: { location: '/anything/orders/ord_1' } },
      { status: 200, body: { id: 'ord_1' } },
    ]);

    // Act
    const response = await client.request(post(), callContext());

    // Assess
    expect(response.body).toEqual({ id: 'ord_1' });
    expect(requests[1]).toMatchObject({
      method: 'GET',
      body: undefined,
      url: `${BASE_URL}/anything/orders/ord_1`,
    });
  });
});

describe('HttpClient: base URL', () => {
  /** What constructing a client with `options` throws, or `undefined`. */
  function constructionError(options: Partial<HttpClientOptions>): unknown {
    try {
      setup([{ status: 200 }], options);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it('refuses an http:// base URL on a public host with CONFIGURATION_ERROR', () => {
    // Prepare
    const options = { baseUrl: 'http://api.example.com' };

    // Act
    const thrown = constructionError(options);

    // Assess
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(thrown).toMatchObject({ code: 'CONFIGURATION_ERROR', httpStatus: 500 });
  });

  it('refuses http://127.0.0.1 without allowLoopbackHttp', () => {
    // Prepare
    const options = { baseUrl: 'http://127.0.0.1:8080' };

    // Act
    const thrown = constructionError(options);

    // Assess
    expect(thrown).toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });

  it('calls http://127.0.0.1 with allowLoopbackHttp', async () => {
    // Prepare
    const { client, requests } = setup([{ status: 200, body: { ok: true } }], {
      baseUrl: 'http://127.0.0.1:8080',
      allowLoopbackHttp: true,
    });

    // Act
    const response = await client.request(get(), callContext());

    // Assess
    expect(response.status).toBe(200);
    expect(requests[0]?.url).toBe('http://127.0.0.1:8080/anything/items');
  });

  it('refuses allowLoopbackHttp for a host that is not loopback', () => {
    // Prepare
    const options = { baseUrl: 'http://api.example.com', allowLoopbackHttp: true };

    // Act
    const thrown = constructionError(options);

    // Assess
    expect(thrown).toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });
});

describe('HttpClient: one log line per attempt', () => {
  it('logs each attempt with the contract fields, the path without query values, and no secret', async () => {
    // Prepare
    const { client, output } = setup([{ status: 503, body: `upstream saw ${SECRET}` }, { status: 200 }]);

    // Act
    await client.request(
      get(`/anything/hooks/${SECRET}`, { query: { cursor: 'c-7781', limit: 10 } }),
      callContext(),
    );

    // Assess
    const attempts = output.lines().filter((line) => line.message === 'upstream attempt');
    expect(attempts).toHaveLength(2);
    const [first, second] = attempts;
    const common = {
      connector: 'example',
      operation: 'request',
      method: 'GET',
      host: 'api.example.com',
      path: '/anything/hooks/[REDACTED]?cursor=&limit=',
      requestId: 'req-0001',
      durationMs: expect.any(Number),
    };
    expect(first).toMatchObject({
      ...common,
      level: 'WARN',
      status: 503,
      attempt: 1,
      outcome: 'retry',
      errorCode: 'UPSTREAM_ERROR',
      errorSource: 'upstream',
    });
    expect(second).toMatchObject({ ...common, level: 'INFO', status: 200, attempt: 2, outcome: 'success' });
    expect(second).not.toHaveProperty('errorCode');
    expect(output.text()).not.toContain(SECRET);
    expect(output.text()).not.toContain('c-7781');
  });

  it('logs a failed final attempt as a failure, without a status when there was no answer', async () => {
    // Prepare
    const { client, output } = setup([
      () => {
        throw networkError('ECONNRESET');
      },
    ]);

    // Act
    await connectorErrorOf(client.request(post(), callContext()));

    // Assess
    const attempts = output.lines().filter((line) => line.message === 'upstream attempt');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      method: 'POST',
      path: '/anything/orders',
      attempt: 1,
      outcome: 'failure',
      errorCode: 'UPSTREAM_ERROR',
      errorSource: 'upstream',
      requestId: 'req-0001',
    });
    // The Logger drops null fields: no answer means no status, never a made-up one.
    expect(attempts[0]?.status ?? null).toBeNull();
  });
});
