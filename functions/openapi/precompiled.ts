/**
 * The Lambda side of an `openapi` connector deployed by the `Connector` construct: its generated
 * entry (functions/openapi/lambda-entry.ts) hands over the trimmed description and the validators
 * compiled at synth time, so a cold start reads no description file and compiles no schema, and the
 * bundle holds no Ajv compiler (docs/connectors/openapi.md, "Cost").
 *
 * `CONNECTOR_CONFIG` carries the entry with `spec` set to `bundled:<digest>`; the description of
 * that digest is put back here before the config is validated.
 */
import { configurationError } from '../shared/errors.js';
import { defineOpenApiConnector } from './connector.js';
import type { OpenApiDescription } from './types.js';
import { type CompiledOperation, validatorsOf } from './validators.js';

/** What `spec` says in `CONNECTOR_CONFIG` when the description rides in the bundle. */
export const BUNDLED_SPEC_PREFIX = 'bundled:';

/** What a generated entry carries. */
export interface PrecompiledOpenApi {
  /** The digest of the description and the allowed operations, as `spec` names it (`bundled:<digest>`). */
  readonly digest: string;
  /** The trimmed description of the allowed operations. */
  readonly description: OpenApiDescription;
  /** The standalone validators of each allowed operation, by `operationId`. */
  readonly validators: Readonly<Record<string, CompiledOperation>>;
}

/**
 * `config` with `spec: "bundled:<digest>"` replaced by the bundled description.
 * @throws ConnectorError `CONFIGURATION_ERROR` when `spec` names another digest (a configuration and
 *   a bundle that were not deployed together)
 */
export function withBundledDescription(config: unknown, bundle: PrecompiledOpenApi): unknown {
  if (typeof config !== 'object' || config === null) return config;
  const spec = (config as { spec?: unknown }).spec;
  if (typeof spec !== 'string' || !spec.startsWith(BUNDLED_SPEC_PREFIX)) return config;
  if (spec !== `${BUNDLED_SPEC_PREFIX}${bundle.digest}`) {
    throw configurationError(
      `CONNECTOR_CONFIG names the description '${spec}', but this function's bundle carries '${BUNDLED_SPEC_PREFIX}${bundle.digest}': deploy the function and its configuration together (cdk deploy).`,
    );
  }
  return { ...config, spec: bundle.description };
}

/**
 * The handler of a generated `openapi` entry.
 * @param bundle - what the entry carries
 */
export function precompiledOpenApiHandler(bundle: PrecompiledOpenApi) {
  const connector = defineOpenApiConnector((operationId, operation) => {
    const compiled = bundle.validators[operationId];
    if (compiled === undefined) {
      throw configurationError(`Operation '${operationId}' has no precompiled validators in this bundle.`);
    }
    return validatorsOf(operation, compiled);
  });
  return connector.lambdaHandler({ completeConfig: (config) => withBundledDescription(config, bundle) });
}
