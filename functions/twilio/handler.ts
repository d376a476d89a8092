/** Lambda entry of `twilio` connectors: reads its environment once, at cold start. */
import { twilioConnector } from './connector.js';

export const handler = twilioConnector.lambdaHandler();
