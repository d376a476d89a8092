/**
 * The Connector Suite stack: for every connector of the suite, its function, secret, route, and
 * asynchronous path (request rule, inbox, dead-letter queue, event source mapping, alarm); one
 * idempotency table, one REST API and one event bus for them all.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { resourceId, type SuiteConfig, secretNameOf } from '../functions/shared/config.js';
import { INVOCATION_REQUESTED } from '../functions/shared/runtime/async-contract.js';
import { handlerEntry, PROJECT_ROOT } from './connector-kinds.js';
import { Connector } from './constructs/connector.js';
import { ConnectorApi, type ConnectorRoute } from './constructs/connector-api.js';
import { ConnectorEvents } from './constructs/connector-events.js';
import { ConnectorSecret } from './constructs/connector-secret.js';
import { IdempotencyTable } from './constructs/idempotency-table.js';
import { STAGE_SETTINGS, type Stage } from './stage.js';

/** Props of {@link ConnectorSuiteStack}. */
export interface ConnectorSuiteStackProps extends StackProps {
  /** The validated suite configuration (`suite.config.ts` or `SUITE_CONFIG`). */
  readonly suite: SuiteConfig;
  /**
   * Deployment stage: the API stage name, tags, log retention and removal policies.
   * @default 'dev'
   */
  readonly stage?: Stage;
  /**
   * CloudWatch metrics namespace of every connector.
   * @default 'ConnectorSuite'
   */
  readonly metricsNamespace?: string;
}

/** One stack for every connector of the suite. No physical names, so stages deploy side by side. */
export class ConnectorSuiteStack extends Stack {
  /** The REST API. */
  readonly api: ConnectorApi;
  /** The idempotency table. */
  readonly idempotencyTable: IdempotencyTable;
  /** Each connector, by name. */
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Each connector's asynchronous path (rule, queues, mapping, alarm), by name. */
  readonly connectorEvents: ReadonlyMap<string, ConnectorEvents>;
  /**
   * The bus request rules listen on and result events go to: one the stack creates (`eventBus:
   * 'suite'`, the default) or the account's `default` bus.
   */
  readonly eventBus: IEventBus;

  constructor(scope: Construct, id: string, props: ConnectorSuiteStackProps) {
    super(scope, id, props);
    const stage = props.stage ?? 'dev';
    const settings = STAGE_SETTINGS[stage];
    Tags.of(this).add('project', 'connector-suite');
    Tags.of(this).add('stage', stage);

    this.idempotencyTable = new IdempotencyTable(this, 'Idempotency', {
      removalPolicy: settings.removalPolicy,
      deletionProtection: settings.deletionProtection,
    });

    const secrets = new Map<string, ConnectorSecret>();
    const secretFor = (name: string): ConnectorSecret => {
      const known = secrets.get(name);
      if (known) return known;
      const existing = props.suite.secrets[name];
      const secret = new ConnectorSecret(this, `Secret${resourceId(name)}`, {
        name,
        stage,
        removalPolicy: settings.removalPolicy,
        ...(existing ? { existing } : {}),
      });
      secrets.set(name, secret);
      return secret;
    };

    this.eventBus =
      props.suite.eventBus === 'suite'
        ? new EventBus(this, 'Bus', {
            description: `Connector Suite (${stage}): connector invocation requests and their results`,
          })
        : EventBus.fromEventBusName(this, 'Bus', 'default');
    new CfnOutput(this, 'EventBusName', {
      description: `Bus to put '${INVOCATION_REQUESTED}' events on; result events arrive there too`,
      value: this.eventBus.eventBusName,
    });

    const connectors = new Map<string, Connector>();
    const connectorEvents = new Map<string, ConnectorEvents>();
    const routes: ConnectorRoute[] = [];
    for (const config of props.suite.connectors) {
      const secretName = secretNameOf(config);
      const secret = secretName === undefined ? undefined : secretFor(secretName);
      const connector = new Connector(this, `Connector${resourceId(config.name)}`, {
        config,
        entry: handlerEntry(config.kind),
        projectRoot: PROJECT_ROOT,
        idempotencyTable: this.idempotencyTable.table,
        ...(secret ? { secret: secret.secret, secretId: secret.secretId } : {}),
        metricsNamespace: props.metricsNamespace ?? 'ConnectorSuite',
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
      });
      connectors.set(config.name, connector);
      routes.push({ name: config.name, function: connector.function });
      const events = new ConnectorEvents(this, `Async${resourceId(config.name)}`, {
        connectorName: config.name,
        async: config.async,
        function: connector.function,
        eventBus: this.eventBus,
        removalPolicy: settings.removalPolicy,
      });
      connectorEvents.set(config.name, events);
      const { inbox, deadLetterQueue } = events.queues;
      // The redrive CLI reads <Name>DeadLetterQueueArn and <Name>InboxQueueArn of ConnectorSuite-{stage}.
      new CfnOutput(this, `${resourceId(config.name)}InboxQueueUrl`, {
        description: `Inbox of connector ${config.name}`,
        value: inbox.queueUrl,
      });
      new CfnOutput(this, `${resourceId(config.name)}InboxQueueArn`, {
        description: `Inbox of connector ${config.name} (ARN)`,
        value: inbox.queueArn,
      });
      new CfnOutput(this, `${resourceId(config.name)}DeadLetterQueueUrl`, {
        description: `Dead-letter queue of connector ${config.name}`,
        value: deadLetterQueue.queueUrl,
      });
      new CfnOutput(this, `${resourceId(config.name)}DeadLetterQueueArn`, {
        description: `Dead-letter queue of connector ${config.name} (ARN): npm run redrive moves its messages back to the inbox`,
        value: deadLetterQueue.queueArn,
      });
      new CfnOutput(this, `${resourceId(config.name)}FunctionName`, {
        description: `Lambda function of connector ${config.name}`,
        value: connector.function.functionName,
      });
      if (secret) {
        new CfnOutput(this, `${resourceId(config.name)}SecretName`, {
          description: `Secret of connector ${config.name}: aws secretsmanager put-secret-value --secret-id <this>`,
          value: secret.secret.secretName,
        });
      }
    }
    this.connectors = connectors;
    this.connectorEvents = connectorEvents;

    this.api = new ConnectorApi(this, 'Api', {
      connectors: routes,
      stageName: stage,
      authorization: props.suite.api.authorization,
      throttlingRateLimit: props.suite.api.throttlingRateLimit,
      throttlingBurstLimit: props.suite.api.throttlingBurstLimit,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL: POST {ApiUrl}v1/connectors/{connector}/{operation}',
      value: this.api.api.url,
    });
  }
}
