/**
 * The Lambda entry of every connector: one handler for the three events a connector's function
 * receives, each handed to its adapter over the connector's request core (`core.ts`):
 *
 * - SQS batches of request events (`sqs.ts`): a partial batch response;
 * - request events invoked directly by an EventBridge rule (`eventbridge.ts`): the result;
 * - API Gateway REST proxy events on `POST /v1/connectors/{connector}/{operation}`
 *   (`api-gateway.ts`): the envelopes of docs/design.md §3.
 *
 * Metrics stored while answering are published once the event is answered.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { ConnectorConfig } from '../config.js';
import { handleApiGatewayEvent } from './api-gateway.js';
import type { ConnectorDefinition } from './connector.js';
import { createConnectorCore } from './core.js';
import { handleEventBridgeEvent, isEventBridgeEvent } from './eventbridge.js';
import { handleSqsBatch, isSqsEvent } from './sqs.js';
import type { ConnectorDependencies, ConnectorHandler } from './types.js';

/**
 * Builds a connector's Lambda handler. Build it once per process (module scope): the breaker,
 * rate limit, cache, tokens and secrets it holds live as long as the warm instance.
 *
 * @throws ConnectorError `CONFIGURATION_ERROR` for a config the runtime cannot use (e.g. an http base URL)
 */
export function createConnectorHandler<C extends ConnectorConfig>(
  definition: ConnectorDefinition<C>,
  deps: ConnectorDependencies<C>,
): ConnectorHandler {
  const core = createConnectorCore(definition, deps);
  const { logger, metrics } = core.powertools;
  const handler = async (event: unknown, lambdaContext: Context): Promise<unknown> => {
    logger.addContext(lambdaContext);
    try {
      if (isSqsEvent(event)) return await handleSqsBatch(core, event, lambdaContext);
      if (isEventBridgeEvent(event)) return await handleEventBridgeEvent(core, event, lambdaContext);
      return await handleApiGatewayEvent(core, event as APIGatewayProxyEvent, lambdaContext);
    } finally {
      // Requests refused before any outbound call have no metrics; publishing none only logs a warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return Object.assign(handler, { client: core.client }) as ConnectorHandler;
}
