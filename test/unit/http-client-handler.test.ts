/**
 * Issue 8, defects 9, 13, 15 and 16, through the real http connector handler over a scripted
 * upstream: redirect hops held to the allow-list and the base path, a capped `Retry-After`, a GET
 * cache that honours `Cache-Control`, is bounded in bytes and keyed by the credential, and one
 * Secrets Manager read for a burst of 401s.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import { SecretsManagerCredentialStore } from '../../functions/shared/credentials/secrets-manager.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { MAX_RETRY_AFTER_SECONDS } from '../../functions/shared/errors.js';
import { Redactor } from '../../functions/shared/redaction.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import {
  apiGatewayEvent,
  captureOutput,
  lambdaContext,
  scriptedFetch,
  type UpstreamStep,
} from '../support/fakes.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const BASE_URL = 'https://api.vendor.example/v1';

let token = 'tok-example';
const credentials: CredentialStore = { getSecret: async () => ({ token }) };

function handlerFor(
  steps: UpstreamStep[],
  overrides: Record<string, unknown> = {},
  store: CredentialStore = credentials,
): { handler: ConnectorHandler } & ReturnType<typeof scriptedFetch> {
  const config = parseConnectorConfig(
    {
      name: 'vendor',
      kind: 'http',
      baseUrl: BASE_URL,
      auth: { type: 'bearer', secret: 'vendor' },
      allowedPathPrefixes: ['/items'],
      retry: { maxAttempts: 1 },
      ...overrides,
    },
    'vendor',
  );
  const scripted = scriptedFetch(...steps);
  const handler = httpConnector.createHandler({
    config,
    credentials: store,
    fetch: scripted.fetch,
    redactor: new Redactor(),
  });
  return { handler, ...scripted };
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: {
    data?: { status: number; body: unknown };
    meta?: { cached: boolean; attempts: number };
    error?: { code: string; retryAfterSeconds?: number; source: string };
  };
}

async function call(handler: ConnectorHandler, path = '/items', method = 'GET'): Promise<Answer> {
  const result = await handler(
    apiGatewayEvent({ connector: 'vendor', body: { method, path } }),
    lambdaContext(),
  );
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) };
}

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  token = 'tok-example';
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('redirect hops are checked like a caller’s path (issue 8, defect 9)', () => {
  it.each([
    ['a path outside allowedPathPrefixes', '/v1/admin'],
    ['a path outside the base URL’s path', '/admin'],
    ['dot segments that resolve outside', '/v1/items/../../admin'],
    ['an encoded dot segment', '/v1/items/%2e%2e/admin'],
  ])(
    'a 302 from an allowed path to %s ends the call: 502, and the hop is never sent',
    async (_case, location) => {
      // Prepare
      const { handler, requests } = handlerFor([
        { status: 302, headers: { location } },
        { status: 200, body: { admin: true } },
      ]);

      // Act
      const answer = await call(handler);

      // Assess
      expect(answer.status).toBe(502);
      expect(answer.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', source: 'upstream' });
      expect(requests.map((r) => new URL(r.url).pathname)).toEqual(['/v1/items']);
    },
  );

  it('a redirect within the allowed prefix is followed, with the credential', async () => {
    // Prepare
    const { handler, requests } = handlerFor([
      { status: 302, headers: { location: '/v1/items/2' } },
      { status: 200, body: { id: 2 } },
    ]);

    // Act
    const answer = await call(handler);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.data?.body).toEqual({ id: 2 });
    expect(requests.map((r) => [new URL(r.url).pathname, r.headers.get('authorization')])).toEqual([
      ['/v1/items', 'Bearer tok-example'],
      ['/v1/items/2', 'Bearer tok-example'],
    ]);
  });
});

describe('a vendor’s Retry-After reaches the caller capped (issue 8, defect 13)', () => {
  it.each([
    ['huge delta-seconds', 429, '999999999', MAX_RETRY_AFTER_SECONDS],
    ['more digits than a number holds', 429, '9'.repeat(400), MAX_RETRY_AFTER_SECONDS],
    ['an HTTP-date far ahead', 429, 'Fri, 31 Dec 9999 23:59:59 GMT', MAX_RETRY_AFTER_SECONDS],
    ['an HTTP-date in the past', 429, 'Wed, 21 Oct 2015 07:28:00 GMT', 1],
    ['a 503 with huge delta-seconds', 503, '999999999', MAX_RETRY_AFTER_SECONDS],
  ])(
    '%s: retryAfterSeconds and the Retry-After header stay within the cap',
    async (_case, status, value, expected) => {
      // Prepare
      const { handler } = handlerFor([
        { status, headers: { 'retry-after': value }, body: { error: 'wait' } },
      ]);

      // Act
      const answer = await call(handler);

      // Assess
      expect(answer.body.error?.retryAfterSeconds).toBe(expected);
      expect(answer.headers['retry-after']).toBe(String(expected));
    },
  );
});

describe('the GET cache (issue 8, defect 15)', () => {
  const cached = { cacheTtlSeconds: 60 };

  it.each([
    ['no-store', 'no-store'],
    ['private', 'private, max-age=600'],
    ['no-cache', 'no-cache'],
  ])('does not keep an answer marked Cache-Control: %s', async (_case, cacheControl) => {
    // Prepare
    const { handler, requests } = handlerFor(
      [{ status: 200, headers: { 'cache-control': cacheControl }, body: { n: 1 } }],
      cached,
    );
    await call(handler);

    // Act
    const second = await call(handler);

    // Assess
    expect(second.body.meta?.cached).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it('keeps an answer no longer than its max-age when that is shorter than the TTL', async () => {
    // Prepare
    const { handler, requests } = handlerFor(
      [{ status: 200, headers: { 'cache-control': 'max-age=1' }, body: { n: 1 } }],
      cached,
    );
    await call(handler);

    // Act
    vi.setSystemTime(NOW + 500);
    const within = await call(handler);
    vi.setSystemTime(NOW + 1_500);
    const after = await call(handler);

    // Assess
    expect(within.body.meta?.cached).toBe(true);
    expect(after.body.meta?.cached).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it('is keyed by the credential in use: a rotated credential does not read the old one’s answers', async () => {
    // Prepare
    const { handler, requests } = handlerFor(
      // The upstream names the credential it saw (success data never carries a credential itself).
      [
        (request) =>
          Response.json({
            seenBy: request.headers.get('authorization') === 'Bearer tok-example' ? 'first' : 'rotated',
          }),
      ],
      cached,
    );
    const first = await call(handler);
    token = 'tok-example-rotated';

    // Act
    const second = await call(handler);
    const third = await call(handler);

    // Assess
    expect(first.body.data?.body).toEqual({ seenBy: 'first' });
    expect(second.body.meta?.cached).toBe(false);
    expect(second.body.data?.body).toEqual({ seenBy: 'rotated' });
    expect(third.body.meta?.cached).toBe(true);
    expect(requests).toHaveLength(2);
  });

  it('is bounded in bytes (cacheMaxBytes): 200 distinct 64 KiB bodies keep it under 1 MiB', async () => {
    // Prepare
    const body = 'x'.repeat(64 * 1024);
    const { handler, requests } = handlerFor([{ status: 200, body }], {
      ...cached,
      cacheMaxBytes: 1024 * 1024,
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    });

    // Act
    for (let i = 0; i < 200; i++) await call(handler, `/items/${i}`);
    const usage = handler.client.cacheUsage;
    const newest = await call(handler, '/items/199');
    const oldest = await call(handler, '/items/0');

    // Assess
    expect(usage.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(usage.entries).toBe(15);
    expect(newest.body.meta?.cached).toBe(true);
    expect(oldest.body.meta?.cached).toBe(false);
    expect(requests).toHaveLength(201);
  });

  it('keeps a redirected GET under the URL asked for', async () => {
    // Prepare
    const { handler, requests } = handlerFor(
      [
        { status: 302, headers: { location: '/v1/items/2' } },
        { status: 200, body: { id: 2 } },
      ],
      cached,
    );
    await call(handler);

    // Act
    const again = await call(handler);

    // Assess
    expect(again.body.meta?.cached).toBe(true);
    expect(again.body.data?.body).toEqual({ id: 2 });
    expect(requests).toHaveLength(2);
  });

  it('hands each hit its own copy of the body', async () => {
    // Prepare
    const { handler } = handlerFor([{ status: 200, body: { items: [1, 2] } }], cached);
    await call(handler);
    const hit = await handler.client.request(
      { operation: 'request', method: 'GET', path: '/items' },
      { requestId: 'r', deadlineAtMs: Date.now() + 10_000 },
    );
    (hit.body as { items: number[] }).items.push(3);

    // Act
    const again = await call(handler);

    // Assess
    expect(again.body.meta?.cached).toBe(true);
    expect(again.body.data?.body).toEqual({ items: [1, 2] });
  });
});

describe('a burst of 401s (issue 8, defect 16)', () => {
  const secretsManager = mockClient(SecretsManagerClient);

  afterEach(() => {
    secretsManager.reset();
  });

  it('twenty concurrent 401s make one Secrets Manager read, and every call succeeds with the rotated secret', async () => {
    // Prepare: the cached secret is stale; the vendor accepts only the rotated one.
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"token":"tok-example-old"}' })
      .resolves({ SecretString: '{"token":"tok-example-rotated"}' });
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
    });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });
    await store.getSecret('vendor');
    const { handler } = handlerFor(
      [
        (request) =>
          request.headers.get('authorization') === 'Bearer tok-example-rotated'
            ? Response.json({ ok: true })
            : new Response('bad token', { status: 401 }),
      ],
      {},
      store,
    );

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(handler)));
    client.destroy();

    // Assess
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    // One read to warm the store, one forced read for all twenty 401s.
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
