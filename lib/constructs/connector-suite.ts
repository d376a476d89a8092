/**
 * `ConnectorSuite`: everything a suite of connectors needs, as one construct for any CDK app. For
 * every connector of the suite, its function, secret, route and asynchronous path (request rule,
 * inbox, dead-letter queue, event source mapping, alarm); one idempotency table, one REST API and
 * one event bus for them all. Follows the AWS Solutions Constructs design guidelines: every
 * default can be overridden (`functionProps`, `apiProps`, `tableProps`, `inboxProps`,
 * `deadLetterQueueProps`) and existing resources can be handed in (`existingEventBus`,
 * `existingTable`, `existingSecrets`).
 */
import { CfnOutput, type RemovalPolicy } from 'aws-cdk-lib';
import type { RestApiProps } from 'aws-cdk-lib/aws-apigateway';
import type { ITable, TableProps } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import type { NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type AnyConnectorConfig,
  type ConfigSchemaOptions,
  parseSuiteConfig,
  resourceId,
  type SuiteConfig,
  type SuiteConfigInput,
  secretNameOf,
  webhookOf,
} from '../../functions/shared/config.js';
import { INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { type ConnectorKind, connectorEntry, registeredKinds } from '../connector-kinds.js';
import { STAGE_SETTINGS, type Stage } from '../stage.js';
import { Connector } from './connector.js';
import { ConnectorApi, type ConnectorRoute } from './connector-api.js';
import { ConnectorEvents } from './connector-events.js';
import { ConnectorObservability, type ConnectorObservabilityProps } from './connector-observability.js';
import { ConnectorSecret, type ExistingSecret } from './connector-secret.js';
import { ConnectorWebhooks } from './connector-webhooks.js';
import { IdempotencyTable } from './idempotency-table.js';

/** Props of {@link ConnectorSuite}. */
export interface ConnectorSuiteProps {
  /**
   * The suite: its connectors, API and event bus settings, in the shape of `suite.config.ts`
   * (`SuiteConfigInput`). It is validated here with the same schema as the runtime's.
   * @throws ConfigValidationError naming each bad field (e.g. `connectors[0].baseUrl: must use https`)
   */
  readonly suite: SuiteConfigInput | SuiteConfig<AnyConnectorConfig>;
  /**
   * Connector kinds of your own (`connectorKind({ connector, entry })`), besides the built-in
   * `http`, `stripe`, `slack`, `github` and `twilio`: a connector entry of one of these kinds is
   * validated with the common fields and the kind's `settings` schema, and its function is bundled
   * from the kind's `entry`.
   * @default none: the built-in kinds only
   * @throws ConfigValidationError for a kind named twice or reusing a built-in kind's name
   */
  readonly kinds?: readonly ConnectorKind[];
  /**
   * The stage: log retention, removal policies and the table's deletion protection
   * (`dev`: one week, destroy, unprotected; `prod`: three months, retain, protected), the API's
   * stage name and the secrets' descriptions.
   * @default 'dev'
   */
  readonly stage?: Stage;
  /**
   * CloudWatch metrics namespace of every connector.
   * @default 'ConnectorSuite'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of every log group (functions and API access logs).
   * @default the stage's (`dev`: one week, `prod`: three months)
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the stateful resources (table, created secrets, queues, log groups) when they
   * leave the stack.
   * @default the stage's (`dev`: DESTROY, `prod`: RETAIN)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The bus request rules listen on and result events go to, instead of the one the suite's
   * `eventBus` setting names (a bus the construct creates, or the account's `default` bus).
   * @default per `suite.eventBus`
   */
  readonly existingEventBus?: IEventBus;
  /**
   * The idempotency table, instead of a new one. It must have the partition key `id` (string)
   * and TTL on `expiration`, as Powertools Idempotency writes them.
   * @default a new {@link IdempotencyTable}
   */
  readonly existingTable?: ITable;
  /**
   * Overrides of the idempotency table's props (when the construct creates it).
   * @default none
   */
  readonly tableProps?: Partial<TableProps>;
  /**
   * Secrets defined elsewhere in the app, by the `auth.secret` name the config uses; they take
   * precedence over `suite.secrets` imports and over creating a secret.
   * @default none
   */
  readonly existingSecrets?: Readonly<Record<string, ISecret>>;
  /**
   * Overrides of every connector function's props (see `ConnectorProps.functionProps`).
   * @default none
   */
  readonly functionProps?: Partial<NodejsFunctionProps>;
  /**
   * Overrides of the REST API's props (see `ConnectorApiProps.apiProps`).
   * @default none
   */
  readonly apiProps?: Partial<RestApiProps>;
  /**
   * Overrides of every connector's inbox queue props.
   * @default none
   */
  readonly inboxProps?: Partial<QueueProps>;
  /**
   * Overrides of every connector's dead-letter queue props.
   * @default none
   */
  readonly deadLetterQueueProps?: Partial<QueueProps>;
  /**
   * Run the functions with `--enable-source-maps` (see `ConnectorProps.enableSourceMaps`).
   * @default false
   */
  readonly enableSourceMaps?: boolean;
  /**
   * Add stack outputs: the API URL, the bus name, and per connector its function, inbox,
   * dead-letter queue and secret (the redrive CLI reads the queue ARNs from them).
   * @default true
   */
  readonly outputs?: boolean;
  /**
   * The suite's dashboard and alarms ({@link ConnectorObservability}): its options, or `false` for
   * none. What it watches (the connectors' functions and queues, the API, the metrics namespace)
   * and the alarm topic come from the suite.
   * @default a dashboard and every alarm at `ALARM_DEFAULTS`
   */
  readonly observability?:
    | Omit<
        ConnectorObservabilityProps,
        'connectors' | 'api' | 'apiStageName' | 'metricsNamespace' | 'alarmTopic' | 'webhookFunction'
      >
    | false;
  /**
   * An SNS topic every alarm of the suite notifies, on alarm and on OK (the dead-letter queues'
   * alarms included).
   * @default none: the alarms have no actions
   */
  readonly alarmTopic?: ITopic;
  /**
   * Options of the config schema (the local gateway's loopback `http://` base URLs).
   * @default {}
   */
  readonly configOptions?: ConfigSchemaOptions;
}

/**
 * A suite of connectors in any CDK app: one Lambda function per connector behind one REST API,
 * with its secret, its asynchronous path on EventBridge and SQS, and a shared idempotency table.
 *
 * @example
 * new ConnectorSuite(stack, 'Connectors', {
 *   suite: { connectors: [{ name: 'billing', kind: 'http', baseUrl: 'https://api.example.com',
 *     auth: { type: 'bearer', secret: 'billing' }, allowedPathPrefixes: ['/v1'] }] },
 * });
 */
export class ConnectorSuite extends Construct {
  /** The validated suite configuration. */
  readonly suite: SuiteConfig<AnyConnectorConfig>;
  /** The REST API. */
  readonly api: ConnectorApi;
  /** The idempotency table (created, or `existingTable`). */
  readonly table: ITable;
  /** The idempotency table construct, when the suite created the table. */
  readonly idempotencyTable: IdempotencyTable | undefined;
  /** Each connector, by name. */
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Each connector's asynchronous path (rule, queues, mapping, alarm), by name. */
  readonly connectorEvents: ReadonlyMap<string, ConnectorEvents>;
  /** Each secret, by its `auth.secret` name. */
  readonly secrets: ReadonlyMap<string, ConnectorSecret>;
  /** The bus request rules listen on and result events go to. */
  readonly eventBus: IEventBus;
  /** The dashboard and alarms, unless `observability: false`. */
  readonly observability: ConnectorObservability | undefined;
  /** The webhook route (`POST /v1/webhooks/{connector}`), when some connector has a `webhook`. */
  readonly webhooks: ConnectorWebhooks | undefined;

  constructor(scope: Construct, id: string, props: ConnectorSuiteProps) {
    super(scope, id);
    const registry = registeredKinds(props.kinds);
    this.suite = parseSuiteConfig(props.suite, `the suite of ${this.node.path}`, {
      ...props.configOptions,
      kinds: props.kinds ?? [],
    });
    const stage = props.stage ?? 'dev';
    const settings = STAGE_SETTINGS[stage];
    const removalPolicy = props.removalPolicy ?? settings.removalPolicy;
    const logRetention = props.logRetention ?? settings.logRetention;
    const metricsNamespace = props.metricsNamespace ?? 'ConnectorSuite';
    const outputs = props.outputs ?? true;

    if (props.existingTable) {
      this.table = props.existingTable;
      this.idempotencyTable = undefined;
    } else {
      this.idempotencyTable = new IdempotencyTable(this, 'Idempotency', {
        removalPolicy,
        deletionProtection: settings.deletionProtection,
        ...(props.tableProps ? { tableProps: props.tableProps } : {}),
      });
      this.table = this.idempotencyTable.table;
    }

    const secrets = new Map<string, ConnectorSecret>();
    const secretFor = (
      name: string,
      use: 'credentials' | 'webhookSigning' = 'credentials',
    ): ConnectorSecret => {
      const known = secrets.get(name);
      if (known) return known;
      const given = props.existingSecrets?.[name];
      const existing: ExistingSecret | undefined = given ? { secret: given } : this.suite.secrets[name];
      const secret = new ConnectorSecret(this, `Secret${resourceId(name)}`, {
        name,
        stage,
        removalPolicy,
        use,
        ...(existing ? { existing } : {}),
      });
      secrets.set(name, secret);
      return secret;
    };

    this.eventBus =
      props.existingEventBus ??
      (this.suite.eventBus === 'suite'
        ? new EventBus(this, 'Bus', {
            description: `Connector Suite (${stage}): connector invocation requests and their results`,
          })
        : EventBus.fromEventBusName(this, 'Bus', 'default'));
    if (outputs) {
      new CfnOutput(this, 'EventBusName', {
        description: `Bus to put '${INVOCATION_REQUESTED}' events on; result events arrive there too`,
        value: this.eventBus.eventBusName,
      });
    }

    const connectors = new Map<string, Connector>();
    const connectorEvents = new Map<string, ConnectorEvents>();
    const routes: ConnectorRoute[] = [];
    for (const config of this.suite.connectors) {
      const secretName = secretNameOf(config);
      const secret = secretName === undefined ? undefined : secretFor(secretName);
      const connector = new Connector(this, `Connector${resourceId(config.name)}`, {
        config,
        entry: connectorEntry(registry, config),
        idempotencyTable: this.table,
        ...(secret ? { secret: secret.secret, secretId: secret.secretId } : {}),
        metricsNamespace,
        logRetention,
        removalPolicy,
        ...(props.enableSourceMaps ? { enableSourceMaps: true } : {}),
        ...(props.functionProps ? { functionProps: props.functionProps } : {}),
      });
      connectors.set(config.name, connector);
      routes.push({ name: config.name, function: connector.function });
      const events = new ConnectorEvents(this, `Async${resourceId(config.name)}`, {
        connectorName: config.name,
        async: config.async,
        function: connector.function,
        eventBus: this.eventBus,
        removalPolicy,
        ...(props.inboxProps ? { inboxProps: props.inboxProps } : {}),
        ...(props.deadLetterQueueProps ? { deadLetterQueueProps: props.deadLetterQueueProps } : {}),
      });
      connectorEvents.set(config.name, events);
      if (outputs) this.#connectorOutputs(config.name, connector, events, secret);
    }
    this.connectors = connectors;
    this.connectorEvents = connectorEvents;
    this.secrets = secrets;

    this.api = new ConnectorApi(this, 'Api', {
      connectors: routes,
      stageName: stage,
      authorization: this.suite.api.authorization,
      throttlingRateLimit: this.suite.api.throttlingRateLimit,
      throttlingBurstLimit: this.suite.api.throttlingBurstLimit,
      logRetention,
      removalPolicy,
      ...(props.apiProps ? { apiProps: props.apiProps } : {}),
    });
    const webhookRoutes = this.suite.connectors.flatMap((config) => {
      const webhook = webhookOf(config);
      return webhook ? [{ connector: config.name, webhook }] : [];
    });
    this.webhooks =
      webhookRoutes.length === 0
        ? undefined
        : new ConnectorWebhooks(this, 'Webhooks', {
            routes: webhookRoutes,
            secrets: new Map(
              webhookRoutes.map(({ webhook }) => [
                webhook.secret,
                secretFor(webhook.secret, 'webhookSigning'),
              ]),
            ),
            api: this.api.api,
            idempotencyTable: this.table,
            eventBus: this.eventBus,
            metricsNamespace,
            logRetention,
            removalPolicy,
            ...(props.enableSourceMaps ? { enableSourceMaps: true } : {}),
          });
    if (outputs) {
      new CfnOutput(this, 'ApiUrl', {
        description: 'Base URL: POST {ApiUrl}v1/connectors/{connector}/{operation}',
        value: this.api.api.url,
      });
      for (const { connector, webhook } of webhookRoutes) {
        const id = resourceId(connector);
        new CfnOutput(this, `${id}WebhookUrl`, {
          description: `The URL to give the vendor for connector ${connector}'s webhooks`,
          value: `${this.api.api.url}v1/webhooks/${connector}`,
        });
        new CfnOutput(this, `${id}WebhookSigningSecret`, {
          description: `Signing secrets of connector ${connector}'s webhooks: aws secretsmanager put-secret-value --secret-id <this> --secret-string '{"signingSecret":"..."}'`,
          value: secretFor(webhook.secret).secret.secretName,
        });
      }
    }

    this.observability =
      props.observability === false
        ? undefined
        : new ConnectorObservability(this, 'Observability', {
            ...props.observability,
            connectors: [...connectors].map(([name, connector]) => {
              const { deadLetterQueue, inbox, deadLetterAlarm } = (
                connectorEvents.get(name) as ConnectorEvents
              ).queues;
              const config = this.suite.connectors.find((c) => c.name === name);
              const sharedState =
                config?.circuitBreaker.scope === 'shared' || config?.rateLimit.scope === 'shared';
              return {
                name,
                function: connector.function,
                deadLetterQueue,
                inbox,
                deadLetterAlarm,
                sharedState,
              };
            }),
            api: this.api.api,
            ...(this.webhooks ? { webhookFunction: this.webhooks.function } : {}),
            metricsNamespace,
            ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
          });
  }

  /** The outputs of one connector; the redrive CLI reads `<Name>DeadLetterQueueArn` and `<Name>InboxQueueArn`. */
  #connectorOutputs(
    name: string,
    connector: Connector,
    events: ConnectorEvents,
    secret: ConnectorSecret | undefined,
  ): void {
    const { inbox, deadLetterQueue } = events.queues;
    const id = resourceId(name);
    new CfnOutput(this, `${id}InboxQueueUrl`, {
      description: `Inbox of connector ${name}`,
      value: inbox.queueUrl,
    });
    new CfnOutput(this, `${id}InboxQueueArn`, {
      description: `Inbox of connector ${name} (ARN)`,
      value: inbox.queueArn,
    });
    new CfnOutput(this, `${id}DeadLetterQueueUrl`, {
      description: `Dead-letter queue of connector ${name}`,
      value: deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, `${id}DeadLetterQueueArn`, {
      description: `Dead-letter queue of connector ${name} (ARN): npm run redrive moves its messages back to the inbox`,
      value: deadLetterQueue.queueArn,
    });
    new CfnOutput(this, `${id}FunctionName`, {
      description: `Lambda function of connector ${name}`,
      value: connector.function.functionName,
    });
    if (secret) {
      new CfnOutput(this, `${id}SecretName`, {
        description: `Secret of connector ${name}: aws secretsmanager put-secret-value --secret-id <this>`,
        value: secret.secret.secretName,
      });
    }
  }
}
