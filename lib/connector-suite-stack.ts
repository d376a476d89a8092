/**
 * The Connector Suite stack. This first version validates the suite at synth; the resources
 * (REST API, one function per connector, secrets, idempotency table) are built by the deploy issue.
 */
import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { SuiteConfig } from '../functions/shared/config.js';

/** Props of {@link ConnectorSuiteStack}. */
export interface ConnectorSuiteStackProps extends StackProps {
  /** The validated suite configuration (`suite.config.ts` or `SUITE_CONFIG`). */
  readonly suite: SuiteConfig;
  /**
   * Deployment stage, part of the stack name and tags.
   * @default 'dev'
   */
  readonly stage?: string;
}

/** One stack for every connector of the suite. */
export class ConnectorSuiteStack extends Stack {
  /** The suite this stack was built from. */
  readonly suite: SuiteConfig;

  constructor(scope: Construct, id: string, props: ConnectorSuiteStackProps) {
    super(scope, id, props);
    this.suite = props.suite;
    Tags.of(this).add('project', 'connector-suite');
    Tags.of(this).add('stage', props.stage ?? 'dev');
  }
}
