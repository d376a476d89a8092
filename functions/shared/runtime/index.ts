/**
 * `defineConnector`: the one call that turns a connector kind's operations into a Lambda handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type * as z from 'zod';
import type { AnyConnectorConfig, ConnectorConfig, CustomConnectorConfig } from '../config.js';
import { SecretsManagerCredentialStore } from '../credentials/secrets-manager.js';
import { configurationError, toConnectorError } from '../errors.js';
import { createPowertools } from '../powertools.js';
import { redactor } from '../redaction.js';
import { AWS_CLIENT_TIMEOUTS, awsClientConfig } from './aws-clients.js';
import { EventBridgeResultPublisher, SqsQueuePort } from './aws-ports.js';
import type { ConnectorDefinition, CustomConnectorDefinition } from './connector.js';
import { type ReadConnectorEnvironmentOptions, readConnectorEnvironment } from './environment.js';
import { isEventBridgeEvent } from './eventbridge.js';
import { createConnectorHandler } from './handler.js';
import { isSqsEvent } from './sqs.js';
import type { ConnectorDependencies, ConnectorHandler } from './types.js';

export * from './async-contract.js';
export * from './aws-clients.js';
export * from './connector.js';
export * from './environment.js';
export * from './handler.js';
export * from './input-limits.js';
export * from './kind.js';
export * from './types.js';
export { validationError } from './validation.js';
export * from './vendor.js';

/** A connector kind, ready to serve. */
export interface DefinedConnector<C extends AnyConnectorConfig> extends ConnectorDefinition<C> {
  /**
   * A handler built from explicit dependencies (the local gateway and tests).
   * @throws ConnectorError `CONFIGURATION_ERROR` when `deps.config` is of another kind
   */
  createHandler(deps: ConnectorDependencies<AnyConnectorConfig>): ConnectorHandler;
  /**
   * The deployed handler: reads the environment once (see {@link readConnectorEnvironment}) and
   * wires Secrets Manager and the DynamoDB idempotency table. A bad environment does not crash the
   * function: every request answers `CONFIGURATION_ERROR` naming the variable, and it is logged.
   * @param options - `completeConfig`: see {@link ReadConnectorEnvironmentOptions}; @default none
   */
  lambdaHandler(
    options?: Pick<ReadConnectorEnvironmentOptions, 'completeConfig'>,
  ): ConnectorHandler | ((event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>);
}

/**
 * Defines a connector kind from its operations: a built-in kind (`defineConnector<HttpConnectorConfig>`)
 * or a kind of your own, whose `settings` schema types `config.settings` (hand it to the construct
 * and the local gateway with {@link connectorKind}).
 *
 * @example
 * export const weatherConnector = defineConnector({
 *   kind: 'weather',
 *   settings: z.strictObject({ units: z.enum(['metric', 'imperial']).default('metric') }),
 *   operations: (config) => ({
 *     forecast: defineOperation({
 *       description: 'The forecast of a city.',
 *       input: z.strictObject({ city: z.string().min(1) }),
 *       run: async (input, ctx) =>
 *         (await ctx.send({ method: 'GET', path: '/forecast', query: { city: input.city, units: config.settings.units } })).body,
 *     }),
 *   }),
 * });
 * // connectors/weather/handler.ts
 * export const handler = weatherConnector.lambdaHandler();
 */
export function defineConnector<C extends ConnectorConfig>(
  definition: ConnectorDefinition<C>,
): DefinedConnector<C>;
export function defineConnector<
  K extends string,
  S extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, never>>,
>(definition: CustomConnectorDefinition<K, S>): DefinedConnector<CustomConnectorConfig<z.output<S>, K>>;
export function defineConnector<C extends AnyConnectorConfig>(
  definition: ConnectorDefinition<C>,
): DefinedConnector<C> {
  // The request core treats every kind that is not a built-in vendor like `http` (its `auth` on
  // each request, see `clientAuthOf`); its types name the built-in kinds only.
  const core = definition as unknown as ConnectorDefinition<ConnectorConfig>;
  const ofKind = (config: AnyConnectorConfig): ConnectorConfig => {
    if (config.kind !== definition.kind) {
      throw configurationError(
        `Connector '${config.name}' is of kind '${config.kind}', not '${definition.kind}'.`,
      );
    }
    return config as ConnectorConfig;
  };
  return {
    ...definition,
    createHandler: (deps) => createConnectorHandler(core, { ...deps, config: ofKind(deps.config) }),
    lambdaHandler(options = {}) {
      try {
        // CONNECTOR_CONFIG is checked against this kind's own schema (its settings included).
        const env = readConnectorEnvironment(process.env, { ...options, kinds: [definition] });
        if (env.config.kind !== definition.kind) {
          throw configurationError(
            `CONNECTOR_CONFIG is of kind '${env.config.kind}', but this function serves '${definition.kind}'.`,
          );
        }
        // AWS's own services: explicit connection and request timeouts and bounded SDK retries
        // (AWS_CLIENT_TIMEOUTS); vendor calls retry in our client only.
        return createConnectorHandler(core, {
          config: ofKind(env.config),
          credentials: new SecretsManagerCredentialStore({
            client: new SecretsManagerClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.secretsManager)),
            secretIds: env.secretIds,
            maxAgeSeconds: env.secretMaxAgeSeconds,
          }),
          idempotency: {
            dynamoClient: new DynamoDBClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.dynamoDB)),
            tableName: env.idempotencyTableName,
          },
          // SQS and EventBridge serve the asynchronous path only: their clients (and packages) are
          // made on first use, so an API Gateway cold start does not load them.
          ...(env.queues
            ? {
                queue: new SqsQueuePort(async () => {
                  const { SQSClient } = await import('@aws-sdk/client-sqs');
                  return new SQSClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.sqs));
                }, env.queues),
              }
            : {}),
          ...(env.eventBusName
            ? {
                results: new EventBridgeResultPublisher(async () => {
                  const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
                  return new EventBridgeClient(awsClientConfig(AWS_CLIENT_TIMEOUTS.eventBridge));
                }, env.eventBusName),
              }
            : {}),
        });
      } catch (thrown) {
        const error = toConnectorError(thrown);
        const { logger } = createPowertools({ serviceName: 'connector-suite', redactor });
        logger.error('The connector cannot start', { errorCode: error.code, error: error.message });
        return async (event: APIGatewayProxyEvent, _context: Context): Promise<APIGatewayProxyResult> => {
          // A batch (or event) that cannot run is retried and, past maxReceiveCount, dead-lettered: never lost.
          if (isSqsEvent(event) || isEventBridgeEvent(event)) throw error;
          const requestId = event.requestContext?.requestId ?? '';
          logger.error(error.message, { errorCode: error.code, requestId });
          return {
            statusCode: error.httpStatus,
            headers: { 'content-type': 'application/json', 'x-request-id': requestId },
            body: JSON.stringify(error.toBody(requestId)),
          };
        };
      }
    },
  };
}
