/**
 * The webhook route under `npm start` (docs/webhooks.md, "Local mode"): `POST /v1/webhooks/{connector}`
 * becomes the REST proxy event API Gateway would send, body as base64 so that its bytes are kept
 * exactly, answered by the same handler as in Lambda (`functions/webhooks/core.ts`); the
 * `Webhook Received` events it publishes are kept by a {@link LocalWebhookEvents}, which
 * `GET /v1/webhooks` lists.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  urlWithQuery,
  WEBHOOK_RESOURCE,
  type WebhookEvent,
  type WebhookEventPublisher,
  type WebhookReceivedDetail,
} from '../functions/webhooks/core.js';
import { connectorProxyEvent, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-events.js';

/** What a `POST /v1/webhooks/{connector}` request carries. */
export interface WebhookRequest {
  connector: string;
  /** Header pairs in the order received; a name may repeat. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Query pairs in the order received. */
  query?: ReadonlyArray<readonly [string, string]>;
  /** The body's bytes, exactly as received. */
  body: Uint8Array;
  /** @default a new UUID */
  requestId?: string;
  /** @default '127.0.0.1' */
  sourceIp?: string;
  /** @default 'local' */
  stage?: string;
  /** @default 'HTTP/1.1' */
  protocol?: string;
  /** The host the request was sent to (its `Host` header). @default '127.0.0.1' */
  domainName?: string;
}

/**
 * The REST API proxy event API Gateway sends for a webhook: the body base64-encoded
 * (`isBase64Encoded: true`, as API Gateway sends a body of a binary media type), so that a body that
 * is not UTF-8 reaches the verifier byte for byte.
 */
export function webhookProxyEvent(request: WebhookRequest): APIGatewayProxyEvent {
  const base = connectorProxyEvent({
    connector: request.connector,
    operation: 'webhook',
    body: null,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.query ? { query: request.query } : {}),
    ...(request.requestId ? { requestId: request.requestId } : {}),
    ...(request.sourceIp ? { sourceIp: request.sourceIp } : {}),
    ...(request.stage ? { stage: request.stage } : {}),
    ...(request.protocol ? { protocol: request.protocol } : {}),
  });
  const path = `/v1/webhooks/${encodeURIComponent(request.connector)}`;
  return {
    ...base,
    resource: WEBHOOK_RESOURCE,
    path,
    pathParameters: { connector: request.connector },
    body: request.body.length === 0 ? null : Buffer.from(request.body).toString('base64'),
    isBase64Encoded: request.body.length > 0,
    requestContext: {
      ...base.requestContext,
      path: `/${base.requestContext.stage}${path}`,
      resourcePath: WEBHOOK_RESOURCE,
      domainName: request.domainName ?? '127.0.0.1',
    },
  };
}

/**
 * The URL a vendor called the local gateway at, for a connector without `publicUrl`:
 * `http://{Host}/v1/webhooks/{connector}` and the query string (no stage: the local gateway has none).
 */
export function localRequestUrl(event: APIGatewayProxyEvent): string {
  return urlWithQuery(`http://${event.requestContext.domainName ?? '127.0.0.1'}${event.path}`, event);
}

/** A `Webhook Received` event as EventBridge would deliver it to a rule's target. */
export interface LocalWebhookEvent {
  version: '0';
  id: string;
  'detail-type': WebhookEvent['detailType'];
  source: WebhookEvent['source'];
  account: string;
  /** ISO 8601, whole seconds, as EventBridge writes it. */
  time: string;
  region: string;
  resources: string[];
  detail: WebhookReceivedDetail;
}

/** The most events a {@link LocalWebhookEvents} keeps by default. */
export const DEFAULT_WEBHOOK_EVENT_LIMIT = 10_000;

/**
 * The local bus's side of the webhook route: keeps the last `limit` `Webhook Received` events,
 * newest last, for `GET /v1/webhooks`. A test may subclass it to make `publish` fail, as a failing
 * `PutEvents` would.
 */
export class LocalWebhookEvents implements WebhookEventPublisher {
  readonly #limit: number;
  #events: LocalWebhookEvent[] = [];

  /** @param limit - the most events kept; the oldest go first. @default 10,000 */
  constructor(limit = DEFAULT_WEBHOOK_EVENT_LIMIT) {
    this.#limit = Math.max(1, limit);
  }

  /** @inheritdoc */
  async publish(event: WebhookEvent): Promise<void> {
    this.#events.push({
      version: '0',
      id: randomUUID(),
      'detail-type': event.detailType,
      source: event.source,
      account: LOCAL_ACCOUNT_ID,
      time: `${new Date().toISOString().slice(0, 19)}Z`,
      region: LOCAL_REGION,
      resources: [],
      // A copy: what the bus keeps must not change with the caller's objects.
      detail: structuredClone(event.detail),
    });
    if (this.#events.length > this.#limit) this.#events = this.#events.slice(-this.#limit);
  }

  /** The kept events, newest last; only those of `connector` when given. */
  list(filter: { connector?: string } = {}): LocalWebhookEvent[] {
    const { connector } = filter;
    return connector === undefined
      ? [...this.#events]
      : this.#events.filter((event) => event.detail.connector === connector);
  }
}
