/**
 * How what `@slack/web-api` throws becomes a {@link ConnectorError} of the contract (docs/design.md §3).
 *
 * Slack's Web API answers almost every failure with HTTP 200 and a body `{"ok": false, "error": "..."}`
 * ("Slack's way"); the SDK throws those as a `WebAPIPlatformError` whose `data.error` is the code.
 * Such an answer is a failure, never a success, and is mapped by its `error` string:
 * - chat.postMessage errors: https://api.slack.com/methods/chat.postMessage#errors
 * - chat.update errors: https://api.slack.com/methods/chat.update#errors
 * - rate limits (HTTP 429 with `Retry-After`): https://api.slack.com/apis/rate-limits
 *
 * HTTP answers other than 200 and 429 come as a `WebAPIHTTPError`, a 429 (with the client's
 * `rejectRateLimitedCalls: true`) as a `WebAPIRateLimitedError`, a failed `fetch` as a
 * `WebAPIRequestError`. The connector's policy client has already retried 429s and 5xx as docs/design.md §3
 * allows before the SDK sees the final answer.
 */
import {
  ErrorCode as SlackErrorCode,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
} from '@slack/web-api';
import { ConnectorError, type ErrorCode } from '../shared/errors.js';

/** Where Slack documents the `error` codes this mapping follows. */
export const SLACK_ERROR_DOCS = {
  postMessage: 'https://api.slack.com/methods/chat.postMessage#errors',
  update: 'https://api.slack.com/methods/chat.update#errors',
  rateLimits: 'https://api.slack.com/apis/rate-limits',
} as const;

/**
 * `error` codes that mean Slack rejected the connector's token: it is invalid, missing, revoked,
 * expired, of the wrong type or lacks the scope the method needs (a new token fixes it).
 * See {@link SLACK_ERROR_DOCS}.
 */
export const SLACK_AUTHENTICATION_ERRORS: ReadonlySet<string> = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
]);

/**
 * `error` codes of a rate limit: `ratelimited` (the method pages) and `rate_limited` (the error
 * enum of Slack's OpenAPI description of chat.postMessage and chat.update).
 */
export const SLACK_RATE_LIMIT_ERRORS: ReadonlySet<string> = new Set(['ratelimited', 'rate_limited']);

/**
 * `error` codes of a failure on Slack's side, worth retrying later: `internal_error` and
 * `fatal_error` ("it's possible some aspect of the operation succeeded"), `service_unavailable`,
 * `request_timeout` (the POST data arrived missing or truncated), and the workspace migrations
 * `team_added_to_org` and `org_login_required` ("intermittently unavailable").
 */
export const SLACK_UPSTREAM_ERRORS: ReadonlySet<string> = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
  'org_login_required',
]);

/** What Slack's `error` codes look like; anything else is not a code but an unparsable body. */
const SLACK_ERROR_CODE = /^[a-z0-9_]{1,100}$/;

/**
 * Seconds a caller should wait when Slack rate-limits without saying how long: chat.postMessage
 * allows about one message per second per channel (https://api.slack.com/methods/chat.postMessage#rate_limiting).
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * The contract code of a Slack `error` code: {@link SLACK_AUTHENTICATION_ERRORS} →
 * `AUTHENTICATION_ERROR`, {@link SLACK_RATE_LIMIT_ERRORS} → `RATE_LIMIT_EXCEEDED`,
 * {@link SLACK_UPSTREAM_ERRORS} → `UPSTREAM_ERROR`, every other code (`channel_not_found`,
 * `not_in_channel`, `is_archived`, `msg_too_long`, `no_text`, `invalid_blocks`, `message_not_found`,
 * `cant_update_message`, `edit_window_closed`, `no_permission`, ...) → `UPSTREAM_REJECTED`.
 */
export function slackErrorCode(error: string): ErrorCode {
  if (SLACK_AUTHENTICATION_ERRORS.has(error)) return 'AUTHENTICATION_ERROR';
  if (SLACK_RATE_LIMIT_ERRORS.has(error)) return 'RATE_LIMIT_EXCEEDED';
  if (SLACK_UPSTREAM_ERRORS.has(error)) return 'UPSTREAM_ERROR';
  return 'UPSTREAM_REJECTED';
}

/**
 * Maps what a `@slack/web-api` call threw to a {@link ConnectorError}; `undefined` for anything
 * that is not a Slack SDK error (the runtime reports it as `INTERNAL_ERROR`).
 *
 * - `WebAPIPlatformError` (HTTP 200, `ok: false`): by {@link slackErrorCode}, `upstreamStatus: 200`,
 *   `details: {error, messages?, needed?, provided?}` (Slack's code, its `response_metadata.messages`
 *   for invalid blocks, the scopes of a `missing_scope`); a rate limit gets `retryAfterSeconds` from
 *   `Retry-After` or {@link DEFAULT_RETRY_AFTER_SECONDS}. A 200 whose body is not Slack JSON at all
 *   is an `UPSTREAM_ERROR` (the body is not echoed).
 * - `WebAPIRateLimitedError` (HTTP 429): `RATE_LIMIT_EXCEEDED`, `upstreamStatus: 429`,
 *   `retryAfterSeconds` from `Retry-After` (at least 1).
 * - `WebAPIHTTPError`: 401/403 → `AUTHENTICATION_ERROR`, 429 → `RATE_LIMIT_EXCEEDED`, 408 and 5xx
 *   → `UPSTREAM_ERROR`, other 4xx → `UPSTREAM_REJECTED` with `details: {error?, message?}` from a
 *   JSON body; any other status → `UPSTREAM_ERROR`; always `upstreamStatus`.
 * - `WebAPIRequestError` (the request failed without an answer): `UPSTREAM_ERROR`.
 * - The SDK's plain error for a 429 without a usable `Retry-After`: `RATE_LIMIT_EXCEEDED`,
 *   `upstreamStatus: 429`, {@link DEFAULT_RETRY_AFTER_SECONDS}.
 *
 * Messages and details carry Slack's codes only, never the token or the request.
 * @see {@link SLACK_ERROR_DOCS}
 */
export function mapSlackError(error: unknown): ConnectorError | undefined {
  if (!(error instanceof Error)) return undefined;
  switch ((error as { code?: unknown }).code) {
    case SlackErrorCode.PlatformError:
      return fromPlatformError(error as WebAPIPlatformError);
    case SlackErrorCode.RateLimitedError: {
      const retryAfter = (error as WebAPIRateLimitedError).retryAfter;
      return rateLimited(429, retryAfter, { error: 'ratelimited' }, error);
    }
    case SlackErrorCode.HTTPError:
      return fromHttpError(error as WebAPIHTTPError);
    case SlackErrorCode.RequestError:
      return new ConnectorError('UPSTREAM_ERROR', 'The request to Slack failed before Slack answered.', {
        cause: error,
      });
  }
  // With rejectRateLimitedCalls, a 429 whose Retry-After is missing or not a number is a plain Error.
  if (/^Retry header did not contain a valid timeout/.test(error.message)) {
    return rateLimited(429, undefined, { error: 'ratelimited' }, error);
  }
  return undefined;
}

function fromPlatformError(error: WebAPIPlatformError): ConnectorError {
  const data = (error.data ?? {}) as unknown as Record<string, unknown>;
  const code = data.error;
  if (typeof code !== 'string' || !SLACK_ERROR_CODE.test(code)) {
    return new ConnectorError('UPSTREAM_ERROR', 'Slack answered with a body that is not Slack JSON.', {
      upstreamStatus: 200,
      retryable: false,
      cause: error,
    });
  }
  const metadata = (data.response_metadata ?? {}) as Record<string, unknown>;
  const details = {
    error: code,
    ...stringList('messages', metadata.messages),
    ...(typeof data.needed === 'string' ? { needed: data.needed.slice(0, 512) } : {}),
    ...(typeof data.provided === 'string' ? { provided: data.provided.slice(0, 512) } : {}),
  };
  const contractCode = slackErrorCode(code);
  if (contractCode === 'RATE_LIMIT_EXCEEDED') {
    const retryAfter = typeof metadata.retryAfter === 'number' ? metadata.retryAfter : undefined;
    return rateLimited(200, retryAfter, details, error);
  }
  const message =
    contractCode === 'AUTHENTICATION_ERROR'
      ? `Slack rejected the connector's token (${code}).`
      : contractCode === 'UPSTREAM_ERROR'
        ? `Slack failed to complete the call (${code}).`
        : `Slack refused the call (${code}).`;
  return new ConnectorError(contractCode, message, { upstreamStatus: 200, details, cause: error });
}

function fromHttpError(error: WebAPIHTTPError): ConnectorError {
  const status = error.statusCode;
  const body = error.body as unknown;
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const details = {
    ...(typeof fields.error === 'string' ? { error: fields.error.slice(0, 100) } : {}),
    ...(typeof fields.message === 'string' ? { message: fields.message.slice(0, 512) } : {}),
  };
  const withDetails = Object.keys(details).length > 0 ? { details } : {};
  if (status === 401 || status === 403) {
    return new ConnectorError('AUTHENTICATION_ERROR', `Slack rejected the connector's token (${status}).`, {
      upstreamStatus: status,
      ...withDetails,
      cause: error,
    });
  }
  if (status === 429) {
    const header = error.headers?.['retry-after'];
    return rateLimited(429, header === undefined ? undefined : Number.parseInt(header, 10), details, error);
  }
  if (status === 408 || status >= 500) {
    return new ConnectorError('UPSTREAM_ERROR', `Slack failed (${status}).`, {
      upstreamStatus: status,
      cause: error,
    });
  }
  if (status >= 400) {
    return new ConnectorError('UPSTREAM_REJECTED', `Slack rejected the request (${status}).`, {
      upstreamStatus: status,
      ...withDetails,
      cause: error,
    });
  }
  return new ConnectorError('UPSTREAM_ERROR', `Slack answered with an unexpected status (${status}).`, {
    upstreamStatus: status,
    retryable: false,
    cause: error,
  });
}

function rateLimited(
  upstreamStatus: number,
  retryAfter: number | undefined,
  details: Record<string, unknown>,
  cause: unknown,
): ConnectorError {
  const seconds =
    retryAfter !== undefined && Number.isFinite(retryAfter)
      ? Math.max(1, Math.ceil(retryAfter))
      : DEFAULT_RETRY_AFTER_SECONDS;
  return new ConnectorError('RATE_LIMIT_EXCEEDED', 'Slack is rate limiting the connector.', {
    upstreamStatus,
    retryAfterSeconds: seconds,
    details,
    cause,
  });
}

/** `{[name]: value}` when `value` is a list of strings (each cut to 512 characters, 20 at most). */
function stringList(name: string, value: unknown): Record<string, string[]> {
  if (!Array.isArray(value)) return {};
  const strings = value.filter((item): item is string => typeof item === 'string');
  return strings.length === 0 ? {} : { [name]: strings.slice(0, 20).map((item) => item.slice(0, 512)) };
}
