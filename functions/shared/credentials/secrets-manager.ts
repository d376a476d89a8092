/**
 * Credentials from AWS Secrets Manager, through Powertools Parameters (cached for `maxAgeSeconds`).
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ConnectorError, configurationError, dependencyUnavailable } from '../errors.js';
import { type Redactor, redactor } from '../redaction.js';
import {
  acceptSecret,
  type CredentialStore,
  type GetSecretOptions,
  type SecretValue,
  SingleFlightRefresh,
  untilAborted,
} from './store.js';

/** Options of {@link SecretsManagerCredentialStore}. */
export interface SecretsManagerCredentialStoreOptions {
  /**
   * The Secrets Manager client; inject one with SDK retries and timeouts set as you need them
   * (`lambdaHandler()` bounds them with `AWS_CLIENT_TIMEOUTS.secretsManager` of `runtime/aws-clients.ts`).
   */
  client: SecretsManagerClient;
  /**
   * Secret ids (ARN or name) by the `auth.secret` name of the config; a name not listed is used
   * as the secret id itself.
   * @default {}
   */
  secretIds?: Readonly<Record<string, string>>;
  /** How long a value is served from memory before it is read again, in seconds. @default 300 */
  maxAgeSeconds?: number;
  /** @default the process-wide redactor */
  redactor?: Redactor;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);
/** Requests that no retry can mend: the secret is marked deleted, or the id is malformed. */
const INVALID = new Set(['InvalidRequestException', 'InvalidParameterException', 'ValidationException']);
const NOT_ALLOWED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'DecryptionFailure',
  'KMSAccessDeniedException',
]);

/**
 * {@link CredentialStore} over AWS Secrets Manager. Secrets are JSON objects; the value is cached
 * for `maxAgeSeconds` (every miss is a billed `GetSecretValue`), and read again when
 * `forceRefresh` is set, so a rotated secret is picked up after an upstream 401; concurrent forced
 * reads of one secret share one `GetSecretValue`. A failure of Secrets Manager itself (throttling,
 * 5xx, timeout, network) is the retryable `DEPENDENCY_UNAVAILABLE`.
 */
export class SecretsManagerCredentialStore implements CredentialStore {
  readonly #provider: SecretsProvider;
  readonly #secretIds: Readonly<Record<string, string>>;
  readonly #maxAgeSeconds: number;
  readonly #redactor: Redactor;
  readonly #forcedReads = new SingleFlightRefresh<SecretValue>();

  constructor(options: SecretsManagerCredentialStoreOptions) {
    this.#provider = new SecretsProvider({ awsSdkV3Client: options.client });
    this.#secretIds = options.secretIds ?? {};
    this.#maxAgeSeconds = options.maxAgeSeconds ?? 300;
    this.#redactor = options.redactor ?? redactor;
  }

  /** @inheritdoc */
  getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    const read = options.forceRefresh
      ? this.#forcedReads.run(name, () => this.#read(name, true))
      : (this.#forcedReads.inFlight(name) ?? this.#read(name, false));
    return untilAborted(read, options.signal, name);
  }

  async #read(name: string, forceFetch: boolean): Promise<SecretValue> {
    const secretId = this.#secretIds[name] ?? name;
    const where = `AWS Secrets Manager (secret id ${secretId})`;
    let raw: string | Uint8Array | undefined;
    try {
      raw = await this.#provider.get(secretId, { maxAge: this.#maxAgeSeconds, forceFetch });
    } catch (error) {
      throw describeFailure(name, where, error);
    }
    if (raw === undefined || raw === '') {
      throw configurationError(
        `Secret '${name}' in ${where} has no value yet; put one with 'aws secretsmanager put-secret-value'.`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    } catch {
      // JSON.parse's message quotes the input: never pass it on.
      throw configurationError(`Secret '${name}' in ${where} is not valid JSON.`);
    }
    return acceptSecret(name, where, parsed, this.#redactor);
  }
}

function describeFailure(name: string, where: string, error: unknown): ConnectorError {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const errorName = (cause as { name?: string }).name ?? 'Error';
  if (NOT_FOUND.has(errorName)) {
    return configurationError(
      `Secret '${name}' was not found, or has no value yet, in ${where}; create it or put a value with 'aws secretsmanager put-secret-value'.`,
    );
  }
  if (NOT_ALLOWED.has(errorName)) {
    return configurationError(`The connector may not read secret '${name}' in ${where} (${errorName}).`);
  }
  if (INVALID.has(errorName)) {
    return configurationError(`Secret '${name}' cannot be read from ${where} (${errorName}).`);
  }
  // Throttling, a 5xx, a timeout, a network failure: the suite's own dependency, retryable.
  return dependencyUnavailable('Secrets Manager', errorName);
}
