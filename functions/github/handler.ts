/** Lambda entry of `github` connectors: reads its environment once, at cold start. */
import { githubConnector } from './connector.js';

export const handler = githubConnector.lambdaHandler();
