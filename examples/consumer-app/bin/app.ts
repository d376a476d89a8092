/**
 * A CDK app of your own that adds the connector suite to its stack: one `http` connector to a REST
 * API, `weather`, a connector kind defined in this app (`connectors/weather/`), and `status`, an
 * `openapi` connector whose description `resolveOpenApiSpecs` reads (relative to the app's root)
 * before the construct validates the suite. `cdk.json` runs it with tsx; `npx cdk synth` needs no
 * AWS credentials.
 */
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { ConnectorSuite, resolveOpenApiSpecs } from 'connector-suite/cdk';
import { weatherKind } from '../connectors/weather/kind.js';
import { suite } from '../suite.js';

const app = new App();
const stack = new Stack(app, 'ConsumerApp', {
  description:
    'Example consumer of connector-suite: an http connector, a kind of its own, an openapi connector',
});

new ConnectorSuite(stack, 'Connectors', {
  suite: await resolveOpenApiSpecs(suite(), path.join(import.meta.dirname, '..')),
  kinds: [weatherKind],
});

app.synth();
