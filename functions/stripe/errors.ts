/**
 * Stripe's errors → the suite's error codes (docs/design.md §3).
 *
 * The official SDK turns every Stripe error answer into a typed error (`Stripe.errors.*`, chosen by
 * HTTP status in `generateV1Error`), each carrying Stripe's error object: `type`, `code`,
 * `decline_code`, `param`, `message`, `doc_url` (https://docs.stripe.com/api/errors). This module
 * maps those classes, refined by the status where Stripe documents a special meaning
 * (https://docs.stripe.com/api/errors#http-status-code-summary), to the suite's codes.
 *
 * By the time the SDK sees an error answer, the connector's policies have already retried it as far
 * as the retry-safety rules allow (429 and 5xx, with `Retry-After`), so a 429 or 5xx here is final.
 */
import Stripe from 'stripe';
import { ConnectorError } from '../shared/errors.js';
import { parseRetryAfterMs } from '../shared/http/retry.js';
import type { ObservedCall } from '../shared/runtime/vendor-sdk.js';

export type { ObservedCall };

/**
 * What `error.details` holds for a Stripe error answer: Stripe's own error fields, never a secret
 * and never the whole upstream body (a PaymentIntent in a card error is reduced to its id, since
 * the object carries the intent's `client_secret`).
 *
 * @see https://docs.stripe.com/api/errors
 */
export interface StripeErrorDetails {
  /** Stripe's error type: `card_error`, `invalid_request_error`, `idempotency_error` or `api_error`. */
  type?: string;
  /** Stripe's error code, e.g. `card_declined`, `resource_missing` (https://docs.stripe.com/error-codes). */
  code?: string;
  /** The card issuer's reason for a decline, e.g. `generic_decline`, `insufficient_funds` (https://docs.stripe.com/declines/codes). */
  decline_code?: string;
  /** The request parameter the error is about. */
  param?: string;
  /** Stripe's human-readable message (for card errors, fit to show to the payer). */
  message?: string;
  /** Stripe's page about the error code. */
  doc_url?: string;
  /** For card errors, the id of the failed charge. */
  charge?: string;
  /** For errors about a PaymentIntent, its id. */
  payment_intent?: string;
  /** Stripe's `Request-Id` of the failed request, for Stripe support and the Dashboard's logs. */
  request_id?: string;
}

/** Stripe's error fields of `error`, without `undefined` values. */
export function stripeErrorDetails(error: Stripe.errors.StripeError): StripeErrorDetails {
  const paymentIntent = error.payment_intent as unknown;
  const details: StripeErrorDetails = {
    type: error.rawType,
    code: error.code,
    decline_code: error.decline_code,
    param: error.param,
    message: error.message || undefined,
    doc_url: error.doc_url,
    charge: error.charge,
    payment_intent:
      typeof paymentIntent === 'string'
        ? paymentIntent
        : typeof (paymentIntent as { id?: unknown } | undefined)?.id === 'string'
          ? (paymentIntent as { id: string }).id
          : undefined,
    request_id: error.requestId,
  };
  return Object.fromEntries(
    Object.entries(details).filter(([, value]) => typeof value === 'string' && value !== ''),
  ) as StripeErrorDetails;
}

/** Seconds from a `Retry-After` header of Stripe's answer, rounded up; `undefined` when absent or malformed. */
function retryAfterSeconds(error: Stripe.errors.StripeError): number | undefined {
  const headers = error.headers ?? {};
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  const ms = parseRetryAfterMs(value);
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}

/** ` (card_error: card_declined, generic_decline)`: Stripe's classification for a message. */
function label(details: StripeErrorDetails): string {
  const parts = [details.code, details.decline_code].filter(Boolean).join(', ');
  return details.type ? ` (${details.type}${parts ? `: ${parts}` : ''})` : parts ? ` (${parts})` : '';
}

/**
 * Maps an error the Stripe SDK threw to the suite's {@link ConnectorError}, or `undefined` when it
 * is not a Stripe error (the runtime then answers `INTERNAL_ERROR`). `upstreamStatus` is always set
 * when Stripe answered.
 *
 * | SDK error (HTTP status) | code | HTTP |
 * |---|---|---|
 * | `StripeCardError` (402) | `UPSTREAM_REJECTED`, details with `code`, `decline_code`, `param`, `type` | 422 |
 * | `StripeInvalidRequestError` (400, 404) | `UPSTREAM_REJECTED`, details with `code`, `param`, `message` | 422 |
 * | `StripeIdempotencyError` (400, `idempotency_error`) | `IDEMPOTENCY_KEY_REUSED` (source `client`) | 422 |
 * | `StripeAuthenticationError` (401) | `AUTHENTICATION_ERROR` | 502 |
 * | `StripePermissionError` (403) | `AUTHENTICATION_ERROR` | 502 |
 * | `StripeRateLimitError` (429, or 400 `rate_limit`) | `RATE_LIMIT_EXCEEDED`, `retryAfterSeconds` (1 when Stripe sends none) | 429 |
 * | `StripeAPIError` 409 (a concurrent request with the same idempotency key) | `REQUEST_IN_PROGRESS`, `retryAfterSeconds` 1 | 409 |
 * | `StripeAPIError` 408, 424, 5xx | `UPSTREAM_ERROR` | 502 |
 * | `StripeAPIError` without a status: an answer that is not JSON | `UPSTREAM_ERROR` (`upstreamStatus` from `observed`) | 502 |
 * | `StripeAPIError` other 4xx | `UPSTREAM_REJECTED` | 422 |
 * | `StripeConnectionError` (only when the policies raised nothing themselves) | `UPSTREAM_ERROR` | 502 |
 *
 * @param error - what the SDK threw
 * @param observed - the status of Stripe's last answer, for the one error that does not carry it
 *   (an answer that is not JSON)
 * @see https://docs.stripe.com/api/errors (error object and HTTP status summary)
 * @see https://docs.stripe.com/error-codes (error codes)
 * @see https://docs.stripe.com/error-handling (error types, and the SDK's error classes)
 * @see https://docs.stripe.com/api/idempotent_requests (`idempotency_error`, 409 for a concurrent retry)
 * @see https://docs.stripe.com/rate-limits (429 and `lock_timeout`)
 */
export function mapStripeError(error: unknown, observed: ObservedCall = {}): ConnectorError | undefined {
  const errors = Stripe.errors;
  if (!(error instanceof errors.StripeError)) return undefined;
  const details = stripeErrorDetails(error);
  const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const upstream = status === undefined ? {} : { upstreamStatus: status };
  const common = { ...upstream, details, cause: error };
  const detail = details.message ? `: ${details.message}` : '.';

  if (error instanceof errors.StripeAPIError && status === undefined) {
    // The SDK could not parse the answer as JSON (e.g. an HTML page of a proxy in front of Stripe).
    return new ConnectorError('UPSTREAM_ERROR', 'Stripe answered with a body that is not JSON.', {
      ...common,
      ...(observed.upstreamStatus === undefined ? {} : { upstreamStatus: observed.upstreamStatus }),
      details: details.request_id ? { request_id: details.request_id } : undefined,
    });
  }
  if (error instanceof errors.StripeCardError) {
    // https://docs.stripe.com/declines: the card (or its issuer) refused; the request itself was valid.
    return new ConnectorError(
      'UPSTREAM_REJECTED',
      `Stripe declined the payment${label(details)}${detail}`,
      common,
    );
  }
  if (error instanceof errors.StripeIdempotencyError) {
    // https://docs.stripe.com/api/idempotent_requests: the key was first used with other parameters.
    return new ConnectorError(
      'IDEMPOTENCY_KEY_REUSED',
      'Stripe refused the request: this Idempotency-Key was already used with different parameters.',
      common,
    );
  }
  if (error instanceof errors.StripeRateLimitError) {
    // https://docs.stripe.com/rate-limits: 429 (rate, concurrency, or `lock_timeout` on one object).
    return new ConnectorError('RATE_LIMIT_EXCEEDED', `Stripe is rate limiting${label(details)}${detail}`, {
      ...common,
      retryAfterSeconds: retryAfterSeconds(error) ?? 1,
    });
  }
  if (error instanceof errors.StripeAuthenticationError || error instanceof errors.StripePermissionError) {
    // 401: no valid API key; 403: the key lacks the permission (a restricted key). Stripe masks the
    // key in its message, and the redactor removes any registered secret value besides.
    return new ConnectorError(
      'AUTHENTICATION_ERROR',
      `Stripe rejected the connector's API key (${status ?? 'no status'})${detail}`,
      common,
    );
  }
  if (error instanceof errors.StripeInvalidRequestError) {
    return new ConnectorError(
      'UPSTREAM_REJECTED',
      `Stripe rejected the request${label(details)}${detail}`,
      common,
    );
  }
  if (error instanceof errors.StripeConnectionError) {
    return new ConnectorError('UPSTREAM_ERROR', 'The connection to Stripe failed.', common);
  }
  if (status === 409) {
    // https://docs.stripe.com/api/errors: "The request conflicts with another request (perhaps due to
    // using the same idempotent key)": a concurrent duplicate still running at Stripe.
    return new ConnectorError(
      'REQUEST_IN_PROGRESS',
      `Stripe is still processing another request with this Idempotency-Key; retry later${detail}`,
      { ...common, retryAfterSeconds: retryAfterSeconds(error) ?? 1 },
    );
  }
  if (status === undefined) return undefined;
  if (status === 408 || status === 424 || status >= 500) {
    // 408: Stripe timed out; 424: a dependency external to Stripe failed; 5xx: Stripe failed.
    const retryAfter = retryAfterSeconds(error);
    return new ConnectorError('UPSTREAM_ERROR', `Stripe failed (${status})${detail}`, {
      ...common,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    });
  }
  if (status >= 400) {
    return new ConnectorError(
      'UPSTREAM_REJECTED',
      `Stripe rejected the request${label(details)}${detail}`,
      common,
    );
  }
  return undefined;
}
