/** Lambda entry of `weather` connectors: the construct bundles this file for each of them. */
import { weatherConnector } from './connector.js';

export const handler = weatherConnector.lambdaHandler();
