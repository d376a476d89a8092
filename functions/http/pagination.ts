/**
 * The `paginate` input of the `http` connector's `request`: following the pages of a list endpoint
 * by an RFC 8288 `Link` header (`rel="next"`), a cursor taken from the body, or page or offset
 * numbers, within `maxPages`, `maxItems` and the call's deadline (see {@link collectPages}). Every
 * page is one `context.send`: the connector's auth, retries, breaker, rate limit, cache and the
 * caller's path rule apply to each, and a `next` link is followed only on the connector's origin
 * and within its `allowedPathPrefixes`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8288 Web Linking
 */
import LinkHeader from 'http-link-header';
import * as z from 'zod';
import { queryParameterShadows } from '../shared/auth/index.js';
import type { HttpConnectorConfig } from '../shared/config.js';
import { ConnectorError } from '../shared/errors.js';
import type { OutboundResponse, QueryValue } from '../shared/http/client.js';
import type { OperationContext, OperationRequest } from '../shared/runtime/index.js';
import {
  bodyPathSchema,
  collectPages,
  type FetchedPage,
  type PaginatedAnswer,
  pageLimitsShape,
  valueAtPath,
} from '../shared/runtime/pagination.js';

const parameterName = z.string().min(1).max(256);
/** Items per page the API is asked for. */
const pageSize = z.int().min(1).max(1_000);

/** Fields every style has: where the items are, and the limits. */
const common = {
  /** Where the items are in each page's JSON body, as a dot path (`data`, `result.items`). @default the body itself */
  itemsPath: bodyPathSchema.default(''),
  ...pageLimitsShape,
};

/**
 * The `paginate` input of `request` (GET only). Styles:
 * - `link`: follows the `Link` header's `rel="next"` URL (RFC 8288), on the connector's origin and
 *   within `allowedPathPrefixes` only;
 * - `cursor`: reads the next cursor at `cursorPath` in the body and sends it as `cursorParam`; an
 *   absent, `null` or empty cursor ends the list;
 * - `page`: sends `pageParam` = 1, 2, ... (from `firstPage`) and `sizeParam` = `pageSize`;
 * - `offset`: sends `offsetParam` = 0, `pageSize`, ... and `sizeParam` = `pageSize`;
 *   `page` and `offset` end at an empty or short page (fewer than `pageSize` items).
 */
export const paginateSchema = z.discriminatedUnion('style', [
  z.strictObject({
    style: z.literal('link'),
    ...common,
    /** Sent with the first page (`per_page`); later pages use the `next` link as given. @default none */
    sizeParam: parameterName.optional(),
    pageSize: pageSize.optional(),
  }),
  z.strictObject({
    style: z.literal('cursor'),
    ...common,
    /** Where the next cursor is in the body, as a dot path (`meta.next_cursor`). */
    cursorPath: bodyPathSchema.min(1),
    /** The query parameter the cursor is sent back in (`cursor`, `starting_after`). */
    cursorParam: parameterName,
    /** Sent with every page. @default none */
    sizeParam: parameterName.optional(),
    pageSize: pageSize.optional(),
  }),
  z.strictObject({
    style: z.literal('page'),
    ...common,
    /** @default page */
    pageParam: parameterName.default('page'),
    /** @default per_page */
    sizeParam: parameterName.default('per_page'),
    /** @default 100 */
    pageSize: pageSize.default(100),
    /** The number of the first page. @default 1 */
    firstPage: z.int().min(0).default(1),
  }),
  z.strictObject({
    style: z.literal('offset'),
    ...common,
    /** @default offset */
    offsetParam: parameterName.default('offset'),
    /** @default limit */
    sizeParam: parameterName.default('limit'),
    /** @default 100 */
    pageSize: pageSize.default(100),
  }),
]);

/** A validated `paginate` input. */
export type PaginateInput = z.output<typeof paginateSchema>;

/** The answer of a paginated `request`: the status of the last page fetched and the walk's answer. */
export type PaginatedRequestAnswer = PaginatedAnswer & { status: number };

/** The query parameters the style sends itself (the caller may not set them in `query`). */
export function paginationParameters(paginate: PaginateInput): string[] {
  switch (paginate.style) {
    case 'link':
      return paginate.sizeParam === undefined ? [] : [paginate.sizeParam];
    case 'cursor':
      return [paginate.cursorParam, ...(paginate.sizeParam === undefined ? [] : [paginate.sizeParam])];
    case 'page':
      return [paginate.pageParam, paginate.sizeParam];
    case 'offset':
      return [paginate.offsetParam, paginate.sizeParam];
  }
}

/** Why `paginate` cannot be used with this request, as `[field path, message]` pairs. */
export function paginateProblems(
  paginate: PaginateInput,
  request: { method: string; query?: Readonly<Record<string, unknown>> | undefined },
  config: HttpConnectorConfig,
  pathProblem: (path: string) => string | undefined,
): Array<[path: Array<string | number>, message: string]> {
  const problems: Array<[Array<string | number>, string]> = [];
  if (request.method !== 'GET') problems.push([['method'], 'must be GET to paginate']);
  const authQuery = authQueryParameter(config);
  for (const name of paginationParameters(paginate)) {
    if (Object.hasOwn(request.query ?? {}, name)) {
      problems.push([['query', name], `is set by paginate (${paginate.style}); leave it out of query`]);
    }
    if (authQuery !== undefined && queryParameterShadows(name, authQuery)) {
      problems.push([['paginate'], `must not use ${authQuery}, the connector's credential parameter`]);
    }
  }
  if (
    (paginate.style === 'link' || paginate.style === 'cursor') &&
    (paginate.sizeParam === undefined) !== (paginate.pageSize === undefined)
  ) {
    problems.push([['paginate', 'pageSize'], 'must be given together with sizeParam']);
  }
  const from = paginate.start?.from;
  if (from !== undefined) {
    const where = ['paginate', 'start', 'from'];
    if (paginate.style === 'link' || paginate.style === 'cursor') {
      if (typeof from !== 'string')
        problems.push([where, `must be a string for the ${paginate.style} style`]);
      else if (paginate.style === 'link') {
        const at = from.indexOf('?');
        const problem = pathProblem(at === -1 ? from : from.slice(0, at));
        if (problem) problems.push([where, `must be a path and query the connector may call: ${problem}`]);
        const names = at === -1 ? [] : [...new URLSearchParams(from.slice(at + 1)).keys()];
        if (authQuery !== undefined && names.some((name) => queryParameterShadows(name, authQuery))) {
          problems.push([
            where,
            `must not set ${authQuery}, the connector's credential parameter, in any spelling`,
          ]);
        }
      }
    } else if (typeof from !== 'number') {
      problems.push([where, `must be a number for the ${paginate.style} style`]);
    }
  }
  return problems;
}

/** A page of the `link` style: a path below the base URL and its query. */
interface LinkKey {
  path: string;
  query: Record<string, QueryValue>;
}

/**
 * Runs a paginated `request`: every page one `context.send` of `request` with the style's query
 * parameters (or, for `link`, the next link's path and query).
 * @throws ConnectorError the first page's failure, as the unpaginated `request` would;
 *   `RESPONSE_VALIDATION_ERROR` when the first page has no array at `itemsPath`
 */
export async function paginatedRequest(
  request: OperationRequest,
  paginate: PaginateInput,
  context: OperationContext<HttpConnectorConfig>,
  pathProblem: (path: string) => string | undefined,
): Promise<PaginatedRequestAnswer> {
  let status = 0;
  let pageNumber = 0;
  const sendPage = async (query: Record<string, QueryValue>, path = request.path) => {
    pageNumber += 1;
    const response = await context.send({ ...request, path, query });
    status = response.status;
    return { response, items: itemsOf(response, paginate.itemsPath, pageNumber) };
  };
  const base = { ...(request.query ?? {}) };
  const limits = {
    start: paginate.start,
    maxPages: paginate.maxPages,
    maxItems: paginate.maxItems,
    deadlineAtMs: context.deadlineAtMs,
    minPageMs: context.config.timeoutMs,
  };
  let answer: PaginatedAnswer;
  switch (paginate.style) {
    case 'link': {
      const size =
        paginate.sizeParam === undefined || paginate.pageSize === undefined
          ? {}
          : { [paginate.sizeParam]: paginate.pageSize };
      const first: LinkKey = { path: request.path, query: { ...base, ...size } };
      answer = await collectPages<LinkKey>({
        ...limits,
        keyOf: (from) => linkKeyOf(String(from)),
        fromOf: (key) => (key === undefined ? undefined : fromOfLinkKey(key)),
        async fetchPage(key) {
          const at = key ?? first;
          const { response, items } = await sendPage(at.query, at.path);
          return { items, ...nextLink(response, at, context.config, pathProblem) };
        },
      });
      break;
    }
    case 'cursor': {
      const size =
        paginate.sizeParam === undefined || paginate.pageSize === undefined
          ? {}
          : { [paginate.sizeParam]: paginate.pageSize };
      answer = await collectPages<string>({
        ...limits,
        keyOf: String,
        fromOf: (key) => key,
        async fetchPage(cursor) {
          const query = {
            ...base,
            ...size,
            ...(cursor === undefined ? {} : { [paginate.cursorParam]: cursor }),
          };
          const { response, items } = await sendPage(query);
          const value = valueAtPath(response.body, paginate.cursorPath);
          const next = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
          if (next === '') return { items, next: undefined };
          if (next === cursor) {
            return {
              items,
              next: undefined,
              refused: 'The upstream answered the same cursor again; stopped rather than loop.',
            };
          }
          return { items, next };
        },
      });
      break;
    }
    case 'page':
    case 'offset': {
      const numberParam = paginate.style === 'page' ? paginate.pageParam : paginate.offsetParam;
      const first = paginate.style === 'page' ? paginate.firstPage : 0;
      answer = await collectPages<number>({
        ...limits,
        keyOf: Number,
        fromOf: (key) => key ?? first,
        ...(paginate.style === 'offset'
          ? {
              cutAt: (key: number | undefined, _page: unknown, taken: number) => ({
                from: (key ?? 0) + taken,
              }),
            }
          : {}),
        async fetchPage(key): Promise<FetchedPage<number>> {
          const at = key ?? first;
          const query = { ...base, [numberParam]: at, [paginate.sizeParam]: paginate.pageSize };
          const { items } = await sendPage(query);
          const last = items.length < paginate.pageSize;
          const next = paginate.style === 'page' ? at + 1 : at + items.length;
          return { items, next: last ? undefined : next };
        },
      });
      break;
    }
  }
  return { status, ...answer };
}

/** The items of one page, at `itemsPath` of its JSON body. */
function itemsOf(response: OutboundResponse, itemsPath: string, page: number): readonly unknown[] {
  const items = valueAtPath(response.body, itemsPath);
  if (Array.isArray(items)) return items;
  throw new ConnectorError(
    'RESPONSE_VALIDATION_ERROR',
    `Page ${page} of the upstream answer has no JSON array at itemsPath '${itemsPath}'.`,
    { upstreamStatus: response.status },
  );
}

/** The `apiKey` credential's query parameter, if the connector sends it in the query. */
function authQueryParameter(config: HttpConnectorConfig): string | undefined {
  return config.auth.type === 'apiKey' && config.auth.in === 'query' ? config.auth.name : undefined;
}

/** `path?query` of a link page: what the answer's `next.from` holds. */
function fromOfLinkKey(key: LinkKey): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(key.query)) {
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const query = search.toString();
  return query === '' ? key.path : `${key.path}?${query}`;
}

/** A `path?query` given back as `start.from` (its path already checked by the input schema). */
function linkKeyOf(from: string): LinkKey {
  const at = from.indexOf('?');
  const path = at === -1 ? from : from.slice(0, at);
  return { path, query: queryOf(new URLSearchParams(at === -1 ? '' : from.slice(at + 1))) };
}

function queryOf(search: URLSearchParams): Record<string, QueryValue> {
  const query: Record<string, string[]> = {};
  for (const [name, value] of search) {
    const values = query[name] ?? [];
    values.push(value);
    query[name] = values;
  }
  return Object.fromEntries(
    Object.entries(query).map(([name, values]) => [
      name,
      values.length === 1 ? (values[0] as string) : values,
    ]),
  );
}

/**
 * The page a response's `Link: <...>; rel="next"` names, if the connector may call it: on the base
 * URL's origin, below its path, and within the caller's path rule. The connector's query-borne
 * credential is dropped from the link's query (the auth scheme adds it), so it never reaches the
 * answer's `next`.
 */
function nextLink(
  response: OutboundResponse,
  at: LinkKey,
  config: HttpConnectorConfig,
  pathProblem: (path: string) => string | undefined,
): { next: LinkKey | undefined; refused?: string } {
  const header = response.headers.link;
  if (header === undefined || header === '') return { next: undefined };
  let uri: string | undefined;
  try {
    uri = LinkHeader.parse(header).rel('next')[0]?.uri;
  } catch {
    return {
      next: undefined,
      refused: 'The upstream sent a Link header that is not RFC 8288; not followed.',
    };
  }
  if (uri === undefined) return { next: undefined };
  const base = new URL(config.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const current = new URL(base.href);
  current.pathname = `${basePath}${at.path}`;
  let next: URL;
  try {
    next = new URL(uri, current);
  } catch {
    return { next: undefined, refused: 'The next link is not a URL; not followed.' };
  }
  if (next.origin !== base.origin) {
    return {
      next: undefined,
      refused: `The next link points to another origin (${next.origin}); not followed.`,
    };
  }
  const below = basePath === '' || next.pathname === basePath || next.pathname.startsWith(`${basePath}/`);
  const path = next.pathname.slice(basePath.length) || '/';
  const problem = below ? pathProblem(path) : 'it leaves the base URL';
  if (problem !== undefined) {
    return {
      next: undefined,
      refused: `The next link points to a path the connector may not call (${problem}); not followed.`,
    };
  }
  const authQuery = authQueryParameter(config);
  for (const name of [...next.searchParams.keys()]) {
    if (authQuery !== undefined && queryParameterShadows(name, authQuery)) next.searchParams.delete(name);
  }
  const key = { path, query: queryOf(next.searchParams) };
  if (fromOfLinkKey(key) === fromOfLinkKey(at)) {
    return { next: undefined, refused: 'The next link names the page just read; stopped rather than loop.' };
  }
  return { next: key };
}
