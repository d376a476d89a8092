/**
 * Lambda entry of the webhook route, `POST /v1/webhooks/{connector}` (docs/webhooks.md): reads its
 * environment once, at cold start, and verifies each delivery with `verifyWebhook` before putting a
 * `Webhook Received` event on the suite's bus.
 */
import { lambdaWebhookHandler } from './lambda.js';
import { verifyWebhook } from './verify.js';

/**
 * The webhook function's handler: API Gateway REST proxy events in, 200 (JSON, Slack's challenge or
 * Twilio's empty TwiML), 401 `WEBHOOK_SIGNATURE_INVALID`, 404 `NOT_FOUND` or 503
 * `DEPENDENCY_UNAVAILABLE` out. Configured by `WEBHOOK_ROUTES`, `WEBHOOK_SECRET_IDS`,
 * `IDEMPOTENCY_TABLE_NAME` and `EVENT_BUS_NAME`, set by the `ConnectorWebhooks` construct.
 */
export const handler = lambdaWebhookHandler(verifyWebhook);
