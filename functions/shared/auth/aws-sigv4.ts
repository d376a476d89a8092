/**
 * The `awsSigV4` auth scheme (docs/auth.md): each request signed with AWS Signature Version 4 by the
 * official signer (`@smithy/signature-v4`), with the function's own credentials (the default
 * provider chain: the Lambda role's, or the environment and profile under `npm start`) or those of
 * a role it assumes (`roleArn`, through STS). Signed again on every attempt and redirect hop: the
 * signature holds the time. The signer and the credential providers are loaded on first use, so
 * that no other connector pays for them at cold start.
 */
import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { AuthConfig } from '../config.js';
import { ConnectorError, configurationError } from '../errors.js';
import { raceSignal } from '../http/deadline.js';
import type { Redactor } from '../redaction.js';
import type { AuthorizableRequest, AuthorizeOptions, AuthScheme } from './types.js';

type AwsSigV4Config = Extract<AuthConfig, { type: 'awsSigV4' }>;

/** Credentials are fetched again this long before they expire, in ms. */
export const CREDENTIALS_REFRESH_SKEW_MS = 5 * 60_000;
/** The session name of an assumed role when the config names none. */
export const DEFAULT_SESSION_NAME = 'connector-suite';

/** Headers a previous signature set: dropped before signing again (a redirect hop, a retry). */
const SIGNATURE_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

/** Options of {@link AwsSigV4Scheme}. */
export interface AwsSigV4Options {
  redactor: Redactor;
  /**
   * Where the credentials come from.
   * @default `fromTemporaryCredentials` for `roleArn`, else `fromNodeProviderChain`
   */
  credentials?: AwsCredentialIdentityProvider;
}

/** Whether an error of a credential provider says there is nothing to sign with (a setup problem). */
function isMissingCredentials(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'CredentialsProviderError' || name === 'ProviderError';
}

/** The `awsSigV4` auth scheme. */
export class AwsSigV4Scheme implements AuthScheme {
  readonly #config: AwsSigV4Config;
  readonly #redactor: Redactor;
  #provider: AwsCredentialIdentityProvider | undefined;
  #signerModule:
    | Promise<{ SignatureV4: typeof SignatureV4; Hash: typeof import('@smithy/hash-node').Hash }>
    | undefined;
  #credentials: AwsCredentialIdentity | undefined;
  #inFlight: Promise<AwsCredentialIdentity> | undefined;
  #signer: SignatureV4 | undefined;
  #signerCredentials: AwsCredentialIdentity | undefined;

  constructor(config: AwsSigV4Config, options: AwsSigV4Options) {
    this.#config = config;
    this.#redactor = options.redactor;
    this.#redactor.addSensitiveName('x-amz-security-token');
    this.#provider = options.credentials;
  }

  /**
   * @inheritdoc
   * @throws ConnectorError `CONFIGURATION_ERROR` when no credentials can be found or the role cannot
   *   be assumed (access denied); `DEPENDENCY_UNAVAILABLE` when STS or the credential source fails
   *   otherwise (throttling, network), or the attempt's budget runs out while fetching them
   */
  async authorize(request: AuthorizableRequest, options: AuthorizeOptions = {}): Promise<void> {
    const credentials = await raceSignal(
      this.#currentCredentials(options.forceRefresh === true),
      options.signal,
      () =>
        new ConnectorError(
          'DEPENDENCY_UNAVAILABLE',
          'The call ran out of time while fetching AWS credentials.',
          {
            retryAfterSeconds: 1,
          },
        ),
    );
    let signer = this.#signer;
    if (this.#signerCredentials !== credentials || !signer) {
      this.#signerModule ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]).then(
        ([signer, hash]) => ({ SignatureV4: signer.SignatureV4, Hash: hash.Hash }),
      );
      const { SignatureV4, Hash } = await this.#signerModule;
      signer = new SignatureV4({
        service: this.#config.service,
        region: this.#config.region,
        credentials,
        sha256: Hash.bind(null, 'sha256'),
        uriEscapePath: true,
        applyChecksum: true,
      });
      this.#signer = signer;
      this.#signerCredentials = credentials;
    }
    const { url, headers } = request;
    for (const name of SIGNATURE_HEADERS) headers.delete(name);
    const toSign: Record<string, string> = { host: url.host };
    for (const [name, value] of headers) toSign[name] = value;
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) {
      const current = query[key];
      query[key] =
        current === undefined ? value : Array.isArray(current) ? [...current, value] : [current, value];
    }
    const signed = await signer.sign({
      method: (request.method ?? 'GET').toUpperCase(),
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: toSign,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    for (const [name, value] of Object.entries(signed.headers)) {
      const lower = name.toLowerCase();
      if (lower !== 'host' && typeof value === 'string') headers.set(lower, value);
    }
  }

  /** The cached credentials, or new ones once they are about to expire (one fetch for concurrent calls). */
  async #currentCredentials(forceRefresh: boolean): Promise<AwsCredentialIdentity> {
    const cached = this.#credentials;
    const fresh =
      cached &&
      !forceRefresh &&
      (cached.expiration === undefined ||
        cached.expiration.getTime() - CREDENTIALS_REFRESH_SKEW_MS > Date.now());
    if (fresh) return cached;
    this.#inFlight ??= this.#fetchCredentials(forceRefresh).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetchCredentials(forceRefresh: boolean): Promise<AwsCredentialIdentity> {
    let credentials: AwsCredentialIdentity;
    try {
      this.#provider ??= await this.#defaultProvider();
      credentials = await this.#provider({ forceRefresh });
    } catch (error) {
      throw this.#credentialsError(error);
    }
    this.#redactor.addSecret(credentials.secretAccessKey);
    if (credentials.sessionToken) this.#redactor.addSecret(credentials.sessionToken);
    this.#credentials = credentials;
    return credentials;
  }

  /** `fromTemporaryCredentials` for `roleArn`, else the default chain (`@aws-sdk/*` is the Lambda runtime's, loaded now). */
  async #defaultProvider(): Promise<AwsCredentialIdentityProvider> {
    const { fromNodeProviderChain, fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
    const { roleArn, region, sessionName, externalId } = this.#config;
    if (!roleArn) return fromNodeProviderChain();
    return fromTemporaryCredentials({
      params: {
        RoleArn: roleArn,
        RoleSessionName: sessionName ?? DEFAULT_SESSION_NAME,
        ...(externalId ? { ExternalId: externalId } : {}),
      },
      clientConfig: { region },
    });
  }

  #credentialsError(error: unknown): ConnectorError {
    const { roleArn } = this.#config;
    const name = String((error as { name?: unknown })?.name ?? 'Error');
    if (isMissingCredentials(error) && !roleArn) {
      return configurationError(
        'No AWS credentials to sign with: the default provider chain found none (the function role, or AWS_ACCESS_KEY_ID and a profile under npm start).',
      );
    }
    if (
      roleArn &&
      (name === 'AccessDenied' || name === 'AccessDeniedException' || isMissingCredentials(error))
    ) {
      return configurationError(`Role ${roleArn} could not be assumed for signing (${name}).`);
    }
    return new ConnectorError(
      'DEPENDENCY_UNAVAILABLE',
      `AWS credentials for signing could not be fetched (${name}); retry later.`,
      { retryAfterSeconds: 1, cause: error },
    );
  }
}
