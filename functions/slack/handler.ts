/** Lambda entry of `slack` connectors: reads its environment once, at cold start. */
import { slackConnector } from './connector.js';

/**
 * The deployed handler of a `slack` connector: API Gateway requests to
 * `POST /v1/connectors/{name}/{postMessage|updateMessage}`, SQS batches and request events of the
 * asynchronous path. Its secret comes from Secrets Manager (`{"token": "xoxb-..."}`).
 */
export const handler = slackConnector.lambdaHandler();
