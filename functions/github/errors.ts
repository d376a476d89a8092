/**
 * How GitHub's errors become the error codes of the contract (docs/design.md §3).
 *
 * Octokit throws a `RequestError` (`@octokit/request-error`, `name: 'HttpError'`) for every answer of
 * 400 or more, with the status, the response headers (lower-case names) and the parsed body
 * (`{message, documentation_url, errors?, status?}`). The policy client has already retried what the
 * retry-safety rules allow before Octokit sees that final answer.
 *
 * Sources:
 * - rate limits: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
 * - status codes and error bodies: https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
 * - authentication: https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
 */
import { ConnectorError } from '../shared/errors.js';
import { parseRetryAfterMs, vendorWaitMs } from '../shared/http/retry.js';

/**
 * The wait GitHub asks for after a secondary rate limit that names none ("Otherwise, wait for at
 * least one minute before retrying"), in seconds.
 * @see https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
 */
export const GITHUB_DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60;

/** The longest excerpt of a GitHub error message carried in `details`, in characters. */
const MAX_MESSAGE_LENGTH = 500;

/**
 * What this module reads of Octokit's `RequestError`: its HTTP status and, when GitHub answered,
 * the response headers (lower-case names) and the parsed body.
 */
export interface GithubHttpError extends Error {
  /** HTTP status; Octokit uses 500 for a request that got no answer. */
  readonly status: number;
  /** Absent when no answer came back. */
  readonly response?: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string | number | undefined>>;
    readonly data: unknown;
  };
}

/** GitHub's error body: `basic-error` or `validation-error` of the OpenAPI description. */
export interface GithubErrorDetails {
  /** GitHub's message, e.g. `Not Found`, `Validation Failed`, `Bad credentials`. */
  message?: string;
  /** The field errors of a 422, e.g. `[{resource: 'Issue', field: 'title', code: 'missing_field'}]`. */
  errors?: unknown[];
  /** The docs page GitHub points at. */
  documentation_url?: string;
}

/** Whether `error` is Octokit's `RequestError` (checked by shape, so any copy of the package counts). */
export function isGithubHttpError(error: unknown): error is GithubHttpError {
  return (
    error instanceof Error &&
    error.name === 'HttpError' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

/**
 * Maps an error thrown by Octokit to the contract's {@link ConnectorError}, or `undefined` for
 * anything that is not a GitHub HTTP answer (the runtime then answers `INTERNAL_ERROR`).
 *
 * | GitHub answer | code |
 * |---|---|
 * | 403 or 429 with `retry-after` | `RATE_LIMIT_EXCEEDED`, `retryAfterSeconds` = `retry-after` (secondary limit) |
 * | 403 or 429 with `x-ratelimit-remaining: 0` | `RATE_LIMIT_EXCEEDED`, `retryAfterSeconds` = `x-ratelimit-reset` − now (primary limit) |
 * | 429, or 403 whose message names a rate limit, without either header | `RATE_LIMIT_EXCEEDED`, `retryAfterSeconds` = 60 |
 * | 401 | `AUTHENTICATION_ERROR` (bad or expired token) |
 * | other 403 | `AUTHENTICATION_ERROR` (the token lacks a permission or scope) |
 * | 408, 5xx | `UPSTREAM_ERROR` |
 * | other 4xx (400, 404, 409, 410, 422, ...) | `UPSTREAM_REJECTED` |
 *
 * `upstreamStatus` is always set; `details` carries GitHub's `message`, `errors` and
 * `documentation_url` (never request headers, so never the token), plus `rateLimit` (the
 * `x-ratelimit-*` headers) for a rate limit.
 *
 * @param nowMs - the current time, for `x-ratelimit-reset`; @default Date.now()
 * @see https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
 * @see https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
 */
export function mapGithubError(error: unknown, nowMs: number = Date.now()): ConnectorError | undefined {
  if (!isGithubHttpError(error) || !error.response) return undefined;
  const status = error.response.status;
  const headers = error.response.headers;
  const details = errorDetails(error.response.data);
  const said = details.message ? `: ${details.message}` : '';
  const common = { upstreamStatus: status, cause: error };

  const wait = rateLimitWaitSeconds(status, headers, details.message, nowMs);
  if (wait !== undefined) {
    return new ConnectorError(
      'RATE_LIMIT_EXCEEDED',
      `GitHub is rate limiting the connector (${status})${said}`,
      {
        ...common,
        retryAfterSeconds: wait,
        details: { ...details, rateLimit: rateLimitHeaders(headers) },
      },
    );
  }
  if (status === 401) {
    return new ConnectorError('AUTHENTICATION_ERROR', `GitHub rejected the connector's token (401)${said}`, {
      ...common,
      details,
    });
  }
  if (status === 403) {
    return new ConnectorError(
      'AUTHENTICATION_ERROR',
      `GitHub refused the request for the connector's token; it lacks a permission or scope (403)${said}`,
      { ...common, details },
    );
  }
  if (status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfterMs(header(headers, 'retry-after'), nowMs);
    return new ConnectorError('UPSTREAM_ERROR', `GitHub failed (${status})${said}`, {
      ...common,
      details,
      ...(retryAfterMs === undefined
        ? {}
        : { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }),
    });
  }
  return new ConnectorError('UPSTREAM_REJECTED', `GitHub rejected the request (${status})${said}`, {
    ...common,
    details,
  });
}

/**
 * The wait a rate-limited answer asks for, in whole seconds (at least 1), or `undefined` when the
 * answer is not a rate limit. GitHub's rules, in order: `retry-after` wins; else
 * `x-ratelimit-remaining: 0` means waiting until `x-ratelimit-reset` (UTC epoch seconds); else a
 * 429, or a 403 whose message says "rate limit", means waiting at least a minute.
 *
 * @see https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
 */
export function rateLimitWaitSeconds(
  status: number,
  headers: Readonly<Record<string, string | number | undefined>>,
  message: string | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const asHeaders = new Headers();
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) asHeaders.set(name, String(value));
  // The policy client's own reading of `retry-after` and `x-ratelimit-reset`, so both agree on the wait.
  const waitMs = vendorWaitMs(asHeaders, nowMs);
  if (waitMs !== undefined) return Math.max(1, Math.ceil(waitMs / 1000));
  if (
    header(headers, 'x-ratelimit-remaining') === '0' ||
    status === 429 ||
    /rate limit/i.test(message ?? '')
  ) {
    return GITHUB_DEFAULT_RATE_LIMIT_WAIT_SECONDS;
  }
  return undefined;
}

function header(
  headers: Readonly<Record<string, string | number | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : String(value).trim();
}

/** The `x-ratelimit-*` headers GitHub sent, for `details.rateLimit`. */
function rateLimitHeaders(headers: Readonly<Record<string, string | number | undefined>>) {
  const number = (name: string) => {
    const value = Number(header(headers, name));
    return header(headers, name) === undefined || !Number.isFinite(value) ? undefined : value;
  };
  const reset = number('x-ratelimit-reset');
  return {
    limit: number('x-ratelimit-limit'),
    remaining: number('x-ratelimit-remaining'),
    used: number('x-ratelimit-used'),
    resource: header(headers, 'x-ratelimit-resource'),
    resetAt: reset === undefined ? undefined : new Date(reset * 1000).toISOString(),
  };
}

/** GitHub's `message`, `errors` and `documentation_url`, from a JSON body or a text one. */
function errorDetails(data: unknown): GithubErrorDetails {
  if (typeof data === 'string') {
    const text = data.trim();
    return text ? { message: text.slice(0, MAX_MESSAGE_LENGTH) } : {};
  }
  if (typeof data !== 'object' || data === null) return {};
  const body = data as Record<string, unknown>;
  return {
    ...(typeof body.message === 'string' ? { message: body.message.slice(0, MAX_MESSAGE_LENGTH) } : {}),
    ...(Array.isArray(body.errors) ? { errors: body.errors.slice(0, 20) } : {}),
    ...(typeof body.documentation_url === 'string' ? { documentation_url: body.documentation_url } : {}),
  };
}
