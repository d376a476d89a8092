/**
 * The inbound webhook route, `POST /v1/webhooks/{connector}` (docs/webhooks.md), shared by the
 * Lambda function and the local gateway. One delivery goes through these steps, in the style of
 * Powertools' `IdempotencyHandler`:
 *
 * 1. **route**: the `{connector}` must name a connector with a `webhook` setting (`NOT_FOUND`);
 * 2. **read** the delivery: the body's exact bytes (`isBase64Encoded` honoured), the headers in
 *    lower case, and the URL the vendor called;
 * 3. **verify** it with the connector's signing secrets (the current one, and the previous one
 *    during a rotation), read through the credential store; a signature that matches no secret
 *    re-reads the secret once, in case it was rotated since it was cached, then answers 401
 *    `WEBHOOK_SIGNATURE_INVALID`;
 * 4. **answer a challenge** (Slack's URL verification) without publishing anything;
 * 5. **deduplicate and publish**: under a Powertools idempotency record keyed by
 *    (connector, eventId), one `Webhook Received` event goes on the suite's bus. A replay of a
 *    published delivery answers 200 and publishes nothing; a failed publish or a failed store is
 *    `DEPENDENCY_UNAVAILABLE` (503) with the record released, so that the vendor's own retry
 *    delivers it later: no event lost, none published twice.
 * 6. **acknowledge**: 200 JSON, or the empty TwiML document Twilio expects.
 *
 * Every delivery is counted (`WebhooksAccepted`, `WebhooksRefused` by `reason`,
 * `WebhookDuplicates`) and logged once, without its secret, signature or payload.
 */
import {
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { CredentialStore } from '../shared/credentials/store.js';
import { secretField } from '../shared/credentials/store.js';
import { ConnectorError, dependencyUnavailable, toConnectorError } from '../shared/errors.js';
import {
  countDependencyFailure,
  countWithDimensions,
  createPowertools,
  METRIC,
  MetricUnit,
  type Powertools,
} from '../shared/powertools.js';
import { redactor as processRedactor, type Redactor } from '../shared/redaction.js';
import { beforeTheCall } from '../shared/runtime/idempotency.js';
import type { IdempotencyStore } from '../shared/runtime/types.js';
import {
  WEBHOOK_EVENT_SOURCE,
  WEBHOOK_METRIC,
  WEBHOOK_RECEIVED,
  WEBHOOK_RESOURCE,
  WEBHOOK_SERVICE_NAME,
  type WebhookRoute,
} from './contract.js';
import type {
  VerifiedWebhook,
  WebhookDelivery,
  WebhookRefusal,
  WebhookScheme,
  WebhookVerifyOptions,
} from './types.js';

export {
  WEBHOOK_EVENT_SOURCE,
  WEBHOOK_METRIC,
  WEBHOOK_RECEIVED,
  WEBHOOK_RESOURCE,
  WEBHOOK_SERVICE_NAME,
  type WebhookRoute,
};

/** The answer Twilio expects to a webhook that asks for nothing: an empty TwiML document. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
/**
 * Largest serialized payload a `Webhook Received` event carries, in bytes; a larger one is left out
 * (`payloadTruncated: true`), so that the event stays inside EventBridge's 256 KB per entry.
 */
export const MAX_WEBHOOK_PAYLOAD_BYTES = 200 * 1024;
/** How often a refused delivery may force a re-read of one connector's signing secret, in ms. */
export const SECRET_REREAD_INTERVAL_MS = 60_000;

/** The `detail` of a `Webhook Received` event. */
export interface WebhookReceivedDetail {
  /** The connector whose route received it. */
  connector: string;
  /** The scheme it was verified with: the vendor (`stripe`, …) or `standardWebhooks`. */
  vendor: WebhookScheme;
  /** The vendor's event type (see {@link VerifiedWebhook.eventType}). */
  eventType: string;
  /** The vendor's id of the delivery, the deduplication key. */
  eventId: string;
  /** The parsed payload, unless {@link WebhookReceivedDetail.payloadTruncated}. */
  payload?: unknown;
  /** The payload was larger than {@link MAX_WEBHOOK_PAYLOAD_BYTES} serialized and is left out. */
  payloadTruncated?: true;
  /** When the route received it, ISO 8601 with milliseconds. */
  receivedAt: string;
}

/** One `Webhook Received` event to put on the bus. */
export interface WebhookEvent {
  detailType: typeof WEBHOOK_RECEIVED;
  source: typeof WEBHOOK_EVENT_SOURCE;
  detail: WebhookReceivedDetail;
}

/** Where `Webhook Received` events go: the suite's EventBridge bus, or the local gateway's list. */
export interface WebhookEventPublisher {
  /**
   * Puts the event on the bus.
   * @throws anything on failure (a failed entry included); the route answers `DEPENDENCY_UNAVAILABLE`
   */
  publish(event: WebhookEvent): Promise<void>;
}

/** The verifier of `verify.ts`: `verifyWebhook(scheme, delivery, options)`. */
export type VerifyWebhook = (
  scheme: WebhookScheme,
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
) => Promise<VerifiedWebhook>;

/** What {@link createWebhookHandler} is built from. */
export interface WebhookDependencies {
  /** The connectors with a webhook route. */
  routes: readonly WebhookRoute[];
  /** Where the signing secrets come from (Secrets Manager, or the local secrets file). */
  credentials: CredentialStore;
  /** Verifies a delivery's signature: `verifyWebhook` of `verify.ts` (tests pass a fake). */
  verify: VerifyWebhook;
  /** The idempotency table the deliveries are deduplicated in. */
  idempotency: IdempotencyStore;
  /** The suite's bus. */
  bus: WebhookEventPublisher;
  /** @default Logger, Tracer and Metrics of the service `connector-suite-webhooks` */
  powertools?: Powertools;
  /** @default the process-wide redactor */
  redactor?: Redactor;
  /**
   * The URL the vendor called, for a connector without `publicUrl` (Twilio signs it).
   * @default `https://{requestContext.domainName}{requestContext.path}` and the query string
   */
  requestUrl?: (event: APIGatewayProxyEvent) => string;
  /** The clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** The webhook route's Lambda handler. */
export type WebhookHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

/** What one delivery came to, for its log line and metrics. */
interface Outcome {
  outcome: 'accepted' | 'duplicate' | 'challenge' | 'refused' | 'failed';
  reason?: string;
  eventType?: string;
  eventId?: string;
}

/** How far one delivery's publication got (a store failure after it is not the publication's). */
interface PublishState {
  phase: 'lock' | 'publishing' | 'published' | 'failed';
  event: WebhookEvent;
  error?: unknown;
}

/** The idempotency payload: what identifies a delivery. */
interface DedupeRecord {
  connector: string;
  eventId: string;
}

/** What the idempotency record keeps. */
interface DedupeResult {
  eventId: string;
  duplicate?: true;
}

const REFUSALS: ReadonlySet<string> = new Set<WebhookRefusal>([
  'missing-signature',
  'invalid-signature',
  'stale-timestamp',
  'malformed',
]);

/** The refusal a verifier threw (`WebhookVerificationError`, by its `reason`), if it is one. */
export function refusalOf(error: unknown): WebhookRefusal | undefined {
  const reason = (error as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' && REFUSALS.has(reason) ? (reason as WebhookRefusal) : undefined;
}

const REFUSAL_MESSAGES: Readonly<Record<WebhookRefusal, string>> = {
  'missing-signature': 'The webhook carries no signature (or no signed timestamp).',
  'invalid-signature': 'The webhook signature does not match the body with any signing secret.',
  'stale-timestamp': "The webhook's signed timestamp is outside the accepted tolerance.",
  malformed: "The webhook's signature headers or body cannot be read.",
};

/** A `WEBHOOK_SIGNATURE_INVALID` for `reason`, which `details.reason` repeats. */
export function webhookRefused(reason: WebhookRefusal): ConnectorError {
  return new ConnectorError('WEBHOOK_SIGNATURE_INVALID', REFUSAL_MESSAGES[reason], { details: { reason } });
}

/**
 * Builds the webhook route's handler. Build it once per process: the signing secrets and the
 * idempotency configuration it holds live as long as the warm instance. It never throws: every
 * failure is an error envelope.
 */
export function createWebhookHandler(deps: WebhookDependencies): WebhookHandler {
  const powertools = deps.powertools ?? createPowertools({ serviceName: WEBHOOK_SERVICE_NAME });
  const { logger, metrics } = powertools;
  const redactor = deps.redactor ?? processRedactor;
  const now = deps.now ?? Date.now;
  const routes = new Map(deps.routes.map((route) => [route.connector, route]));
  const persistenceStore =
    'persistenceStore' in deps.idempotency
      ? deps.idempotency.persistenceStore
      : new DynamoDBPersistenceLayer({
          tableName: deps.idempotency.tableName,
          awsSdkV3Client: deps.idempotency.dynamoClient,
        });
  /** When each connector's secret was last re-read after a refusal, epoch ms. */
  const lastReread = new Map<string, number>();
  const dedupers = new Map<string, ReturnType<typeof deduper>>();

  /** The idempotent publication of one connector's deliveries (its own dedupe window). */
  function deduper(route: WebhookRoute) {
    const config = new IdempotencyConfig({
      eventKeyJmesPath: '[connector, eventId]',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: route.webhook.dedupeWindowSeconds,
      // Called only when the answer comes from the record: a delivery already published.
      responseHook: (response) => ({ ...(response as object), duplicate: true }),
    });
    const run = makeIdempotent(
      async (record: DedupeRecord, state: PublishState): Promise<DedupeResult> => {
        state.phase = 'publishing';
        try {
          await deps.bus.publish(state.event);
        } catch (error) {
          state.phase = 'failed';
          state.error = error;
          throw error;
        }
        state.phase = 'published';
        return { eventId: record.eventId };
      },
      { persistenceStore, config, keyPrefix: 'connector-suite#webhooks', dataIndexArgument: 0 },
    );
    return { config, run };
  }

  /** Step 1: the connector's route. @throws ConnectorError `NOT_FOUND` */
  function routeOf(event: APIGatewayProxyEvent): WebhookRoute {
    const name = event.pathParameters?.connector ?? '';
    const route = routes.get(name);
    if (!route) {
      throw new ConnectorError('NOT_FOUND', `No connector named '${name}' receives webhooks here.`);
    }
    return route;
  }

  /** Step 2: the delivery as received. */
  function deliveryOf(event: APIGatewayProxyEvent, route: WebhookRoute): WebhookDelivery {
    const body = event.body ?? '';
    const rawBody = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    const url = route.webhook.publicUrl
      ? urlWithQuery(route.webhook.publicUrl, event)
      : (deps.requestUrl ?? defaultRequestUrl)(event);
    return { rawBody: new Uint8Array(rawBody), headers, url };
  }

  /**
   * Step 3: the connector's signing secrets, current first.
   * @throws ConnectorError `CONFIGURATION_ERROR` (missing secret or `signingSecret`), `DEPENDENCY_UNAVAILABLE`
   */
  async function signingSecrets(route: WebhookRoute, forceRefresh: boolean): Promise<string[]> {
    const name = route.webhook.secret;
    let value: Awaited<ReturnType<CredentialStore['getSecret']>>;
    try {
      value = await deps.credentials.getSecret(name, { forceRefresh });
    } catch (error) {
      if (error instanceof ConnectorError && error.code === 'DEPENDENCY_UNAVAILABLE') {
        countDependencyFailure(metrics, 'Secrets Manager');
      }
      throw error;
    }
    const current = secretField(value, name, 'signingSecret');
    const previous = value.previousSigningSecret;
    return previous ? [current, previous] : [current];
  }

  /**
   * Step 3: the verified delivery. An `invalid-signature` refusal re-reads the secret once (at
   * most every {@link SECRET_REREAD_INTERVAL_MS} per connector), in case it was rotated after it
   * was cached.
   * @throws ConnectorError `WEBHOOK_SIGNATURE_INVALID`, or what reading the secret throws
   */
  async function verified(route: WebhookRoute, delivery: WebhookDelivery): Promise<VerifiedWebhook> {
    const attempt = async (forceRefresh: boolean) =>
      deps.verify(route.webhook.scheme, delivery, {
        secrets: await signingSecrets(route, forceRefresh),
        toleranceSeconds: route.webhook.toleranceSeconds,
        nowMs: now(),
      });
    try {
      return await attempt(false);
    } catch (error) {
      const reason = refusalOf(error);
      if (reason === undefined) throw error;
      const last = lastReread.get(route.connector);
      // Only a signature that matches no secret can be mended by a newer secret.
      const rereadMayHelp = reason === 'invalid-signature';
      if (!rereadMayHelp || (last !== undefined && now() - last < SECRET_REREAD_INTERVAL_MS)) {
        throw webhookRefused(reason);
      }
      lastReread.set(route.connector, now());
      try {
        return await attempt(true);
      } catch (again) {
        const secondReason = refusalOf(again);
        throw secondReason === undefined ? again : webhookRefused(secondReason);
      }
    }
  }

  /** Step 5: the `Webhook Received` event of a verified delivery. */
  function eventOf(route: WebhookRoute, webhook: VerifiedWebhook, receivedAtMs: number): WebhookEvent {
    const detail: WebhookReceivedDetail = {
      connector: route.connector,
      vendor: route.webhook.scheme,
      eventType: webhook.eventType,
      eventId: webhook.eventId,
      receivedAt: new Date(receivedAtMs).toISOString(),
    };
    const size = Buffer.byteLength(JSON.stringify(webhook.payload ?? null), 'utf8');
    if (size > MAX_WEBHOOK_PAYLOAD_BYTES) detail.payloadTruncated = true;
    else detail.payload = webhook.payload ?? null;
    return { detailType: WEBHOOK_RECEIVED, source: WEBHOOK_EVENT_SOURCE, detail: redactor.redact(detail) };
  }

  /**
   * Step 5: publishes the event once per (connector, eventId).
   * @returns whether it had been published already
   * @throws ConnectorError `DEPENDENCY_UNAVAILABLE` (EventBridge or DynamoDB; the record released),
   *   `REQUEST_IN_PROGRESS` (the same delivery is being published right now), `CONFIGURATION_ERROR`
   */
  async function publishOnce(
    route: WebhookRoute,
    event: WebhookEvent,
    lambdaContext: Context,
  ): Promise<{ duplicate: boolean }> {
    let entry = dedupers.get(route.connector);
    if (!entry) {
      entry = deduper(route);
      dedupers.set(route.connector, entry);
    }
    entry.config.registerLambdaContext(lambdaContext);
    const state: PublishState = { phase: 'lock', event };
    try {
      const result = await entry.run({ connector: route.connector, eventId: event.detail.eventId }, state);
      return { duplicate: result.duplicate === true };
    } catch (thrown) {
      if (state.phase === 'published') {
        // The event is on the bus: the answer is 200 whatever became of the record. Until the lock
        // expires a retry answers REQUEST_IN_PROGRESS; after it, a retry would publish again.
        metrics.addMetric(METRIC.idempotencyRecordFailures, MetricUnit.Count, 1);
        logger.error('The webhook was published but its dedupe record could not be written', {
          connector: route.connector,
          eventId: event.detail.eventId,
          error: thrown instanceof IdempotencyPersistenceLayerError ? (thrown.cause ?? thrown) : thrown,
        });
        return { duplicate: false };
      }
      if (state.phase === 'failed') {
        countDependencyFailure(metrics, 'EventBridge');
        throw dependencyUnavailable('EventBridge', state.error);
      }
      const error = beforeTheCall(thrown);
      if (error.code === 'DEPENDENCY_UNAVAILABLE') countDependencyFailure(metrics, 'DynamoDB');
      throw error;
    }
  }

  function count(name: string, connector: string, reason?: string): void {
    const dimensions: Record<string, string> = reason === undefined ? { connector } : { connector, reason };
    countWithDimensions(metrics, `${name}\u0000${connector}\u0000${reason ?? ''}`, name, dimensions);
  }

  return async (event, lambdaContext) => {
    const startedAt = now();
    const requestId = event.requestContext?.requestId || lambdaContext.awsRequestId;
    let connector = '';
    let scheme: WebhookScheme | undefined;
    let response: APIGatewayProxyResult;
    let outcome: Outcome;
    try {
      logger.addContext(lambdaContext);
      const route = routeOf(event);
      connector = route.connector;
      scheme = route.webhook.scheme;
      const webhook = await verified(route, deliveryOf(event, route));
      if (webhook.challenge !== undefined) {
        outcome = { outcome: 'challenge', eventType: webhook.eventType };
        response = respond(
          200,
          'application/json',
          JSON.stringify({ challenge: webhook.challenge }),
          requestId,
        );
      } else {
        const { duplicate } = await publishOnce(route, eventOf(route, webhook, startedAt), lambdaContext);
        count(duplicate ? WEBHOOK_METRIC.duplicates : WEBHOOK_METRIC.accepted, connector);
        outcome = {
          outcome: duplicate ? 'duplicate' : 'accepted',
          eventType: webhook.eventType,
          eventId: webhook.eventId,
        };
        response =
          scheme === 'twilio'
            ? respond(200, 'text/xml', EMPTY_TWIML, requestId)
            : respond(200, 'application/json', JSON.stringify({ received: true, duplicate }), requestId);
      }
    } catch (thrown) {
      const error = toConnectorError(thrown);
      const reason =
        error.code === 'WEBHOOK_SIGNATURE_INVALID'
          ? (error.details as { reason: string }).reason
          : error.code === 'NOT_FOUND'
            ? 'unknown-connector'
            : undefined;
      // An unknown connector is counted under no name of the caller's choosing.
      if (reason !== undefined) count(WEBHOOK_METRIC.refused, connector || '(unknown)', reason);
      outcome =
        reason === undefined ? { outcome: 'failed', reason: error.code } : { outcome: 'refused', reason };
      if (error.code === 'INTERNAL_ERROR' || error.code === 'CONFIGURATION_ERROR') {
        logger.error(error.message, {
          requestId,
          connector,
          errorCode: error.code,
          error: error.cause ?? error,
        });
      }
      const headers: Record<string, string> =
        error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
      response = respond(
        error.httpStatus,
        'application/json',
        JSON.stringify(redactor.redact(error.toBody(requestId))),
        requestId,
        headers,
      );
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
    // One line per delivery, at WARN when the suite failed it: never a header, a signature, a
    // secret or the payload.
    const log = outcome.outcome === 'failed' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log('webhook', {
      requestId,
      connector,
      ...(scheme ? { vendor: scheme } : {}),
      ...outcome,
      status: response.statusCode,
      bodyBytes: event.body
        ? event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').length
          : Buffer.byteLength(event.body)
        : 0,
      durationMs: now() - startedAt,
    });
    return response;
  };
}

/** The public URL of an API Gateway request: `https://{domainName}{path}` and its query string. */
export function defaultRequestUrl(event: APIGatewayProxyEvent): string {
  const host = event.requestContext?.domainName ?? headerOf(event, 'host') ?? 'localhost';
  const path = event.requestContext?.path ?? event.path;
  return urlWithQuery(`https://${host}${path}`, event);
}

/** `url` with the request's query string appended (API Gateway keeps the parameters, in order). */
export function urlWithQuery(url: string, event: APIGatewayProxyEvent): string {
  const multi = event.multiValueQueryStringParameters;
  const single = event.queryStringParameters;
  const pairs: Array<[string, string]> = [];
  if (multi) {
    for (const [name, values] of Object.entries(multi)) for (const v of values ?? []) pairs.push([name, v]);
  } else if (single) {
    for (const [name, value] of Object.entries(single)) if (value !== undefined) pairs.push([name, value]);
  }
  if (pairs.length === 0) return url;
  const query = new URLSearchParams(pairs).toString();
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

function respond(
  statusCode: number,
  contentType: string,
  body: string,
  requestId: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': contentType, 'x-request-id': requestId, ...headers },
    body,
  };
}
