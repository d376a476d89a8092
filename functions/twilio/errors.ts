/**
 * Twilio's errors, mapped to the error contract (docs/design.md §3).
 *
 * Twilio answers an error with `{"code", "message", "more_info", "status"}`
 * (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions); the SDK throws it
 * as a `RestException` with `status`, `code`, `message` and `moreInfo`. Newer Twilio APIs answer RFC 9457
 * problem details (`type`, `title`, `status`, `code`, `detail`), which the SDK throws as a
 * `TwilioServiceException`; both are mapped here. The `code` is one of Twilio's error dictionary
 * (https://www.twilio.com/docs/api/errors); {@link TWILIO_ERROR_RULES} lists the ones with a mapping of
 * their own, any other falls back on the HTTP status.
 *
 * The policy client has already retried a 429 and the 5xx answers it may repeat before the SDK sees
 * the final answer, so what reaches this mapping is the vendor's last word.
 */
import { ConnectorError, type ErrorCode } from '../shared/errors.js';
import { parseRetryAfterMs } from '../shared/http/retry.js';

/** How one Twilio error code maps to the contract. */
export interface TwilioErrorRule {
  /** Twilio's error code, e.g. `21211`. */
  readonly code: number;
  /** What the code means, in short. */
  readonly title: string;
  /** The contract's code it maps to. */
  readonly connectorCode: ErrorCode;
  /** Overrides the contract code's `retryable` flag where the condition clears by itself. */
  readonly retryable?: boolean;
  /** Twilio's page for the code. */
  readonly docUrl: string;
}

function rule(
  code: number,
  title: string,
  connectorCode: ErrorCode,
  retryable?: boolean,
): readonly [number, TwilioErrorRule] {
  return [
    code,
    {
      code,
      title,
      connectorCode,
      ...(retryable === undefined ? {} : { retryable }),
      docUrl: `https://www.twilio.com/docs/api/errors/${code}`,
    },
  ];
}

/**
 * The Twilio error codes with a mapping of their own, each with its page in Twilio's error dictionary
 * (https://www.twilio.com/docs/api/errors). Codes not listed map by HTTP status
 * (see {@link mapTwilioError}).
 */
export const TWILIO_ERROR_RULES: ReadonlyMap<number, TwilioErrorRule> = new Map([
  // Credentials: https://www.twilio.com/docs/api/errors/20003, https://www.twilio.com/docs/api/errors/20005
  rule(20003, 'Authentication failed: the Account SID or Auth Token is wrong', 'AUTHENTICATION_ERROR'),
  rule(20005, 'The account is not active (suspended or closed)', 'AUTHENTICATION_ERROR'),
  // Platform: https://www.twilio.com/docs/api/errors/20404, /20429, /20500, /20503
  rule(20404, 'The requested resource was not found', 'UPSTREAM_REJECTED'),
  rule(20429, 'Too many requests', 'RATE_LIMIT_EXCEEDED'),
  rule(20500, 'Twilio internal server error', 'UPSTREAM_ERROR'),
  rule(20503, 'Twilio service unavailable', 'UPSTREAM_ERROR'),
  // Messaging: https://www.twilio.com/docs/api/errors/21211 and the pages below
  rule(21211, "Invalid 'To' phone number", 'UPSTREAM_REJECTED'),
  rule(21212, "Invalid 'From' phone number", 'UPSTREAM_REJECTED'),
  rule(
    21408,
    "Permission to send an SMS has not been enabled for the region of the 'To' number",
    'UPSTREAM_REJECTED',
  ),
  rule(21602, 'Message body is required', 'UPSTREAM_REJECTED'),
  rule(21603, "A 'From' phone number is required", 'UPSTREAM_REJECTED'),
  rule(21604, "A 'To' phone number is required", 'UPSTREAM_REJECTED'),
  rule(
    21606,
    "The 'From' phone number is not a valid, message-capable number of this account",
    'UPSTREAM_REJECTED',
  ),
  rule(
    21610,
    'Attempt to send to an unsubscribed recipient (the recipient replied STOP)',
    'UPSTREAM_REJECTED',
  ),
  // The sender's queue drains by itself: the same request may succeed later.
  rule(
    21611,
    "The 'From' number has exceeded the maximum number of queued messages",
    'UPSTREAM_REJECTED',
    true,
  ),
  rule(21612, "The 'To' phone number is not currently reachable via SMS", 'UPSTREAM_REJECTED'),
  rule(21614, "The 'To' number is not a valid mobile number", 'UPSTREAM_REJECTED'),
  rule(21617, 'The message body exceeds the 1600 character limit', 'UPSTREAM_REJECTED'),
  rule(21620, 'Invalid media URL(s)', 'UPSTREAM_REJECTED'),
]);

/** What a Twilio error says, whichever form the SDK threw it in. */
export interface TwilioErrorFields {
  /** The HTTP status Twilio answered. */
  status: number;
  /** Twilio's error code, when the body carried one. */
  code: number | undefined;
  /** Twilio's message (a problem's `detail`, else its `title`). */
  message: string | undefined;
  /** Twilio's link for the error (`more_info`, or a problem's `type`). */
  moreInfo: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The fields of an error the Twilio SDK threw for an HTTP answer: a `RestException` (`status`, `code`,
 * `message`, `moreInfo`) or a `TwilioServiceException` (`status`, `code`, `title`, `detail`, `type`);
 * `undefined` for anything else (a bug, or an error that is not Twilio's). Recognized by shape, since
 * the SDK does not export `TwilioServiceException` and a bundle may hold two copies of `RestException`.
 */
export function twilioErrorFields(error: unknown): TwilioErrorFields | undefined {
  if (!(error instanceof Error) || !isRecord(error)) return undefined;
  const status = error.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    return undefined;
  const code = typeof error.code === 'number' && error.code !== 0 ? error.code : undefined;
  const problem = typeof error.title === 'string' && typeof error.type === 'string';
  if (problem) {
    return {
      status,
      code,
      message: optionalString(error.detail) ?? optionalString(error.title),
      moreInfo: optionalString(error.type),
    };
  }
  // A RestException of a body without a message keeps the SDK's own "[HTTP 500] Failed to execute request".
  return { status, code, message: optionalString(error.message), moreInfo: optionalString(error.moreInfo) };
}

/** The contract code of an HTTP status when the Twilio code has no rule. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'AUTHENTICATION_ERROR';
  if (status === 429) return 'RATE_LIMIT_EXCEEDED';
  if (status >= 400 && status < 500 && status !== 408) return 'UPSTREAM_REJECTED';
  return 'UPSTREAM_ERROR';
}

/** The last HTTP answer of a call, as the connector's request client keeps it (headers lower-case). */
export interface TwilioAnswer {
  readonly headers: Readonly<Record<string, string>>;
}

/** The wait a rate-limited caller is told when Twilio's answer names none, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * Maps an error the Twilio SDK threw to a {@link ConnectorError}, or `undefined` when it is not a
 * Twilio error answer (the runtime then answers `INTERNAL_ERROR`).
 *
 * - a code of {@link TWILIO_ERROR_RULES} maps as listed there (20003 → `AUTHENTICATION_ERROR`,
 *   20429 → `RATE_LIMIT_EXCEEDED`, 21211 → `UPSTREAM_REJECTED`, ...);
 * - any other code by HTTP status: 401/403 → `AUTHENTICATION_ERROR`, 429 → `RATE_LIMIT_EXCEEDED`,
 *   408 and 5xx → `UPSTREAM_ERROR`, other 4xx → `UPSTREAM_REJECTED`.
 *
 * Every result carries `upstreamStatus` and `details: {code, message, moreInfo, status}` (Twilio's
 * code, message and link, never a credential). `RATE_LIMIT_EXCEEDED` carries `retryAfterSeconds`
 * from the answer's `Retry-After`, else {@link DEFAULT_RETRY_AFTER_SECONDS}.
 *
 * @param error - what the SDK threw
 * @param answer - the last HTTP answer, for its `Retry-After` header (the SDK's exceptions drop headers)
 * @see https://www.twilio.com/docs/api/errors
 */
export function mapTwilioError(error: unknown, answer?: TwilioAnswer): ConnectorError | undefined {
  const fields = twilioErrorFields(error);
  if (!fields) return undefined;
  const rule = fields.code === undefined ? undefined : TWILIO_ERROR_RULES.get(fields.code);
  const code = rule?.connectorCode ?? codeOfStatus(fields.status);
  const details = {
    code: fields.code ?? null,
    message: fields.message ?? null,
    moreInfo: fields.moreInfo ?? rule?.docUrl ?? null,
    status: fields.status,
  };
  const text = (fields.message ?? 'no message').replace(/\.+$/, '');
  const said = `${text}${fields.code === undefined ? '' : ` (Twilio error ${fields.code})`}`;
  let message: string;
  let retryAfterSeconds: number | undefined;
  switch (code) {
    case 'AUTHENTICATION_ERROR':
      message = `Twilio rejected the connector's credentials: ${said}.`;
      break;
    case 'RATE_LIMIT_EXCEEDED': {
      const waitMs = parseRetryAfterMs(answer?.headers['retry-after']);
      retryAfterSeconds =
        waitMs === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Math.max(1, Math.ceil(waitMs / 1000));
      message = `Twilio is rate limiting: ${said}.`;
      break;
    }
    case 'UPSTREAM_ERROR':
      message = `Twilio failed (${fields.status}): ${said}.`;
      break;
    default:
      message = `Twilio rejected the request (${fields.status}): ${said}.`;
  }
  return new ConnectorError(code, message, {
    upstreamStatus: fields.status,
    details,
    cause: error,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    ...(rule?.retryable === undefined ? {} : { retryable: rule.retryable }),
  });
}
