/**
 * The environment a deployed connector reads, once, at cold start. Set by the CDK stack.
 */
import {
  type AnyConnectorConfig,
  type ConfigKind,
  ConfigValidationError,
  parseConnectorConfig,
  secretNameOf,
} from '../config.js';
import { configurationError } from '../errors.js';
import { ASYNC_ENV } from './async-contract.js';

/** The environment variables of a deployed connector. */
export const ENV = {
  /** The connector's config entry as JSON (no secrets in it). */
  connectorConfig: 'CONNECTOR_CONFIG',
  /** The DynamoDB idempotency table. */
  idempotencyTable: 'IDEMPOTENCY_TABLE_NAME',
  /** The Secrets Manager id (ARN) of the connector's secret (`auth.secret`, or a vendor's `secret`). */
  secretId: 'CONNECTOR_SECRET_ID',
  /** Seconds a secret is served from memory. */
  secretMaxAgeSeconds: 'SECRET_MAX_AGE_SECONDS',
  /** The connector's SQS inbox (the asynchronous path). */
  inboxQueueUrl: ASYNC_ENV.inboxQueueUrl,
  /** The connector's dead-letter queue. */
  deadLetterQueueUrl: ASYNC_ENV.deadLetterQueueUrl,
  /** The bus result events go to; unset when they are off. */
  eventBusName: ASYNC_ENV.eventBusName,
} as const;

/** What {@link readConnectorEnvironment} returns. */
export interface ConnectorEnvironment {
  config: AnyConnectorConfig;
  idempotencyTableName: string;
  /** Secret ids by `auth.secret` name. */
  secretIds: Record<string, string>;
  secretMaxAgeSeconds: number;
  /** The queues, when the function serves the asynchronous path. */
  queues?: { inbox: string; deadLetter: string };
  /** The bus result events go to. */
  eventBusName?: string;
}

/** Options of {@link readConnectorEnvironment}. */
export interface ReadConnectorEnvironmentOptions {
  /** The function's own kind when it is not built-in (its settings schema). @default none */
  kinds?: readonly ConfigKind[];
  /**
   * Completes `CONNECTOR_CONFIG` once parsed as JSON, before it is validated: an `openapi`
   * connector's generated entry puts back the trimmed description its bundle carries
   * (functions/openapi/precompiled.ts). May throw a `CONFIGURATION_ERROR`.
   * @default the config as it is
   */
  completeConfig?: (config: unknown) => unknown;
}

/**
 * Reads and validates the connector's environment.
 * @param env - @default process.env
 * @param options - see {@link ReadConnectorEnvironmentOptions}
 * @throws ConnectorError `CONFIGURATION_ERROR` naming the variable that is missing or malformed
 */
export function readConnectorEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConnectorEnvironmentOptions = {},
): ConnectorEnvironment {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw configurationError(`Environment variable ${name} is not set.`);
    return value;
  };
  let config: AnyConnectorConfig;
  try {
    const parsed: unknown = JSON.parse(required(ENV.connectorConfig));
    config = parseConnectorConfig(options.completeConfig?.(parsed) ?? parsed, ENV.connectorConfig, {
      kinds: options.kinds ?? [],
    });
  } catch (error) {
    if (error instanceof ConfigValidationError) throw configurationError(error.message);
    if (error instanceof SyntaxError) throw configurationError(`${ENV.connectorConfig} is not valid JSON.`);
    throw error;
  }
  const secretIds: Record<string, string> = {};
  const secretName = secretNameOf(config);
  if (secretName !== undefined) secretIds[secretName] = env[ENV.secretId] || secretName;
  const maxAge = Number(env[ENV.secretMaxAgeSeconds] ?? 300);
  if (!Number.isFinite(maxAge) || maxAge < 0) {
    throw configurationError(`${ENV.secretMaxAgeSeconds} must be a number of seconds.`);
  }
  const inbox = env[ENV.inboxQueueUrl];
  const deadLetter = env[ENV.deadLetterQueueUrl];
  if (Boolean(inbox) !== Boolean(deadLetter)) {
    throw configurationError(`${ENV.inboxQueueUrl} and ${ENV.deadLetterQueueUrl} must be set together.`);
  }
  const eventBusName = env[ENV.eventBusName];
  return {
    config,
    ...(inbox && deadLetter ? { queues: { inbox, deadLetter } } : {}),
    ...(eventBusName ? { eventBusName } : {}),
    idempotencyTableName: required(ENV.idempotencyTable),
    secretIds,
    secretMaxAgeSeconds: maxAge,
  };
}
