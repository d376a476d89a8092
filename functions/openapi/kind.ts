/**
 * The `openapi` connector kind as the registry loads it (functions/builtin-kinds.ts): its
 * validators compiled with Ajv when the connector is created, for `npm start`, tests and the
 * `handler.ts` entry. A deployed connector uses the entry generated at synth time instead
 * (functions/openapi/lambda-entry.ts), whose validators are precompiled.
 */
import { compileOperation } from './compile.js';
import { defineOpenApiConnector } from './connector.js';
import { validatorsOf } from './validators.js';

/** The `openapi` connector kind, validators compiled at load. */
export const openapiConnector = defineOpenApiConnector((_id, operation, description) =>
  validatorsOf(operation, compileOperation(operation, description.dialect)),
);
