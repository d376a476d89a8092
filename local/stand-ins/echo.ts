/**
 * A local echo service for `http` connectors: the routes of httpbin (https://httpbin.org,
 * https://github.com/postmanlabs/httpbin) that the README, the docs and the default suite's
 * `allowedPathPrefixes` use, answered as httpbin answers them, so `npm start` works without the
 * internet (issue 11). Not a complete httpbin: `bash .ci/run` and `HTTPBIN_URL` still use the real one.
 *
 * | route | answer |
 * |---|---|
 * | `/anything[/...]`, any method | 200 `{args, data, files, form, headers, json, method, origin, url}` |
 * | `GET /get` | 200 `{args, headers, origin, url}` |
 * | `POST /post` | 200 `{args, data, files, form, headers, json, origin, url}` |
 * | `/status/{code}`, any method | that status (200–599; the first of a comma-separated list), empty body; another code 400 |
 * | `GET /bearer` | 200 `{authenticated: true, token}` with `Authorization: Bearer <token>`, else 401 with `WWW-Authenticate: Bearer` |
 * | `GET /headers` | 200 `{headers}` |
 * | `/delay/{seconds}`, any method | after `min(seconds, 10)` s, as `/anything` without `json` and `method` |
 * | `GET /uuid` | 200 `{uuid}` (a random v4 UUID) |
 * | `GET`/`POST /response-headers?name=value` | 200, each query parameter set as a response header and echoed in the body |
 * | `GET /pages/{style}` (not httpbin's) | a page of a list of `total` items `{id, name}`, to try `paginate`: see {@link pageOfList} |
 *
 * Header names are echoed in httpbin's title case (`Idempotency-Key`, `Authorization`); another
 * method on a known route answers 405, an unknown route 404, as httpbin does.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, type VendorMock } from './server.js';

/** Items a `/pages/{style}` list has unless `total` says. */
export const ECHO_LIST_TOTAL = 23;

/**
 * A page of the sandbox's example list (not an httpbin route: the real httpbin has no JSON list), one
 * per pagination style of the `http` connector's `paginate` (docs/connectors.md#pagination), the
 * list being `total` items `{id, name}` (default {@link ECHO_LIST_TOTAL}, at most 1000):
 * - `/pages/link?page=&per_page=`: `{items}` and an RFC 8288 `Link: <...>; rel="next"` (absolute,
 *   on the stand-in's origin, as GitHub sends it) until the last page;
 * - `/pages/cursor?cursor=&limit=`: `{items, next_cursor}`, `next_cursor` `null` on the last page;
 * - `/pages/page?page=&per_page=`: `{items}` (the last page short or empty);
 * - `/pages/offset?offset=&limit=`: `{items}`.
 * Page sizes default to 5, at most 100; a bad number answers 400.
 */
export function pageOfList(
  style: string,
  url: URL,
): { status: number; body: unknown; headers?: Record<string, string> } {
  const number = (name: string, fallback: number, min: number, max: number) => {
    const raw = url.searchParams.get(name);
    const value = raw === null ? fallback : Number(raw);
    return Number.isInteger(value) && value >= min && value <= max ? value : undefined;
  };
  const total = number('total', ECHO_LIST_TOTAL, 0, 1_000);
  const size = number(style === 'link' || style === 'page' ? 'per_page' : 'limit', 5, 1, 100);
  const start =
    style === 'offset'
      ? number('offset', 0, 0, 1_000_000)
      : style === 'cursor'
        ? number('cursor', 0, 0, 1_000_000)
        : (() => {
            const page = number('page', 1, 1, 1_000_000);
            return page === undefined || size === undefined ? undefined : (page - 1) * size;
          })();
  if (total === undefined || size === undefined || start === undefined) {
    return {
      status: 400,
      body: { error: 'total, page sizes, page, offset and cursor must be small whole numbers' },
    };
  }
  const items = [];
  for (let id = start + 1; id <= Math.min(total, start + size); id++) items.push({ id, name: `item-${id}` });
  const more = start + size < total;
  if (style === 'cursor')
    return { status: 200, body: { items, next_cursor: more ? String(start + size) : null } };
  if (style !== 'link' || !more) return { status: 200, body: { items } };
  const next = new URL(url.href);
  next.searchParams.set('page', String(start / size + 2));
  next.searchParams.set('per_page', String(size));
  return { status: 200, body: { items }, headers: { link: `<${next.href}>; rel="next"` } };
}

/** Options of {@link startEchoStandIn}. */
export interface EchoStandInOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
}

/** The longest `/delay/{seconds}` waits, in seconds, as httpbin's. */
export const ECHO_MAX_DELAY_SECONDS = 10;

/** `idempotency-key` → `Idempotency-Key`, as httpbin (werkzeug) names the headers it echoes. */
function titleCase(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('-');
}

/** The request's headers as httpbin echoes them: title-cased names, repeated values joined by `,`. */
function echoedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[titleCase(name)] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** Query or form parameters as httpbin echoes them: a string, or an array for a repeated name. */
function paramsOf(search: URLSearchParams): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const name of new Set(search.keys())) {
    const values = search.getAll(name);
    params[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return params;
}

/** What httpbin answers about the request on `/anything`, `/post` and `/delay`. */
function describe(req: IncomingMessage, url: URL, body: string): Record<string, unknown> {
  const contentType = String(req.headers['content-type'] ?? '');
  let json: unknown = null;
  if (body !== '') {
    try {
      json = JSON.parse(body);
    } catch {
      json = null;
    }
  }
  const form = contentType.startsWith('application/x-www-form-urlencoded')
    ? paramsOf(new URLSearchParams(body))
    : {};
  return {
    args: paramsOf(url.searchParams),
    data: contentType.startsWith('application/x-www-form-urlencoded') ? '' : body,
    files: {},
    form,
    headers: echoedHeaders(req),
    json,
    method: req.method,
    origin: req.socket.remoteAddress ?? '127.0.0.1',
    url: url.href,
  };
}

/**
 * Starts the echo service on 127.0.0.1.
 * @returns a {@link VendorMock}: its `url` is the connector's base URL (`http://127.0.0.1:PORT`),
 *   `requests` every request received, `close()` stops it and drops open connections
 */
export async function startEchoStandIn(options: EchoStandInOptions = {}): Promise<VendorMock> {
  const requests: VendorMock['requests'] = [];
  const timers = new Set<NodeJS.Timeout>();

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.destroyed) return;
    const text = body === undefined ? '' : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'access-control-allow-origin': '*',
      ...headers,
    });
    res.end(text);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const route = url.pathname;
    const only = (...methods: string[]) => {
      if (methods.includes(method)) return true;
      send(res, 405, undefined, { allow: methods.join(', ') });
      return false;
    };

    if (route === '/anything' || route.startsWith('/anything/'))
      return send(res, 200, describe(req, url, body));
    if (route === '/get') {
      if (!only('GET', 'HEAD')) return;
      const { args, headers, origin, url: href } = describe(req, url, body);
      return send(res, 200, { args, headers, origin, url: href });
    }
    if (route === '/post') {
      if (!only('POST')) return;
      const { method: _method, ...rest } = describe(req, url, body);
      return send(res, 200, rest);
    }
    if (route === '/headers') {
      if (!only('GET', 'HEAD')) return;
      return send(res, 200, { headers: echoedHeaders(req) });
    }
    if (route === '/uuid') {
      if (!only('GET', 'HEAD')) return;
      return send(res, 200, { uuid: randomUUID() });
    }
    if (route === '/bearer') {
      if (!only('GET', 'HEAD')) return;
      const match = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
      if (!match) return send(res, 401, undefined, { 'www-authenticate': 'Bearer' });
      return send(res, 200, { authenticated: true, token: match[1] });
    }
    if (route === '/response-headers') {
      if (!only('GET', 'POST', 'HEAD')) return;
      const params = paramsOf(url.searchParams);
      const headers = Object.fromEntries(
        Object.entries(params).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
      );
      return send(res, 200, { 'Content-Type': 'application/json', ...params }, headers);
    }
    const list = /^\/pages\/(link|cursor|page|offset)$/.exec(route);
    if (list) {
      if (!only('GET', 'HEAD')) return;
      const page = pageOfList(list[1] as string, url);
      return send(res, page.status, page.body, page.headers);
    }
    const status = /^\/status\/([^/]+)$/.exec(route);
    if (status) {
      const code = Number((status[1] as string).split(',')[0]);
      // 1xx cannot be a final answer in node:http.
      if (!Number.isInteger(code) || code < 200 || code > 599)
        return send(res, 400, { error: 'Invalid status code' });
      return send(res, code);
    }
    const delay = /^\/delay\/([^/]+)$/.exec(route);
    if (delay) {
      const seconds = Math.min(Number(delay[1]), ECHO_MAX_DELAY_SECONDS);
      if (!Number.isFinite(seconds) || seconds < 0) return send(res, 400, { error: 'Invalid delay' });
      const { json: _json, method: _method, ...rest } = describe(req, url, body);
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(res, 200, rest);
      }, seconds * 1000);
      timers.add(timer);
      // A caller that gives up (its deadline) frees the timer at once.
      res.once('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
      return;
    }
    return send(res, 404, undefined);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, body });
      answer(req, res, body);
    });
  });
  const { origin, close } = await listenOnLoopback(server, options.port ?? 0);
  return {
    url: origin,
    requests,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await close();
    },
  };
}
