/** Lambda entry of `github` connectors: reads its environment once, at cold start. */
import { githubConnector } from './connector.js';

/** The deployed handler of a `github` connector (see `githubConnector.lambdaHandler`). */
export const handler = githubConnector.lambdaHandler();
