/**
 * Retry rules: which failures may be retried for which method (docs/design.md §3, retry safety), the
 * backoff between attempts (exponential with full jitter) and the `Retry-After` header
 * (RFC 9110 §10.2.3).
 */
import type { HttpMethod } from '../config.js';
import { MAX_RETRY_AFTER_SECONDS } from '../errors.js';

/** Methods RFC 9110 §9.2.2 defines as idempotent (TRACE is never sent by this suite). */
/** Methods RFC 9110 §9.2.2 defines as idempotent: repeating one has the effect of sending it once. */
export const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set([
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
]);

/** How one attempt failed. */
export type AttemptFailure =
  /** No connection was made: the request certainly did not reach the vendor. */
  | { kind: 'connectionRefused' }
  /** The connection failed or broke after it was made (reset, DNS, TLS, closed early). */
  | { kind: 'network' }
  /** The per-attempt timeout ran out. */
  | { kind: 'timeout' }
  /** The vendor answered with an error status. */
  /** The vendor answered with an error status; `rateLimited` when it says so in other words than 429. */
  | { kind: 'status'; status: number; rateLimited?: boolean };

/**
 * Whether a failed attempt may be sent again (docs/design.md §3):
 * GET, HEAD, PUT, DELETE and OPTIONS retry on network errors, timeouts, 408, 429 and 5xx; POST and
 * PATCH do so only when an idempotency key goes upstream with them, and otherwise only on failures
 * that prove the request was not processed: a refused connection, 429 and 503.
 *
 * @param idempotencyKeySent - whether the request carries an `Idempotency-Key` header upstream
 */
export function isRetryable(
  method: HttpMethod,
  failure: AttemptFailure,
  idempotencyKeySent: boolean,
): boolean {
  const safeToRepeat = IDEMPOTENT_METHODS.has(method) || idempotencyKeySent;
  switch (failure.kind) {
    case 'connectionRefused':
      return true;
    case 'network':
    case 'timeout':
      return safeToRepeat;
    case 'status': {
      const { status } = failure;
      if (status === 429 || status === 503 || failure.rateLimited) return true;
      return safeToRepeat && (status === 408 || status >= 500);
    }
  }
}

/**
 * The wait before retry number `retry` (1 for the first retry): exponential backoff with full
 * jitter, a uniform draw in `[0, min(maxDelayMs, baseDelayMs * 2^(retry-1)))`.
 * See "Exponential Backoff And Jitter", AWS Architecture Blog (2015).
 *
 * @param random - a number in [0, 1); @default Math.random
 * @returns milliseconds
 */
export function backoffDelayMs(
  retry: number,
  policy: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Whether an error answer is a rate limit: a 429, or a 403 that carries `Retry-After` or
 * `x-ratelimit-remaining: 0`, as GitHub's primary and secondary rate limits do
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
 */
export function isRateLimited(status: number, headers: Headers): boolean {
  if (status === 429) return true;
  return status === 403 && (headers.has('retry-after') || headers.get('x-ratelimit-remaining') === '0');
}

/**
 * How long a vendor asks the caller to wait, in ms: `Retry-After` (see {@link parseRetryAfterMs}),
 * else, once the quota is used up (`x-ratelimit-remaining: 0`), the time until `x-ratelimit-reset`
 * (epoch seconds, the convention of GitHub and others); `undefined` when the answer says neither.
 */
export function vendorWaitMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const retryAfter = parseRetryAfterMs(headers.get('retry-after'), nowMs);
  if (retryAfter !== undefined) return retryAfter;
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (headers.get('x-ratelimit-remaining') === '0' && Number.isFinite(reset) && reset > 0) {
    return Math.max(0, reset * 1000 - nowMs);
  }
  return undefined;
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): either delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`).
 *
 * @param nowMs - the current time, for HTTP-dates; @default Date.now()
 * @returns milliseconds to wait (0 for a date in the past), or `undefined` when the header is
 *   absent or malformed
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  // A huge delta stays finite (a vendor once sent 999999999); callers cap it further.
  if (/^\d+$/.test(trimmed)) return Math.min(Number.MAX_SAFE_INTEGER, Number(trimmed) * 1000);
  // An HTTP-date always names a weekday and GMT, but for the obsolete asctime format, which names no
  // zone and is GMT all the same (RFC 9110 §5.6.7); Date.parse alone accepts far too much.
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(trimmed);
  if (
    !asctime &&
    !/^[A-Za-z]{3},? .+ GMT$/.test(trimmed) &&
    !/^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} .+ GMT$/.test(trimmed)
  ) {
    return undefined;
  }
  const at = Date.parse(asctime ? `${trimmed} GMT` : trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * The `retryAfterSeconds` a caller is given for a wait of `waitMs`: rounded up to whole seconds, at
 * least `minimumSeconds`, at most {@link MAX_RETRY_AFTER_SECONDS}; a past, negative or non-finite
 * wait gives `minimumSeconds`, a huge one the cap.
 */
export function callerRetryAfterSeconds(waitMs: number, minimumSeconds = 0): number {
  const seconds = Number.isNaN(waitMs) ? 0 : Math.ceil(Math.max(0, waitMs) / 1000);
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(minimumSeconds, seconds));
}

/** What {@link retryDecision} weighs after a failed attempt. */
export interface RetryInput {
  method: HttpMethod;
  /** How the attempt failed; `undefined` for an answer that cannot be used (never retried). */
  failure: AttemptFailure | undefined;
  idempotencyKeySent: boolean;
  /** The attempt that failed, from 1. */
  attempt: number;
  maxAttempts: number;
  /** The attempt was cut short by the call's deadline (not by its own timeout): retrying is pointless. */
  deadlineCut: boolean;
  /** A first 401 whose credentials are to be refreshed: one more attempt, at once. */
  refreshCredentials: boolean;
  /** The vendor's own wait (`Retry-After`, rate-limit reset), in ms. */
  vendorWaitMs: number | undefined;
  /** The longest vendor wait the connector takes, in seconds (`retry.maxRetryAfterSeconds`). */
  maxRetryAfterSeconds: number;
  /** The backoff drawn for this retry, in ms. */
  backoffMs: number;
  /** Time left until the call's deadline, in ms, and the least an attempt needs. */
  remainingMs: number;
  minAttemptMs: number;
}

/** The verdict of {@link retryDecision}. */
export type RetryVerdict =
  | { retry: true; waitMs: number }
  | { retry: false; reason: 'notRetryable' | 'attemptsUsed' | 'vendorWaitTooLong' | 'deadline' };

/**
 * Whether to send another attempt after a failed one, and after how long: a pure rule, so that every
 * wait it asks for ends, with time left for an attempt, before the call's deadline.
 */
export function retryDecision(input: RetryInput): RetryVerdict {
  if (input.refreshCredentials) {
    return input.remainingMs < input.minAttemptMs
      ? { retry: false, reason: 'deadline' }
      : { retry: true, waitMs: 0 };
  }
  const { failure } = input;
  if (
    failure === undefined ||
    input.deadlineCut ||
    !isRetryable(input.method, failure, input.idempotencyKeySent)
  ) {
    return { retry: false, reason: 'notRetryable' };
  }
  if (input.attempt >= input.maxAttempts) return { retry: false, reason: 'attemptsUsed' };
  if (input.vendorWaitMs !== undefined && input.vendorWaitMs > input.maxRetryAfterSeconds * 1000) {
    return { retry: false, reason: 'vendorWaitTooLong' };
  }
  const waitMs = input.vendorWaitMs ?? input.backoffMs;
  if (waitMs + input.minAttemptMs > input.remainingMs) return { retry: false, reason: 'deadline' };
  return { retry: true, waitMs };
}
