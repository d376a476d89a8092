/**
 * The typed errors of the suite: every code of the error contract (docs/design.md §3), with the HTTP
 * status it answers, who is at fault (`source`) and whether the caller may retry.
 *
 * The runtime turns any {@link ConnectorError} into the error envelope
 * `{"error": {code, message, source, retryable, requestId, upstreamStatus?, retryAfterSeconds?, attempts?, details?}}`;
 * anything else thrown is an `INTERNAL_ERROR` whose message leaks nothing.
 */

/**
 * The longest wait the suite ever asks a caller for, in seconds (one hour): a vendor's
 * `Retry-After` or rate-limit reset beyond it is passed on as this (a caller told to come back in
 * 31 years would never retry; the asynchronous path caps again at its own `backoffMaxSeconds`).
 */
export const MAX_RETRY_AFTER_SECONDS = 3_600;

/** `seconds` as a caller's wait: whole seconds in [0, {@link MAX_RETRY_AFTER_SECONDS}], or none. */
function callerWaitSeconds(seconds: number | undefined): number | undefined {
  if (seconds === undefined || Number.isNaN(seconds) || seconds < 0) return undefined;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(seconds));
}

/** Who caused an error: the caller (`client`), the vendor (`upstream`) or this suite (`connector`). */
export type ErrorSource = 'client' | 'upstream' | 'connector';

/** The fixed properties of one error code. */
export interface ErrorCodeSpec {
  /** HTTP status the code answers with. */
  readonly httpStatus: number;
  /** Who caused it. */
  readonly source: ErrorSource;
  /** Whether the same request may succeed if the caller retries it later. */
  readonly retryable: boolean;
}

/**
 * The error codes. docs/design.md §3 lists all but two, which this project adds:
 * - `CONFIGURATION_ERROR`: a deployment or local setup that cannot work (a missing secret, a
 *   malformed environment) is the operator's to fix, not the caller's, and must never look like a
 *   bug (`INTERNAL_ERROR`);
 * - `DEPENDENCY_UNAVAILABLE`: one of the suite's own AWS dependencies (DynamoDB, Secrets Manager,
 *   SQS, EventBridge) failed, was throttled or timed out. Not a bug and not the vendor's fault: the
 *   same request may succeed later, so it is retryable (503), and the asynchronous path redelivers
 *   it without spending one of the event's attempts.
 *
 * Issue 12 adds `WEBHOOK_SIGNATURE_INVALID` (401): an inbound webhook whose signature is missing,
 * wrong or outside its timestamp tolerance (`details.reason` says which; docs/webhooks.md).
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { httpStatus: 400, source: 'client', retryable: false },
  NOT_FOUND: { httpStatus: 404, source: 'client', retryable: false },
  REQUEST_IN_PROGRESS: { httpStatus: 409, source: 'client', retryable: true },
  IDEMPOTENCY_KEY_REUSED: { httpStatus: 422, source: 'client', retryable: false },
  UPSTREAM_REJECTED: { httpStatus: 422, source: 'upstream', retryable: false },
  AUTHENTICATION_ERROR: { httpStatus: 502, source: 'upstream', retryable: false },
  RATE_LIMIT_EXCEEDED: { httpStatus: 429, source: 'upstream', retryable: true },
  CIRCUIT_BREAKER_OPEN: { httpStatus: 503, source: 'connector', retryable: true },
  UPSTREAM_ERROR: { httpStatus: 502, source: 'upstream', retryable: true },
  API_TIMEOUT: { httpStatus: 504, source: 'upstream', retryable: true },
  RESPONSE_VALIDATION_ERROR: { httpStatus: 502, source: 'upstream', retryable: false },
  DEPENDENCY_UNAVAILABLE: { httpStatus: 503, source: 'connector', retryable: true },
  CONFIGURATION_ERROR: { httpStatus: 500, source: 'connector', retryable: false },
  INTERNAL_ERROR: { httpStatus: 500, source: 'connector', retryable: false },
  WEBHOOK_SIGNATURE_INVALID: { httpStatus: 401, source: 'client', retryable: false },
} as const satisfies Record<string, ErrorCodeSpec>;

/** One of the codes of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One entry of `error.details` for a validation failure: the field's path and what is wrong with it. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `query.limit`; empty for the body as a whole. */
  readonly path: string;
  /** What is wrong, in words. */
  readonly message: string;
}

/** Options of a {@link ConnectorError} beyond its code and message. */
export interface ConnectorErrorOptions {
  /** HTTP status the vendor answered, when there was an answer. */
  upstreamStatus?: number;
  /**
   * Seconds the caller should wait before trying again; sent as `Retry-After` too. Rounded up to
   * whole seconds and capped at {@link MAX_RETRY_AFTER_SECONDS}, whoever builds the error (the
   * HTTP client or a vendor connector's error mapping); a negative or non-finite value is dropped.
   */
  retryAfterSeconds?: number;
  /** Structured details, e.g. the {@link FieldIssue}s of a validation error. */
  details?: unknown;
  /** Outbound attempts made before this error (first attempt included). */
  attempts?: number;
  /** The underlying error; logged (redacted), never sent to the caller. */
  cause?: unknown;
  /** Overrides the code's `source` where the fault lies elsewhere (e.g. a refused connection). */
  source?: ErrorSource;
  /** Overrides the code's `retryable` flag. */
  retryable?: boolean;
  /**
   * For `DEPENDENCY_UNAVAILABLE`: which of the connector's own dependencies failed (`DynamoDB`,
   * `Secrets Manager`, `SQS`, `EventBridge`), the `dependency` dimension of `DependencyFailures`.
   */
  dependency?: string;
}

/** The error body of the contract. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    source: ErrorSource;
    retryable: boolean;
    requestId: string;
    upstreamStatus?: number;
    retryAfterSeconds?: number;
    attempts?: number;
    details?: unknown;
  };
}

/**
 * An error with a code of the contract. Throw it anywhere in the runtime or in an operation's
 * `run`; the Lambda entry maps it to its HTTP status and error body.
 */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly source: ErrorSource;
  readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly details: unknown;
  /** For `DEPENDENCY_UNAVAILABLE`: the dependency that failed (see {@link ConnectorErrorOptions.dependency}). */
  readonly dependency: string | undefined;
  attempts: number | undefined;

  constructor(code: ErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec = ERROR_CODES[code];
    this.code = code;
    this.httpStatus = spec.httpStatus;
    this.source = options.source ?? spec.source;
    this.retryable = options.retryable ?? spec.retryable;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterSeconds = callerWaitSeconds(options.retryAfterSeconds);
    this.details = options.details;
    this.dependency = options.dependency;
    this.attempts = options.attempts;
  }

  /**
   * The error body of the contract.
   * @param requestId - the request id the caller sees (API Gateway's or the local gateway's)
   */
  toBody(requestId: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        source: this.source,
        retryable: this.retryable,
        requestId,
        ...(this.upstreamStatus === undefined ? {} : { upstreamStatus: this.upstreamStatus }),
        ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
        ...(this.attempts === undefined ? {} : { attempts: this.attempts }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/**
 * Wraps anything thrown into a {@link ConnectorError}: a `ConnectorError` is returned as is,
 * anything else becomes `INTERNAL_ERROR` with a message that reveals nothing of the cause.
 */
export function toConnectorError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError(
    'INTERNAL_ERROR',
    'The connector failed unexpectedly; see its logs for the request id.',
    {
      cause: error,
    },
  );
}

/**
 * A `DEPENDENCY_UNAVAILABLE`: one of the suite's own AWS dependencies failed, was throttled or timed
 * out (`dependency` names it, e.g. `DynamoDB`). The cause is logged (redacted), never sent.
 * @param retryAfterSeconds - when the caller should come back @default 1
 */
export function dependencyUnavailable(
  dependency: string,
  cause?: unknown,
  retryAfterSeconds = 1,
): ConnectorError {
  return new ConnectorError(
    'DEPENDENCY_UNAVAILABLE',
    `The connector's ${dependency} dependency is unavailable; retry later.`,
    { retryAfterSeconds, dependency, ...(cause === undefined ? {} : { cause }) },
  );
}

/** A `CONFIGURATION_ERROR`: the deployment or local setup is wrong; the message says what to fix. */
export function configurationError(message: string, cause?: unknown): ConnectorError {
  return new ConnectorError('CONFIGURATION_ERROR', message, cause === undefined ? {} : { cause });
}
