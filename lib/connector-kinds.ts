/**
 * Where each connector kind's Lambda entry lives: the only thing `lib/` knows of `functions/`
 * besides the config schema and the names of the asynchronous contract (detail-type, environment
 * variables). The kinds themselves are registered in `functions/builtin-kinds.ts` (built-in) and
 * handed over by the user (`connectorKind`, their own); this module loads none of their code.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_KINDS, kindOf, registeredKinds } from '../functions/builtin-kinds.js';
import type { AnyConnectorConfig, BuiltinKindName } from '../functions/shared/config.js';
import type { ConnectorKind } from '../functions/shared/runtime/kind.js';

export type { ConnectorKind };
export { kindOf, registeredKinds };

/**
 * The package root: this repository (the directory holding `package-lock.json`), or `dist/` of the
 * installed package (`node_modules/connector-suite/dist`).
 */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Handler file of each built-in kind, relative to the project root (from the registry). */
export const HANDLER_ENTRIES: { readonly [K in BuiltinKindName]: string } = Object.fromEntries(
  Object.values(BUILTIN_KINDS).map((kind) => [kind.kind, path.relative(PROJECT_ROOT, kind.entry)]),
) as { readonly [K in BuiltinKindName]: string };

/**
 * The absolute handler path of a connector kind: its `entry`.
 * @param kind - the kind's {@link ConnectorKind} (built-in, from `registeredKinds`, or your own);
 *   a built-in kind's name is accepted too
 */
export function handlerEntry(kind: ConnectorKind | BuiltinKindName): string {
  return typeof kind === 'string' ? BUILTIN_KINDS[kind].entry : kind.entry;
}

/**
 * The absolute handler path of a connector entry's kind.
 * @param registry - the suite's kinds, from `registeredKinds(props.kinds)`
 * @throws ConfigValidationError naming the entry and the kinds known when its kind is not registered
 */
export function connectorEntry(
  registry: ReadonlyMap<string, ConnectorKind>,
  config: AnyConnectorConfig,
): string {
  return kindOf(registry, config).entry;
}
