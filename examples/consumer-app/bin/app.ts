/**
 * A CDK app of your own that adds the connector suite to its stack: one `http` connector to a REST
 * API, and (once wired, see the TODO) `weather`, a connector kind defined in this app
 * (`connectors/weather/`). `cdk.json` runs it with tsx; `npx cdk synth` needs no AWS credentials.
 */
import { App, Stack } from 'aws-cdk-lib';
import { ConnectorSuite } from 'connector-suite/cdk';

const app = new App();
const stack = new Stack(app, 'ConsumerApp', {
  description: 'Example consumer of connector-suite: an http connector and a kind of its own',
});

// TODO(issue 10, custom kinds): when `connectorKind` and the `kinds` prop of `ConnectorSuite` are
// released, import { weatherKind } from '../connectors/weather/kind.js', add the entry
//   { name: 'weather', kind: 'weather', baseUrl: 'https://api.weather.example',
//     auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'weather' },
//     settings: { units: 'metric' } }
// to `suite.connectors` and pass `kinds: [weatherKind]`.
new ConnectorSuite(stack, 'Connectors', {
  suite: {
    connectors: [
      {
        name: 'billing-api',
        kind: 'http',
        baseUrl: 'https://api.example.com',
        auth: { type: 'bearer', secret: 'billing-api' },
        allowedPathPrefixes: ['/v1'],
      },
    ],
  },
});

app.synth();
