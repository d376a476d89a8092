/**
 * Issue 8, defects 4 and 5: every wait of a call ends by its deadline, and an attempt cut short by
 * the caller's own deadline is not held against the vendor. Everything runs on a fake clock: the
 * upstream, the token endpoint and the secret store take (fake) time, so no assertion depends on
 * how fast the machine is.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import type { AuthScheme } from '../../functions/shared/auth/types.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { HttpClient, type HttpClientOptions } from '../../functions/shared/http/client.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { apiGatewayEvent, captureOutput, lambdaContext, networkError } from '../support/fakes.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
/** What a call may take past its deadline: settling promises, not waiting. */
const MARGIN_MS = 5;

/** A fake-clock wait that rejects like fetch when `signal` aborts. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A promise that never settles unless `signal` aborts (a stalled upstream, token endpoint or store). */
function stall(signal?: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function client(fetch: typeof globalThis.fetch, auth: AuthScheme, options: Partial<HttpClientOptions> = {}) {
  const redactor = new Redactor();
  return new HttpClient({
    connector: 'vendor',
    baseUrl: 'https://api.vendor.example',
    timeoutMs: 5_000,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 1, windowSeconds: 60, openSeconds: 1 },
    rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: false,
    auth,
    powertools: createPowertools({ serviceName: 'vendor', redactor }),
    redactor,
    fetch,
    random: () => 0.5,
    ...options,
  });
}

const noAuth: AuthScheme = { authorize: async () => {} };

/** The real `setImmediate` (captured before the clock is faked): lets every pending promise job run. */
const realSetImmediate = globalThis.setImmediate;
const drainJobs = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => realSetImmediate(resolve));
};

/** Runs the fake clock from timer to timer until `promises` settle; the fake time each settled at. */
async function settleAll(promises: Array<Promise<unknown>>, limitMs = 120_000): Promise<number[]> {
  const settledAt: Array<number | undefined> = promises.map(() => undefined);
  promises.forEach((promise, i) => {
    promise.then(
      () => {
        settledAt[i] = Date.now();
      },
      () => {
        settledAt[i] = Date.now();
      },
    );
  });
  await vi.advanceTimersByTimeAsync(0);
  while (settledAt.some((t) => t === undefined)) {
    if (vi.getTimerCount() === 0) {
      await drainJobs();
      if (settledAt.every((t) => t !== undefined)) break;
      if (vi.getTimerCount() === 0)
        throw new Error('A call waits on nothing that can end: an unbounded wait.');
    }
    if (Date.now() - NOW > limitMs) throw new Error('A call outlived the fake clock limit.');
    await vi.advanceTimersToNextTimerAsync();
  }
  return settledAt as number[];
}

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('every wait ends by the deadline (issue 8, defect 4)', () => {
  it('a call arriving while the half-open probe is in flight waits for its verdict only until its deadline', async () => {
    // Prepare: one 503 opens the breaker; after openSeconds a probe goes out and the vendor takes 1 s.
    let calls = 0;
    const fetch = vi.fn<typeof globalThis.fetch>(async (_url, init) => {
      calls += 1;
      if (calls === 1) return new Response('down', { status: 503 });
      await delay(1_000, init?.signal ?? undefined);
      return Response.json({ ok: true });
    });
    const http = client(fetch, noAuth, {
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    });
    await settleAll([
      http
        .request(
          { operation: 'list', method: 'GET', path: '/items' },
          { requestId: 'r1', deadlineAtMs: Date.now() + 60_000 },
        )
        .catch(() => undefined),
    ]);
    vi.setSystemTime(Date.now() + 1_500);
    const probe = http.request(
      { operation: 'list', method: 'GET', path: '/items' },
      { requestId: 'probe', deadlineAtMs: Date.now() + 60_000 },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(http.circuitBreaker.state).toBe('half-open');
    const deadlineAtMs = Date.now() + 300;

    // Act
    const waiting = http
      .request({ operation: 'list', method: 'GET', path: '/items' }, { requestId: 'r2', deadlineAtMs })
      .catch((error: unknown) => error);
    const [endedAt] = await settleAll([waiting]);
    const error = await waiting;

    // Assess
    expect(endedAt).toBeLessThanOrEqual(deadlineAtMs + MARGIN_MS);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CIRCUIT_BREAKER_OPEN', retryAfterSeconds: 1 });
    expect(fetch).toHaveBeenCalledTimes(2);
    await settleAll([probe]);
    expect(http.circuitBreaker.state).toBe('closed');
  });

  it('time spent fetching a token comes off the attempt: a 500 ms deadline ends the call by 500 ms', async () => {
    // Prepare: the token takes 400 ms, the vendor never answers.
    const auth: AuthScheme = {
      authorize: async (request, options) => {
        await delay(400, options?.signal);
        request.headers.set('authorization', 'Bearer tok-example');
      },
    };
    const fetch = vi.fn<typeof globalThis.fetch>(async (_url, init) => stall(init?.signal ?? undefined));
    const http = client(fetch, auth);
    const deadlineAtMs = Date.now() + 500;

    // Act
    const call = http
      .request({ operation: 'list', method: 'GET', path: '/items' }, { requestId: 'r', deadlineAtMs })
      .catch((e: unknown) => e);
    const [endedAt] = await settleAll([call]);

    // Assess
    expect(endedAt).toBeLessThanOrEqual(deadlineAtMs + MARGIN_MS);
    expect(await call).toMatchObject({ code: 'API_TIMEOUT' });
  });

  it('a secret store or token endpoint that never answers (and ignores the signal) ends the call by its deadline', async () => {
    // Prepare
    const auth: AuthScheme = { authorize: () => stall() };
    const fetch = vi.fn<typeof globalThis.fetch>(async () => Response.json({ ok: true }));
    const http = client(fetch, auth);
    const deadlineAtMs = Date.now() + 300;

    // Act
    const call = http
      .request({ operation: 'list', method: 'GET', path: '/items' }, { requestId: 'r', deadlineAtMs })
      .catch((e: unknown) => e);
    const [endedAt] = await settleAll([call]);

    // Assess
    expect(endedAt).toBeLessThanOrEqual(deadlineAtMs + MARGIN_MS);
    expect(await call).toMatchObject({ code: 'API_TIMEOUT' });
    expect(fetch).not.toHaveBeenCalled();
  });

  /** One fault of the fake upstream, token endpoint or secret store. */
  const upstreamFault = fc.oneof(
    fc.record({
      kind: fc.constant('answer' as const),
      status: fc.constantFrom(200, 401, 404, 408, 500, 502, 503),
      afterMs: fc.oneof(fc.nat(30), fc.nat(3_000)),
    }),
    fc.record({
      kind: fc.constant('retryAfter' as const),
      status: fc.constantFrom(429, 503),
      value: fc.constantFrom(
        '0',
        '1',
        '3',
        '30',
        '999999999',
        'Wed, 21 Oct 2015 07:28:00 GMT',
        'Sat, 21 Nov 2026 12:00:02 GMT',
        'soon',
      ),
    }),
    fc.record({ kind: fc.constant('stall' as const) }),
    fc.record({ kind: fc.constant('reset' as const), afterMs: fc.nat(2_000) }),
    fc.record({ kind: fc.constant('stallBody' as const) }),
    fc.record({ kind: fc.constant('redirect' as const) }),
  );
  const authFault = fc.oneof(
    fc.record({ kind: fc.constant('ok' as const), afterMs: fc.nat(1_500) }),
    fc.record({ kind: fc.constant('stall' as const), honoursSignal: fc.boolean() }),
    fc.record({ kind: fc.constant('fail' as const) }),
  );

  it('property: whatever the faults, every call ends by its deadline plus a small constant, with a ConnectorError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(upstreamFault, { minLength: 1, maxLength: 12 }),
        fc.array(authFault, { minLength: 1, maxLength: 6 }),
        fc.array(
          fc.record({
            deadlineInMs: fc.integer({ min: 0, max: 4_000 }),
            // Bunched starts meet a half-open probe in flight more often.
            startAfterMs: fc.oneof(
              fc.integer({ min: 200, max: 260 }),
              fc.integer({ min: 1_000, max: 1_100 }),
              fc.nat(3_000),
            ),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.record({
          timeoutMs: fc.integer({ min: 50, max: 3_000 }),
          maxAttempts: fc.integer({ min: 1, max: 4 }),
          maxRetryAfterSeconds: fc.integer({ min: 0, max: 5 }),
          openSeconds: fc.constantFrom(0.2, 1, 2),
          burst: fc.integer({ min: 1, max: 10 }),
        }),
        async (faults, authFaults, calls, settings) => {
          vi.setSystemTime(NOW);
          let fetchCount = 0;
          const fetch = vi.fn<typeof globalThis.fetch>(async (url, init) => {
            const signal = init?.signal ?? undefined;
            const fault = faults[fetchCount++ % faults.length] as (typeof faults)[number];
            switch (fault.kind) {
              case 'answer':
                await delay(fault.afterMs, signal);
                return new Response('{}', {
                  status: fault.status,
                  headers: { 'content-type': 'application/json' },
                });
              case 'retryAfter':
                return new Response('slow down', {
                  status: fault.status,
                  headers: { 'retry-after': fault.value },
                });
              case 'stall':
                return stall(signal);
              case 'reset':
                await delay(fault.afterMs, signal);
                throw networkError('ECONNRESET');
              case 'stallBody':
                // Headers at once, then a body that never ends (and ignores the signal).
                return new Response(new ReadableStream({ start() {} }), { status: 200 });
              case 'redirect':
                return new Response(null, {
                  status: 302,
                  headers: { location: `${new URL(String(url)).pathname}/next` },
                });
            }
          });
          let authCount = 0;
          const auth: AuthScheme = {
            authorize: async (request, options) => {
              const fault = authFaults[authCount++ % authFaults.length] as (typeof authFaults)[number];
              if (fault.kind === 'ok') await delay(fault.afterMs, options?.signal);
              else if (fault.kind === 'stall') await stall(fault.honoursSignal ? options?.signal : undefined);
              else throw new ConnectorError('UPSTREAM_ERROR', 'The OAuth2 token request failed to connect.');
              request.headers.set('authorization', 'Bearer tok-example');
            },
          };
          const http = client(fetch, auth, {
            timeoutMs: settings.timeoutMs,
            retry: {
              maxAttempts: settings.maxAttempts,
              baseDelayMs: 100,
              maxDelayMs: 1_000,
              maxRetryAfterSeconds: settings.maxRetryAfterSeconds,
            },
            circuitBreaker: {
              failureRateThreshold: 0.5,
              minimumCalls: 1,
              windowSeconds: 60,
              openSeconds: settings.openSeconds,
            },
            rateLimit: { requestsPerSecond: 5, burst: settings.burst },
          });
          const deadlines: number[] = [];
          const outcomes: Array<Promise<unknown>> = calls.map(async (call, i) => {
            await delay(call.startAfterMs);
            const deadlineAtMs = Date.now() + call.deadlineInMs;
            deadlines[i] = deadlineAtMs;
            return http
              .request(
                { operation: 'list', method: 'GET', path: '/items' },
                { requestId: `r${i}`, deadlineAtMs },
              )
              .catch((error: unknown) => {
                if (!(error instanceof ConnectorError)) throw error;
                return error;
              });
          });
          const settledAt = await settleAll(outcomes);
          for (const [i, endedAt] of settledAt.entries()) {
            expect(endedAt).toBeLessThanOrEqual((deadlines[i] as number) + MARGIN_MS);
            await expect(outcomes[i]).resolves.toBeDefined();
          }
        },
      ),
      { numRuns: 300 },
    );
    // CPU time only (the clock is fake): generous, so a loaded machine does not fail it.
  }, 120_000);
});

describe('every wait ends by the deadline, through the real handler (issue 8, defect 4)', () => {
  const secretFault = fc.oneof(
    fc.record({ kind: fc.constant('ok' as const), afterMs: fc.nat(1_000) }),
    fc.record({ kind: fc.constant('stall' as const), honoursSignal: fc.boolean() }),
    fc.record({ kind: fc.constant('down' as const) }),
  );
  const vendorFault = fc.oneof(
    fc.record({
      kind: fc.constant('answer' as const),
      status: fc.constantFrom(200, 401, 500, 503),
      afterMs: fc.nat(2_000),
    }),
    fc.record({
      kind: fc.constant('retryAfter' as const),
      value: fc.constantFrom('1', '999999999', 'Fri, 31 Dec 9999 23:59:59 GMT'),
    }),
    fc.record({ kind: fc.constant('stall' as const) }),
    fc.record({
      kind: fc.constant('redirect' as const),
      location: fc.constantFrom('/items/2', '/admin', 'https://elsewhere.example/'),
    }),
  );

  it('property: the handler answers by the call deadline plus a small constant, never with a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(vendorFault, { minLength: 1, maxLength: 8 }),
        fc.array(secretFault, { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({ remainingMs: fc.integer({ min: 100, max: 5_000 }), startAfterMs: fc.nat(2_000) }),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        async (vendorFaults, secretFaults, calls) => {
          vi.setSystemTime(NOW);
          const config = parseConnectorConfig(
            {
              name: 'chaos',
              kind: 'http',
              baseUrl: 'https://api.vendor.example',
              auth: { type: 'bearer', secret: 'chaos' },
              allowedPathPrefixes: ['/items'],
              timeoutMs: 1_000,
              deadlineMarginMs: 50,
              retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500, maxRetryAfterSeconds: 2 },
              circuitBreaker: {
                failureRateThreshold: 0.5,
                minimumCalls: 1,
                windowSeconds: 60,
                openSeconds: 0.5,
              },
            },
            'chaos',
          );
          let secretReads = 0;
          const credentials: CredentialStore = {
            getSecret: async (_name, options) => {
              const fault = secretFaults[
                secretReads++ % secretFaults.length
              ] as (typeof secretFaults)[number];
              if (fault.kind === 'down')
                throw new ConnectorError('DEPENDENCY_UNAVAILABLE', 'Secrets Manager is down.');
              if (fault.kind === 'stall') await stall(fault.honoursSignal ? options?.signal : undefined);
              else await delay(fault.afterMs, options?.signal);
              return { token: 'tok-example' };
            },
          };
          let fetches = 0;
          const fetch = vi.fn<typeof globalThis.fetch>(async (_url, init) => {
            const signal = init?.signal ?? undefined;
            const fault = vendorFaults[fetches++ % vendorFaults.length] as (typeof vendorFaults)[number];
            switch (fault.kind) {
              case 'answer':
                await delay(fault.afterMs, signal);
                return Response.json({ ok: fault.status < 400 }, { status: fault.status });
              case 'retryAfter':
                return new Response('slow down', { status: 429, headers: { 'retry-after': fault.value } });
              case 'stall':
                return stall(signal);
              case 'redirect':
                return new Response(null, { status: 302, headers: { location: fault.location } });
            }
          });
          const handler = httpConnector.createHandler({
            config,
            credentials,
            fetch,
            redactor: new Redactor(),
          });
          const deadlines: number[] = [];
          const answers = calls.map(async (call, i) => {
            await delay(call.startAfterMs);
            deadlines[i] = Date.now() + call.remainingMs - config.deadlineMarginMs;
            return handler(
              apiGatewayEvent({ connector: 'chaos', body: { method: 'GET', path: '/items' } }),
              lambdaContext(call.remainingMs),
            );
          });
          const settledAt = await settleAll(answers);
          for (const [i, endedAt] of settledAt.entries()) {
            expect(endedAt).toBeLessThanOrEqual((deadlines[i] as number) + MARGIN_MS);
            const answer = await answers[i];
            expect(answer?.statusCode).not.toBe(500);
          }
        },
      ),
      { numRuns: 100 },
    );
    // CPU time only (the clock is fake): generous, so a loaded machine does not fail it.
  }, 120_000);
});

describe('the breaker counts only what the vendor did (issue 8, defect 5)', () => {
  it('three calls cut by their own 80 ms deadline against a 150 ms vendor leave the breaker closed; the next call succeeds', async () => {
    // Prepare: the real handler; the vendor answers after 150 ms of fake time.
    const config = parseConnectorConfig(
      {
        name: 'slow',
        kind: 'http',
        baseUrl: 'https://api.vendor.example',
        auth: { type: 'bearer', secret: 'slow' },
        allowedPathPrefixes: ['/items'],
        deadlineMarginMs: 100,
        circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 3, windowSeconds: 60, openSeconds: 30 },
      },
      'slow',
    );
    const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };
    const fetch = vi.fn<typeof globalThis.fetch>(async (_url, init) => {
      await delay(150, init?.signal ?? undefined);
      return Response.json({ ok: true });
    });
    const handler = httpConnector.createHandler({ config, credentials, fetch, redactor: new Redactor() });
    const event = () => apiGatewayEvent({ connector: 'slow', body: { method: 'GET', path: '/items' } });

    // Act: each call has 80 ms after the 100 ms margin.
    const short: Array<Promise<{ statusCode: number; body: string }>> = [];
    for (let i = 0; i < 3; i++) {
      const answer = handler(event(), lambdaContext(180));
      await settleAll([answer]);
      short.push(answer);
    }
    const stateAfterShortCalls = handler.client.circuitBreaker.state;
    const long = handler(event(), lambdaContext(20_100));
    await settleAll([long]);

    // Assess
    for (const answer of short) {
      expect(JSON.parse((await answer).body).error.code).toBe('API_TIMEOUT');
    }
    expect(stateAfterShortCalls).toBe('closed');
    expect((await long).statusCode).toBe(200);
  });
});
