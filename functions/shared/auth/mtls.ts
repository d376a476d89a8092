/**
 * The `mtls` auth scheme (docs/auth.md): the connector's connections present a client certificate.
 * Its requests go through a `node:https` Agent of its own (`cert`, `key`, `ca`, `passphrase`, with
 * keep-alive), handed to the HTTP client as the request's `fetch` (see `https-fetch.ts`); no other
 * connector's connections see the certificate. One Agent per version of the secret: when the
 * secret changes (a rotation, read after the cache expires or a 401), a new Agent is made and the
 * old one closed once its requests end.
 */
import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { AuthConfig } from '../config.js';
import { secretField } from '../credentials/store.js';
import { configurationError } from '../errors.js';
import { type AgentFetch, agentFetch } from './https-fetch.js';
import type { AuthDependencies, AuthorizableRequest, AuthorizeOptions, AuthScheme } from './types.js';

type MtlsConfig = Extract<AuthConfig, { type: 'mtls' }>;

/** The TLS material of an `mtls` secret, as `node:https` takes it. */
interface ClientTls {
  cert: string;
  key: string;
  ca?: string;
  passphrase?: string;
}

/** Options of {@link MtlsScheme}. */
export interface MtlsOptions {
  /**
   * Makes the Agent of one secret version.
   * @default `new Agent({ keepAlive: true, ...tls })` of `node:https`
   */
  createAgent?: (options: AgentOptions) => Agent;
}

/** The `mtls` auth scheme. */
export class MtlsScheme implements AuthScheme {
  readonly #config: MtlsConfig;
  readonly #deps: AuthDependencies;
  readonly #createAgent: NonNullable<MtlsOptions['createAgent']>;
  #current: { fingerprint: string; connections: AgentFetch } | undefined;

  constructor(config: MtlsConfig, deps: AuthDependencies, options: MtlsOptions = {}) {
    this.#config = config;
    this.#deps = deps;
    this.#createAgent = options.createAgent ?? ((agentOptions) => new Agent(agentOptions));
  }

  /**
   * @inheritdoc
   * @throws ConnectorError `CONFIGURATION_ERROR` when the secret lacks `certificate` or `privateKey`,
   *   or they (with `caBundle` and `passphrase`) do not load: not PEM, a key that does not match the
   *   certificate, a wrong passphrase
   */
  async authorize(request: AuthorizableRequest, options: AuthorizeOptions = {}): Promise<void> {
    const name = this.#config.secret;
    const secret = await this.#deps.credentials.getSecret(name, {
      forceRefresh: options.forceRefresh ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const tls: ClientTls = {
      cert: secretField(secret, name, 'certificate'),
      key: secretField(secret, name, 'privateKey'),
    };
    if (secret.caBundle) tls.ca = secret.caBundle;
    if (secret.passphrase) tls.passphrase = secret.passphrase;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([tls.cert, tls.key, tls.ca, tls.passphrase]))
      .digest('base64url');
    if (this.#current?.fingerprint !== fingerprint) {
      try {
        // Loads the material as the TLS socket will: a bad PEM or a mismatched key fails here, typed.
        createSecureContext(tls);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw configurationError(
          `Secret '${name}': the client certificate, private key${tls.ca ? ', CA bundle' : ''} or passphrase could not be loaded (${typeof code === 'string' ? code : 'invalid PEM'}).`,
        );
      }
      const previous = this.#current;
      this.#current = {
        fingerprint,
        connections: agentFetch(this.#createAgent({ keepAlive: true, ...tls })),
      };
      // The old Agent's requests under way end first.
      previous?.connections.retire();
    }
    request.fetch = this.#current.connections.fetch;
  }
}
