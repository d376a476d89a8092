/**
 * Retry safety from the description (issue 14, deliverable 3), through the local gateway: a GET is
 * retried after a 500 and after a 429 with `Retry-After`; a POST whose operation declares an
 * idempotency-key header under the vendor's own name (`X-Idempotency-Token`) gets the caller's
 * `Idempotency-Key` in it and is retried like one carrying `Idempotency-Key`; a POST that declares
 * none is sent once. The upstream answers the first request of each path with the fault, then 200.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/index.js';
import {
  type CapturedOutput,
  captureOutput,
  sendJson,
  startTestServer,
  type TestServer,
} from '../support/integration-helpers.js';

/** A small OpenAPI 3.0 description: what the test needs, nothing more. */
const DESCRIPTION = {
  openapi: '3.0.3',
  info: { title: 'Notes', version: '1' },
  servers: [{ url: 'https://api.example.com' }],
  paths: {
    '/charges': {
      post: {
        operationId: 'createCharge',
        parameters: [{ name: 'X-Idempotency-Token', in: 'header', schema: { type: 'string' } }],
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', properties: { cents: { type: 'integer' } } } },
          },
        },
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/notes': {
      post: {
        operationId: 'createNote',
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', properties: { text: { type: 'string' } } } },
          },
        },
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/notes/{id}': {
      get: {
        operationId: 'getNote',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  },
};

describe('retry safety of openapi operations', () => {
  let output: CapturedOutput;
  let dir: string;
  let mock: TestServer;
  let gateway: LocalGateway;

  beforeAll(async () => {
    output = captureOutput();
    dir = await mkdtemp(path.join(tmpdir(), 'openapi-retry-'));
    await writeFile(path.join(dir, 'notes.json'), JSON.stringify(DESCRIPTION));
    // The first request of each path fails: /notes/throttled with 429 and Retry-After, the others
    // with 500 (not 503: a 503 proves nothing was done, so even a bare POST is retried after one).
    mock = await startTestServer((req, res, count) => {
      req.resume();
      if (count > 1) return sendJson(res, 200, { ok: true });
      if (req.url?.startsWith('/notes/throttled')) {
        return sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '1' });
      }
      return sendJson(res, 500, { error: 'try later' });
    });
    gateway = await startLocalGateway({
      suite: {
        connectors: [
          {
            name: 'notes',
            kind: 'openapi',
            spec: path.join(dir, 'notes.json'),
            operations: ['createCharge', 'createNote', 'getNote'],
            baseUrl: mock.url,
            retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
          },
        ],
      } as never,
      port: 0,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await rm(dir, { recursive: true, force: true });
    output?.restore();
  });

  async function call(operation: string, input: unknown, idempotencyKey?: string) {
    const response = await fetch(`${gateway.url}/v1/connectors/notes/${operation}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: JSON.stringify(input),
    });
    return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
  }

  const sentTo = (pathname: string) => mock.requests.filter((r) => r.url.split('?')[0] === pathname);

  it('retries a GET after a 500 and after a 429 with Retry-After', async () => {
    // Act
    const failed = await call('getNote', { path: { id: 'n1' } });
    const throttled = await call('getNote', { path: { id: 'throttled' } });

    // Assess
    expect(failed.status).toBe(200);
    expect(sentTo('/notes/n1')).toHaveLength(2);
    expect(throttled.status).toBe(200);
    expect(sentTo('/notes/throttled')).toHaveLength(2);
  });

  it("puts the caller's key in the declared X-Idempotency-Token and retries that POST", async () => {
    // Act
    const answer = await call('createCharge', { body: { cents: 100 } }, 'charge-key-1');

    // Assess
    expect(answer.status).toBe(200);
    const sent = sentTo('/charges');
    expect(sent).toHaveLength(2);
    expect(sent.map((r) => r.headers['x-idempotency-token'])).toEqual(['charge-key-1', 'charge-key-1']);
  });

  it('sends a POST whose operation declares no idempotency-key header once', async () => {
    // Act
    const answer = await call('createNote', { body: { text: 'hi' } }, 'note-key-1');

    // Assess
    expect(answer.status).toBeGreaterThanOrEqual(500);
    expect(sentTo('/notes')).toHaveLength(1);
    expect(sentTo('/notes')[0]?.headers['idempotency-key']).toBeUndefined();
  });
});
