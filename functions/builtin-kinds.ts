/**
 * The connector kind registry: the single place a built-in kind is registered (its name, its Lambda
 * entry and its definition), and where the kinds of a user's own are added to them. The config
 * schema (`functions/shared/config.ts`), the construct (`lib/connector-kinds.ts`) and the local
 * gateway (`local/gateway.ts`) all look kinds up here.
 *
 * Importing this module loads no connector: each built-in definition (and its vendor SDK) is
 * imported on the first `load()`, so a CDK app pays nothing for the kinds it only bundles.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AnyConnectorConfig,
  type BuiltinKindName,
  ConfigValidationError,
  type ConnectorConfig,
  isBuiltinKind,
} from './shared/config.js';
import type { ConnectorKind } from './shared/runtime/kind.js';

/** The extension of this project's modules as they run: `.ts` from source, `.js` once compiled. */
const MODULE_EXTENSION = path.extname(fileURLToPath(import.meta.url));

/** The absolute path of a built-in kind's Lambda entry, `functions/<kind>/handler.ts`. */
function builtinEntry(kind: BuiltinKindName): string {
  return fileURLToPath(new URL(`./${kind}/handler${MODULE_EXTENSION}`, import.meta.url));
}

/** A built-in kind's config entry. */
type BuiltinConfig<K extends BuiltinKindName> = Extract<ConnectorConfig, { kind: K }>;

/**
 * The built-in connector kinds, by name: `http`, the four vendors and `openapi`. Adding a built-in kind means
 * adding it to the config schema (its entry's fields) and here; the compiler asks for both.
 */
export const BUILTIN_KINDS: { readonly [K in BuiltinKindName]: ConnectorKind<BuiltinConfig<K>> } = {
  http: {
    kind: 'http',
    entry: builtinEntry('http'),
    load: async () => (await import('./http/connector.js')).httpConnector,
  },
  stripe: {
    kind: 'stripe',
    entry: builtinEntry('stripe'),
    load: async () => (await import('./stripe/connector.js')).stripeConnector,
  },
  slack: {
    kind: 'slack',
    entry: builtinEntry('slack'),
    load: async () => (await import('./slack/connector.js')).slackConnector,
  },
  github: {
    kind: 'github',
    entry: builtinEntry('github'),
    load: async () => (await import('./github/connector.js')).githubConnector,
  },
  twilio: {
    kind: 'twilio',
    entry: builtinEntry('twilio'),
    load: async () => (await import('./twilio/connector.js')).twilioConnector,
  },
  openapi: {
    kind: 'openapi',
    entry: builtinEntry('openapi'),
    load: async () => (await import('./openapi/kind.js')).openapiConnector,
  },
};

/**
 * The kinds a suite may use, by name: the built-in kinds and `kinds`, the user's own.
 * @param kinds - the user's own kinds (from `connectorKind`); a built-in kind listed here is ignored
 * @throws ConfigValidationError when a kind of `kinds` takes a built-in kind's name, or two
 *   different kinds share a name
 */
export function registeredKinds(kinds: readonly ConnectorKind[] = []): ReadonlyMap<string, ConnectorKind> {
  const registry = new Map<string, ConnectorKind>(
    Object.values(BUILTIN_KINDS).map((kind) => [kind.kind, kind]),
  );
  const issues: string[] = [];
  kinds.forEach((kind, i) => {
    const known = registry.get(kind.kind);
    if (known === undefined) {
      registry.set(kind.kind, kind);
    } else if (known !== kind) {
      issues.push(
        isBuiltinKind(kind.kind)
          ? `kinds[${i}].kind: '${kind.kind}' is a built-in kind; give your kind another name`
          : `kinds[${i}].kind: two different kinds are registered as '${kind.kind}'`,
      );
    }
  });
  if (issues.length > 0) throw new ConfigValidationError('the registered connector kinds', issues);
  return registry;
}

/**
 * The registered kind of a connector entry.
 * @param registry - from {@link registeredKinds}
 * @throws ConfigValidationError naming the entry and the kinds known when its kind is not registered
 */
export function kindOf(
  registry: ReadonlyMap<string, ConnectorKind>,
  config: AnyConnectorConfig,
): ConnectorKind {
  const kind = registry.get(config.kind);
  if (kind === undefined) {
    throw new ConfigValidationError(`connector '${config.name}'`, [
      `kind: '${config.kind}' is not a registered connector kind; the kinds known are ${[...registry.keys()].join(', ')}`,
    ]);
  }
  return kind;
}
