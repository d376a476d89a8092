/**
 * The inbound webhook route of a suite (docs/webhooks.md): `POST /v1/webhooks/{connector}` on the
 * suite's REST API, without IAM auth (the vendor's signature is the authentication), served by one
 * function for every connector with a `webhook` setting.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AuthorizationType, LambdaIntegration, type Method, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  WEBHOOK_ENV,
  WEBHOOK_RESOURCE,
  WEBHOOK_SERVICE_NAME,
  type WebhookRoute,
} from '../../functions/webhooks/contract.js';
import { connectorBundling } from './connector.js';

/** The extension of this project's modules as they run: `.ts` from source, `.js` once compiled. */
const MODULE_EXTENSION = path.extname(fileURLToPath(import.meta.url));

/** The webhook function's entry, `functions/webhooks/handler.ts` of this package. */
export const WEBHOOK_HANDLER_ENTRY = fileURLToPath(
  new URL(`../../functions/webhooks/handler${MODULE_EXTENSION}`, import.meta.url),
);

/** A signing secret of a webhook route. */
export interface WebhookSecret {
  /** The secret; the function may only `GetSecretValue` on it. */
  readonly secret: ISecret;
  /** The id the runtime reads it by (an ARN, or a name for a secret imported by name). */
  readonly secretId: string;
}

/** Props of {@link ConnectorWebhooks}. */
export interface ConnectorWebhooksProps {
  /** The connectors with a `webhook` setting (`webhookOf` of each config entry). */
  readonly routes: readonly WebhookRoute[];
  /** The signing secrets, by the `webhook.secret` name of the routes; every route's must be here. */
  readonly secrets: ReadonlyMap<string, WebhookSecret>;
  /** The REST API the route is added to (`/v1/webhooks/{connector}`, `POST`). */
  readonly api: RestApi;
  /** The idempotency table deliveries are deduplicated in. */
  readonly idempotencyTable: ITable;
  /** The bus `Webhook Received` events go to; the function may `PutEvents` on it only. */
  readonly eventBus: IEventBus;
  /**
   * CloudWatch metrics namespace (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'ConnectorSuite'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Run the function with `NODE_OPTIONS=--enable-source-maps` (see `ConnectorProps.enableSourceMaps`).
   * @default false
   */
  readonly enableSourceMaps?: boolean;
  /**
   * The function's entry file.
   * @default {@link WEBHOOK_HANDLER_ENTRY}
   */
  readonly entry?: string;
  /**
   * Overrides of the function's props, applied over the defaults (256 MB, a 29 s timeout, Node.js 24
   * on arm64, tracing, JSON logs, `CONNECTOR_BUNDLING`); `environment` and `bundling` are merged, and
   * the variables the function reads, `entry`, `handler` and `role` cannot be overridden.
   * @default none
   */
  readonly functionProps?: Partial<NodejsFunctionProps>;
}

/**
 * The webhook route: one function (bundled like the connectors'), whose role may write its logs,
 * read the webhook signing secrets, use the idempotency table and `PutEvents` on the suite's bus,
 * nothing more; and `POST /v1/webhooks/{connector}` with no authorization, since the vendors cannot
 * sign with SigV4: the function verifies each delivery's signature instead.
 */
export class ConnectorWebhooks extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** Its log group. */
  readonly logGroup: LogGroup;
  /** The `POST` method of `/v1/webhooks/{connector}`. */
  readonly method: Method;

  constructor(scope: Construct, id: string, props: ConnectorWebhooksProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description:
        'Connector Suite webhooks: its logs, the signing secrets, the idempotency table and the bus',
    });
    this.logGroup.grantWrite(role);

    const secretIds: Record<string, string> = {};
    const secretResources: string[] = [];
    for (const route of props.routes) {
      const name = route.webhook.secret;
      if (Object.hasOwn(secretIds, name)) continue;
      const secret = props.secrets.get(name);
      if (!secret)
        throw new Error(`ConnectorWebhooks: no secret '${name}' for connector '${route.connector}'`);
      secretIds[name] = secret.secretId;
      // A secret known by name or partial ARN: IAM matches the full ARN, which ends in `-??????`.
      secretResources.push(secret.secret.secretFullArn ?? `${secret.secret.secretArn}-??????`);
    }

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: WEBHOOK_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'ConnectorSuite',
      [WEBHOOK_ENV.routes]: JSON.stringify(props.routes),
      [WEBHOOK_ENV.secretIds]: JSON.stringify(secretIds),
      [WEBHOOK_ENV.idempotencyTable]: props.idempotencyTable.tableName,
      [WEBHOOK_ENV.eventBusName]: props.eventBus.eventBusName,
    };
    if (props.enableSourceMaps) environment.NODE_OPTIONS = '--enable-source-maps';
    const overrides = props.functionProps ?? {};
    this.function = new NodejsFunction(this, 'Function', {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      // As long as API Gateway waits: the worst case of the suite's AWS clients in a row (Secrets
      // Manager, DynamoDB, EventBridge, DynamoDB: about 24 s, AWS_CLIENT_TIMEOUTS) still ends in an
      // answer of the contract rather than a timeout of the function.
      timeout: Duration.seconds(29),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: 'Connector Suite: inbound webhooks, verified onto the bus',
      ...overrides,
      entry: props.entry ?? WEBHOOK_HANDLER_ENTRY,
      handler: 'handler',
      role,
      environment: { ...overrides.environment, ...environment },
      bundling: connectorBundling(overrides.bundling),
    });

    if (secretResources.length > 0) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: secretResources,
        }),
      );
    }
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.idempotencyTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutEvents'],
        resources: [props.eventBus.eventBusArn],
      }),
    );

    const resource = props.api.root.resourceForPath(WEBHOOK_RESOURCE);
    this.method = resource.addMethod('POST', new LambdaIntegration(this.function, { proxy: true }), {
      authorizationType: AuthorizationType.NONE,
      apiKeyRequired: false,
      requestParameters: { 'method.request.path.connector': true },
    });

    const signature =
      'the signature is the authentication: vendors (Stripe, Slack, GitHub, Twilio, Standard Webhooks senders) cannot sign requests with SigV4 or send an API key, so the function verifies every delivery with HMAC or Ed25519 over its raw body with the signing secret, refuses it with 401 otherwise, and the stage is throttled';
    Validations.of(this.method).acknowledge({ id: 'AwsSolutions-APIG4', reason: signature });
    Validations.of(this.method).acknowledge({ id: 'AwsSolutions-COG4', reason: signature });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the statement that tracing Active adds: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their Resource must be *; every other statement names its log group, secrets, table or event bus',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'API Gateway invokes this function synchronously: the vendor receives every error and retries the delivery itself; a function dead-letter queue only receives failed asynchronous invocations, which this function never gets',
    });
  }
}
