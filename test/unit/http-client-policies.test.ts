/**
 * Two rules of the outbound client that sit between policies: a rate limit always says when to come
 * back, and credentials are obtained outside the circuit breaker, so a token endpoint's failure
 * neither counts against the vendor nor closes a half-open breaker.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthScheme } from '../../functions/shared/auth/types.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { HttpClient } from '../../functions/shared/http/client.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { captureOutput, connectorErrorOf } from '../support/fakes.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

function client(answers: Array<() => Response>, auth: AuthScheme, openSeconds = 30) {
  const redactor = new Redactor();
  const fetch = vi.fn(async () => {
    const next = answers.shift();
    return next ? next() : new Response(null, { status: 500 });
  });
  const http = new HttpClient({
    connector: 'vendor',
    baseUrl: 'https://api.vendor.example',
    timeoutMs: 5_000,
    retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 1, windowSeconds: 60, openSeconds },
    rateLimit: { requestsPerSecond: 100, burst: 100 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: false,
    auth,
    powertools: createPowertools({ serviceName: 'vendor', redactor }),
    redactor,
    fetch,
  });
  return { http, fetch };
}

const call = (http: HttpClient) =>
  http.request(
    { operation: 'list', method: 'GET', path: '/items' },
    { requestId: 'req', deadlineAtMs: Date.now() + 60_000 },
  );

const noAuth: AuthScheme = { authorize: async () => {} };

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('a rate limit without Retry-After', () => {
  it('still tells the caller when to come back', async () => {
    // Prepare
    const { http } = client([() => new Response('slow down', { status: 429 })], noAuth);

    // Act
    const error = await connectorErrorOf(call(http));

    // Assess
    expect(error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', upstreamStatus: 429, retryAfterSeconds: 1 });
  });
});

describe('credentials and the circuit breaker', () => {
  it('a failing token request neither reaches the vendor nor closes a half-open breaker', async () => {
    // Prepare: one failure opens the breaker; its open time then passes.
    let tokenEndpointDown = false;
    const auth: AuthScheme = {
      authorize: async () => {
        if (tokenEndpointDown)
          throw new ConnectorError('UPSTREAM_ERROR', 'The OAuth2 token request failed to connect.');
      },
    };
    const { http, fetch } = client(
      [() => new Response('down', { status: 503 }), () => Response.json({ ok: true })],
      auth,
      1,
    );
    await connectorErrorOf(call(http));
    vi.setSystemTime(NOW + 1_500);
    tokenEndpointDown = true;

    // Act
    const authFailure = await connectorErrorOf(call(http));
    const stateAfterAuthFailure = http.circuitBreaker.state;
    tokenEndpointDown = false;
    const probe = await call(http);

    // Assess
    expect(authFailure.code).toBe('UPSTREAM_ERROR');
    expect(stateAfterAuthFailure).not.toBe('closed');
    expect(probe.status).toBe(200);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(http.circuitBreaker.state).toBe('closed');
  });
});
