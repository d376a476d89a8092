/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4): a token cached until shortly before it
 * expires, one token request shared by concurrent calls, and a forced refresh after a 401 (a token
 * obtained by a forced refresh less than `FORCED_REFRESH_REUSE_MS` ago answers further ones, so a
 * burst of 401s makes one token request).
 */
import * as z from 'zod';
import type { AuthConfig } from '../config.js';
import { FORCED_REFRESH_REUSE_MS, secretField } from '../credentials/store.js';
import { ConnectorError } from '../errors.js';
import { callerRetryAfterSeconds, parseRetryAfterMs } from '../http/retry.js';
import { bodyExcerpt, type Redactor } from '../redaction.js';
import {
  type AuthDependencies,
  type AuthorizableRequest,
  type AuthorizeOptions,
  type AuthScheme,
  basicCredential,
} from './types.js';

type OAuth2Config = Extract<AuthConfig, { type: 'oauth2ClientCredentials' }>;

/** Seconds before `expires_in` runs out at which a token is refreshed (or half its life if shorter). */
export const TOKEN_REFRESH_SKEW_SECONDS = 60;
/** Lifetime assumed when the token response has no `expires_in` (RFC 6749 §5.1 makes it optional). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be Bearer'),
  expires_in: z.coerce.number().positive().optional(),
});

interface CachedToken {
  accessToken: string;
  refreshAtMs: number;
  /** When a forced refresh obtained it (epoch ms). */
  forcedAtMs?: number;
}

/** The `oauth2ClientCredentials` auth scheme. */
export class OAuth2ClientCredentials implements AuthScheme {
  readonly #config: OAuth2Config;
  readonly #deps: AuthDependencies & { redactor: Redactor };
  #token: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  #inFlightForced = false;

  constructor(config: OAuth2Config, deps: AuthDependencies & { redactor: Redactor }) {
    this.#config = config;
    this.#deps = deps;
    for (const name of ['access_token', 'refresh_token', 'client_secret', 'id_token'])
      deps.redactor.addSensitiveName(name);
  }

  /** @inheritdoc */
  async authorize(request: AuthorizableRequest, options: AuthorizeOptions = {}): Promise<void> {
    const token = await this.#currentToken(options);
    request.headers.set('authorization', `Bearer ${token.accessToken}`);
  }

  async #currentToken(options: AuthorizeOptions): Promise<CachedToken> {
    if (options.forceRefresh) {
      const forcedAtMs = this.#token?.forcedAtMs;
      if (this.#token && forcedAtMs !== undefined && Date.now() - forcedAtMs < FORCED_REFRESH_REUSE_MS) {
        return this.#token;
      }
      this.#token = undefined;
      // A request already under way may have used the stale secret: let it end, then start a forced
      // one (re-reading the secret), unless a forced one is itself under way, which is joined.
      if (this.#inFlight && !this.#inFlightForced) await this.#inFlight.catch(() => undefined);
    }
    if (this.#token && Date.now() < this.#token.refreshAtMs && !options.forceRefresh) return this.#token;
    if (!this.#inFlight) {
      const forced = options.forceRefresh === true;
      this.#inFlightForced = forced;
      const request = this.#requestToken(options);
      this.#inFlight = (forced ? request.then((t) => ({ ...t, forcedAtMs: Date.now() })) : request).finally(
        () => {
          this.#inFlight = undefined;
          this.#inFlightForced = false;
        },
      );
    }
    this.#token = await this.#inFlight;
    return this.#token;
  }

  async #requestToken(options: AuthorizeOptions): Promise<CachedToken> {
    const { secret: secretName, tokenUrl, scope, clientAuthentication } = this.#config;
    const secret = await this.#deps.credentials.getSecret(secretName, {
      forceRefresh: options.forceRefresh ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const clientId = secretField(secret, secretName, 'clientId');
    const clientSecret = secretField(secret, secretName, 'clientSecret');
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });
    if (clientAuthentication === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
      const credential = basicCredential(encodeURIComponent(clientId), encodeURIComponent(clientSecret));
      this.#deps.redactor.addSecret(credential);
      headers.set('authorization', `Basic ${credential}`);
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    const signals = [AbortSignal.timeout(this.#deps.tokenTimeoutMs ?? 5_000)];
    if (options.signal) signals.push(options.signal);
    const doFetch = this.#deps.fetch ?? globalThis.fetch;
    let response: Response;
    let text: string;
    try {
      response = await doFetch(tokenUrl, {
        method: 'POST',
        headers,
        body: form,
        signal: AbortSignal.any(signals),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new ConnectorError('API_TIMEOUT', 'The OAuth2 token request timed out.', { cause: error });
      }
      throw new ConnectorError('UPSTREAM_ERROR', 'The OAuth2 token request failed to connect.', {
        cause: error,
      });
    }
    if (!response.ok) throw this.#tokenError(response.status, text, response.headers.get('retry-after'));
    let parsed: z.infer<typeof tokenResponse>;
    try {
      parsed = tokenResponse.parse(JSON.parse(text));
    } catch {
      throw new ConnectorError(
        'UPSTREAM_ERROR',
        'The OAuth2 token endpoint answered without a usable bearer token.',
        {
          upstreamStatus: response.status,
        },
      );
    }
    this.#deps.redactor.addSecret(parsed.access_token);
    const lifetimeSeconds = parsed.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
    const skewSeconds = Math.min(TOKEN_REFRESH_SKEW_SECONDS, lifetimeSeconds / 2);
    return {
      accessToken: parsed.access_token,
      refreshAtMs: Date.now() + (lifetimeSeconds - skewSeconds) * 1000,
    };
  }

  #tokenError(status: number, text: string, retryAfter: string | null): ConnectorError {
    // RFC 6749 §5.2: {"error": "invalid_client" | "invalid_grant" | ...}
    let oauthError: string | undefined;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') oauthError = body.error;
    } catch {
      oauthError = undefined;
    }
    const details = { tokenEndpointError: oauthError ?? bodyExcerpt(text, this.#deps.redactor, 200) };
    if (status === 400 || status === 401 || status === 403) {
      return new ConnectorError(
        'AUTHENTICATION_ERROR',
        'The OAuth2 token endpoint rejected the client credentials.',
        {
          upstreamStatus: status,
          details,
        },
      );
    }
    if (status === 429) {
      const waitMs = parseRetryAfterMs(retryAfter);
      return new ConnectorError('RATE_LIMIT_EXCEEDED', 'The OAuth2 token endpoint is rate limiting.', {
        upstreamStatus: status,
        retryAfterSeconds: callerRetryAfterSeconds(waitMs ?? 0, 1),
      });
    }
    return new ConnectorError('UPSTREAM_ERROR', `The OAuth2 token endpoint answered ${status}.`, {
      upstreamStatus: status,
      details,
    });
  }
}
