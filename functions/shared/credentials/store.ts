/**
 * The credential store interface: where a connector's secrets come from. Two implementations:
 * {@link SecretsManagerCredentialStore} in AWS and {@link LocalFileCredentialStore} under `npm start`.
 */
import { configurationError } from '../errors.js';
import type { Redactor } from '../redaction.js';

/** A secret's value: a flat JSON object of strings, e.g. `{"token": "..."}`. */
export type SecretValue = Readonly<Record<string, string>>;

/** Options of {@link CredentialStore.getSecret}. */
export interface GetSecretOptions {
  /** Skip the cache and read the secret again (after an upstream 401, to pick up a rotation). */
  forceRefresh?: boolean;
}

/** Where secrets come from. Every value handed out is registered with the redactor. */
export interface CredentialStore {
  /**
   * The secret's value.
   * @param name - the `auth.secret` of the connector's config
   * @throws ConnectorError `CONFIGURATION_ERROR` when the secret is missing, empty or not a JSON
   *   object; the message names the secret and where it was looked for, never its value
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
