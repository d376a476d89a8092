/**
 * `npm start`: the local gateway on 127.0.0.1:$PORT (default 3000), serving the connectors of
 * `SUITE_CONFIG` (default `suite.config.ts`) with credentials from `LOCAL_SECRETS_FILE` (default
 * `local/secrets.json`, else the committed example) and an embedded DynamoDB, and running their
 * asynchronous path (`POST /v1/events` into in-memory inboxes). With no settings, connectors whose
 * base URL is the public API a local stand-in covers call that stand-in (the sandbox,
 * `local/sandbox.ts`); a base-URL variable, `LIVE=1` or `--live` makes them call the real service.
 * The AWS endpoints (PutEvents, SQS, DynamoDB on `DYNAMODB_PORT`) are printed with an example
 * each. `npm start -- --help` lists the
 * options and variables. It prints one startup block (see `local/startup.ts`), reports the
 * connectors whose secret is missing before the first call, and exits 1 with a readable message,
 * never a stack trace, on a bad `PORT` or configuration. Ctrl-C (SIGINT) or SIGTERM stops it: it
 * refuses new work, lets the deliveries in flight finish (bounded), and keeps the queued messages,
 * dead letters and idempotency records in `.local/` for the next start (`--reset` starts clean).
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AwsEndpoints,
  checkSecrets,
  parsePort,
  parseStartArguments,
  START_HELP,
  StartupError,
  startupBlock,
} from './startup.js';

/** Prints `message` on stderr and exits 1: a person reads it, so no stack trace and no JSON. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

let port: number;
let reset = false;
try {
  const startArguments = parseStartArguments(process.argv.slice(2));
  if (startArguments.help) {
    process.stdout.write(START_HELP);
    process.exit(0);
  }
  reset = startArguments.reset;
  port = parsePort(process.env.PORT);
} catch (error) {
  if (error instanceof StartupError) fail(error.message);
  throw error;
}

// Local runs print logs, not EMF metric blobs, unless asked to.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { ConfigValidationError } = await import('../functions/shared/config.js');
const { loadSuiteConfig } = await import('../functions/shared/config-file.js');
const { LocalFileCredentialStore } = await import('../functions/shared/credentials/local-file.js');
const { createPowertools } = await import('../functions/shared/powertools.js');
const { startLocalGateway } = await import('./gateway.js');
const { startSandbox } = await import('./sandbox.js');
const { dynamoDBSettingsFromEnv } = await import('./dynamodb.js');

const logger = createPowertools({ serviceName: 'local-gateway' }).logger;
const here = path.dirname(fileURLToPath(import.meta.url));
/**
 * Where queued messages, dead letters and idempotency records outlive a restart: `LOCAL_STATE_DIR`,
 * else `.local/` at the project root (git-ignored).
 */
const stateDir = process.env.LOCAL_STATE_DIR?.trim()
  ? path.resolve(process.env.LOCAL_STATE_DIR.trim())
  : path.join(here, '..', '.local');
if (reset) {
  // Only what the gateway writes there: LOCAL_STATE_DIR may name a directory holding more.
  for (const entry of ['queues.json', 'dynamodb'])
    rmSync(path.join(stateDir, entry), { recursive: true, force: true });
  logger.info('Starting clean (--reset): deleted the kept state', { stateDir });
}

/** The secrets file: `LOCAL_SECRETS_FILE`, else `local/secrets.json`, else the committed example. */
function secretsFile(): { file: string; example: boolean } {
  if (process.env.LOCAL_SECRETS_FILE)
    return { file: path.resolve(process.env.LOCAL_SECRETS_FILE), example: false };
  const own = path.join(here, 'secrets.json');
  if (existsSync(own)) return { file: own, example: false };
  return { file: path.join(here, 'secrets.example.json'), example: true };
}

try {
  const dynamoDB = dynamoDBSettingsFromEnv();
  // Connectors without a base URL of their own (or LIVE=1) call local stand-ins (docs/local-mode.md#the-sandbox).
  const sandbox = await startSandbox(await loadSuiteConfig(undefined, { allowLoopbackHttp: true }));
  const { config } = sandbox;
  const secrets = secretsFile();
  const credentials = sandbox.credentials(new LocalFileCredentialStore(secrets.file));
  // Before the first call: a connector without its secret still starts (the others work without
  // it) and answers CONFIGURATION_ERROR naming the secret, so this warns rather than stops. Its own
  // store, so that the gateway's reads the file at the first call as before (an edit in between counts).
  const secretProblems = await checkSecrets(
    config,
    sandbox.credentials(new LocalFileCredentialStore(secrets.file)),
  );
  const gateway = await startLocalGateway({
    config,
    credentials,
    port,
    logger,
    stateDir,
    ...(dynamoDB.port === undefined ? {} : { dynamoDBPort: dynamoDB.port }),
    ...(dynamoDB.endpoint === undefined ? {} : { dynamoDBEndpoint: dynamoDB.endpoint }),
  });
  // Ctrl-C is handled before the block says the gateway is up, so a caller may send it at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`Stopping (${signal})`);
    gateway
      .close()
      .then(() => sandbox.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(
    startupBlock({
      url: gateway.url,
      config,
      // The AWS endpoints, once the gateway serves them.
      endpoints: (gateway as { endpoints?: AwsEndpoints }).endpoints,
      secrets,
      secretProblems,
      modes: sandbox.connectors,
    }),
  );
} catch (error) {
  if (error instanceof ConfigValidationError) fail(error.message);
  const { code, message } = error as NodeJS.ErrnoException;
  // The gateway's port, or the embedded DynamoDB's (the error carries the port it could not take).
  const taken = (error as { port?: number }).port;
  const variable = taken !== undefined && taken !== port ? 'DYNAMODB_PORT' : 'PORT';
  fail(
    `The local gateway could not start: ${code === 'EADDRINUSE' ? `port ${taken ?? port} is in use; set ${variable} (npm start -- --help)` : message}`,
  );
}
