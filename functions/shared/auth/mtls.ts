/**
 * The `mtls` auth scheme (docs/auth.md): the connector's connections present a client certificate.
 * Its requests go through an undici `Agent` of its own (`connect: { cert, key, ca, passphrase }`),
 * handed to `fetch` as the request's `dispatcher`; no other connector's connections see the
 * certificate. One Agent per version of the secret: when the secret changes (a rotation, read after
 * the cache expires or a 401), a new Agent is made and the old one closed once its requests end.
 */
import { createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { AuthConfig } from '../config.js';
import { secretField } from '../credentials/store.js';
import { configurationError } from '../errors.js';
import type {
  AuthDependencies,
  AuthorizableRequest,
  AuthorizeOptions,
  AuthScheme,
  FetchDispatcher,
} from './types.js';

type MtlsConfig = Extract<AuthConfig, { type: 'mtls' }>;

/** The TLS material of an `mtls` secret. */
interface ClientTls {
  cert: string;
  key: string;
  ca?: string;
  passphrase?: string;
}

/** An Agent as this scheme uses it. */
interface ClosableDispatcher {
  close(): Promise<void>;
}

/** Options of {@link MtlsScheme}. */
export interface MtlsOptions {
  /**
   * Makes the dispatcher of one secret version.
   * @default an undici `Agent` with `connect: tls`
   */
  createDispatcher?: (tls: ClientTls) => Promise<FetchDispatcher & ClosableDispatcher>;
}

async function undiciAgent(tls: ClientTls): Promise<FetchDispatcher & ClosableDispatcher> {
  // Loaded on first use: no other connector pays for undici at cold start.
  const { Agent, buildConnector } = await import('undici');
  const connect = buildConnector({ ...tls });
  return new Agent({
    connect: (options, callback) =>
      connect(options, (error, socket) => {
        if (socket) socket.prependListener('error', destroyOnTlsError);
        // biome-ignore lint/suspicious/noExplicitAny: undici's callback takes (null, socket) or (error, null)
        (callback as (...args: any[]) => void)(error, socket);
      }),
  }) as unknown as FetchDispatcher & ClosableDispatcher;
}

/**
 * A TLS error is fatal to its connection: the socket is destroyed at once, so that undici fails the
 * request with this error (say `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, the server refusing the
 * certificate), not with the "other side closed" of the end of stream that follows it (TLS 1.3
 * servers refuse a client certificate after the handshake).
 */
function destroyOnTlsError(this: { destroyed: boolean; destroy(): void }, error: { code?: unknown }): void {
  if (typeof error.code === 'string' && error.code.startsWith('ERR_SSL_') && !this.destroyed) this.destroy();
}

/** The `mtls` auth scheme. */
export class MtlsScheme implements AuthScheme {
  readonly #config: MtlsConfig;
  readonly #deps: AuthDependencies;
  readonly #createDispatcher: NonNullable<MtlsOptions['createDispatcher']>;
  #current: { fingerprint: string; dispatcher: Promise<FetchDispatcher & ClosableDispatcher> } | undefined;

  constructor(config: MtlsConfig, deps: AuthDependencies, options: MtlsOptions = {}) {
    this.#config = config;
    this.#deps = deps;
    this.#createDispatcher = options.createDispatcher ?? undiciAgent;
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
      this.#current = { fingerprint, dispatcher: this.#createDispatcher(tls) };
      // The old Agent's requests under way end first (`close` waits for them).
      previous?.dispatcher.then((old) => old.close()).catch(() => undefined);
    }
    request.dispatcher = await this.#current.dispatcher;
  }
}
