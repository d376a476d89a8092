/**
 * The local gateway end to end against a real httpbin (HTTPBIN_URL): what a user sees with curl on
 * `POST /v1/connectors/{connector}/request`, and that nothing the gateway prints carries the token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import {
  type CapturedOutput,
  captureOutput,
  countingFetch,
  type Envelope,
  EXAMPLE_TOKEN,
  type HttpbinEcho,
  suiteConfig,
  type TempSecrets,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const HTTPBIN_URL = process.env.HTTPBIN_URL ?? '';

/** Shared by every connector: httpbin with the example bearer token. */
const common = { kind: 'http', baseUrl: HTTPBIN_URL, auth: { type: 'bearer', secret: 'httpbin' } } as const;
const MAIN_MAX_ATTEMPTS = 3;
/**
 * The breaker's open time, in seconds: longer than any gap between two calls of the test, even on a
 * loaded machine, so the call made while it is open always finds it open. The test moves the clock
 * past it (a fake `Date`, which the breaker reads) rather than waiting.
 */
const OPEN_SECONDS = 60;
/**
 * The per-attempt timeout of the connectors whose attempts are counted, in ms: far above any answer
 * of a local httpbin, even with the cores shared, so no count depends on the machine's speed.
 */
const ATTEMPT_TIMEOUT_MS = 20_000;

describe.skipIf(!process.env.HTTPBIN_URL)('local gateway against httpbin', () => {
  const upstream = countingFetch();
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let gateway: LocalGateway;

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets();
    const config = suiteConfig({
      connectors: [
        {
          ...common,
          name: 'httpbin',
          allowedMethods: ['GET', 'POST'],
          allowedPathPrefixes: ['/anything', '/status', '/bearer', '/uuid', '/post'],
          timeoutMs: ATTEMPT_TIMEOUT_MS,
          retry: { maxAttempts: MAIN_MAX_ATTEMPTS, baseDelayMs: 10, maxDelayMs: 50 },
          // Never trips here: the breaker has its own connector below.
          circuitBreaker: { minimumCalls: 1_000 },
          forwardIdempotencyKey: true,
        },
        {
          ...common,
          name: 'httpbin-slow',
          allowedPathPrefixes: ['/delay'],
          timeoutMs: 500,
          retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
          circuitBreaker: { minimumCalls: 1_000 },
        },
        {
          ...common,
          name: 'httpbin-breaker',
          allowedPathPrefixes: ['/anything', '/status'],
          timeoutMs: ATTEMPT_TIMEOUT_MS,
          retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
          circuitBreaker: {
            failureRateThreshold: 0.5,
            minimumCalls: 2,
            windowSeconds: 30,
            openSeconds: OPEN_SECONDS,
          },
        },
      ],
    });
    gateway = await startLocalGateway({ config, credentials: secrets.store, port: 0, fetch: upstream.fetch });
  });

  afterAll(async () => {
    await gateway?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  /** What `curl -X POST $URL/v1/connectors/{connector}/request -d '{...}'` does. */
  async function call<T = unknown>(
    connector: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; body: Envelope<T> }> {
    const response = await fetch(`${gateway.url}/v1/connectors/${connector}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Envelope<T>,
    };
  }

  it('GET /anything/hello answers 200 with httpbin seeing the bearer token, in one attempt', async () => {
    // Prepare
    const request = { method: 'GET', path: '/anything/hello' };

    // Act
    const response = await call<HttpbinEcho>('httpbin', request);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.data?.status).toBe(200);
    // The caller never receives the connector's credentials, even as the vendor echoes them.
    expect(response.body.data?.body.headers.Authorization).toBe('Bearer [REDACTED]');
    expect(response.body.data?.body.url).toBe(`${HTTPBIN_URL}/anything/hello`);
    expect(response.body.meta).toMatchObject({
      connector: 'httpbin',
      operation: 'request',
      attempts: 1,
      cached: false,
      idempotentReplay: false,
      upstreamStatus: 200,
    });
    expect(response.headers.get('x-request-id')).toBe(response.body.meta?.requestId);
  });

  it('a persistent 503 answers 502 UPSTREAM_ERROR after retry.maxAttempts attempts', async () => {
    // Prepare
    const before = upstream.calls.length;

    // Act
    const response = await call('httpbin', { method: 'GET', path: '/status/503' });

    // Assess
    expect(response.status).toBe(502);
    expect(response.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      source: 'upstream',
      retryable: true,
      upstreamStatus: 503,
      attempts: MAIN_MAX_ATTEMPTS,
    });
    expect(upstream.calls.slice(before)).toEqual(Array(MAIN_MAX_ATTEMPTS).fill(`${HTTPBIN_URL}/status/503`));
  });

  it('/delay/10 with timeoutMs 500 and maxAttempts 2 answers 504 API_TIMEOUT after 2 attempts', async () => {
    // Prepare
    const before = upstream.calls.length;

    // Act
    const response = await call('httpbin-slow', { method: 'GET', path: '/delay/10' });

    // Assess
    expect(response.status).toBe(504);
    expect(response.body.error).toMatchObject({ code: 'API_TIMEOUT', source: 'upstream', attempts: 2 });
    expect(upstream.calls.length - before).toBe(2);
  });

  it.each(['/admin', '/anything/../admin', '/anything/%2e%2e/admin', '//evil.example/anything'])(
    'path %s answers 400 VALIDATION_ERROR and never reaches httpbin',
    async (path) => {
      // Prepare
      const before = upstream.calls.length;

      // Act
      const response = await call('httpbin', { method: 'GET', path });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        source: 'client',
        retryable: false,
      });
      expect(response.body.error?.details).toEqual([expect.objectContaining({ path: 'path' })]);
      expect(upstream.calls.length).toBe(before);
    },
  );

  it('a malformed JSON body answers 400 VALIDATION_ERROR and never reaches httpbin', async () => {
    // Prepare
    const before = upstream.calls.length;

    // Act
    const response = await call('httpbin', '{"method": "GET", "path": ');

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', source: 'client' });
    expect(upstream.calls.length).toBe(before);
  });

  it('GET /uuid twice with the same Idempotency-Key answers the same uuid, the second as a replay', async () => {
    // Prepare
    const key = `it-${randomUUID()}`;
    const before = upstream.calls.length;

    // Act
    const first = await call<{ uuid: string }>(
      'httpbin',
      { method: 'GET', path: '/uuid' },
      { 'Idempotency-Key': key },
    );
    const second = await call<{ uuid: string }>(
      'httpbin',
      { method: 'GET', path: '/uuid' },
      { 'Idempotency-Key': key },
    );

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.body.data?.body.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.body.data?.body.uuid).toBe(first.body.data?.body.uuid);
    expect(first.body.meta?.idempotentReplay).toBe(false);
    expect(second.body.meta?.idempotentReplay).toBe(true);
    expect(upstream.calls.length - before).toBe(1);
  });

  it('the same Idempotency-Key with a different body answers 422 IDEMPOTENCY_KEY_REUSED', async () => {
    // Prepare
    const key = `it-${randomUUID()}`;
    await call('httpbin', { method: 'GET', path: '/uuid' }, { 'Idempotency-Key': key });
    const before = upstream.calls.length;

    // Act
    const response = await call(
      'httpbin',
      { method: 'GET', path: '/anything/other' },
      { 'Idempotency-Key': key },
    );

    // Assess
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', source: 'client' });
    expect(upstream.calls.length).toBe(before);
  });

  it('forwardIdempotencyKey sends the caller’s Idempotency-Key to httpbin', async () => {
    // Prepare
    const key = `it-${randomUUID()}`;

    // Act
    const response = await call<HttpbinEcho>(
      'httpbin',
      { method: 'GET', path: '/anything/forwarded' },
      { 'Idempotency-Key': key },
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.data?.body.headers['Idempotency-Key']).toBe(key);
  });

  it('/bearer answers 200: httpbin accepts the token', async () => {
    // Prepare
    const request = { method: 'GET', path: '/bearer' };

    // Act
    const response = await call<{ authenticated: boolean }>('httpbin', request);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.data?.status).toBe(200);
    expect(response.body.data?.body.authenticated).toBe(true);
  });

  it('an unknown connector answers 404 NOT_FOUND naming the configured ones', async () => {
    // Prepare
    const before = upstream.calls.length;

    // Act
    const response = await call('no-such-connector', { method: 'GET', path: '/anything' });

    // Assess
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'NOT_FOUND', source: 'client' });
    expect(response.body.error?.message).toContain('httpbin');
    expect(upstream.calls.length).toBe(before);
  });

  it.each([
    ['connector', '/v1/connectors/%E0%A4%A/request'],
    ['operation', '/v1/connectors/httpbin/%ZZ'],
  ])(
    'a malformed percent-encoding in the %s segment answers 404 NOT_FOUND, not a 500',
    async (_segment, route) => {
      // Prepare
      const before = upstream.calls.length;

      // Act
      const response = await fetch(`${gateway.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'GET', path: '/anything' }),
      });
      const body = (await response.json()) as Envelope;

      // Assess
      expect(response.status).toBe(404);
      expect(body.error).toMatchObject({ code: 'NOT_FOUND', source: 'client' });
      expect(body.error?.requestId).not.toBe('');
      expect(upstream.calls.length).toBe(before);
    },
  );

  it('POST /post with a JSON body: httpbin echoes it', async () => {
    // Prepare
    const payload = { order: 'ord-123', items: [{ sku: 'sku-1', quantity: 2 }], note: 'ünïcode' };

    // Act
    const response = await call<HttpbinEcho>('httpbin', { method: 'POST', path: '/post', body: payload });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.data?.body.json).toEqual(payload);
    expect(response.body.data?.body.headers['Content-Type']).toBe('application/json');
    expect(response.body.meta?.attempts).toBe(1);
  });

  it('failing calls open the breaker: it fails fast with Retry-After, then a half-open probe closes it', async () => {
    // Prepare: the breaker's clock (Date) stands still until the test moves it, so the open time
    // cannot run out between calls however slow the machine; network and timers stay real.
    const breaker = gateway.handlers.get('httpbin-breaker')?.client.circuitBreaker;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const failures = [
        await call('httpbin-breaker', { method: 'GET', path: '/status/503' }),
        await call('httpbin-breaker', { method: 'GET', path: '/status/503' }),
      ];
      const before = upstream.calls.length;

      // Act
      const rejected = await call('httpbin-breaker', { method: 'GET', path: '/anything/while-open' });
      const callsWhileOpen = upstream.calls.length - before;
      vi.setSystemTime(Date.now() + OPEN_SECONDS * 1000);
      const probe = await call<HttpbinEcho>('httpbin-breaker', { method: 'GET', path: '/anything/probe' });
      const stateAfterProbe = breaker?.state;
      const after = await call('httpbin-breaker', { method: 'GET', path: '/anything/after' });

      // Assess
      expect(failures.map((f) => [f.status, f.body.error?.code])).toEqual([
        [502, 'UPSTREAM_ERROR'],
        [502, 'UPSTREAM_ERROR'],
      ]);
      expect(rejected.status).toBe(503);
      expect(rejected.body.error).toMatchObject({
        code: 'CIRCUIT_BREAKER_OPEN',
        source: 'connector',
        retryable: true,
        retryAfterSeconds: OPEN_SECONDS,
      });
      expect(rejected.headers.get('retry-after')).toBe(String(OPEN_SECONDS));
      expect(callsWhileOpen).toBe(0);
      expect(probe.status).toBe(200);
      expect(probe.body.data?.body.url).toBe(`${HTTPBIN_URL}/anything/probe`);
      expect(stateAfterProbe).toBe('closed');
      expect(after.status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('prints no token on any path, even one the caller puts in the URL path', async () => {
    // Prepare
    const request = { method: 'GET', path: `/anything/${EXAMPLE_TOKEN}` };

    // Act
    const response = await call('httpbin', request);

    // Assess
    expect(response.status).toBe(200);
    const lines = output.lines();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('"upstream attempt"')).length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('"message":"request"')).length).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('/anything/[REDACTED]'))).toBe(true);
    expect(lines.filter((line) => line.includes(EXAMPLE_TOKEN))).toEqual([]);
  });
});
