/**
 * What a connector is: a kind, the schema of its own settings (for a kind of your own), and
 * operations made of an input schema, an optional output schema and a `run` that calls the vendor
 * through the runtime's HTTP client.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';
import type { AnyConnectorConfig, ConnectorConfig, CustomConnectorConfig } from '../config.js';
import type { SecretValue } from '../credentials/store.js';
import type { ConnectorError } from '../errors.js';
import type { OutboundRequest, OutboundResponse } from '../http/client.js';
import type { ObservedCall } from './vendor-sdk.js';

/** A request as an operation sends it: the runtime adds the operation name and idempotency key. */
export type OperationRequest = Omit<OutboundRequest, 'operation' | 'idempotencyKey'>;

/** What an operation's `run` gets besides its input. */
export interface OperationContext<C extends AnyConnectorConfig = ConnectorConfig> {
  /** The connector's validated config (no secrets in it). */
  readonly config: C;
  /** The request id the caller sees. */
  readonly requestId: string;
  /** The caller's `Idempotency-Key`, if any. */
  readonly idempotencyKey: string | undefined;
  /**
   * Epoch ms by which the caller must have its answer (the Lambda's remaining time less
   * `deadlineMarginMs`); `send` and `fetch` end by it. An operation making several calls (the pages
   * of a list) checks it before starting another.
   */
  readonly deadlineAtMs: number;
  /** The connector's redacting logger. */
  readonly logger: Logger;
  /**
   * Sends a request to the vendor with every policy of the connector (auth, timeout, retries,
   * breaker, rate limit, cache, logs, traces, metrics).
   * @throws ConnectorError as {@link HttpClient.request}
   */
  send(request: OperationRequest): Promise<OutboundResponse>;
  /**
   * A WHATWG `fetch` for vendor SDKs: every request goes through the same policies as `send`, and
   * the vendor's final answer (after the retries the policies allow) is handed back to the SDK.
   */
  readonly fetch: typeof fetch;
  /**
   * Runs one vendor SDK call: a failure of the policies (timeout, breaker, rate limit, connection)
   * is rethrown as is; any other error goes through `mapError`, the vendor's error mapping.
   * @throws ConnectorError
   */
  callVendor<T>(
    call: () => Promise<T>,
    mapError: (error: unknown, observed: ObservedCall) => ConnectorError | undefined,
  ): Promise<T>;
  /**
   * The connector's secret (a vendor connector's `secret`); check its fields with `secretField`.
   * @throws ConnectorError `CONFIGURATION_ERROR` when it is missing or malformed
   */
  secret(options?: { forceRefresh?: boolean }): Promise<SecretValue>;
  /**
   * Registers a value derived from the secret (a Basic credential, a signed token) so that it is
   * redacted wherever it could appear, like the secret's own values.
   */
  registerSecret(value: string): void;
  /**
   * Runs `attempt` with credentials parsed from the connector's secret; after an
   * `AUTHENTICATION_ERROR` it reads the secret again and, if the credentials changed (a rotated
   * key), runs `attempt` once more. Wrap `callVendor` in it (`defineVendor` does).
   * @throws ConnectorError
   */
  withCredentials<S, T>(
    parse: (secret: SecretValue) => S,
    attempt: (credentials: S) => Promise<T>,
  ): Promise<T>;
}

/** One operation of a connector. */
export interface Operation<C extends AnyConnectorConfig = ConnectorConfig, I = unknown, O = unknown> {
  /**
   * One sentence for docs and tools.
   * @default none
   */
  readonly description?: string | undefined;
  /** Validates the caller's JSON body; failures answer `VALIDATION_ERROR` listing the fields. */
  readonly input: z.ZodType<I>;
  /** When set, the result must match it, or the call answers `RESPONSE_VALIDATION_ERROR`. */
  readonly output?: z.ZodType<O>;
  /** Does the work; throws `ConnectorError`s of the contract. */
  run(input: I, context: OperationContext<C>): Promise<O>;
}

/**
 * A connector kind: its name, the schema of its own settings, and how its operations are built from
 * one connector's config.
 */
export interface ConnectorDefinition<C extends AnyConnectorConfig = ConnectorConfig> {
  /** The `kind` of the config entries this connector serves. */
  readonly kind: C['kind'];
  /**
   * A kind of your own only: the zod schema of a connector entry's `settings` object (the kind's
   * own fields); the config is refused, naming the field, when they do not match it, and
   * `operations(config)` sees `config.settings` as it returns them (defaults applied). A built-in
   * kind has its own fields in the config schema instead.
   * @default none: an entry of the kind may not set `settings` (it is `{}`)
   */
  readonly settings?: z.ZodType<Record<string, unknown>> | undefined;
  /** The operations, by name (the `{operation}` of the route), built once per connector instance. */
  // biome-ignore lint/suspicious/noExplicitAny: operations differ in input and output types
  operations(config: C): Readonly<Record<string, Operation<C, any, any>>>;
}

/** Typed helper for one operation: infers input and output types from the schemas. */
export function defineOperation<C extends AnyConnectorConfig, I, O>(
  operation: Operation<C, I, O>,
): Operation<C, I, O> {
  return operation;
}

/**
 * The definition of a connector kind of your own: its name, the optional zod schema of its
 * `settings`, and its operations, which see `config.settings` typed by that schema.
 * @typeParam K - the kind's name
 * @typeParam S - the schema of its settings
 */
export interface CustomConnectorDefinition<K extends string, S extends z.ZodType<Record<string, unknown>>>
  extends ConnectorDefinition<CustomConnectorConfig<z.output<S>, K>> {
  readonly kind: K;
  readonly settings?: S | undefined;
}
