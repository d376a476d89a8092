/**
 * Auth schemes: how a connector proves who it is to the vendor. Each reads its secret from the
 * {@link CredentialStore} on every request (the store caches), registers the header or query
 * parameter it uses, the secret it sends and any value it derives with the redactor (never an
 * identifier such as a user name: see `isSecretField`), and re-reads the secret when asked to
 * (`forceRefresh`, after an upstream 401).
 */
import type { AuthConfig } from '../config.js';
import { secretField } from '../credentials/store.js';
import { redactor } from '../redaction.js';
import { AwsSigV4Scheme } from './aws-sigv4.js';
import { HmacScheme } from './hmac.js';
import { MtlsScheme } from './mtls.js';
import { OAuth2ClientCredentials } from './oauth2.js';
import { type AuthDependencies, type AuthScheme, basicCredential } from './types.js';

export * from './types.js';

/**
 * The name a server may read a query parameter key as: percent-decoded (when it can be), without a
 * `[...]` suffix (PHP, Rails and `qs` read `api_key[]` as `api_key`), without control characters or
 * surrounding spaces, with `.` and inner spaces as `_` (PHP's rule) and in lower case
 * (case-insensitive frameworks).
 */
function normalizedQueryKey(key: string): string {
  let decoded = key;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    // Not valid percent-encoding: compare the key as given.
  }
  const printable = [...decoded.replace(/\[.*$/s, '')].filter((c) => c >= ' ' && c !== '\x7f').join('');
  return printable.trim().replace(/[. ]/g, '_').toLowerCase();
}

/**
 * Whether a query parameter `key` could be read by the server as the parameter `name`, and so
 * shadow (or be shadowed by) the credential the `apiKey` scheme sends there: compared
 * case-insensitively, trimmed, without a `[]` or `[...]` suffix, percent-decoded, with `.` and a
 * space read as `_` (`API_KEY`, `api_key[]`, `api_key%20`, `api%5Fkey`, `api.key` and `api key` all
 * shadow `api_key`).
 */
export function queryParameterShadows(key: string, name: string): boolean {
  return normalizedQueryKey(key) === normalizedQueryKey(name);
}

/**
 * The auth scheme of a connector's `auth` config (docs/design.md §6).
 * `apiKey` reads secret field `apiKey`; `bearer` `token`; `basic` `username` and `password`;
 * `oauth2ClientCredentials` `clientId` and `clientSecret`; `hmac` `signingSecret` (and `keyId`);
 * `mtls` `certificate`, `privateKey` (and `caBundle`, `passphrase`); `awsSigV4` reads no secret
 * (AWS credentials). See docs/auth.md.
 * @throws ConnectorError `CONFIGURATION_ERROR` for an `hmac` template the config schema refuses
 */
export function createAuthScheme(auth: AuthConfig, deps: AuthDependencies): AuthScheme {
  const target = deps.redactor ?? redactor;
  switch (auth.type) {
    case 'none':
      return { authorize: async () => {} };
    case 'apiKey':
      target.addSensitiveName(auth.name);
      return {
        async authorize(request, options = {}) {
          const secret = await deps.credentials.getSecret(auth.secret, {
            forceRefresh: options.forceRefresh ?? false,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          const apiKey = secretField(secret, auth.secret, 'apiKey');
          target.addSecret(apiKey);
          if (auth.in === 'header') {
            request.headers.set(auth.name, apiKey);
            return;
          }
          // Drop every parameter a server could read as ours (`API_KEY`, `api_key[]`) before
          // setting it, so that none shadows the credential, whatever the request already holds.
          const params = request.url.searchParams;
          for (const key of new Set(params.keys())) {
            if (queryParameterShadows(key, auth.name)) params.delete(key);
          }
          params.set(auth.name, apiKey);
        },
      };
    case 'bearer':
      return {
        async authorize(request, options = {}) {
          const secret = await deps.credentials.getSecret(auth.secret, {
            forceRefresh: options.forceRefresh ?? false,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          const token = secretField(secret, auth.secret, 'token');
          target.addSecret(token);
          request.headers.set('authorization', `Bearer ${token}`);
        },
      };
    case 'basic':
      return {
        async authorize(request, options = {}) {
          const secret = await deps.credentials.getSecret(auth.secret, {
            forceRefresh: options.forceRefresh ?? false,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          const password = secretField(secret, auth.secret, 'password');
          const credential = basicCredential(secretField(secret, auth.secret, 'username'), password);
          // The password and the base64 `user:password` are secrets; the user name is not.
          target.addSecret(password);
          target.addSecret(credential);
          request.headers.set('authorization', `Basic ${credential}`);
        },
      };
    case 'oauth2ClientCredentials':
      return new OAuth2ClientCredentials(auth, { ...deps, redactor: target });
    case 'hmac':
      return new HmacScheme(auth, { ...deps, redactor: target });
    case 'awsSigV4':
      return new AwsSigV4Scheme(auth, { redactor: target });
    case 'mtls':
      return new MtlsScheme(auth, deps);
  }
}
