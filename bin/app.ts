/**
 * The CDK app (`cdk.json` runs it with tsx): loads and validates the suite configuration, then
 * builds one stack. Synth needs no AWS credentials and no network.
 */
import { App } from 'aws-cdk-lib';
import { ConfigValidationError } from '../functions/shared/config.js';
import { loadSuiteConfig } from '../functions/shared/config-file.js';
import { ConnectorSuiteStack } from '../lib/connector-suite-stack.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
try {
  const suite = await loadSuiteConfig();
  new ConnectorSuiteStack(app, `ConnectorSuite-${stage}`, { suite, stage });
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigValidationError)) throw error;
  console.error(error.message);
  process.exit(1);
}
