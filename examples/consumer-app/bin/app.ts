/**
 * A CDK app of your own that adds the connector suite to its stack: one `http` connector to a REST
 * API, and `weather`, a connector kind defined in this app (`connectors/weather/`). `cdk.json` runs
 * it with tsx; `npx cdk synth` needs no AWS credentials.
 */
import { App, Stack } from 'aws-cdk-lib';
import { ConnectorSuite } from 'connector-suite/cdk';
import { weatherKind } from '../connectors/weather/kind.js';
import { suite } from '../suite.js';

const app = new App();
const stack = new Stack(app, 'ConsumerApp', {
  description: 'Example consumer of connector-suite: an http connector and a kind of its own',
});

new ConnectorSuite(stack, 'Connectors', { suite: suite(), kinds: [weatherKind] });

app.synth();
