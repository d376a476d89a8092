/** Lambda entry of `slack` connectors: reads its environment once, at cold start. */
import { slackConnector } from './connector.js';

export const handler = slackConnector.lambdaHandler();
