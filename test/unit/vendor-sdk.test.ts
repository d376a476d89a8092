/**
 * The bridge between vendor SDKs and the suite's policies: the policy fetch hands the vendor's final
 * answer back after the policies' retries, refuses other origins, and records policy failures that
 * `callVendor` then rethrows instead of the SDK's wrapped error.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { HttpClient, type HttpClientOptions } from '../../functions/shared/http/client.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  callVendor,
  createPolicyFetch,
  type VendorCallState,
} from '../../functions/shared/runtime/vendor-sdk.js';
import { captureOutput } from '../support/fakes.js';

function setup(answers: Array<() => Response | Promise<Response>>, options: Partial<HttpClientOptions> = {}) {
  const redactor = new Redactor();
  const upstream = vi.fn(async (_input: string | URL | Request, _init?: RequestInit) => {
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  });
  const client = new HttpClient({
    connector: 'vendor',
    baseUrl: 'https://api.vendor.example',
    timeoutMs: 5_000,
    retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 1, minimumCalls: 100, windowSeconds: 60, openSeconds: 30 },
    rateLimit: { requestsPerSecond: 100, burst: 100 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: false,
    auth: { authorize: async () => {} },
    powertools: createPowertools({ serviceName: 'vendor', redactor }),
    redactor,
    fetch: upstream,
    refreshCredentialsOn401: false,
    ...options,
  });
  const state: VendorCallState = { attempts: 0, calls: 0, upstreamStatus: null, policyError: undefined };
  const sdkFetch = createPolicyFetch(
    client,
    'createThing',
    { requestId: 'req-1', deadlineAtMs: Date.now() + 10_000 },
    state,
  );
  return { sdkFetch, state, upstream };
}

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createPolicyFetch', () => {
  it("forwards the SDK's request as sent (URL, method, headers, form body) and returns the answer", async () => {
    // Prepare
    const { sdkFetch, state, upstream } = setup([
      () => Response.json({ id: 'thing_1' }, { status: 201, headers: { 'x-request-id': 'vendor-req' } }),
    ]);

    // Act
    const response = await sdkFetch('https://api.vendor.example/v1/things?expand=owner', {
      method: 'POST',
      headers: {
        authorization: 'Bearer fake-key-example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ name: 'Ada' }),
    });

    // Assess
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 'thing_1' });
    expect(response.headers.get('x-request-id')).toBe('vendor-req');
    const [url, init] = upstream.mock.calls[0] ?? [];
    expect(String(url)).toBe('https://api.vendor.example/v1/things?expand=owner');
    expect(init?.method).toBe('POST');
    expect(init?.body).toBe('name=Ada');
    expect(new Headers(init?.headers).get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(state).toMatchObject({ calls: 1, attempts: 1, upstreamStatus: 201 });
  });

  it("hands the vendor's final error answer to the SDK after the policies' retries", async () => {
    // Prepare
    const busy = () => Response.json({ error: { type: 'api_error' } }, { status: 503 });
    const { sdkFetch, state, upstream } = setup([busy, busy, busy]);

    // Act
    const response = await sdkFetch('https://api.vendor.example/v1/things/1');

    // Assess
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { type: 'api_error' } });
    expect(upstream).toHaveBeenCalledTimes(3);
    expect(state).toMatchObject({ attempts: 3, upstreamStatus: 503 });
  });

  it('answers a 204 with no body', async () => {
    // Prepare
    const { sdkFetch } = setup([() => new Response(null, { status: 204 })]);

    // Act
    const response = await sdkFetch('https://api.vendor.example/v1/dispatches', {
      method: 'POST',
      body: '{}',
    });

    // Assess
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('refuses a URL outside the connector base URL, before anything is sent', async () => {
    // Prepare
    const { sdkFetch, state, upstream } = setup([]);

    // Act
    const act = sdkFetch('https://elsewhere.example/v1/things');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect(upstream).not.toHaveBeenCalled();
    // Kept, so that callVendor reports it rather than the SDK's wrapped connection error.
    expect(state.policyError?.code).toBe('CONFIGURATION_ERROR');
  });

  it('throws and records a failure of the policies themselves', async () => {
    // Prepare
    const refused = () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    };
    const { sdkFetch, state } = setup([refused, refused, refused]);

    // Act
    const act = sdkFetch('https://api.vendor.example/v1/things/1');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(state.policyError?.code).toBe('UPSTREAM_ERROR');
    expect(state.attempts).toBe(3);
  });
});

describe('callVendor', () => {
  it('rethrows the policy failure rather than the error the SDK wrapped it in', async () => {
    // Prepare
    const state: VendorCallState = { attempts: 2, calls: 0, upstreamStatus: null, policyError: undefined };
    const policyError = new ConnectorError('API_TIMEOUT', 'slow');
    const mapError = vi.fn(() => new ConnectorError('UPSTREAM_ERROR', 'mapped'));

    // Act
    const act = callVendor(
      state,
      async () => {
        state.policyError = policyError;
        throw new Error('SDK connection error');
      },
      mapError,
    );

    // Assess
    await expect(act).rejects.toBe(policyError);
    expect(mapError).not.toHaveBeenCalled();
  });

  it("maps the SDK's error with the vendor mapping and counts the attempts", async () => {
    // Prepare
    const state: VendorCallState = { attempts: 3, calls: 1, upstreamStatus: 402, policyError: undefined };

    // Act
    const act = callVendor(
      state,
      async () => {
        throw Object.assign(new Error('Your card was declined.'), { statusCode: 402 });
      },
      () => new ConnectorError('UPSTREAM_REJECTED', 'card declined', { upstreamStatus: 402 }),
    );

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'UPSTREAM_REJECTED', attempts: 3, upstreamStatus: 402 });
  });

  it("gives the mapping the status and headers of the vendor's last answer in this call only", async () => {
    // Prepare
    const { sdkFetch, state } = setup([
      () => Response.json({ error: 'slow down' }, { status: 400, headers: { 'retry-after': '7' } }),
    ]);
    const observed: unknown[] = [];
    const mapError = (_error: unknown, seen: unknown) => {
      observed.push(seen);
      return new ConnectorError('UPSTREAM_REJECTED', 'mapped');
    };

    // Act
    await callVendor(
      state,
      async () => {
        await sdkFetch('https://api.vendor.example/v1/things/1');
        throw new Error('the SDK saw a 400');
      },
      mapError,
    ).catch(() => undefined);
    await callVendor(
      state,
      async () => {
        throw new Error('the SDK failed before sending');
      },
      mapError,
    ).catch(() => undefined);

    // Assess
    expect(observed).toEqual([
      { upstreamStatus: 400, headers: expect.objectContaining({ 'retry-after': '7' }) },
      {},
    ]);
  });

  it('turns an error the mapping does not know into INTERNAL_ERROR without its message', async () => {
    // Prepare
    const state: VendorCallState = { attempts: 0, calls: 0, upstreamStatus: null, policyError: undefined };

    // Act
    const act = callVendor(
      state,
      async () => {
        throw new Error('secret internals');
      },
      () => undefined,
    );

    // Assess
    const error = await act.catch((e: unknown) => e as ConnectorError);
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).not.toContain('secret internals');
  });
});
