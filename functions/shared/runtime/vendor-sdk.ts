/**
 * How vendor SDKs run inside the suite's policies: a `fetch` the SDK is given, which sends every
 * request through the connector's {@link HttpClient} (timeout, deadline, retries with `Retry-After`,
 * breaker, rate limit, redacted logs, a trace subsegment and metrics) and hands the vendor's final
 * answer back to the SDK, so the SDK parses the vendor's own errors; and {@link callVendor}, which
 * turns whatever the SDK throws into a {@link ConnectorError}.
 *
 * The SDKs' own retries must be off (Stripe `maxNetworkRetries: 0`, Slack `retryConfig: {retries: 0}`,
 * Octokit without the retry plugin, Twilio `autoRetry: false`), so one request never multiplies into
 * retries of retries.
 */
import type { HttpMethod } from '../config.js';
import { HTTP_METHODS } from '../config.js';
import type { SecretValue } from '../credentials/store.js';
import { ConnectorError, toConnectorError } from '../errors.js';
import type { CallContext, HttpClient } from '../http/client.js';

/** What one invocation's vendor calls have done so far (for `meta` and for error mapping). */
export interface VendorCallState {
  attempts: number;
  calls: number;
  upstreamStatus: number | null;
  /** The last failure the policies themselves raised (timeout, breaker, network, rate limit). */
  policyError: ConnectorError | undefined;
  /** The headers of the vendor's last answer to the policy fetch, and which call (`calls`) it was. */
  lastAnswer?: { call: number; headers: Readonly<Record<string, string>> };
}

/** What the runtime saw of a vendor call besides the SDK's error, for errors that do not carry it. */
export interface ObservedCall {
  /** The HTTP status of the vendor's last answer in the call, when there was one. */
  upstreamStatus?: number;
  /**
   * The headers (lower-case names) of that answer, when it came through the policy fetch: e.g. a
   * `Retry-After` the SDK's error does not keep.
   */
  headers?: Readonly<Record<string, string>>;
}

/** Statuses whose responses carry no body (fetch refuses a body for them). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A WHATWG `fetch` for a vendor SDK, bound to one invocation: requests go through `client` with
 * every policy; the vendor's final HTTP answer, error or not, comes back as a `Response`. A failure
 * of the policies themselves (timeout, deadline, breaker, rate limit, connection) is thrown as its
 * {@link ConnectorError} and kept in `state.policyError`, since SDKs wrap what fetch throws.
 */
export function createPolicyFetch(
  client: HttpClient,
  operation: string,
  context: CallContext,
  state: VendorCallState,
): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const method = request.method.toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(method)) {
      throw new ConnectorError('INTERNAL_ERROR', `The vendor SDK used an unsupported method ${method}.`);
    }
    const body = method === 'GET' || method === 'HEAD' ? undefined : await request.text();
    try {
      const response = await client.request(
        {
          operation,
          method: method as HttpMethod,
          path: new URL(request.url).pathname,
          absoluteUrl: request.url,
          headers: Object.fromEntries(request.headers.entries()),
          ...(body === undefined || body === '' ? {} : { body }),
        },
        context,
        { passThroughHttpErrors: true },
      );
      state.calls += 1;
      state.attempts += response.attempts;
      state.upstreamStatus = response.status;
      state.lastAnswer = { call: state.calls, headers: response.headers };
      const headers = new Headers(response.headers);
      // The body handed on is already decoded and re-measured.
      headers.delete('content-encoding');
      headers.delete('content-length');
      headers.delete('transfer-encoding');
      return new Response(NULL_BODY_STATUSES.has(response.status) ? null : response.text, {
        status: response.status,
        headers,
      });
    } catch (error) {
      if (error instanceof ConnectorError) {
        state.attempts += error.attempts ?? 0;
        state.policyError = error;
      }
      throw error;
    }
  };
}

/**
 * Runs `attempt` with credentials read from the connector's secret; after an
 * `AUTHENTICATION_ERROR`, reads the secret again (`forceRefresh`, skipping the cache) and, when the
 * credentials changed (a rotation), runs `attempt` once more with them; otherwise the error stands.
 * So a rotated vendor key is picked up at the first 401, without a deploy or a cold start.
 *
 * @param readSecret - reads the secret: `forceRefresh` after a rejection
 * @param parse - turns the secret into the credentials the SDK needs; throws `CONFIGURATION_ERROR`
 *   naming a missing or malformed field
 * @throws ConnectorError
 */
export async function withRotatingCredentials<S, T>(
  readSecret: (options: { forceRefresh: boolean }) => Promise<SecretValue>,
  parse: (secret: SecretValue) => S,
  attempt: (credentials: S) => Promise<T>,
  onRotation: () => void,
): Promise<T> {
  const credentials = parse(await readSecret({ forceRefresh: false }));
  try {
    return await attempt(credentials);
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.code !== 'AUTHENTICATION_ERROR') throw error;
    const fresh = parse(await readSecret({ forceRefresh: true }));
    if (JSON.stringify(fresh) === JSON.stringify(credentials)) throw error;
    onRotation();
    return attempt(fresh);
  }
}

/**
 * Runs one SDK call. A failure the policies raised wins (the SDK only saw a failed fetch); anything
 * else the SDK threw goes through `mapError`, the vendor's error mapping; what that leaves unmapped
 * becomes `INTERNAL_ERROR`.
 *
 * @param mapError - returns the {@link ConnectorError} for a vendor error, or `undefined`; it also
 *   gets what the runtime saw of the call ({@link ObservedCall})
 * @throws ConnectorError
 */
export async function callVendor<T>(
  state: VendorCallState,
  call: () => Promise<T>,
  mapError: (error: unknown, observed: ObservedCall) => ConnectorError | undefined,
): Promise<T> {
  state.policyError = undefined;
  const callsBefore = state.calls;
  try {
    return await call();
  } catch (thrown) {
    if (state.policyError) throw state.policyError;
    if (thrown instanceof ConnectorError) throw thrown;
    // The vendor's last answer in this call, for SDK errors that do not carry their status.
    const observed: ObservedCall =
      state.calls > callsBefore && state.upstreamStatus !== null
        ? {
            upstreamStatus: state.upstreamStatus,
            ...(state.lastAnswer?.call === state.calls ? { headers: state.lastAnswer.headers } : {}),
          }
        : {};
    const mapped = mapError(thrown, observed);
    if (mapped) {
      mapped.attempts = state.attempts;
      throw mapped;
    }
    throw toConnectorError(thrown);
  }
}
