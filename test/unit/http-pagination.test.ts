/**
 * Issue 12, deliverable 3: the `http` connector's `request` follows pages (`paginate`) by `Link`
 * header, body cursor, page number or offset, within `maxPages`, `maxItems` and the deadline, every
 * page through the connector's policies. The styles run against a small local list server through
 * the real handler; the deadline cases on a fake clock; the property on an in-process list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';
import { startTestServer, type TestServer } from '../support/integration-helpers.js';

/** An obviously fake API key; the list server echoes it in its `next` links, as some APIs do. */
const API_KEY = 'key-example-0001';
const credentials: CredentialStore = { getSecret: async () => ({ apiKey: API_KEY }) };

/** The list a route serves: items `1..total`. */
function itemsOf(total: number): number[] {
  return Array.from({ length: total }, (_, i) => i + 1);
}

interface ListAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * The list API: `/api/{style}/{total}` serves items `1..total` in the style's pages (`link`:
 * `page`/`per_page` with a `Link` header echoing the credential; `cursor`: `{data, meta.next_cursor}`;
 * `pages`: `{items}` by `page`/`per_page`; `offset`: a bare array by `offset`/`limit`). Hostile
 * routes send a `Link` to another origin or to a path outside the allowed prefixes.
 */
function listAnswer(url: URL, origin: string, elsewhere: string): ListAnswer {
  const match = /^\/api\/(link|cursor|pages|offset|offsite|forbidden|dotdot)\/(\d+)$/.exec(url.pathname);
  if (!match) return { status: 404, body: { error: 'no such list' } };
  const style = match[1] as string;
  const all = itemsOf(Number(match[2]));
  const number = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
  if (style === 'cursor') {
    const limit = number('limit', 5);
    const after = number('cursor', 0);
    const data = all.filter((item) => item > after).slice(0, limit);
    const last = data.at(-1);
    const more = last !== undefined && last < all.length;
    return { status: 200, body: { data, meta: { next_cursor: more ? String(last) : null } } };
  }
  if (style === 'pages') {
    const size = number('per_page', 5);
    const page = number('page', 1);
    return { status: 200, body: { items: all.slice((page - 1) * size, page * size) } };
  }
  if (style === 'offset') {
    const limit = number('limit', 5);
    const offset = number('offset', 0);
    return { status: 200, body: all.slice(offset, offset + limit) };
  }
  const size = number('per_page', 5);
  const page = number('page', 1);
  const items = all.slice((page - 1) * size, page * size);
  const more = page * size < all.length;
  const nextPath = `/api/${style}/${all.length}?page=${page + 1}&per_page=${size}&api_key=${API_KEY}`;
  const target =
    style === 'offsite'
      ? `${elsewhere}${nextPath}`
      : style === 'forbidden'
        ? `${origin}/admin/users?page=2`
        : style === 'dotdot'
          ? `${origin}/api/link/../../admin?page=2`
          : `${origin}${nextPath}`;
  return {
    status: 200,
    body: { items },
    headers: more
      ? { link: `<${target}>; rel="next", <${origin}/api/${style}/${all.length}>; rel="first"` }
      : {},
  };
}

function serve(res: ServerResponse, answer: ListAnswer): void {
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

let server: TestServer;
let elsewhere: TestServer;
/** Per path: answers to give before the list's own (a failing page). */
const faults = new Map<string, number[]>();

beforeAll(async () => {
  elsewhere = await startTestServer((_req, res) => serve(res, { status: 200, body: { items: [999] } }));
  server = await startTestServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', server.url);
    const key = `${url.pathname}?page=${url.searchParams.get('page')}`;
    const fault = faults.get(key)?.shift();
    if (fault !== undefined) return serve(res, { status: fault, body: { error: 'unavailable' } });
    serve(res, listAnswer(url, server.url, elsewhere.url));
  });
});

afterAll(async () => {
  await server.close();
  await elsewhere.close();
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
  faults.clear();
  server.requests.length = 0;
  elsewhere.requests.length = 0;
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function lists(baseUrl: string, extra: Record<string, unknown> = {}) {
  return parseConnectorConfig(
    {
      name: 'lists',
      kind: 'http',
      baseUrl,
      auth: { type: 'apiKey', in: 'query', name: 'api_key', secret: 'lists' },
      allowedPathPrefixes: ['/link', '/cursor', '/pages', '/offset', '/offsite', '/forbidden', '/dotdot'],
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      ...extra,
    },
    'test',
    { allowLoopbackHttp: true },
  );
}

interface Paged {
  status: number;
  items: number[];
  pages: number;
  complete: boolean;
  stoppedBy?: string;
  reason?: string;
  next?: { from?: string | number; skip?: number };
  error?: { code: string };
}

/** Runs `request` through the real handler; the success `data`, or the error envelope's `error`. */
async function request(
  body: Record<string, unknown>,
  options: { config?: ReturnType<typeof lists>; fetch?: typeof fetch; remainingMs?: number } = {},
): Promise<{ statusCode: number; data: Paged; error?: { code: string; message: string }; raw: string }> {
  const handler = httpConnector.createHandler({
    config: options.config ?? lists(`${server.url}/api`),
    credentials,
    redactor: new Redactor(),
    allowLoopbackHttp: true,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const result = await handler(
    apiGatewayEvent({ connector: 'lists', body: { method: 'GET', ...body } }),
    lambdaContext(options.remainingMs ?? 29_000),
  );
  const parsed = JSON.parse(result.body) as { data: Paged; error?: { code: string; message: string } };
  return {
    statusCode: result.statusCode,
    data: parsed.data,
    raw: result.body,
    ...(parsed.error ? { error: parsed.error } : {}),
  };
}

describe('paginate: link', () => {
  it('reads a 5-page list whole within maxPages, every page with the credential, none leaked', async () => {
    // Act
    const { statusCode, data, raw } = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items', sizeParam: 'per_page', pageSize: 5, maxPages: 5 },
    });

    // Assess
    expect(statusCode).toBe(200);
    expect(data).toEqual({ status: 200, items: itemsOf(23), pages: 5, complete: true });
    expect(server.requests).toHaveLength(5);
    for (const received of server.requests) expect(received.url).toContain(`api_key=${API_KEY}`);
    expect(raw).not.toContain(API_KEY);
  });

  it('stops at maxPages with a next page that resumes exactly the rest, without the credential', async () => {
    // Act
    const first = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items', maxPages: 2 },
    });
    const rest = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items', maxPages: 10, start: first.data.next },
    });

    // Assess
    expect(first.data).toMatchObject({
      items: itemsOf(10),
      pages: 2,
      complete: false,
      stoppedBy: 'maxPages',
    });
    expect(first.data.next).toEqual({ from: '/link/23?page=3&per_page=5' });
    expect(rest.data).toMatchObject({ items: itemsOf(23).slice(10), pages: 3, complete: true });
  });

  it('stops at maxItems inside a page and resumes from the item after the last returned', async () => {
    // Act
    const first = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items', maxItems: 7 },
    });
    const rest = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items', start: first.data.next },
    });

    // Assess
    expect(first.data).toMatchObject({ items: itemsOf(7), pages: 2, complete: false, stoppedBy: 'maxItems' });
    expect(first.data.next).toEqual({ from: '/link/23?page=2&per_page=5', skip: 2 });
    expect([...first.data.items, ...rest.data.items]).toEqual(itemsOf(23));
  });

  it('never follows a next link to another origin', async () => {
    // Act
    const { data, raw } = await request({
      path: '/offsite/23',
      paginate: { style: 'link', itemsPath: 'items' },
    });

    // Assess
    expect(data).toMatchObject({ items: itemsOf(5), pages: 1, complete: false, stoppedBy: 'refusedNext' });
    expect(data.reason).toContain('another origin');
    expect(data.next).toBeUndefined();
    expect(elsewhere.requests).toHaveLength(0);
    expect(raw).not.toContain(API_KEY);
  });

  it.each([
    ['a path outside allowedPathPrefixes', '/forbidden/23'],
    ['a dot segment climbing out of the prefixes', '/dotdot/23'],
  ])('never follows a next link to %s', async (_case, path) => {
    // Act
    const { data } = await request({ path, paginate: { style: 'link', itemsPath: 'items' } });

    // Assess
    expect(data).toMatchObject({ pages: 1, complete: false, stoppedBy: 'refusedNext' });
    expect(data.reason).toContain('may not call');
    expect(server.requests.map((received) => received.url).filter((url) => url.includes('admin'))).toEqual(
      [],
    );
  });

  it.each([
    ['outside the allowed prefixes', '/admin/users?page=2'],
    ['climbing out with a dot segment', '/link/../admin?page=2'],
    ['setting the credential parameter', '/link/23?page=2&API_KEY=other'],
  ])('refuses a start.from %s with VALIDATION_ERROR, sending nothing', async (_case, from) => {
    // Act
    const { statusCode, error } = await request({
      path: '/link/23',
      paginate: { style: 'link', start: { from } },
    });

    // Assess
    expect(statusCode).toBe(400);
    expect(error?.code).toBe('VALIDATION_ERROR');
    expect(server.requests).toHaveLength(0);
  });
});

describe('paginate: cursor, page, offset', () => {
  it('follows a body cursor sent back as a parameter, and resumes from the cursor maxPages left', async () => {
    // Prepare
    const paginate = {
      style: 'cursor',
      itemsPath: 'data',
      cursorPath: 'meta.next_cursor',
      cursorParam: 'cursor',
      sizeParam: 'limit',
      pageSize: 4,
    };

    // Act
    const first = await request({ path: '/cursor/18', paginate: { ...paginate, maxPages: 3 } });
    const rest = await request({ path: '/cursor/18', paginate: { ...paginate, start: first.data.next } });

    // Assess
    expect(first.data).toMatchObject({
      items: itemsOf(12),
      pages: 3,
      stoppedBy: 'maxPages',
      next: { from: '12' },
    });
    expect(rest.data).toMatchObject({ items: itemsOf(18).slice(12), pages: 2, complete: true });
  });

  it('counts pages until a short page', async () => {
    // Act
    const { data } = await request({
      path: '/pages/23',
      paginate: { style: 'page', itemsPath: 'items', pageSize: 5 },
    });

    // Assess
    expect(data).toEqual({ status: 200, items: itemsOf(23), pages: 5, complete: true });
    expect(
      server.requests.map((received) => new URL(received.url, server.url).searchParams.get('page')),
    ).toEqual(['1', '2', '3', '4', '5']);
  });

  it('counts offsets until an empty page, and resumes a maxItems cut at the exact offset', async () => {
    // Act
    const whole = await request({ path: '/offset/20', paginate: { style: 'offset', pageSize: 5 } });
    const cut = await request({
      path: '/offset/20',
      paginate: { style: 'offset', pageSize: 5, maxItems: 8 },
    });

    // Assess
    expect(whole.data).toEqual({ status: 200, items: itemsOf(20), pages: 5, complete: true });
    expect(cut.data).toMatchObject({ items: itemsOf(8), stoppedBy: 'maxItems', next: { from: 8 } });
  });

  it('refuses paginate on a POST and a page parameter also set in query', async () => {
    // Act
    const post = await request({
      method: 'POST',
      path: '/pages/5',
      paginate: { style: 'page' },
    });
    const clash = await request({ path: '/pages/5', query: { page: 2 }, paginate: { style: 'page' } });

    // Assess
    expect(post.statusCode).toBe(400);
    expect(clash.statusCode).toBe(400);
    expect(clash.error?.message ?? '').not.toContain(API_KEY);
  });

  it('answers RESPONSE_VALIDATION_ERROR when a first page has no array at itemsPath', async () => {
    // Act
    const { statusCode, error } = await request({
      path: '/pages/5',
      paginate: { style: 'page', itemsPath: 'data.rows' },
    });

    // Assess
    expect(statusCode).toBe(502);
    expect(error?.code).toBe('RESPONSE_VALIDATION_ERROR');
    expect(error?.message).toContain("itemsPath 'data.rows'");
  });

  it('stops rather than loop when the upstream answers the same cursor again', async () => {
    // Prepare: an upstream whose cursor never moves.
    const fetch: typeof globalThis.fetch = async () =>
      Response.json({ data: [1], meta: { next_cursor: 'same' } });

    // Act
    const { data } = await request(
      {
        path: '/cursor/5',
        paginate: {
          style: 'cursor',
          itemsPath: 'data',
          cursorPath: 'meta.next_cursor',
          cursorParam: 'cursor',
        },
      },
      { config: lists('https://api.vendor.example/api'), fetch },
    );

    // Assess
    expect(data).toMatchObject({ items: [1, 1], pages: 2, complete: false, stoppedBy: 'refusedNext' });
  });

  it('keeps the unpaginated answer unchanged', async () => {
    // Act
    const { data } = await request({ path: '/pages/3' });

    // Assess
    expect(data).toMatchObject({ status: 200, body: { items: [1, 2, 3] } });
    expect(Object.keys(data)).toEqual(['status', 'headers', 'body']);
  });
});

describe('paginate: every page through the policies', () => {
  it('retries a failing page and still reads the list whole', async () => {
    // Prepare: page 3 answers 503 once.
    faults.set('/api/link/23?page=3', [503]);

    // Act
    const { data } = await request({ path: '/link/23', paginate: { style: 'link', itemsPath: 'items' } });

    // Assess
    expect(data).toMatchObject({ items: itemsOf(23), pages: 5, complete: true });
    expect(server.requests).toHaveLength(6);
  });

  it('stops at a page that keeps failing, with the pages before it and that page to resume from', async () => {
    // Prepare
    faults.set('/api/link/23?page=3', [500, 500, 500]);

    // Act
    const { statusCode, data } = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items' },
    });

    // Assess
    expect(statusCode).toBe(200);
    expect(data).toMatchObject({
      items: itemsOf(10),
      pages: 2,
      complete: false,
      stoppedBy: 'pageError',
      next: { from: '/link/23?page=3&per_page=5' },
      error: { code: 'UPSTREAM_ERROR' },
    });
  });

  it('holds every page to the rate limit: a page over it stops the walk, resumable', async () => {
    // Prepare: 3 requests at once, then one every ~3 hours.
    const config = lists(`${server.url}/api`, { rateLimit: { requestsPerSecond: 0.0001, burst: 3 } });

    // Act
    const { data } = await request(
      { path: '/link/23', paginate: { style: 'link', itemsPath: 'items' } },
      { config },
    );

    // Assess
    expect(data).toMatchObject({
      items: itemsOf(15),
      pages: 3,
      stoppedBy: 'pageError',
      next: { from: '/link/23?page=4&per_page=5' },
      error: { code: 'RATE_LIMIT_EXCEEDED' },
    });
    expect(server.requests).toHaveLength(3);
  });

  it('answers a failing first page as the unpaginated request does', async () => {
    // Prepare
    faults.set('/api/link/23?page=null', [422]);

    // Act
    const { statusCode, error } = await request({
      path: '/link/23',
      paginate: { style: 'link', itemsPath: 'items' },
    });

    // Assess
    expect(statusCode).toBe(422);
    expect(error?.code).toBe('UPSTREAM_REJECTED');
  });
});

describe('paginate: the deadline (fake clock)', () => {
  const NOW = Date.parse('2026-12-01T12:00:00Z');
  const realSetImmediate = globalThis.setImmediate;

  /** Runs the fake clock from timer to timer until `promise` settles. */
  async function settle<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    promise.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    while (!done) {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => realSetImmediate(resolve));
      if (done) break;
      if (vi.getTimerCount() === 0) throw new Error('The call waits on nothing that can end.');
      await vi.advanceTimersToNextTimerAsync();
    }
    return promise;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** A fake upstream: the offset list of 50 items; `slow(offset)` says how long that page takes (fake ms). */
  function upstream(slow: (offset: number) => number | 'stall') {
    const offsets: number[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(String(input));
      const offset = Number(url.searchParams.get('offset'));
      offsets.push(offset);
      const wait = slow(offset);
      const signal = init?.signal ?? undefined;
      await new Promise<void>((resolve, reject) => {
        const timer = wait === 'stall' ? undefined : setTimeout(resolve, wait);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
      return Response.json(itemsOf(50).slice(offset, offset + 5));
    };
    return { fetch, offsets };
  }

  it('does not start a page when less than timeoutMs is left, and says where to resume', async () => {
    // Prepare: 4 s of budget (4.5 s less the 0.5 s margin); each page takes 1.2 s; timeoutMs 2 s.
    const { fetch, offsets } = upstream(() => 1_200);
    const config = lists('https://api.vendor.example', { timeoutMs: 2_000 });
    const deadlineAtMs = NOW + 4_500 - config.deadlineMarginMs;

    // Act
    const answer = await settle(
      request(
        { path: '/offset/50', paginate: { style: 'offset', pageSize: 5 } },
        { config, fetch, remainingMs: 4_500 },
      ),
    );

    // Assess: page 2 ended at 2.4 s with 0.6 s left, less than timeoutMs: no page 3.
    expect(answer.data).toMatchObject({
      items: itemsOf(10),
      pages: 2,
      stoppedBy: 'deadline',
      next: { from: 10 },
    });
    expect(offsets).toEqual([0, 5]);
    expect(Date.now()).toBeLessThanOrEqual(deadlineAtMs);
  });

  it('stops by the deadline when a page stalls, with the pages before it', async () => {
    // Prepare: page 3 never answers: its first attempt ends at timeoutMs, its retry at the deadline.
    const { fetch, offsets } = upstream((offset) => (offset === 10 ? 'stall' : 100));
    const config = lists('https://api.vendor.example', { timeoutMs: 5_000 });
    const deadlineAtMs = NOW + 6_000 - config.deadlineMarginMs;

    // Act
    const answer = await settle(
      request(
        { path: '/offset/50', paginate: { style: 'offset', pageSize: 5 } },
        { config, fetch, remainingMs: 6_000 },
      ),
    );

    // Assess
    expect(answer.data).toMatchObject({
      items: itemsOf(10),
      pages: 2,
      complete: false,
      stoppedBy: 'deadline',
      next: { from: 10 },
      error: { code: 'API_TIMEOUT' },
    });
    expect(offsets).toEqual([0, 5, 10, 10]);
    expect(Date.now()).toBeLessThanOrEqual(deadlineAtMs + 5);
  });
});

describe('paginate: property', () => {
  it('never more than maxItems items nor maxPages requests; resuming from next yields exactly the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('link', 'cursor', 'page', 'offset'),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 15 }),
        async (style, total, pageSize, maxPages, maxItems) => {
          const origin = 'https://api.vendor.example';
          const requested: string[] = [];
          const fetch: typeof globalThis.fetch = async (input) => {
            const url = new URL(String(input));
            requested.push(url.href);
            const answer = listAnswer(url, origin, 'https://elsewhere.example');
            return Response.json(answer.body, { status: answer.status, headers: answer.headers ?? {} });
          };
          const config = lists(`${origin}/api`);
          const route = style === 'page' ? 'pages' : style;
          const paginate: Record<string, unknown> = {
            style,
            maxPages,
            maxItems,
            ...(style === 'cursor'
              ? {
                  itemsPath: 'data',
                  cursorPath: 'meta.next_cursor',
                  cursorParam: 'cursor',
                  sizeParam: 'limit',
                  pageSize,
                }
              : style === 'offset'
                ? { pageSize }
                : style === 'page'
                  ? { itemsPath: 'items', pageSize }
                  : { itemsPath: 'items', sizeParam: 'per_page', pageSize }),
          };
          const seen: number[] = [];
          let start: Paged['next'];
          for (let call = 0; call < 100; call++) {
            requested.length = 0;
            const { data } = await request(
              { path: `/${route}/${total}`, paginate: { ...paginate, ...(start ? { start } : {}) } },
              { config, fetch },
            );
            expect(data.items.length).toBeLessThanOrEqual(maxItems);
            expect(requested.length).toBeLessThanOrEqual(maxPages);
            seen.push(...data.items);
            if (data.complete) break;
            expect(data.next).toBeDefined();
            start = data.next;
          }
          expect(seen).toEqual(itemsOf(total));
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
