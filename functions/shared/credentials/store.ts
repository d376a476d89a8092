/**
 * The credential store interface: where a connector's secrets come from. Two implementations:
 * {@link SecretsManagerCredentialStore} in AWS and {@link LocalFileCredentialStore} under `npm start`.
 */
import { ConnectorError, configurationError } from '../errors.js';
import { raceSignal } from '../http/deadline.js';
import type { Redactor } from '../redaction.js';

/** A secret's value: a flat JSON object of strings, e.g. `{"token": "..."}`. */
export type SecretValue = Readonly<Record<string, string>>;

/** Options of {@link CredentialStore.getSecret}. */
export interface GetSecretOptions {
  /**
   * Skip the cache and read the secret again (after an upstream 401, to pick up a rotation).
   * Concurrent forced reads of one secret share one read (see {@link SingleFlightRefresh}).
   */
  forceRefresh?: boolean;
  /**
   * Stops waiting for the read when it aborts (the call's deadline): the store then throws
   * `API_TIMEOUT`. A read shared with other callers runs on for them.
   */
  signal?: AbortSignal;
}

/** Where secrets come from. Every value handed out is registered with the redactor. */
export interface CredentialStore {
  /**
   * The secret's value.
   * @param name - the `auth.secret` of the connector's config
   * @throws ConnectorError `CONFIGURATION_ERROR` when the secret is missing, empty or not a JSON
   *   object; the message names the secret and where it was looked for, never its value;
   *   `DEPENDENCY_UNAVAILABLE` (retryable) when the store itself fails (throttling, 5xx, timeout,
   *   network); `API_TIMEOUT` when `signal` aborts first
   */
  getSecret(name: string, options?: GetSecretOptions): Promise<SecretValue>;
}

/**
 * Checks that a parsed secret is a flat object of strings and registers its values for redaction.
 * @param where - where it was read, for the error message
 * @throws ConnectorError `CONFIGURATION_ERROR`
 */
export function acceptSecret(name: string, where: string, value: unknown, target: Redactor): SecretValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configurationError(`Secret '${name}' in ${where} is not a JSON object of strings.`);
  }
  const entries = Object.entries(value);
  target.addSecretValues(value as Record<string, unknown>);
  const badField = entries.find(([, field]) => typeof field !== 'string');
  if (badField) {
    throw configurationError(`Secret '${name}' in ${where}: field '${badField[0]}' is not a string.`);
  }
  return value as SecretValue;
}

/**
 * A string field of a secret.
 * @throws ConnectorError `CONFIGURATION_ERROR` naming the secret and the missing field
 */
export function secretField(secret: SecretValue, secretName: string, field: string): string {
  const value = secret[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw configurationError(`Secret '${secretName}' has no non-empty string field '${field}'.`);
  }
  return value;
}

/** How long a completed forced read of a secret answers further forced reads of it, in ms. */
export const FORCED_REFRESH_REUSE_MS = 1_000;

/**
 * Single-flight forced reads, per secret name: a forced read joins one already under way, or reuses
 * one completed less than {@link FORCED_REFRESH_REUSE_MS} ago, so twenty concurrent 401s (which all
 * ask for a fresh secret) make one read of the store, not twenty (issue 8, defect 16). A failed read
 * is not reused.
 */
export class SingleFlightRefresh<V> {
  readonly #inFlight = new Map<string, Promise<V>>();
  readonly #recent = new Map<string, { value: V; atMs: number }>();

  /** The read of `name` under way, if any (a plain read may join it rather than start another). */
  inFlight(name: string): Promise<V> | undefined {
    return this.#inFlight.get(name);
  }

  /** The value of a forced read of `name`: shared, recent, or `read()` started now. */
  run(name: string, read: () => Promise<V>): Promise<V> {
    const recent = this.#recent.get(name);
    if (recent && Date.now() - recent.atMs < FORCED_REFRESH_REUSE_MS) return Promise.resolve(recent.value);
    const running = this.#inFlight.get(name);
    if (running) return running;
    const started = read().then(
      (value) => {
        this.#inFlight.delete(name);
        this.#recent.set(name, { value, atMs: Date.now() });
        return value;
      },
      (error: unknown) => {
        this.#inFlight.delete(name);
        throw error;
      },
    );
    this.#inFlight.set(name, started);
    return started;
  }
}

/**
 * `read`, unless `signal` aborts first: then `DEPENDENCY_UNAVAILABLE` (the call's deadline ran out
 * while the secret store was still answering: the store's fault, not the vendor's, and retryable;
 * the read itself runs on, and a later call may use it).
 */
export function untilAborted<T>(
  read: Promise<T>,
  signal: AbortSignal | undefined,
  secretName: string,
): Promise<T> {
  return raceSignal(
    read,
    signal,
    () =>
      new ConnectorError(
        'DEPENDENCY_UNAVAILABLE',
        `The call ran out of time while reading secret '${secretName}'; retry later.`,
        { retryAfterSeconds: 1 },
      ),
  );
}
