/**
 * `npm start`: the local gateway on 127.0.0.1:$PORT (default 3000), serving the connectors of
 * `SUITE_CONFIG` (default `suite.config.ts`) with credentials from `LOCAL_SECRETS_FILE` (default
 * `local/secrets.json`, else the committed example) and an embedded DynamoDB, and running their
 * asynchronous path (`POST /v1/events` into in-memory inboxes). Ctrl-C stops it, after the batches
 * still running.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Local runs print logs, not EMF metric blobs, unless asked to.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { ConfigValidationError } = await import('../functions/shared/config.js');
const { loadSuiteConfig } = await import('../functions/shared/config-file.js');
const { LocalFileCredentialStore } = await import('../functions/shared/credentials/local-file.js');
const { createPowertools } = await import('../functions/shared/powertools.js');
const { startLocalGateway } = await import('./gateway.js');
const { startSandbox } = await import('./sandbox.js');

const logger = createPowertools({ serviceName: 'local-gateway' }).logger;
const here = path.dirname(fileURLToPath(import.meta.url));

/** The secrets file: `LOCAL_SECRETS_FILE`, else `local/secrets.json`, else the committed example. */
function secretsFile(): string {
  if (process.env.LOCAL_SECRETS_FILE) return process.env.LOCAL_SECRETS_FILE;
  const own = path.join(here, 'secrets.json');
  if (existsSync(own)) return own;
  logger.warn(
    'local/secrets.json not found: using local/secrets.example.json; copy it to local/secrets.json to use your own.',
  );
  return path.join(here, 'secrets.example.json');
}

try {
  // Connectors without a base URL of their own (or LIVE=1) call local stand-ins (docs/local-mode.md#the-sandbox).
  const sandbox = await startSandbox(await loadSuiteConfig(undefined, { allowLoopbackHttp: true }));
  const { config } = sandbox;
  const port = Number(process.env.PORT ?? 3000);
  const gateway = await startLocalGateway({
    config,
    credentials: sandbox.credentials(new LocalFileCredentialStore(secretsFile())),
    port,
    logger,
  });
  logger.info(`Connector Suite local gateway listening on ${gateway.url}`, {
    url: gateway.url,
    connectors: config.connectors.map((c) => ({
      name: c.name,
      kind: c.kind,
      baseUrl: c.baseUrl,
      route: `POST ${gateway.url}/v1/connectors/${c.name}/{operation}`,
    })),
    events: {
      publish: `POST ${gateway.url}/v1/events`,
      queue: `GET ${gateway.url}/v1/queue`,
      deadLetters: `GET ${gateway.url}/v1/dead-letters`,
      redrive: `POST ${gateway.url}/v1/dead-letters/redrive[?connector=NAME]`,
      results: `GET ${gateway.url}/v1/results[?connector=NAME]`,
    },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`Stopping (${signal})`);
    // The stand-ins after the gateway, so the deliveries it lets finish can still reach them.
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
} catch (error) {
  if (error instanceof ConfigValidationError) {
    logger.error(error.message, { issues: error.issues });
  } else {
    const { code, message } = error as NodeJS.ErrnoException;
    logger.error(
      `The local gateway could not start: ${code === 'EADDRINUSE' ? `port ${process.env.PORT ?? 3000} is in use; set PORT` : message}`,
    );
  }
  process.exit(1);
}
