/**
 * Walking a list endpoint page by page, within limits: at most `maxPages` requests, at most
 * `maxItems` items, and never a page started when the call's deadline leaves too little time for it.
 * What a style (a `Link` header, a cursor, page or offset numbers, a vendor SDK's own page iterator
 * read with {@link sdkPageReader}) knows is how to fetch one page and where the next one is;
 * {@link collectPages} does the rest and says, when a limit stopped it, where to continue from
 * ({@link PageResume}), exactly: resuming yields the items not returned yet, none twice.
 *
 * Every page is one call through the connector's policies (`context.send`, or a vendor SDK on the
 * policy fetch), so retries, the circuit breaker, the rate limit and the deadline apply to each.
 */
import * as z from 'zod';
import { ConnectorError } from '../errors.js';

/** `maxPages` when the caller does not say. */
export const DEFAULT_MAX_PAGES = 10;
/** The most pages one call may ask for. */
export const MAX_PAGES_LIMIT = 100;
/** `maxItems` when the caller does not say. */
export const DEFAULT_MAX_ITEMS = 1_000;
/** The most items one call may ask for (an answer must fit in a Lambda response, 6 MB). */
export const MAX_ITEMS_LIMIT = 10_000;

/** Why a walk ended before the last page. */
export const PAGE_STOP_REASONS = ['maxPages', 'maxItems', 'deadline', 'pageError', 'refusedNext'] as const;
/** Why a walk ended before the last page. */
export type PageStopReason = (typeof PAGE_STOP_REASONS)[number];

/**
 * Where to continue a walk: the page `from` names (a cursor, a page or offset number, a path with
 * its query; absent: the first page as the request asks for it), less its first `skip` items
 * (already returned). Pass it back as the input's `start` to get the rest.
 */
export interface PageResume {
  from?: string | number;
  /** Items of that page already returned. @default 0 */
  skip?: number;
}

/** The schema of a {@link PageResume} given back as input (`start`). */
export const pageResumeSchema = z.strictObject({
  from: z.union([z.string().min(1).max(4096), z.int().min(0)]).optional(),
  skip: z.int().min(0).max(MAX_ITEMS_LIMIT).optional(),
});

/** The limits a caller may set on a walk; the fields of every paginated input. */
export const pageLimitsShape = {
  /** Pages fetched at most (requests, not counting retries). @default 10, at most 100 */
  maxPages: z.int().min(1).max(MAX_PAGES_LIMIT).default(DEFAULT_MAX_PAGES),
  /** Items returned at most. @default 1000, at most 10000 */
  maxItems: z.int().min(1).max(MAX_ITEMS_LIMIT).default(DEFAULT_MAX_ITEMS),
  /** Where to continue a walk a limit stopped: the `next` of its answer. @default the first page */
  start: pageResumeSchema.optional(),
};

/**
 * The answer of a walk: the items of every page in order, how many pages were fetched, whether the
 * list is complete, and otherwise what stopped it and where to continue from.
 */
export const paginatedOutputShape = {
  items: z.array(z.unknown()),
  /** Pages fetched. */
  pages: z.int().min(0),
  /** The last page was reached: there is nothing more to fetch. */
  complete: z.boolean(),
  /** What stopped the walk, when it is not complete. */
  stoppedBy: z.enum(PAGE_STOP_REASONS).optional(),
  /** The stop in a sentence. */
  reason: z.string().optional(),
  /** Where to continue (pass it back as `start`); absent when complete or the next page was refused. */
  next: pageResumeSchema.optional(),
  /** The failure of the page that stopped the walk (`stoppedBy: pageError` or `deadline`). */
  error: z.object({ code: z.string(), message: z.string(), upstreamStatus: z.int().optional() }).optional(),
};

/** The answer of a walk, as {@link paginatedOutputShape} describes it. */
export interface PaginatedAnswer {
  items: unknown[];
  pages: number;
  complete: boolean;
  stoppedBy?: PageStopReason;
  reason?: string;
  next?: PageResume;
  error?: { code: string; message: string; upstreamStatus?: number };
}

/** One page as a style read it. */
export interface FetchedPage<K> {
  items: readonly unknown[];
  /** The key of the next page, or `undefined` on the last page. */
  next: K | undefined;
  /** Why the next page the vendor named is not followed (another origin, a forbidden path). */
  refused?: string;
}

/** How {@link collectPages} walks one list. */
export interface CollectPagesOptions<K> {
  /** Where to start: `from` turned into a key by `keyOf`, and the items of that page to skip. */
  start?: PageResume | undefined;
  /** The key of a resume point's `from` (absent `from`: `undefined`, the request's own first page). */
  keyOf: (from: string | number) => K;
  /** The resume point's `from` for a key (`undefined` for the request's own first page). */
  fromOf: (key: K | undefined) => string | number | undefined;
  /**
   * Where to continue when `maxItems` cut the page of `key` after its first `taken` items (counted
   * on the page as fetched, skipped items included).
   * @default that page again, skipping `taken` items
   */
  cutAt?: (key: K | undefined, page: FetchedPage<K>, taken: number) => PageResume;
  /**
   * Fetches the page of `key` (`undefined`: the request's first page) through the connector's
   * policies.
   * @throws ConnectorError when the page cannot be had (after the retries the policies allow)
   */
  fetchPage: (key: K | undefined) => Promise<FetchedPage<K>>;
  maxPages: number;
  maxItems: number;
  /** Epoch ms: the call's deadline ({@link OperationContext.deadlineAtMs}). */
  deadlineAtMs: number;
  /**
   * A page after the first is started only when at least this long is left before the deadline, in
   * ms: the connector's `timeoutMs`, so that a page's first attempt is never cut by the deadline.
   */
  minPageMs: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Walks the pages of a list within its limits. The first page is always fetched (it is the request
 * itself); each later one only when `maxPages` and `maxItems` leave room and at least `minPageMs`
 * is left before the deadline. A failure of a later page (after the policies' retries) ends the
 * walk with the items so far, `stoppedBy: 'pageError'` (or `'deadline'` for a timeout) and the
 * failed page as `next`.
 * @throws ConnectorError the first page's failure, as an unpaginated call would
 */
export async function collectPages<K>(options: CollectPagesOptions<K>): Promise<PaginatedAnswer> {
  const now = options.now ?? Date.now;
  const items: unknown[] = [];
  let pages = 0;
  let key: K | undefined = options.start?.from === undefined ? undefined : options.keyOf(options.start.from);
  let skip = options.start?.skip ?? 0;
  const resumeAt = (): PageResume => {
    const from = options.fromOf(key);
    return { ...(from === undefined ? {} : { from }), ...(skip > 0 ? { skip } : {}) };
  };
  const stop = (stoppedBy: PageStopReason, reason: string, extra: Partial<PaginatedAnswer> = {}) => ({
    items,
    pages,
    complete: false,
    stoppedBy,
    reason,
    next: resumeAt(),
    ...extra,
  });

  for (;;) {
    if (pages >= options.maxPages) {
      return stop('maxPages', `Stopped after maxPages (${options.maxPages}) pages; more remain.`);
    }
    const leftMs = options.deadlineAtMs - now();
    if (pages > 0 && leftMs < options.minPageMs) {
      return stop(
        'deadline',
        `Stopped before page ${pages + 1}: ${Math.max(0, leftMs)} ms were left before the deadline, and a page needs ${options.minPageMs} ms.`,
      );
    }
    let page: FetchedPage<K>;
    try {
      page = await options.fetchPage(key);
    } catch (error) {
      if (pages === 0 || !(error instanceof ConnectorError)) throw error;
      const timedOut = error.code === 'API_TIMEOUT';
      return stop(
        timedOut ? 'deadline' : 'pageError',
        `Page ${pages + 1} failed (${error.code}); the pages before it are returned.`,
        {
          error: {
            code: error.code,
            message: error.message,
            ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
          },
        },
      );
    }
    pages += 1;
    const room = options.maxItems - items.length;
    const fresh = page.items.slice(skip);
    if (fresh.length > room) {
      items.push(...fresh.slice(0, room));
      const taken = skip + room;
      const next = options.cutAt
        ? options.cutAt(key, page, taken)
        : { ...withFrom(options.fromOf(key)), skip: taken };
      return {
        items,
        pages,
        complete: false,
        stoppedBy: 'maxItems',
        reason: `Stopped at maxItems (${options.maxItems}) items; more remain.`,
        next,
      };
    }
    items.push(...fresh);
    skip = 0;
    if (page.refused !== undefined) {
      return { items, pages, complete: false, stoppedBy: 'refusedNext', reason: page.refused };
    }
    if (page.next === undefined) return { items, pages, complete: true };
    key = page.next;
    if (items.length >= options.maxItems) {
      return stop('maxItems', `Stopped at maxItems (${options.maxItems}) items; more remain.`);
    }
  }
}

/**
 * Reads a vendor SDK's own page iterator (`octokit.paginate.iterator`, Slack's `client.paginate`,
 * Stripe's auto-pagination) one page per call, for a {@link CollectPagesOptions.fetchPage} that
 * runs each page in its own `vendor.call`: so every page keeps its error mapping and its rotation
 * retry, and {@link collectPages} still decides, between pages, whether the next one is fetched.
 *
 * The iterator `open` gives is kept from one page to the next. It is opened anew, at the key asked
 * for, when the client differs from the one it was opened with (`vendor.call` built a new client for
 * a rotated secret, and retries the page with it), when the key asked for is not the one it stands
 * at, and after it failed; so a retried page is fetched once more from where the walk stands, and no
 * item is returned twice. An iterator that ends reads as an empty last page.
 *
 * @param open - opens the SDK's iterator at `key` (`undefined`: the request's first page) with
 *   `client`; each value is one page, its `next` the key the SDK follows for the page after it
 * @returns the page reader: call it inside `vendor.call` with the call's client
 */
export function sdkPageReader<Client, K>(
  open: (client: Client, key: K | undefined) => AsyncIterator<FetchedPage<K>>,
): (client: Client, key: K | undefined) => Promise<FetchedPage<K>> {
  let current: { client: Client; key: K | undefined; iterator: AsyncIterator<FetchedPage<K>> } | undefined;
  return async (client, key) => {
    if (current === undefined || current.client !== client || current.key !== key) {
      current = { client, key, iterator: open(client, key) };
    }
    const reading = current;
    try {
      const result = await reading.iterator.next();
      if (result.done) {
        current = undefined;
        return { items: [], next: undefined };
      }
      reading.key = result.value.next;
      return result.value;
    } catch (error) {
      current = undefined;
      throw error;
    }
  };
}

function withFrom(from: string | number | undefined): PageResume {
  return from === undefined ? {} : { from };
}

/**
 * The value at a dot path (`meta.next_cursor`, `data`) of a parsed JSON body; `''` is the body
 * itself. Own properties only.
 */
export function valueAtPath(body: unknown, path: string): unknown {
  if (path === '') return body;
  let current: unknown = body;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** A dot path into a JSON body: names of letters, digits, `_`, `-` and `$`, joined by `.`. */
export const bodyPathSchema = z
  .string()
  .max(256)
  .regex(/^(?:[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)?$/, 'must be a dot path such as meta.next_cursor');
