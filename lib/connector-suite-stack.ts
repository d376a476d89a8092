/**
 * The Connector Suite stack: for every connector of the suite, its function, secret and route;
 * one idempotency table and one REST API for them all.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { resourceId, type SuiteConfig } from '../functions/shared/config.js';
import { handlerEntry, PROJECT_ROOT } from './connector-kinds.js';
import { Connector } from './constructs/connector.js';
import { ConnectorApi, type ConnectorRoute } from './constructs/connector-api.js';
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

    const connectors = new Map<string, Connector>();
    const routes: ConnectorRoute[] = [];
    for (const config of props.suite.connectors) {
      const secret = config.auth.type === 'none' ? undefined : secretFor(config.auth.secret);
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
