/** The auth scheme contract, shared by every scheme. */
import type { CredentialStore } from '../credentials/store.js';
import type { Redactor } from '../redaction.js';

/** The parts of an outbound request an auth scheme may read and change. */
export interface AuthorizableRequest {
  headers: Headers;
  url: URL;
  /** The method about to be sent (upper case); `hmac` and `awsSigV4` sign it. @default 'GET' */
  method?: string;
  /** The body about to be sent (sent as UTF-8), `undefined` for none; `hmac` and `awsSigV4` sign it. */
  body?: string | undefined;
  /**
   * Set by a scheme that needs its own connections (`mtls`: a `fetch` over a `node:https` Agent
   * holding the client certificate): the client sends this request with it instead of its own
   * `fetch`. Left unset by every other scheme.
   */
  fetch?: typeof fetch;
}

/** Options of {@link AuthScheme.authorize}. */
export interface AuthorizeOptions {
  /** Re-read the secret and drop cached tokens first (after an upstream 401). */
  forceRefresh?: boolean;
  /**
   * Aborts when the attempt's budget (its timeout or the call's deadline) runs out: a scheme passes
   * it to its token request and to `CredentialStore.getSecret`. The client also stops waiting for
   * `authorize` then, whether or not the scheme honours it.
   */
  signal?: AbortSignal;
}

/** Adds credentials to an outbound request. */
export interface AuthScheme {
  /**
   * @throws ConnectorError `CONFIGURATION_ERROR` for a missing or malformed secret;
   *   `AUTHENTICATION_ERROR`, `UPSTREAM_ERROR` or `API_TIMEOUT` when a token request fails
   */
  authorize(request: AuthorizableRequest, options?: AuthorizeOptions): Promise<void>;
}

/** Dependencies of {@link createAuthScheme}. */
export interface AuthDependencies {
  credentials: CredentialStore;
  /** @default the process-wide redactor */
  redactor?: Redactor;
  /** Used for OAuth2 token requests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Timeout of one token request, in ms. @default 5000 */
  tokenTimeoutMs?: number;
}

/** The base64 `user:password` credential of HTTP Basic auth (RFC 7617). */
export function basicCredential(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
