/**
 * Timeouts and retries of the suite's own AWS clients (DynamoDB, Secrets Manager, SQS, EventBridge).
 *
 * The SDK's defaults wait without bound: no connection timeout, no request timeout. A deployed
 * connector sets both, and bounds the SDK's retries, so that a stalled dependency fails fast into
 * `DEPENDENCY_UNAVAILABLE` instead of eating the caller's deadline or the Lambda's timeout.
 */
/** How long one AWS client waits, and how often it tries. */
export interface AwsClientTimeouts {
  /** Longest wait for the TCP and TLS connection, in ms. */
  connectionTimeoutMs: number;
  /** Longest wait for the whole request and response once connected, in ms (a timeout throws). */
  requestTimeoutMs: number;
  /** Tries in all, the first included; the SDK's standard retry mode backs off between them. */
  maxAttempts: number;
}

/**
 * The settings of each client. A DynamoDB item read or write takes milliseconds, so its bounds are
 * the tightest: the idempotency record is read and written inside the caller's deadline. The worst
 * case of one client call is about `maxAttempts × (connectionTimeoutMs + requestTimeoutMs)` plus
 * the SDK's backoff (under a second with these settings).
 */
export const AWS_CLIENT_TIMEOUTS = {
  /** Idempotency records: worst case about 3.5 s. */
  dynamoDB: { connectionTimeoutMs: 500, requestTimeoutMs: 1_000, maxAttempts: 2 },
  /** The connector's secret, read at most every `SECRET_MAX_AGE_SECONDS` and after a 401. */
  secretsManager: { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 },
  /** The inbox and dead-letter queue (visibility changes, requeues, dead letters). */
  sqs: { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 3 },
  /** Result events. */
  eventBridge: { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 3 },
} as const satisfies Record<string, AwsClientTimeouts>;

/**
 * The AWS SDK v3 client options for `timeouts`: `maxAttempts`, and a `requestHandler` (the SDK's
 * Node.js handler) with `connectionTimeout`, `requestTimeout` and `throwOnRequestTimeout: true`
 * (without it a request timeout is only logged).
 */
export function awsClientConfig(timeouts: AwsClientTimeouts) {
  return {
    maxAttempts: timeouts.maxAttempts,
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
