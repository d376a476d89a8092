/**
 * Once the vendor has answered a POST or PATCH with a 2xx, the request took effect: a body that
 * then breaks must not make the client send it again (found by the chaos suite's slow-whole-body
 * fault: the vendor saw the POST twice). Idempotent methods may still be retried.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AuthScheme } from '../../functions/shared/auth/types.js';
import type { HttpMethod } from '../../functions/shared/config.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { HttpClient } from '../../functions/shared/http/client.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';

const noAuth: AuthScheme = { authorize: async () => {} };

function client(fetch: typeof globalThis.fetch): HttpClient {
  const redactor = new Redactor();
  return new HttpClient({
    connector: 'vendor',
    baseUrl: 'https://api.vendor.example',
    timeoutMs: 5_000,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 0.99, minimumCalls: 100, windowSeconds: 60, openSeconds: 1 },
    rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: true,
    auth: noAuth,
    powertools: createPowertools({ serviceName: 'vendor', redactor }),
    redactor,
    fetch,
    random: () => 0,
  });
}

/** A 2xx whose body breaks after its first bytes (a reset mid-body). */
function brokenBody(status: number): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"id":'));
      controller.error(Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } }));
    },
  });
  return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

describe('a request the vendor accepted (2xx) whose answer breaks', () => {
  it.each(['POST', 'PATCH'] as const)(
    '%s is sent once, even with an Idempotency-Key: non-retryable UPSTREAM_ERROR',
    async (method) => {
      // Prepare
      const fetch = vi.fn<typeof globalThis.fetch>(async () => brokenBody(201));
      const http = client(fetch);

      // Act
      const error = await http
        .request(
          { operation: 'create', method, path: '/orders', body: { n: 1 }, idempotencyKey: 'order-1' },
          { requestId: 'r', deadlineAtMs: Date.now() + 30_000 },
        )
        .catch((e: unknown) => e);

      // Assess
      expect(fetch).toHaveBeenCalledTimes(1);
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: false, attempts: 1 });
    },
  );

  it.each(['GET', 'PUT'] as HttpMethod[])('%s is idempotent, so it is retried', async (method) => {
    // Prepare
    const fetch = vi
      .fn<typeof globalThis.fetch>()
      .mockImplementationOnce(async () => brokenBody(200))
      .mockImplementation(async () => Response.json({ id: 1 }));
    const http = client(fetch);

    // Act
    const response = await http.request(
      { operation: 'read', method, path: '/orders/1', ...(method === 'PUT' ? { body: { n: 1 } } : {}) },
      { requestId: 'r', deadlineAtMs: Date.now() + 30_000 },
    );

    // Assess
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(response).toMatchObject({ status: 200, body: { id: 1 }, attempts: 2 });
  });
});
