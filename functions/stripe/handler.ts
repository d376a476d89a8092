/** Lambda entry of `stripe` connectors: reads its environment once, at cold start. */
import { stripeConnector } from './connector.js';

/**
 * The Lambda handler of a `stripe` connector: API Gateway requests, SQS batches and EventBridge
 * request events, configured by `CONNECTOR_CONFIG` with the Stripe secret `{"apiKey"}` from Secrets
 * Manager. See docs/connectors/stripe.md.
 */
export const handler = stripeConnector.lambdaHandler();
