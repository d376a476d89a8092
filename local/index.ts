/**
 * `connector-suite/local`: the local gateway as a library, for a repository of your own. It serves
 * a suite's connectors on 127.0.0.1 exactly as API Gateway and Lambda would (docs/design.md §7),
 * with idempotency in an embedded DynamoDB and credentials from a local JSON file. This
 * repository's `npm start` (`local/server.ts`) is built on these exports.
 *
 * @example
 * const suite = await loadSuiteConfig('suite.config.ts', { allowLoopbackHttp: true });
 * const gateway = await startLocalGateway({
 *   config: suite,
 *   credentials: new LocalFileCredentialStore('local/secrets.json'),
 *   port: 3000,
 * });
 */
export { ConfigValidationError } from '../functions/shared/config.js';
export { loadSuiteConfig } from '../functions/shared/config-file.js';
export { LocalFileCredentialStore } from '../functions/shared/credentials/local-file.js';
export { type LocalGateway, type LocalGatewayOptions, startLocalGateway } from './gateway.js';
