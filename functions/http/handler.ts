/** Lambda entry of `http` connectors: reads its environment once, at cold start. */
import { httpConnector } from './connector.js';

export const handler = httpConnector.lambdaHandler();
