/**
 * The suite of this app, shared by the CDK app (`bin/app.ts`) and the local gateway
 * (`scripts/try-local.ts`): one `http` connector, one connector of the app's own `weather` kind,
 * and `status`, an `openapi` connector built from the API description
 * `connectors/status/status.openapi.json` (its path relative to this app's root).
 */
import type { SuiteConfigInput } from 'connector-suite/cdk';

/**
 * The suite; `weatherBaseUrl` is where the `weather` connector calls (an https URL when deployed,
 * a loopback `http://` one for the local gateway).
 */
export function suite(weatherBaseUrl = 'https://api.weather.example'): SuiteConfigInput {
  return {
    connectors: [
      {
        name: 'billing-api',
        kind: 'http',
        baseUrl: 'https://api.example.com',
        auth: { type: 'bearer', secret: 'billing-api' },
        allowedPathPrefixes: ['/v1'],
      },
      {
        name: 'weather',
        kind: 'weather',
        baseUrl: weatherBaseUrl,
        auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'weather' },
        settings: { units: 'metric' },
      },
      {
        name: 'status',
        kind: 'openapi',
        spec: 'connectors/status/status.openapi.json',
        operations: ['getComponent', 'createIncident'],
        auth: { type: 'bearer', secret: 'status' },
      },
    ],
  } as SuiteConfigInput;
}
