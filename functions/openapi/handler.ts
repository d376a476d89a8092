/** Lambda entry of `openapi` connectors: reads its environment once, at cold start. */
import { openapiConnector } from './connector.js';

export const handler = openapiConnector.lambdaHandler();
