/**
 * The CDK app (`cdk.json` runs it with tsx): loads and validates the suite configuration
 * (`SUITE_CONFIG`, default `suite.config.ts`), builds one stack for the `stage` context value
 * (`-c stage=dev|prod`, default `dev`), and runs the cdk-nag AWS Solutions and Serverless checks on
 * every synth. Synth needs no AWS credentials and no network.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigValidationError } from '../functions/shared/config.js';
import { loadSuiteConfig } from '../functions/shared/config-file.js';
import { ConnectorSuiteStack } from '../lib/connector-suite-stack.js';
import { parseStage, StageContextError } from '../lib/stage.js';

const app = new App();
try {
  const stage = parseStage(app.node.tryGetContext('stage'));
  const suite = await loadSuiteConfig();
  new ConnectorSuiteStack(app, `ConnectorSuite-${stage}`, {
    suite,
    stage,
    description: `Connector Suite (${stage}): connectors to third-party APIs`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigValidationError || error instanceof StageContextError)) throw error;
  console.error(error.message);
  process.exit(1);
}
