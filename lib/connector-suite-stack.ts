/**
 * This repository's reference deployment: one stack holding a {@link ConnectorSuite} built from
 * `suite.config.ts` (or `SUITE_CONFIG`), tagged with the project and the stage.
 */
import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { SuiteConfig } from '../functions/shared/config.js';
import type { Connector } from './constructs/connector.js';
import type { ConnectorApi } from './constructs/connector-api.js';
import type { ConnectorEvents } from './constructs/connector-events.js';
import { ConnectorSuite, type ConnectorSuiteProps } from './constructs/connector-suite.js';
import type { Stage } from './stage.js';

/** Props of {@link ConnectorSuiteStack}. */
export interface ConnectorSuiteStackProps extends StackProps, Omit<ConnectorSuiteProps, 'suite' | 'stage'> {
  /** The validated suite configuration (`suite.config.ts` or `SUITE_CONFIG`). */
  readonly suite: SuiteConfig;
  /**
   * Deployment stage: the API stage name, tags, log retention and removal policies.
   * @default 'dev'
   */
  readonly stage?: Stage;
}

/**
 * One stack for every connector of the suite. No physical names, so stages deploy side by side.
 * The suite construct's id is `Default`, which CDK leaves out of logical ids: the resources keep
 * the logical ids they had when this stack built them itself, so existing deployments update in
 * place.
 */
export class ConnectorSuiteStack extends Stack {
  /** The suite. */
  readonly suite: ConnectorSuite;
  /** The REST API. */
  readonly api: ConnectorApi;
  /** Each connector, by name. */
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Each connector's asynchronous path (rule, queues, mapping, alarm), by name. */
  readonly connectorEvents: ReadonlyMap<string, ConnectorEvents>;
  /** The bus request rules listen on and result events go to. */
  readonly eventBus: IEventBus;

  constructor(scope: Construct, id: string, props: ConnectorSuiteStackProps) {
    super(scope, id, props);
    const stage = props.stage ?? 'dev';
    Tags.of(this).add('project', 'connector-suite');
    Tags.of(this).add('stage', stage);
    this.suite = new ConnectorSuite(this, 'Default', { ...props, suite: props.suite, stage });
    this.api = this.suite.api;
    this.connectors = this.suite.connectors;
    this.connectorEvents = this.suite.connectorEvents;
    this.eventBus = this.suite.eventBus;
  }
}
