/**
 * The webhook function's wiring in AWS: its environment (set by the `ConnectorWebhooks` construct),
 * Secrets Manager for the signing secrets, the DynamoDB idempotency table, and `PutEvents` on the
 * suite's bus.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as z from 'zod';
import { VENDOR_BASE_URLS } from '../shared/config.js';
import { SecretsManagerCredentialStore } from '../shared/credentials/secrets-manager.js';
import { configurationError, toConnectorError } from '../shared/errors.js';
import { createPowertools } from '../shared/powertools.js';
import { AWS_CLIENT_TIMEOUTS, awsClientConfig } from '../shared/runtime/aws-clients.js';
import { type ClientSource, lazily } from '../shared/runtime/aws-ports.js';
import { WEBHOOK_ENV, WEBHOOK_SERVICE_NAME } from './contract.js';
import {
  createWebhookHandler,
  type VerifyWebhook,
  type WebhookEvent,
  type WebhookEventPublisher,
  type WebhookHandler,
  type WebhookRoute,
} from './core.js';

const routesSchema = z.array(
  z.object({
    connector: z.string().min(1),
    webhook: z.object({
      scheme: z.enum([
        ...(Object.keys(VENDOR_BASE_URLS) as Array<keyof typeof VENDOR_BASE_URLS>),
        'standardWebhooks',
      ]),
      secret: z.string().min(1),
      toleranceSeconds: z.number().positive(),
      dedupeWindowSeconds: z.int().positive(),
      publicUrl: z.string().optional(),
    }),
  }),
);

/** What {@link readWebhookEnvironment} returns. */
export interface WebhookEnvironment {
  routes: WebhookRoute[];
  secretIds: Record<string, string>;
  idempotencyTableName: string;
  eventBusName: string;
  secretMaxAgeSeconds: number;
}

export { WEBHOOK_ENV };

/**
 * Reads and validates the webhook function's environment.
 * @param env - @default process.env
 * @throws ConnectorError `CONFIGURATION_ERROR` naming the variable that is missing or malformed
 */
export function readWebhookEnvironment(env: NodeJS.ProcessEnv = process.env): WebhookEnvironment {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw configurationError(`Environment variable ${name} is not set.`);
    return value;
  };
  const json = (name: string): unknown => {
    try {
      return JSON.parse(required(name));
    } catch (error) {
      if (error instanceof SyntaxError) throw configurationError(`${name} is not valid JSON.`);
      throw error;
    }
  };
  const routes = routesSchema.safeParse(json(WEBHOOK_ENV.routes));
  if (!routes.success) throw configurationError(`${WEBHOOK_ENV.routes} does not list webhook routes.`);
  const secretIds = z.record(z.string(), z.string()).safeParse(json(WEBHOOK_ENV.secretIds));
  if (!secretIds.success) throw configurationError(`${WEBHOOK_ENV.secretIds} must map secret names to ids.`);
  const maxAge = Number(env[WEBHOOK_ENV.secretMaxAgeSeconds] ?? 300);
  if (!Number.isFinite(maxAge) || maxAge < 0) {
    throw configurationError(`${WEBHOOK_ENV.secretMaxAgeSeconds} must be a number of seconds.`);
  }
  return {
    routes: routes.data.map(({ connector, webhook }) => ({
      connector,
      webhook: { ...webhook, ...(webhook.publicUrl === undefined ? {} : { publicUrl: webhook.publicUrl }) },
    })),
    secretIds: secretIds.data,
    idempotencyTableName: required(WEBHOOK_ENV.idempotencyTable),
    eventBusName: required(WEBHOOK_ENV.eventBusName),
    secretMaxAgeSeconds: maxAge,
  };
}

/** {@link WebhookEventPublisher} over EventBridge `PutEvents`: one entry per event. */
export class EventBridgeWebhookPublisher implements WebhookEventPublisher {
  readonly #client: () => Promise<EventBridgeClient>;

  /**
   * @param client - the EventBridge client, or a function that makes it on first use
   * @param eventBusName - the suite's bus
   */
  constructor(
    client: ClientSource<EventBridgeClient>,
    private readonly eventBusName: string,
  ) {
    this.#client = lazily(client);
  }

  /**
   * @inheritdoc
   * @throws Error when `PutEvents` fails or refuses the entry (its error code and message)
   */
  async publish(event: WebhookEvent): Promise<void> {
    const [client, { PutEventsCommand }] = await Promise.all([
      this.#client(),
      import('@aws-sdk/client-eventbridge'),
    ]);
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    const refused = answer.Entries?.find((entry) => entry.ErrorCode);
    if ((answer.FailedEntryCount ?? 0) > 0 || refused) {
      throw new Error(
        `PutEvents refused the webhook event: ${refused?.ErrorCode ?? 'unknown'} ${refused?.ErrorMessage ?? ''}`,
      );
    }
  }
}

/**
 * The deployed webhook handler: reads the environment once and wires Secrets Manager, DynamoDB and
 * EventBridge with the suite's client timeouts. A bad environment does not crash the function:
 * every delivery answers `CONFIGURATION_ERROR` naming the variable (the vendor retries), and it is logged.
 * @param verify - `verifyWebhook` of `verify.ts`
 */
export function lambdaWebhookHandler(verify: VerifyWebhook): WebhookHandler {
  try {
    const env = readWebhookEnvironment();
    return createWebhookHandler({
      routes: env.routes,
      credentials: new SecretsManagerCredentialStore({
        client: new SecretsManagerClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.secretsManager)),
        secretIds: env.secretIds,
        maxAgeSeconds: env.secretMaxAgeSeconds,
      }),
      verify,
      idempotency: {
        dynamoClient: new DynamoDBClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.dynamoDB)),
        tableName: env.idempotencyTableName,
      },
      bus: new EventBridgeWebhookPublisher(async () => {
        const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
        return new EventBridgeClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.eventBridge));
      }, env.eventBusName),
    });
  } catch (thrown) {
    const error = toConnectorError(thrown);
    const { logger } = createPowertools({ serviceName: WEBHOOK_SERVICE_NAME });
    logger.error('The webhook function cannot start', { errorCode: error.code, error: error.message });
    return async (event: APIGatewayProxyEvent, _context: Context): Promise<APIGatewayProxyResult> => {
      const requestId = event.requestContext?.requestId ?? '';
      return {
        statusCode: error.httpStatus,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(error.toBody(requestId)),
      };
    };
  }
}
