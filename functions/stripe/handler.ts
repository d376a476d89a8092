/** Lambda entry of `stripe` connectors: reads its environment once, at cold start. */
import { stripeConnector } from './connector.js';

export const handler = stripeConnector.lambdaHandler();
