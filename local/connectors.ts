/**
 * The built-in connector kinds' definitions, loaded, by `kind` (tools and tests that iterate the
 * built-in kinds). Kinds are registered in `functions/builtin-kinds.ts`, not here; the gateway
 * looks them up there, with the user's own.
 */
import { BUILTIN_KINDS } from '../functions/builtin-kinds.js';
import type { BuiltinKindName, ConnectorConfig } from '../functions/shared/config.js';
import type { DefinedConnector } from '../functions/shared/runtime/index.js';

/** Each built-in kind's definition. */
export type BuiltinDefinitions = {
  readonly [K in BuiltinKindName]: DefinedConnector<Extract<ConnectorConfig, { kind: K }>>;
};

/** The built-in kinds' definitions, by `kind`, loaded from the registry when this module is imported. */
export const CONNECTOR_KINDS: BuiltinDefinitions = Object.fromEntries(
  await Promise.all(
    Object.values(BUILTIN_KINDS).map(async (kind) => [kind.kind, await kind.load()] as const),
  ),
) as unknown as BuiltinDefinitions;
