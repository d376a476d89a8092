/**
 * The outbound HTTP client every connector calls its vendor with, over Node's `fetch`.
 *
 * One call runs: the GET cache, then attempts until one succeeds, a failure may not be retried
 * (docs/design.md §3 retry safety) or the attempts or the deadline run out. Each attempt is admitted by the
 * deadline and the rate limit, then prepared (credentials), passed through the circuit breaker and
 * sent, all within its own budget: `timeoutMs` or the time left to the deadline, whichever is
 * shorter, so fetching a secret or a token, waiting for a half-open breaker's verdict, sending and
 * following same-origin redirects (each hop held to the base path and the request's own rule) all
 * end by the deadline. A pure rule ({@link retryDecision}) then says whether to wait the exponential
 * backoff with full jitter, or the vendor's `Retry-After`, and try again. Every attempt is one
 * structured log line; every call one X-Ray subsegment and a set of EMF metrics. Failures end as a
 * {@link ConnectorError} of the contract.
 */
import { createHash } from 'node:crypto';
import { clientCertificateRefusal } from '../auth/tls-errors.js';
import type { AuthorizableRequest, AuthScheme } from '../auth/types.js';
import { type HttpMethod, isLoopbackHttpUrl } from '../config.js';
import { ConnectorError, configurationError, type ErrorCode } from '../errors.js';
import { countWithDimensions, METRIC, MetricUnit, type Powertools } from '../powertools.js';
import { bodyExcerpt, type Redactor, redactor } from '../redaction.js';
import { DEFAULT_CACHE_MAX_BYTES, ResponseCache, storableLifetimeMs } from './cache.js';
import { CircuitBreaker, type CircuitBreakerSettings, CircuitOpenError } from './circuit-breaker.js';
import { raceSignal, sleep, timeoutSignal } from './deadline.js';
import { type TakeResult, TokenBucket } from './rate-limit.js';
import {
  type AttemptFailure,
  backoffDelayMs,
  callerRetryAfterSeconds,
  IDEMPOTENT_METHODS,
  isRateLimited,
  retryDecision,
  vendorWaitMs,
} from './retry.js';
import { SharedCircuitBreaker, type SharedStateStore } from './shared-circuit-breaker.js';
import type { RateLimiter } from './shared-rate-limit.js';

/** Query values: repeated keys as arrays. */
export type QueryValue = string | number | boolean | ReadonlyArray<string | number | boolean>;

/** One request an operation asks for. */
export interface OutboundRequest {
  /** The operation's name, for logs, traces and metrics. */
  operation: string;
  method: HttpMethod;
  /** Path below the connector's base URL, starting with `/`. */
  path: string;
  query?: Readonly<Record<string, QueryValue>>;
  /** Extra request headers; the auth scheme's header always wins. */
  headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON (`content-type: application/json`). */
  body?: unknown;
  /** The caller's idempotency key; sent upstream as `Idempotency-Key` when the connector forwards it. */
  idempotencyKey?: string;
  /**
   * A header of `headers` that carries the caller's idempotency key under the vendor's own name
   * (an `openapi` operation's declared `X-Idempotency-Token`, …): when present, like
   * `Idempotency-Key`, it makes a POST or PATCH safe to retry.
   * @default none
   */
  idempotencyKeyHeader?: string;
  /**
   * The whole URL, as a vendor SDK builds it; it must lie on the base URL's origin. When set, `path`
   * and `query` are ignored.
   */
  absoluteUrl?: string;
  /**
   * Judges each redirect hop's path (below the base URL's path, e.g. `/items/2` for
   * `https://api.example.com/v1/items/2` under base `https://api.example.com/v1`): a problem
   * (a string) ends the call with `UPSTREAM_ERROR` before the hop is sent, so no credential goes
   * there. The http connector passes its `allowedPathPrefixes` rule. A hop outside the base URL's
   * origin or path is never followed, whatever this says.
   * @default every path below the base URL's path is allowed
   */
  redirectPathProblem?: (path: string) => string | undefined;
}

/** Options of {@link HttpClient.request}. */
export interface RequestOptions {
  /**
   * Answer the vendor's final HTTP error (after the retries the policies allow) instead of throwing
   * its {@link ConnectorError}, so that a vendor SDK can read the vendor's own error body; network
   * failures, timeouts, the breaker and the rate limit still throw.
   * @default false
   */
  passThroughHttpErrors?: boolean;
}

/** The invocation a call belongs to. */
export interface CallContext {
  /** The request id the caller sees; on every log line. */
  requestId: string;
  /** Epoch ms after which no attempt starts and no wait ends: the Lambda's remaining time less a margin. */
  deadlineAtMs: number;
  /** Aborts the call (e.g. the caller went away). */
  signal?: AbortSignal;
}

/** The vendor's answer. */
export interface OutboundResponse {
  status: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, otherwise text; `null` when empty. */
  body: unknown;
  /** Attempts sent (0 when served from the cache). */
  attempts: number;
  /** Served from the GET cache. */
  cached: boolean;
  /** Time spent on the call, in ms. */
  durationMs: number;
  /** The body as received, for vendor SDKs that parse it themselves. */
  text: string;
}

/** Settings and dependencies of an {@link HttpClient} (most from the connector's config). */
export interface HttpClientOptions {
  /** Connector name, for logs, traces and metrics. */
  connector: string;
  /** The vendor's base URL; https unless `allowLoopbackHttp`. */
  baseUrl: string;
  /** Per-attempt timeout, in ms. */
  timeoutMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterSeconds: number };
  circuitBreaker: CircuitBreakerSettings;
  /**
   * The table of the fleet's shared state (the idempotency table), used when
   * `circuitBreaker.scope` is `shared`. @default none: the breaker is the instance's own
   */
  sharedState?: SharedStateStore;
  rateLimit: { requestsPerSecond: number; burst: number };
  /**
   * Admits each attempt instead of the instance's own bucket of `rateLimit`: e.g. the fleet's shared
   * limit (`shared-rate-limit.ts`), which may first lease tokens (never past the call's deadline).
   * @default a {@link TokenBucket} of `rateLimit`, this instance's own
   */
  rateLimiter?: RateLimiter;
  /**
   * GET cache lifetime, in seconds; 0 = off. A response's own `Cache-Control` may shorten it or
   * forbid caching (see `storableLifetimeMs` in cache.ts, RFC 9111).
   */
  cacheTtlSeconds: number;
  /** Bytes the GET cache holds at most (bodies and headers; least recently used out). @default 16 MiB */
  cacheMaxBytes?: number;
  /** Send the caller's idempotency key upstream as `Idempotency-Key`. */
  forwardIdempotencyKey: boolean;
  auth: AuthScheme;
  powertools: Powertools;
  /** @default the process-wide redactor */
  redactor?: Redactor;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Source of jitter, a number in [0, 1). @default Math.random */
  random?: () => number;
  /** Accept `http://` on loopback hosts (local mode only). @default false */
  allowLoopbackHttp?: boolean;
  /** Same-origin redirects followed at most. @default 5 */
  maxRedirects?: number;
  /** Largest response body read, in bytes (a Lambda answer is at most 6 MB). @default 5 MiB */
  maxResponseBytes?: number;
  /**
   * After a 401, refresh the auth scheme's credentials and try once more. Vendor connectors, whose
   * SDK holds the credentials, refresh at the operation instead.
   * @default true
   */
  refreshCredentialsOn401?: boolean;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Microtask turns an auth scheme gets, once the budget runs out, to answer with its own error. */
const AUTHORIZE_SETTLE_MICROTASKS = 50;
/** An attempt needs at least this long to be worth starting, in ms. */
const MIN_ATTEMPT_MS = 20;

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** What the cache keeps of an answer: the raw answer, parsed again on each hit (no shared objects). */
interface CachedAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** An attempt's request, credentials included. */
interface PreparedRequest {
  target: URL;
  headers: Headers;
  body: string | undefined;
  /** The auth scheme's own `fetch` (`mtls`: its own connections), when it has one. */
  fetch: typeof fetch | undefined;
}

/** The result of one attempt, as the circuit breaker sees it. */
interface Attempt {
  /** What the vendor did counts against it: 5xx, 408, its own timeout, a failed connection. */
  countsAsFailure: boolean;
  response?: RawResponse;
  failure?: AttemptFailure | { kind: 'unusableResponse'; reason: string };
  cause?: unknown;
  /** The attempt ran out of the call's deadline rather than of its own timeout. */
  deadlineHit?: boolean;
}

/** The budget of one attempt: it ends at `endsAtMs`, when `signal` aborts. */
interface AttemptBudget {
  signal: AbortSignal;
  endsAtMs: number;
  /** The call's deadline, not `timeoutMs`, bounds the attempt. */
  deadlineBound: boolean;
}

type Answer = Omit<OutboundResponse, 'attempts' | 'cached' | 'durationMs'>;

/** A per-connector HTTP client; keep one per warm process so breaker, limit, cache and tokens persist. */
export class HttpClient {
  readonly #options: HttpClientOptions;
  readonly #base: URL;
  /** The base URL's path without its trailing slash: every request and redirect hop stays below it. */
  readonly #basePath: string;
  readonly #breaker: CircuitBreaker;
  /** The fleet's breaker around {@link #breaker}, with `circuitBreaker.scope: shared`. */
  readonly #sharedBreaker: SharedCircuitBreaker | undefined;
  readonly #bucket: RateLimiter;
  readonly #cache: ResponseCache<CachedAnswer>;
  readonly #redactor: Redactor;
  readonly #fetch: typeof fetch;
  /** The `UpstreamCalls` dimensions of each outcome seen, built once. */
  readonly #callDimensions = new Map<string, { key: string; values: Record<string, string> }>();

  /** @throws ConnectorError `CONFIGURATION_ERROR` for a base URL that is not https (or loopback http in local mode) */
  constructor(options: HttpClientOptions) {
    this.#options = options;
    this.#base = new URL(options.baseUrl);
    if (this.#base.protocol !== 'https:' && !(options.allowLoopbackHttp && isLoopbackHttpUrl(this.#base))) {
      throw configurationError(`Connector '${options.connector}': baseUrl must use https.`);
    }
    this.#basePath = this.#base.pathname.replace(/\/+$/, '');
    this.#breaker = new CircuitBreaker(options.circuitBreaker, () =>
      this.#count(METRIC.circuitBreakerOpened),
    );
    this.#sharedBreaker = this.#sharedBreakerOf(options);
    this.#bucket =
      options.rateLimiter ?? new TokenBucket(options.rateLimit.requestsPerSecond, options.rateLimit.burst);
    this.#cache = new ResponseCache({
      ttlSeconds: options.cacheTtlSeconds,
      maxBytes: options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
    });
    this.#redactor = options.redactor ?? redactor;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The fleet's breaker for `circuitBreaker.scope: shared` with a table; none otherwise (a warning without a table). */
  #sharedBreakerOf(options: HttpClientOptions): SharedCircuitBreaker | undefined {
    if (options.circuitBreaker.scope !== 'shared') return undefined;
    if (!options.sharedState) {
      options.powertools.logger.warn(
        `Connector '${options.connector}': circuitBreaker.scope is shared, but there is no table for the shared state; each instance's breaker decides alone.`,
      );
      return undefined;
    }
    return new SharedCircuitBreaker({
      ...options.sharedState,
      connector: options.connector,
      settings: options.circuitBreaker,
      local: this.#breaker,
      onOpen: () => this.#count(METRIC.circuitBreakerOpened),
      powertools: options.powertools,
      attemptTimeoutMs: options.timeoutMs,
    });
  }

  /** The connector's circuit breaker (its `state` and `retryAfterSeconds` are useful in tests and health checks). */
  get circuitBreaker(): CircuitBreaker {
    return this.#breaker;
  }

  /** The fleet's shared breaker around {@link circuitBreaker} (`circuitBreaker.scope: shared`); `undefined` otherwise. */
  get sharedCircuitBreaker(): SharedCircuitBreaker | undefined {
    return this.#sharedBreaker;
  }

  /** The GET cache's size now, in bytes and entries (for tests and health checks). */
  get cacheUsage(): { bytes: number; entries: number } {
    return { bytes: this.#cache.sizeBytes, entries: this.#cache.size };
  }

  /**
   * Sends one request with the connector's policies. The call ends by `context.deadlineAtMs` (plus
   * the few ms it takes to settle), whatever the upstream, the token endpoint or the secret store do.
   * @throws ConnectorError with the code of the contract: `UPSTREAM_REJECTED`, `AUTHENTICATION_ERROR`,
   *   `RATE_LIMIT_EXCEEDED`, `CIRCUIT_BREAKER_OPEN`, `UPSTREAM_ERROR`, `API_TIMEOUT`, `CONFIGURATION_ERROR`,
   *   `DEPENDENCY_UNAVAILABLE` (the secret store failed)
   */
  async request(
    request: OutboundRequest,
    context: CallContext,
    options: RequestOptions = {},
  ): Promise<OutboundResponse> {
    const { tracer } = this.#options.powertools;
    const startedAt = Date.now();
    const url = this.#buildUrl(request);
    const cacheable = request.method === 'GET' && this.#cache.enabled;
    if (cacheable) {
      // The key holds the credential in use (hashed), so the credentials are added first.
      const budget = this.#budget(context);
      let hit: CachedAnswer | undefined;
      try {
        hit = this.#cache.get(cacheKeyOf(await this.#prepare(request, url, context, budget, false, false)));
      } catch (error) {
        this.#countCall(error instanceof ConnectorError ? error.code : 'INTERNAL_ERROR');
        throw error;
      } finally {
        budget.clear();
      }
      if (hit) {
        this.#count(METRIC.cacheHits);
        return {
          ...this.#toResponse(request.method, hit),
          attempts: 0,
          cached: true,
          durationMs: Date.now() - startedAt,
        };
      }
    }

    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    // Not made the current segment: concurrent calls (the records of one SQS batch) share the
    // invocation's X-Ray context, so each call hangs its attempts on its own subsegment instead.
    const subsegment = parent?.addNewSubsegment(`## ${this.#options.connector}.${request.operation}`);
    let outcome: string = 'success';
    let attempts = 0;
    let status: number | undefined;
    try {
      const { answer, prepared } = await this.#attempts(
        request,
        url,
        context,
        options,
        subsegment,
        (n, s, passedThrough) => {
          attempts = n;
          status = s;
          if (passedThrough) outcome = passedThrough.code;
        },
      );
      if (cacheable && prepared && answer.status >= 200 && answer.status < 300) this.#store(prepared, answer);
      return {
        ...this.#toResponse(request.method, answer),
        attempts,
        cached: false,
        durationMs: Date.now() - startedAt,
      };
    } catch (error) {
      outcome = error instanceof ConnectorError ? error.code : 'INTERNAL_ERROR';
      if (error instanceof ConnectorError) error.attempts = attempts;
      throw error;
    } finally {
      this.#countCall(outcome);
      if (subsegment) {
        subsegment.addAnnotation('connector', this.#options.connector);
        subsegment.addAnnotation('operation', request.operation);
        subsegment.addAnnotation('attempts', attempts);
        subsegment.addAnnotation('outcome', outcome);
        if (status !== undefined) subsegment.addAnnotation('status', status);
        Object.assign(subsegment, {
          namespace: 'remote',
          http: {
            request: { method: request.method, url: `${url.origin}${this.#redactor.loggablePath(url)}` },
            ...(status === undefined ? {} : { response: { status } }),
          },
        });
        if (outcome !== 'success') subsegment.addErrorFlag();
        subsegment.close();
      }
    }
  }

  /** Keeps a 2xx GET answer for the TTL, or less when its `Cache-Control` says so (RFC 9111). */
  #store(prepared: PreparedRequest, answer: RawResponse): void {
    const lifetimeMs = storableLifetimeMs(answer.headers);
    if (lifetimeMs <= 0) return;
    let sizeBytes = Buffer.byteLength(answer.text);
    for (const [name, value] of answer.headers) sizeBytes += name.length + value.length;
    this.#cache.set(cacheKeyOf(prepared), answer, sizeBytes, lifetimeMs);
  }

  async #attempts(
    request: OutboundRequest,
    url: URL,
    context: CallContext,
    options: RequestOptions,
    subsegment: ReturnType<Powertools['tracer']['getSegment']> | undefined,
    progress: (attempts: number, status: number | undefined, passedThrough?: ConnectorError) => void,
  ): Promise<{ answer: RawResponse; prepared: PreparedRequest | undefined }> {
    const { retry } = this.#options;
    // A key forwarded by us, or set by a vendor SDK itself (Stripe's Idempotency-Key), makes a POST safe to repeat.
    const keyHeader = request.idempotencyKeyHeader?.toLowerCase();
    const idempotencyKeySent =
      (this.#options.forwardIdempotencyKey && request.idempotencyKey !== undefined) ||
      Object.keys(request.headers ?? {}).some((name) => {
        const lower = name.toLowerCase();
        return lower === 'idempotency-key' || lower === keyHeader;
      });
    let maxAttempts = retry.maxAttempts;
    let refreshed = false;
    let forceRefreshNext = false;
    let lastError: ConnectorError | undefined;

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const admitted = this.#admit(request, context, lastError);
      if (admitted) await admitted;

      const attemptStartedAt = Date.now();
      // One X-Ray subsegment per attempt, inside the call's own subsegment.
      const attemptSegment = subsegment?.addNewSubsegment(`attempt ${attempt}`);
      const budget = this.#budget(context);
      let result: Attempt;
      let prepared: PreparedRequest;
      try {
        // Credentials first, outside the breaker: a token endpoint's failure is not the vendor's,
        // and must neither count against the vendor nor close a half-open breaker.
        prepared = await this.#prepare(request, url, context, budget, forceRefreshNext, idempotencyKeySent);
        forceRefreshNext = false;
        result = await (this.#sharedBreaker ?? this.#breaker).execute(
          () => this.#sendOnce(request, prepared, context, budget),
          budget.signal,
        );
      } catch (error) {
        attemptSegment?.addErrorFlag();
        attemptSegment?.close();
        if (!(error instanceof CircuitOpenError)) throw error;
        this.#count(METRIC.circuitOpenRejections);
        // Mid-call, the last real failure says more than the breaker it tripped.
        throw (
          lastError ??
          new ConnectorError(
            'CIRCUIT_BREAKER_OPEN',
            `The circuit breaker of connector '${this.#options.connector}' is open.`,
            { retryAfterSeconds: error.retryAfterSeconds },
          )
        );
      } finally {
        budget.clear();
      }
      const durationMs = Date.now() - attemptStartedAt;
      const status = result.response?.status;
      this.#recordAttempt(attempt, status, durationMs, result, attemptSegment);
      progress(attempt, status);

      if (!result.failure && result.response) {
        this.#logAttempt(request, url, context, { attempt, status, durationMs, outcome: 'success' });
        return { answer: result.response, prepared };
      }

      const error = this.#toError(request, result);
      lastError = error;
      const failure = result.failure;
      // One forced credential refresh after a 401: a rotated secret or an expired token.
      const refreshCredentials =
        status === 401 && !refreshed && (this.#options.refreshCredentialsOn401 ?? true);
      const verdict = retryDecision({
        method: request.method,
        failure: failure?.kind === 'unusableResponse' ? undefined : failure,
        idempotencyKeySent,
        attempt,
        maxAttempts,
        deadlineCut: result.deadlineHit === true,
        refreshCredentials,
        vendorWaitMs: result.response ? vendorWaitMs(result.response.headers) : undefined,
        maxRetryAfterSeconds: retry.maxRetryAfterSeconds,
        backoffMs: backoffDelayMs(attempt, retry, this.#options.random),
        remainingMs: context.deadlineAtMs - Date.now(),
        minAttemptMs: MIN_ATTEMPT_MS,
      });

      this.#logAttempt(request, url, context, {
        attempt,
        status,
        durationMs,
        outcome: verdict.retry ? 'retry' : 'failure',
        error,
        ...(verdict.retry ? { retryInMs: verdict.waitMs } : {}),
      });
      if (!verdict.retry) {
        if (options.passThroughHttpErrors && result.response && failure?.kind === 'status') {
          progress(attempt, status, error);
          return { answer: result.response, prepared: undefined };
        }
        throw error;
      }
      if (refreshCredentials) {
        refreshed = true;
        forceRefreshNext = true;
        maxAttempts += 1;
      }
      await sleep(
        verdict.waitMs,
        context.signal,
        () => new ConnectorError('API_TIMEOUT', 'The call was aborted while waiting to retry.'),
      );
    }
    throw lastError ?? this.#deadlineError(request);
  }

  /**
   * Admission of an attempt: enough time left before the deadline, and a token of the rate limit
   * (refused at once, never waited for).
   * @throws ConnectorError the last attempt's error, else `API_TIMEOUT` or `RATE_LIMIT_EXCEEDED`
   */
  #admit(
    request: OutboundRequest,
    context: CallContext,
    lastError: ConnectorError | undefined,
  ): Promise<void> | undefined {
    if (context.deadlineAtMs - Date.now() < MIN_ATTEMPT_MS) throw lastError ?? this.#deadlineError(request);
    const taken = this.#bucket.tryTake(context.deadlineAtMs);
    if (!(taken instanceof Promise)) return this.#admitted(taken, lastError);
    // A shared limit leasing tokens: the deadline may have passed meanwhile.
    return taken.then((result) => {
      if (context.deadlineAtMs - Date.now() < MIN_ATTEMPT_MS) throw lastError ?? this.#deadlineError(request);
      this.#admitted(result, lastError);
    });
  }

  /** @throws ConnectorError the last attempt's error, else `RATE_LIMIT_EXCEEDED`, when no token was taken */
  #admitted(taken: TakeResult, lastError: ConnectorError | undefined): undefined {
    if (taken.ok) return;
    this.#count(METRIC.rateLimitRejections);
    throw (
      lastError ??
      new ConnectorError(
        'RATE_LIMIT_EXCEEDED',
        `Connector '${this.#options.connector}' is over its ${this.#options.rateLimiter ? 'shared' : 'local'} rate limit.`,
        {
          source: 'connector',
          retryAfterSeconds: callerRetryAfterSeconds(taken.retryAfterMs, 1),
        },
      )
    );
  }

  /** The budget of an attempt starting now: `timeoutMs` or the time left to the deadline, whichever is shorter. */
  #budget(context: CallContext): AttemptBudget & { clear(): void } {
    const now = Date.now();
    const deadlineBound = context.deadlineAtMs <= now + this.#options.timeoutMs;
    const endsAtMs = deadlineBound ? context.deadlineAtMs : now + this.#options.timeoutMs;
    const timer = timeoutSignal(endsAtMs - now, context.signal);
    return { signal: timer.signal, endsAtMs, deadlineBound, clear: timer.clear };
  }

  /** Telemetry of one attempt: its X-Ray subsegment, latency and retry metrics. */
  #recordAttempt(
    attempt: number,
    status: number | undefined,
    durationMs: number,
    result: Attempt,
    attemptSegment: ReturnType<Powertools['tracer']['getSegment']> | undefined,
  ): void {
    if (attemptSegment) {
      attemptSegment.addAnnotation('attempt', attempt);
      if (status !== undefined) attemptSegment.addAnnotation('status', status);
      if (result.failure) attemptSegment.addErrorFlag();
      attemptSegment.close();
    }
    this.#options.powertools.metrics.addMetric(METRIC.upstreamLatency, MetricUnit.Milliseconds, durationMs);
    if (attempt > 1) this.#count(METRIC.upstreamRetries);
  }

  /**
   * The attempt's URL, headers (credentials included) and body. Fetching the credentials (a secret,
   * a token) spends the attempt's budget and ends with it.
   * @throws ConnectorError `API_TIMEOUT` when the budget runs out first; the auth scheme's errors
   */
  async #prepare(
    request: OutboundRequest,
    url: URL,
    context: CallContext,
    budget: AttemptBudget,
    forceRefresh: boolean,
    idempotencyKeySent: boolean,
  ): Promise<PreparedRequest> {
    const target = new URL(url);
    const headers = new Headers(request.headers);
    let body: string | undefined;
    if (request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
      if (typeof request.body === 'string') {
        body = request.body;
        if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
      } else {
        body = JSON.stringify(request.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
    }
    if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5');
    if (idempotencyKeySent && request.idempotencyKey) headers.set('idempotency-key', request.idempotencyKey);
    const authorizable: AuthorizableRequest = { headers, url: target, method: request.method, body };
    await this.#authorize(authorizable, forceRefresh, request, context, budget);
    return { target, headers, body, fetch: authorizable.fetch };
  }

  /** The auth scheme's `authorize`, given up when the attempt's budget runs out. */
  #authorize(
    target: AuthorizableRequest,
    forceRefresh: boolean,
    request: OutboundRequest,
    context: CallContext,
    budget: AttemptBudget,
  ): Promise<void> {
    const { signal } = budget;
    const timeUp = () => {
      if (context.signal?.aborted) return new ConnectorError('API_TIMEOUT', 'The call was aborted.');
      if (budget.deadlineBound) return this.#deadlineError(request);
      return new ConnectorError(
        'API_TIMEOUT',
        `Fetching the credentials of connector '${this.#options.connector}' took longer than ${this.#options.timeoutMs} ms.`,
      );
    };
    // A secret store that watches the signal too answers with its own ConnectorError
    // (DEPENDENCY_UNAVAILABLE): it gets a few microtask turns to, so that a stalled Secrets Manager
    // is not blamed on the vendor. Anything else it rejects with once the budget is gone (a token
    // request's AbortError) is the budget running out.
    const authorizing = this.#options.auth.authorize(target, { forceRefresh, signal }).catch((error) => {
      if (!(error instanceof ConnectorError) && signal.aborted) throw timeUp();
      throw error;
    });
    return raceSignal(authorizing, signal, timeUp, AUTHORIZE_SETTLE_MICROTASKS);
  }

  async #sendOnce(
    request: OutboundRequest,
    prepared: PreparedRequest,
    context: CallContext,
    budget: AttemptBudget,
  ): Promise<Attempt> {
    const { signal } = budget;
    /** The vendor's 2xx, once its headers are in: from here on, the request has taken effect. */
    let acceptedStatus: number | undefined;
    try {
      // Redirects change the URL and headers: a redirect works on copies, so the prepared request
      // still says what was asked for (the cache key is made from it). The first hop needs none.
      let target = prepared.target;
      let headers = prepared.headers;
      let copied = false;
      let { body } = prepared;
      let send = prepared.fetch ?? this.#fetch;
      let method: string = request.method;
      for (let redirects = 0; ; redirects++) {
        const response = await send(target, { method, headers, body, signal, redirect: 'manual' });
        const location = response.headers.get('location');
        if (!REDIRECT_STATUSES.has(response.status) || location === null) {
          if (response.status < 300) acceptedStatus = response.status;
          const text =
            request.method === 'HEAD'
              ? ''
              : await raceSignal(
                  readText(response, this.#options.maxResponseBytes ?? 5 * 1024 * 1024),
                  signal,
                  () => signal.reason,
                );
          const status = response.status;
          const failure: AttemptFailure | undefined =
            status >= 400
              ? { kind: 'status', status, rateLimited: isRateLimited(status, response.headers) }
              : undefined;
          return {
            countsAsFailure: status >= 500 || status === 408,
            response: { status, headers: response.headers, text },
            ...(failure ? { failure } : {}),
          };
        }
        await response.body?.cancel();
        const next = new URL(location, target);
        const refused = this.#redirectProblem(next, request);
        if (refused !== undefined) return this.#unusable(refused);
        if (redirects + 1 > (this.#options.maxRedirects ?? 5)) {
          return this.#unusable('The upstream redirected too many times.');
        }
        if (!copied) {
          target = new URL(target);
          headers = new Headers(headers);
          copied = true;
        }
        // RFC 9110 §15.4: 303 (and, as browsers do, 301/302 after POST) continue as GET without a body.
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && method === 'POST')
        ) {
          method = 'GET';
          body = undefined;
          headers.delete('content-type');
        }
        target.href = next.href;
        // The Location URL carries its own query: put a query-borne credential back on it (and sign
        // the hop again, for the schemes that sign).
        const hop: AuthorizableRequest = { headers, url: target, method, body };
        await this.#authorize(hop, false, request, context, budget);
        send = hop.fetch ?? this.#fetch;
      }
    } catch (error) {
      if (error instanceof ConnectorError) throw error;
      if (error instanceof ResponseTooLargeError) {
        return {
          countsAsFailure: false,
          failure: { kind: 'unusableResponse', reason: error.message },
          cause: error,
        };
      }
      if (context.signal?.aborted)
        throw new ConnectorError('API_TIMEOUT', 'The call was aborted.', { cause: error });
      const name = (error as Error).name;
      if (acceptedStatus !== undefined && !IDEMPOTENT_METHODS.has(request.method)) {
        // The vendor accepted a POST or PATCH, then its body stalled or broke: sending it again
        // could repeat the side effect (an Idempotency-Key only helps if the vendor honours it).
        return {
          countsAsFailure: !(signal.aborted && budget.deadlineBound),
          failure: {
            kind: 'unusableResponse',
            reason: `The upstream accepted the request (${acceptedStatus}) but its answer could not be read; not retried, since the request took effect.`,
          },
          cause: error,
        };
      }
      if (signal.aborted || name === 'TimeoutError') {
        // Cut by the caller's own deadline, the attempt says nothing about the vendor (issue 8, defect 5).
        const deadlineHit = signal.aborted && budget.deadlineBound;
        return { countsAsFailure: !deadlineHit, failure: { kind: 'timeout' }, cause: error, deadlineHit };
      }
      const refusal = clientCertificateRefusal(error);
      if (refusal !== undefined) {
        // The server refused our client certificate (or its absence): a credential problem, as a 401 is.
        throw new ConnectorError(
          'AUTHENTICATION_ERROR',
          `The upstream refused the client certificate of connector '${this.#options.connector}' (TLS alert: ${refusal}).`,
        );
      }
      const code = networkErrorCode(error);
      return {
        countsAsFailure: true,
        failure: { kind: code === 'ECONNREFUSED' ? 'connectionRefused' : 'network' },
        cause: code ?? name,
      };
    }
  }

  /**
   * Why a redirect to `next` is not followed, or `undefined` when it is: it must stay on the base
   * URL's origin and below its path, and pass the request's own rule ({@link OutboundRequest.redirectPathProblem}).
   * The hop is judged before it is sent, so a refused one never receives the credentials.
   */
  #redirectProblem(next: URL, request: OutboundRequest): string | undefined {
    if (next.origin !== this.#base.origin) {
      return `The upstream redirected to another origin (${next.origin}); not followed.`;
    }
    const path = next.pathname;
    const below = this.#basePath === '' || path === this.#basePath || path.startsWith(`${this.#basePath}/`);
    const relative = path.slice(this.#basePath.length) || '/';
    const problem = below ? request.redirectPathProblem?.(relative) : 'leaves the base URL';
    if (problem === undefined) return undefined;
    return `The upstream redirected to a path the connector may not call (${this.#redactor.loggablePath(next)}: ${problem}); not followed.`;
  }

  #unusable(reason: string): Attempt {
    return { countsAsFailure: false, failure: { kind: 'unusableResponse', reason } };
  }

  #buildUrl(request: OutboundRequest): URL {
    if (request.absoluteUrl !== undefined) {
      const absolute = new URL(request.absoluteUrl);
      if (absolute.origin !== this.#base.origin) {
        throw configurationError(
          `Connector '${this.#options.connector}' was asked to call ${absolute.origin}, outside its baseUrl ${this.#base.origin}.`,
        );
      }
      return absolute;
    }
    const url = new URL(this.#base.href);
    url.pathname = `${this.#base.pathname.replace(/\/+$/, '')}${request.path}`;
    url.search = '';
    url.hash = '';
    for (const [key, value] of Object.entries(request.query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    if (url.origin !== this.#base.origin) {
      throw new ConnectorError('VALIDATION_ERROR', 'The request path leaves the connector base URL.', {
        details: [{ path: 'path', message: 'must stay below the base URL' }],
      });
    }
    return url;
  }

  #toResponse(method: HttpMethod, raw: RawResponse): Answer {
    const headers = Object.fromEntries(raw.headers.entries());
    let body: unknown = raw.text === '' || method === 'HEAD' ? null : raw.text;
    if (typeof body === 'string' && /[/+]json\b/i.test(raw.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(body);
      } catch {
        // Not JSON after all: hand the text back as it came.
      }
    }
    return { status: raw.status, headers, body, text: raw.text };
  }

  #toError(request: OutboundRequest, attempt: Attempt): ConnectorError {
    const { failure, response } = attempt;
    const connector = this.#options.connector;
    if (!failure || failure.kind === 'unusableResponse') {
      return new ConnectorError('UPSTREAM_ERROR', failure?.reason ?? 'The upstream answered unexpectedly.', {
        retryable: false,
        ...(response ? { upstreamStatus: response.status } : {}),
      });
    }
    if (failure.kind === 'timeout') {
      return attempt.deadlineHit
        ? this.#deadlineError(request)
        : new ConnectorError(
            'API_TIMEOUT',
            `The upstream did not answer within ${this.#options.timeoutMs} ms.`,
          );
    }
    if (failure.kind === 'connectionRefused' || failure.kind === 'network') {
      return new ConnectorError(
        'UPSTREAM_ERROR',
        `Connector '${connector}' could not reach the upstream (${String(attempt.cause)}).`,
      );
    }
    const status = failure.status;
    const retryAfterMs = response ? vendorWaitMs(response.headers) : undefined;
    // A rate limit always tells the caller when to come back (docs/design.md §3): 1 s when the vendor did not
    // say; never more than MAX_RETRY_AFTER_SECONDS, whatever the vendor said.
    const retryAfter =
      retryAfterMs !== undefined
        ? { retryAfterSeconds: callerRetryAfterSeconds(retryAfterMs, failure.rateLimited ? 1 : 0) }
        : failure.rateLimited
          ? { retryAfterSeconds: 1 }
          : {};
    const excerpt = response?.text
      ? { details: { upstreamBody: bodyExcerpt(response.text, this.#redactor) } }
      : {};
    let code: ErrorCode;
    let message: string;
    if (failure.rateLimited) {
      code = 'RATE_LIMIT_EXCEEDED';
      message = `The upstream is rate limiting (${status}).`;
    } else if (status === 401 || status === 403) {
      code = 'AUTHENTICATION_ERROR';
      message = `The upstream rejected the credentials of connector '${connector}' (${status}).`;
    } else if (status === 408 || status >= 500) {
      code = 'UPSTREAM_ERROR';
      message = `The upstream failed (${status}).`;
    } else {
      code = 'UPSTREAM_REJECTED';
      message = `The upstream rejected the request (${status}).`;
    }
    return new ConnectorError(code, message, { upstreamStatus: status, ...retryAfter, ...excerpt });
  }

  #deadlineError(request: OutboundRequest): ConnectorError {
    return new ConnectorError(
      'API_TIMEOUT',
      `The call to ${request.method} ${request.path} ran out of time before the upstream answered.`,
    );
  }

  #logAttempt(
    request: OutboundRequest,
    url: URL,
    context: CallContext,
    fields: {
      attempt: number;
      status: number | undefined;
      durationMs: number;
      outcome: 'success' | 'retry' | 'failure';
      error?: ConnectorError;
      retryInMs?: number;
    },
  ): void {
    const { logger } = this.#options.powertools;
    // Built flat (no spread of conditional objects), in the order the line has always had.
    const line: Record<string, unknown> = {
      connector: this.#options.connector,
      operation: request.operation,
      method: request.method,
      host: url.host,
      path: this.#redactor.loggablePath(url),
      status: fields.status ?? null,
      attempt: fields.attempt,
      durationMs: fields.durationMs,
      outcome: fields.outcome,
    };
    if (fields.error) {
      line.errorCode = fields.error.code;
      line.errorSource = fields.error.source;
    }
    if (fields.retryInMs !== undefined) line.retryInMs = fields.retryInMs;
    line.requestId = context.requestId;
    if (fields.outcome === 'success') logger.info('upstream attempt', line);
    else logger.warn('upstream attempt', line);
  }

  #count(metric: string): void {
    this.#options.powertools.metrics.addMetric(metric, MetricUnit.Count, 1);
  }

  /** `UpstreamCalls` by `connector` and `outcome`: counted, printed when the handler publishes. */
  #countCall(outcome: string): void {
    let dimensions = this.#callDimensions.get(outcome);
    if (!dimensions) {
      dimensions = {
        key: `${METRIC.upstreamCalls}\u0000${this.#options.connector}\u0000${outcome}`,
        values: { connector: this.#options.connector, outcome },
      };
      this.#callDimensions.set(outcome, dimensions);
    }
    countWithDimensions(
      this.#options.powertools.metrics,
      dimensions.key,
      METRIC.upstreamCalls,
      dimensions.values,
    );
  }
}

class ResponseTooLargeError extends Error {}

async function readText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ResponseTooLargeError(`The upstream response is larger than ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The cache key of a GET: a SHA-256 of its URL and every request header, the credential the auth
 * scheme added included. Caller headers may select what the vendor answers (an account, a version,
 * a language), and two credentials may see different data: two calls share an entry only when all
 * of these are the same. The key never holds the credential in clear.
 */
function cacheKeyOf(prepared: PreparedRequest): string {
  const entries = [...prepared.headers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([prepared.target.href, entries]))
    .digest('base64url');
}

function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
