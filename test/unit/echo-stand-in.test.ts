/**
 * The echo service of the sandbox (local/stand-ins/echo.ts): the httpbin routes the docs and the
 * default suite use, answered as httpbin answers them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoStandIn } from '../../local/stand-ins/echo.js';
import type { VendorMock } from '../../local/stand-ins/server.js';

let echo: VendorMock;
beforeAll(async () => {
  echo = await startEchoStandIn();
});
afterAll(async () => {
  await echo.close();
});

describe('the echo stand-in', () => {
  it('echoes /anything with its args, title-cased headers, JSON body and method', async () => {
    // Act
    const response = await fetch(`${echo.url}/anything/hello?page=1&tag=a&tag=b`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'order-1234' },
      body: JSON.stringify({ n: 1 }),
    });
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(body).toMatchObject({
      args: { page: '1', tag: ['a', 'b'] },
      data: '{"n":1}',
      json: { n: 1 },
      form: {},
      files: {},
      method: 'PUT',
      url: `${echo.url}/anything/hello?page=1&tag=a&tag=b`,
    });
    expect((body.headers as Record<string, string>)['Idempotency-Key']).toBe('order-1234');
  });

  it('answers GET /get and POST /post, and 405 to another method on them', async () => {
    // Act
    const get = await fetch(`${echo.url}/get?x=1`);
    const post = await fetch(`${echo.url}/post`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=2',
    });
    const wrong = await fetch(`${echo.url}/get`, { method: 'POST', body: '{}' });

    // Assess
    expect(get.status).toBe(200);
    expect(Object.keys((await get.json()) as object).sort()).toEqual(['args', 'headers', 'origin', 'url']);
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({ form: { a: '1', b: '2' }, data: '', json: null });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
  });

  it.each([
    [200, 200],
    [418, 418],
    [503, 503],
    ['500,502', 500],
    ['abc', 400],
    [101, 400],
  ])('answers /status/%s with %i', async (code, expected) => {
    // Act
    const response = await fetch(`${echo.url}/status/${code}`, { method: 'POST', body: '{}' });
    await response.arrayBuffer();

    // Assess
    expect(response.status).toBe(expected);
  });

  it('answers /bearer 200 with the token, 401 with WWW-Authenticate without one', async () => {
    // Act
    const withToken = await fetch(`${echo.url}/bearer`, { headers: { authorization: 'Bearer tok-example' } });
    const without = await fetch(`${echo.url}/bearer`);
    await without.arrayBuffer();

    // Assess
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toEqual({ authenticated: true, token: 'tok-example' });
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers /headers, /uuid and /response-headers', async () => {
    // Act
    const headers = await fetch(`${echo.url}/headers`, { headers: { 'x-request-id': 'r-1' } });
    const uuid = await fetch(`${echo.url}/uuid`);
    const responseHeaders = await fetch(`${echo.url}/response-headers?x-custom=yes`);

    // Assess
    expect(((await headers.json()) as { headers: Record<string, string> }).headers['X-Request-Id']).toBe(
      'r-1',
    );
    expect(((await uuid.json()) as { uuid: string }).uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(responseHeaders.headers.get('x-custom')).toBe('yes');
    expect(await responseHeaders.json()).toMatchObject({ 'x-custom': 'yes' });
  });

  it('answers /delay/0 at once, as /anything without json and method', async () => {
    // Act
    const response = await fetch(`${echo.url}/delay/0?x=1`);
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(200);
    expect(body.args).toEqual({ x: '1' });
    expect(body).not.toHaveProperty('json');
    expect(body).not.toHaveProperty('method');
  });

  it('lets a caller give up on /delay, and answers 404 to an unknown route', async () => {
    // Prepare
    const caller = new AbortController();

    // Act
    const delayed = fetch(`${echo.url}/delay/10`, { signal: caller.signal }).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    caller.abort();
    const unknown = await fetch(`${echo.url}/nowhere`);
    await unknown.arrayBuffer();

    // Assess
    expect(await delayed).toBe('AbortError');
    expect(unknown.status).toBe(404);
  });

  it('serves the example list in each paginate style: Link, cursor, page and offset', async () => {
    // Act
    const get = async (query: string) => {
      const response = await fetch(`${echo.url}/pages/${query}`);
      const body = (await response.json()) as { items: Array<{ id: number }>; next_cursor?: string | null };
      return { status: response.status, link: response.headers.get('link'), body };
    };
    const link = await get('link?per_page=10&page=2');
    const last = await get('link?per_page=10&page=3');
    const cursor = await get('cursor?limit=10&cursor=20');
    const page = await get('page?total=4&per_page=3&page=2');
    const offset = await get('offset?offset=22');
    const bad = await get('page?per_page=0');

    // Assess
    expect(link.body.items.map((item) => item.id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(link.link).toBe(`<${echo.url}/pages/link?per_page=10&page=3>; rel="next"`);
    expect(last.body.items).toHaveLength(3);
    expect(last.link).toBeNull();
    expect(cursor.body).toEqual({
      items: [
        { id: 21, name: 'item-21' },
        { id: 22, name: 'item-22' },
        { id: 23, name: 'item-23' },
      ],
      next_cursor: null,
    });
    expect(page.body).toEqual({ items: [{ id: 4, name: 'item-4' }] });
    expect(offset.body).toEqual({ items: [{ id: 23, name: 'item-23' }] });
    expect(bad.status).toBe(400);
  });
});
