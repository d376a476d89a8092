/**
 * The vendor shape of the connector kit (issue 10): what a connector built on a vendor's official SDK
 * declares once (the shape of its secret, how its SDK client is built on the policy `fetch`, and how
 * the SDK's errors map to the suite's codes), and what the runtime then does for every call:
 *
 * - reads the connector's secret and checks it against the declared schema (a mismatch is
 *   `CONFIGURATION_ERROR` naming the secret and the field, never a value);
 * - builds the SDK client once per connector and per secret value, and reuses it across calls;
 * - runs the call with the policies' failures rethrown as they are and the SDK's errors mapped
 *   (`callVendor` of vendor-sdk.ts);
 * - after the vendor rejects the credentials (`AUTHENTICATION_ERROR`), reads the secret once more,
 *   skipping the cache, and retries the call once with a new client if the secret changed (a
 *   rotation), as `withRotatingCredentials` of vendor-sdk.ts does;
 * - redacts the secret's values (the credential store registers them) and whatever the client
 *   derives from them and hands to `registerSecret`.
 *
 * @example
 * const stripe = defineVendor({
 *   name: 'Stripe',
 *   secret: z.object({ apiKey: z.string().min(1) }),
 *   client: ({ apiKey }, { fetch }) => new Stripe(apiKey, { httpClient: Stripe.createFetchHttpClient(fetch), maxNetworkRetries: 0 }),
 *   mapError: mapStripeError,
 * });
 * // in an operation's run:
 * run: (input, context) => stripe.call(context, (client) => client.customers.create(input)),
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type * as z from 'zod';
import { type ConnectorConfig, secretNameOf } from '../config.js';
import type { SecretValue } from '../credentials/store.js';
import { ConnectorError, configurationError } from '../errors.js';
import type { OperationContext } from './connector.js';
import type { ObservedCall } from './vendor-sdk.js';

export type { ObservedCall };

/** The logging an SDK client may do: the connector's redacting logger, for the call in progress. */
export type VendorLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * What {@link VendorDefinition.client} is given to build an SDK client. The client is cached and
 * shared by the calls of one connector, so `fetch`, `logger` and `registerSecret` are not bound to
 * the call that built it: each acts for the `vendor.call` in progress, wherever the SDK uses it.
 */
export interface VendorClientTools<C extends ConnectorConfig = ConnectorConfig> {
  /** The connector's validated config (`baseUrl`, `functionTimeoutSeconds`, ...; no secret in it). */
  readonly config: C;
  /**
   * The policy `fetch` ({@link OperationContext.fetch}) of the call in progress: every request goes
   * through the connector's timeout, deadline, retries, breaker, rate limit, logs, traces and
   * metrics, and the vendor's final answer comes back to the SDK. Give it to the SDK as its fetch.
   * It rejects with `INTERNAL_ERROR` when used outside `vendor.call` (an SDK request made after the
   * call returned).
   */
  readonly fetch: typeof fetch;
  /** The connector's redacting logger, of the call in progress. Keep the SDK's own logging quiet. */
  readonly logger: VendorLogger;
  /**
   * Registers a value derived from the secret (a Basic credential, a signed token) with the
   * redactor, so that no log line, trace, error body or result can show it.
   */
  registerSecret(value: string): void;
}

/**
 * A vendor, declared once: its secret's shape, its SDK client and its error mapping.
 *
 * @typeParam C - the config of the connectors that use it
 * @typeParam S - the checked secret (the output of `secret`)
 * @typeParam Client - the SDK client
 */
export interface VendorDefinition<C extends ConnectorConfig, S, Client> {
  /** The vendor's name, for messages, e.g. `Stripe`. */
  readonly name: string;
  /**
   * The schema of the connector's secret, a flat JSON object of strings in Secrets Manager (or
   * `local/secrets.json`), e.g. `z.object({ apiKey: z.string().min(1) })`. Use `z.object` (extra
   * fields are ignored, so a secret may carry more than this vendor reads) and give each check a
   * message that reads after the field's name, such as `must be a Slack token (visible ASCII, no
   * whitespace)`. Its output is what `client` gets and, as JSON, what tells one secret version from
   * another: keep it plain data.
   */
  readonly secret: z.ZodType<S>;
  /**
   * Builds the SDK client for one connector and one secret value. Switch the SDK's own retries off
   * (the policies retry), point it at `config.baseUrl`, and give it `tools.fetch`. It is called
   * again only when the secret changes (a rotation) or for another connector.
   * @throws ConnectorError `CONFIGURATION_ERROR` for a config the SDK cannot use (nothing is cached)
   */
  client(secret: S, tools: VendorClientTools<C>): Client;
  /**
   * Maps what the SDK threw to the suite's {@link ConnectorError} (docs/design.md §3), or `undefined` when
   * it is not the vendor's error (the runtime then answers `INTERNAL_ERROR`). Not called for the
   * policies' own failures (timeout, breaker, rate limit, connection), which are rethrown as they are.
   * @param observed - what the runtime saw of the vendor's last answer in the call (its status and
   *   headers), for SDK errors that do not keep them
   */
  mapError(error: unknown, observed: ObservedCall): ConnectorError | undefined;
}

/** A vendor, ready for operations to call. */
export interface Vendor<C extends ConnectorConfig, S, Client> {
  /** The vendor's name. */
  readonly name: string;
  /**
   * Runs one SDK call for an operation: reads and checks the connector's secret, takes the cached
   * client for it (or builds one), runs `run` with the policies' failures rethrown and the SDK's
   * errors mapped, and after an `AUTHENTICATION_ERROR` retries once if the secret was rotated.
   *
   * @param context - the operation's context (the second argument of `run`)
   * @param run - the SDK call; it gets the client and the context (e.g. for its `idempotencyKey`)
   * @throws ConnectorError `CONFIGURATION_ERROR` when the secret is missing or does not match the
   *   schema; the codes of `mapError`; the policies' `API_TIMEOUT`, `CIRCUIT_BREAKER_OPEN`,
   *   `RATE_LIMIT_EXCEEDED`, `UPSTREAM_ERROR`; `INTERNAL_ERROR` for an error nobody maps
   */
  call<T>(
    context: OperationContext<C>,
    run: (client: Client, context: OperationContext<C>) => Promise<T>,
  ): Promise<T>;
  /**
   * Checks a secret against the schema.
   * @param secretName - the connector's `secret`, for the message
   * @throws ConnectorError `CONFIGURATION_ERROR` naming the secret and each bad field, never a value
   */
  parseSecret(secret: SecretValue, secretName: string): S;
}

/** SDK clients kept per connector: the newest secret versions' clients, oldest first. */
const MAX_CLIENTS_PER_CONNECTOR = 2;

/** The operation context of the `vendor.call` in progress, for the tools of shared clients. */
const activeCall = new AsyncLocalStorage<OperationContext>();

function currentCall(): OperationContext {
  const context = activeCall.getStore();
  if (!context) {
    throw new ConnectorError('INTERNAL_ERROR', 'A vendor SDK client was used outside vendor.call().');
  }
  return context;
}

/**
 * The tools of a client built during `builtIn`'s call: each acts for the call in progress. Outside
 * any call (an SDK timer firing late), logging and `registerSecret` go to the connector of the call
 * that built the client, and `fetch` rejects.
 */
function sharedTools<C extends ConnectorConfig>(
  config: C,
  builtIn: OperationContext<C>,
): VendorClientTools<C> {
  const logger = (): VendorLogger => activeCall.getStore()?.logger ?? builtIn.logger;
  return {
    config,
    fetch: async (input, init) => currentCall().fetch(input, init),
    logger: {
      debug: (input, ...extra) => logger().debug(input, ...extra),
      info: (input, ...extra) => logger().info(input, ...extra),
      warn: (input, ...extra) => logger().warn(input, ...extra),
      error: (input, ...extra) => logger().error(input, ...extra),
    },
    registerSecret: (value) => (activeCall.getStore() ?? builtIn).registerSecret(value),
  };
}

/** ` must be ...` reads after a field's name; zod's own messages (`Invalid input: ...`) do not. */
function fieldMessage(message: string): string {
  const text = message.replace(/\.+$/, '');
  return /^[a-z]/.test(text) ? text : `is invalid (${text})`;
}

/**
 * Defines a vendor: its secret's shape, its SDK client and its error mapping, once, for all the
 * operations of its connector kind. See docs/adding-a-connector.md.
 */
export function defineVendor<C extends ConnectorConfig, S, Client>(
  definition: VendorDefinition<C, S, Client>,
): Vendor<C, S, Client> {
  /** Per connector (its config object, the same for every call of one handler), per secret version. */
  const clients = new WeakMap<C, Map<string, Client>>();

  const parseSecret = (secret: SecretValue, secretName: string): S => {
    const checked = definition.secret.safeParse(secret);
    if (checked.success) return checked.data;
    // Only field names and the schema's messages: zod's issues carry no input values unless asked.
    const problems = checked.error.issues.map((issue) => {
      const field = issue.path[0];
      if (field === undefined) return issue.message.replace(/\.+$/, '');
      const value = secret[String(field)];
      return typeof value !== 'string' || value.length === 0
        ? `no non-empty string field '${String(field)}'`
        : `field '${String(field)}' ${fieldMessage(issue.message)}`;
    });
    const unique = [...new Set(problems)];
    const only = unique.length === 1 ? unique[0] : undefined;
    // One missing field reads as the credential store's own message (`secretField`).
    throw configurationError(
      only?.startsWith('no ')
        ? `Secret '${secretName}' has ${only}.`
        : `Secret '${secretName}': ${unique.join('; ')}.`,
    );
  };

  const clientFor = (context: OperationContext<C>, secret: S): Client => {
    const { config } = context;
    let perSecret = clients.get(config);
    if (!perSecret) {
      perSecret = new Map();
      clients.set(config, perSecret);
    }
    // A digest, so that superseded secret values are not kept as keys.
    const version = createHash('sha256')
      .update(JSON.stringify(secret) ?? '')
      .digest('base64url');
    const cached = perSecret.get(version);
    if (cached !== undefined) return cached;
    const client = definition.client(secret, sharedTools(config, context));
    if (perSecret.size >= MAX_CLIENTS_PER_CONNECTOR) {
      const oldest = perSecret.keys().next().value;
      if (oldest !== undefined) perSecret.delete(oldest);
    }
    perSecret.set(version, client);
    return client;
  };

  return {
    name: definition.name,
    parseSecret,
    call(context, run) {
      const secretName = secretNameOf(context.config) ?? context.config.name;
      return activeCall.run(context as OperationContext, () =>
        context.withCredentials(
          (secret) => parseSecret(secret, secretName),
          (secret) => {
            const client = clientFor(context, secret);
            return context.callVendor(
              () => run(client, context),
              (error, observed) => definition.mapError(error, observed),
            );
          },
        ),
      );
    },
  };
}
