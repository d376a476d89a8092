/**
 * `connectorKind`: what the `ConnectorSuite` construct and the local gateway are handed for each
 * connector kind, built-in or your own: the kind's definition and the Lambda entry file that serves
 * it. The built-in kinds are registered in `functions/builtin-kinds.ts`.
 */
import path from 'node:path';
import type * as z from 'zod';
import {
  type AnyConnectorConfig,
  type ConfigKind,
  ConfigValidationError,
  KIND_NAME_PATTERN,
} from '../config.js';
import type { ConnectorDefinition } from './connector.js';
import type { ConnectorDependencies, ConnectorHandler } from './types.js';

/**
 * What the local gateway needs of a kind's definition: its operations and a handler built from
 * explicit dependencies. Every `defineConnector` result is one.
 */
export interface ServableConnector<C extends AnyConnectorConfig = AnyConnectorConfig>
  extends ConnectorDefinition<C> {
  /**
   * A handler built from explicit dependencies.
   * @throws ConnectorError `CONFIGURATION_ERROR` when `deps.config` is of another kind
   */
  createHandler(deps: ConnectorDependencies<AnyConnectorConfig>): ConnectorHandler;
}

/**
 * A connector kind, ready to register: its name and settings schema (what the config schema needs,
 * see `KindsConfigSchemaOptions.kinds`), the Lambda entry file the construct bundles for its
 * connectors, and its definition, which the local gateway serves.
 * @typeParam C - the config of the kind's entries
 */
export interface ConnectorKind<C extends AnyConnectorConfig = AnyConnectorConfig> extends ConfigKind {
  /** The `kind` its connector entries name. */
  readonly kind: C['kind'];
  /** The zod schema of an entry's `settings` (a kind of your own only). */
  readonly settings?: z.ZodType<Record<string, unknown>> | undefined;
  /**
   * The absolute path of the kind's Lambda entry file: a module whose `handler` export is
   * `connector.lambdaHandler()`. The construct bundles it with esbuild for each connector of the kind.
   */
  readonly entry: string;
  /**
   * The kind's definition. Built-in kinds import theirs (and their vendor SDK) on first call only,
   * so that a CDK app that merely names them does not load them.
   */
  load(): Promise<ServableConnector<C>>;
}

/** What {@link connectorKind} takes. */
export interface ConnectorKindProps<C extends AnyConnectorConfig> {
  /** The kind's definition, from `defineConnector`. */
  readonly connector: ServableConnector<C>;
  /**
   * The absolute path of the Lambda entry file that exports `handler = connector.lambdaHandler()`,
   * e.g. `fileURLToPath(new URL('./handler.ts', import.meta.url))`.
   */
  readonly entry: string;
}

/**
 * Registers a connector kind of your own: hand the result to the construct (`kinds: [...]`) and to
 * the local gateway (`startLocalGateway({ suite, kinds: [...] })`).
 *
 * @example
 * export const weatherKind = connectorKind({
 *   connector: weatherConnector,
 *   entry: fileURLToPath(new URL('./handler.ts', import.meta.url)),
 * });
 * @throws ConfigValidationError when the kind's name does not match `KIND_NAME_PATTERN` or `entry`
 *   is not an absolute path
 */
export function connectorKind<C extends AnyConnectorConfig>(props: ConnectorKindProps<C>): ConnectorKind<C> {
  const { connector, entry } = props;
  const issues: string[] = [];
  if (typeof connector?.kind !== 'string' || !KIND_NAME_PATTERN.test(connector.kind)) {
    issues.push('connector.kind: must start with a lowercase letter and use only a-z, 0-9 and -, at most 40');
  }
  if (typeof entry !== 'string' || !path.isAbsolute(entry)) {
    issues.push('entry: must be the absolute path of the Lambda entry file (use fileURLToPath)');
  }
  if (issues.length > 0) {
    throw new ConfigValidationError(`connectorKind(${String(connector?.kind)})`, issues);
  }
  return {
    kind: connector.kind,
    ...(connector.settings ? { settings: connector.settings } : {}),
    entry,
    load: async () => connector,
  };
}
