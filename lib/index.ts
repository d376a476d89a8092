/**
 * `connector-suite/cdk`: the constructs a CDK app uses to deploy connectors. `ConnectorSuite` is
 * the whole suite; the others are its parts, for apps that assemble their own.
 */

export { resolveOpenApiSpecs } from '../functions/openapi/description.js';
export type {
  AnyConnectorConfig,
  CustomConnectorConfig,
  SuiteConfig,
  SuiteConfigInput,
} from '../functions/shared/config.js';
export { ConfigValidationError, defineSuite } from '../functions/shared/config.js';
export { type ConnectorKind, connectorKind } from '../functions/shared/runtime/kind.js';
export { CONNECTOR_BUNDLING, Connector, type ConnectorProps } from './constructs/connector.js';
export {
  type ApiAuthorization,
  ConnectorApi,
  type ConnectorApiProps,
  type ConnectorRoute,
} from './constructs/connector-api.js';
export { ConnectorEvents, type ConnectorEventsProps } from './constructs/connector-events.js';
export {
  ALARM_DEFAULTS,
  type ConnectorAlarmSet,
  ConnectorObservability,
  type ConnectorObservabilityProps,
  type ObservabilityAlarmOptions,
  type ObservabilityAlarms,
  type ObservedConnector,
} from './constructs/connector-observability.js';
export {
  type ConnectorAsyncSettings,
  ConnectorQueues,
  type ConnectorQueuesProps,
} from './constructs/connector-queues.js';
export {
  ConnectorSecret,
  type ConnectorSecretProps,
  type ExistingSecret,
} from './constructs/connector-secret.js';
export { ConnectorSuite, type ConnectorSuiteProps } from './constructs/connector-suite.js';
export {
  ConnectorWebhooks,
  type ConnectorWebhooksProps,
  WEBHOOK_HANDLER_ENTRY,
  type WebhookSecret,
} from './constructs/connector-webhooks.js';
export {
  IDEMPOTENCY_PARTITION_KEY,
  IDEMPOTENCY_TTL_ATTRIBUTE,
  IdempotencyTable,
  type IdempotencyTableProps,
} from './constructs/idempotency-table.js';
export { STAGE_SETTINGS, STAGES, type Stage, type StageSettings } from './stage.js';
