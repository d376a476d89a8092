/**
 * Auth schemes: how a connector proves who it is to the vendor. Each reads its secret from the
 * {@link CredentialStore} on every request (the store caches), registers the header or query
 * parameter it uses and any value it derives with the redactor, and re-reads the secret when
 * asked to (`forceRefresh`, after an upstream 401).
 */
import type { AuthConfig } from '../config.js';
import { secretField } from '../credentials/store.js';
import { redactor } from '../redaction.js';
import { OAuth2ClientCredentials } from './oauth2.js';
import { type AuthDependencies, type AuthScheme, basicCredential } from './types.js';

export * from './types.js';

/**
 * The auth scheme of a connector's `auth` config (DESIGN §6).
 * `apiKey` reads secret field `apiKey`; `bearer` `token`; `basic` `username` and `password`;
 * `oauth2ClientCredentials` `clientId` and `clientSecret`.
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
          });
          const apiKey = secretField(secret, auth.secret, 'apiKey');
          if (auth.in === 'header') request.headers.set(auth.name, apiKey);
          else request.url.searchParams.set(auth.name, apiKey);
        },
      };
    case 'bearer':
      return {
        async authorize(request, options = {}) {
          const secret = await deps.credentials.getSecret(auth.secret, {
            forceRefresh: options.forceRefresh ?? false,
          });
          request.headers.set('authorization', `Bearer ${secretField(secret, auth.secret, 'token')}`);
        },
      };
    case 'basic':
      return {
        async authorize(request, options = {}) {
          const secret = await deps.credentials.getSecret(auth.secret, {
            forceRefresh: options.forceRefresh ?? false,
          });
          const credential = basicCredential(
            secretField(secret, auth.secret, 'username'),
            secretField(secret, auth.secret, 'password'),
          );
          target.addSecret(credential);
          request.headers.set('authorization', `Basic ${credential}`);
        },
      };
    case 'oauth2ClientCredentials':
      return new OAuth2ClientCredentials(auth, { ...deps, redactor: target });
  }
}
