/**
 * The names of the webhook route that the stack, the function and the local gateway share: the
 * event it publishes, its route and its environment. Constants and types only, no I/O, so that
 * `lib/` can read them without loading the runtime.
 */
import type { WebhookSettings } from '../shared/config.js';

/** `detail-type` of the event a verified delivery becomes. */
export const WEBHOOK_RECEIVED = 'Webhook Received';
/** `source` of `Webhook Received` events (result events are `connector-suite`). */
export const WEBHOOK_EVENT_SOURCE = 'connector-suite.webhooks';
/** The API Gateway resource of the route. */
export const WEBHOOK_RESOURCE = '/v1/webhooks/{connector}';

/** The Powertools service name of the webhook function: the `service` dimension of its metrics. */
export const WEBHOOK_SERVICE_NAME = 'connector-suite-webhooks';

/** The metric names of the webhook route (namespace from `POWERTOOLS_METRICS_NAMESPACE`). */
export const WEBHOOK_METRIC = {
  /** Deliveries verified and published, with dimension `connector`. */
  accepted: 'WebhooksAccepted',
  /** Deliveries refused, with dimensions `connector` and `reason` (a `WebhookRefusal`, or `unknown-connector`). */
  refused: 'WebhooksRefused',
  /** Verified deliveries already published (the vendor's retries), with dimension `connector`. */
  duplicates: 'WebhookDuplicates',
} as const;

/** The environment variables of the webhook function, set by the `ConnectorWebhooks` construct. */
export const WEBHOOK_ENV = {
  /** The routes as JSON: `[{connector, webhook: {scheme, secret, toleranceSeconds, dedupeWindowSeconds, publicUrl?}}]`. */
  routes: 'WEBHOOK_ROUTES',
  /** Secret ids (ARNs, or names of secrets imported by name) by the `webhook.secret` name, as JSON. */
  secretIds: 'WEBHOOK_SECRET_IDS',
  /** The DynamoDB idempotency table. */
  idempotencyTable: 'IDEMPOTENCY_TABLE_NAME',
  /** The bus `Webhook Received` events go to. */
  eventBusName: 'EVENT_BUS_NAME',
  /** Seconds a signing secret is served from memory. @default 300 */
  secretMaxAgeSeconds: 'SECRET_MAX_AGE_SECONDS',
} as const;

/** One connector's webhook route. */
export interface WebhookRoute {
  /** The connector's name: the `{connector}` of the route. */
  connector: string;
  /** Its `webhook` setting, scheme included (`webhookOf` of the config). */
  webhook: WebhookSettings;
}
