/**
 * The local gateway as a library (`connector-suite/local`): serve a suite, with connector kinds of
 * your own, on 127.0.0.1 exactly as the deployed API would, from your own repository.
 *
 * @example
 * import { startLocalGateway } from 'connector-suite/local';
 * const gateway = await startLocalGateway({ suite, kinds: [weatherKind], port: 3000 });
 * // POST ${gateway.url}/v1/connectors/weather/forecast
 * await gateway.close();
 */
import path from 'node:path';
import { resolveOpenApiSpecs } from '../functions/openapi/description.js';
import {
  type AnyConnectorConfig,
  parseSuiteConfig,
  type SuiteConfig,
  type SuiteConfigInput,
} from '../functions/shared/config.js';
import { LocalFileCredentialStore } from '../functions/shared/credentials/local-file.js';
import type { CredentialStore } from '../functions/shared/credentials/store.js';
import type { ConnectorKind } from '../functions/shared/runtime/kind.js';
import { type LocalGateway, type LocalGatewayOptions, startLocalGateway as startGateway } from './gateway.js';

export { ConfigValidationError } from '../functions/shared/config.js';
export { loadSuiteConfig } from '../functions/shared/config-file.js';
export { LocalFileCredentialStore } from '../functions/shared/credentials/local-file.js';
export type { LocalDynamoDB } from './dynamodb.js';
export type { LocalGateway, LocalGatewayOptions } from './gateway.js';

/** The secrets file read when neither `credentials` nor `secretsFile` is given, relative to the working directory. */
export const DEFAULT_LOCAL_SECRETS_FILE = 'local/secrets.json';

/** Options of {@link startLocalGateway}. */
export interface StartLocalGatewayOptions
  extends Omit<LocalGatewayOptions, 'config' | 'credentials' | 'kinds'> {
  /**
   * The suite, as written in `suite.config.ts` (the same shape the `ConnectorSuite` construct
   * takes). It is validated here with `http://` allowed for loopback hosts only.
   */
  suite: SuiteConfigInput;
  /**
   * The connector kinds of your own that the suite's entries name (from `connectorKind`); the
   * built-in kinds are always served.
   * @default []
   */
  kinds?: readonly ConnectorKind[];
  /**
   * Where connectors read their secrets.
   * @default a {@link LocalFileCredentialStore} over `secretsFile`
   */
  credentials?: CredentialStore;
  /**
   * The local secrets file, `{"<secret name>": {"<field>": "..."}}`; keep it out of version control.
   * @default `process.env.LOCAL_SECRETS_FILE`, else {@link DEFAULT_LOCAL_SECRETS_FILE}
   */
  secretsFile?: string;
}

/**
 * Validates `suite` against the built-in kinds and `kinds` (an `openapi` entry's `spec` file read
 * relative to the working directory), then starts the local gateway: the
 * connector route, the asynchronous path (`POST /v1/events`, inboxes, dead letters, results) and an
 * embedded DynamoDB for idempotency. Close it with `close()`. As `npm start` does, it sets
 * `POWERTOOLS_METRICS_DISABLED=true` when that is unset (set it to `false` to see the EMF lines).
 * @throws ConfigValidationError naming every bad field (an unregistered kind names the kinds known)
 * @throws the listen error (e.g. `EADDRINUSE`) when the port is taken
 */
export async function startLocalGateway(options: StartLocalGatewayOptions): Promise<LocalGateway> {
  const { suite, kinds = [], credentials, secretsFile, ...rest } = options;
  // As under `npm start`: logs, not EMF metric blobs, unless the caller asked for them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // An `openapi` entry's description file is read here, relative to the working directory.
  const resolved = await resolveOpenApiSpecs(suite, process.cwd());
  const config: SuiteConfig<AnyConnectorConfig> = parseSuiteConfig(resolved, 'the local suite', {
    allowLoopbackHttp: true,
    kinds,
  });
  const file = secretsFile ?? (process.env.LOCAL_SECRETS_FILE || DEFAULT_LOCAL_SECRETS_FILE);
  return startGateway({
    ...rest,
    config,
    kinds,
    credentials: credentials ?? new LocalFileCredentialStore(path.resolve(file)),
  });
}
