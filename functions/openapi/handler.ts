/**
 * A Lambda entry of `openapi` connectors that compiles their validators at cold start, from the
 * trimmed description in `CONNECTOR_CONFIG`. The `Connector` construct does not use it: it bundles
 * an entry generated at synth time with the validators precompiled (functions/openapi/lambda-entry.ts).
 */
import { openapiConnector } from './kind.js';

export const handler = openapiConnector.lambdaHandler();
