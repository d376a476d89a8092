/**
 * What `npm start` says before and as it starts: its `--help`, the checks of `PORT` and of the
 * connectors' secrets, and the startup block (the gateway URL, each connector's route, kind and
 * base URL, the asynchronous path's routes and the AWS endpoints). Pure functions over the config
 * and the credential store, so that they are tested without starting a process.
 */
import type { AnyConnectorConfig, SuiteConfig, VendorKind } from '../functions/shared/config.js';
import { isVendorConnector, secretNameOf, webhookOf } from '../functions/shared/config.js';
import type { CredentialStore } from '../functions/shared/credentials/store.js';

/** A startup problem that `npm start` prints as it is (no stack trace) before exiting 1. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The port used when `PORT` is unset or empty. */
export const DEFAULT_PORT = 3000;

/** `npm start -- --help`. */
export const START_HELP = `Usage: npm start [-- --help] [-- --reset]

Starts the local gateway on 127.0.0.1: the connectors of the suite file, their asynchronous path
(POST /v1/events into local inboxes) and an embedded DynamoDB for idempotency. Ctrl-C stops it.

Options:
  -h, --help            print this help and exit
  --live                every connector calls its real service, none a local stand-in (as LIVE=1)
  --reset               start clean: delete the state directory (the queued messages, dead letters
                        and idempotency records kept from the last run)

Environment variables:
  PORT                  port of the gateway, an integer from 0 to 65535 (0 picks a free one); default ${DEFAULT_PORT}
  SUITE_CONFIG          the suite file (.ts, .js or .json); default suite.config.ts
  LOCAL_SECRETS_FILE    the secrets, {"<secret name>": {"<field>": "..."}}; default local/secrets.json,
                        else the committed local/secrets.example.json
  HTTPBIN_URL           base URL of the default httpbin connector; set, the connector is live;
                        unset, it calls the local echo service (the sandbox)
  STRIPE_BASE_URL, SLACK_BASE_URL, GITHUB_BASE_URL, TWILIO_BASE_URL
                        base URL of the default vendor connectors; set, the connector is live;
                        unset, it calls the vendor's local stand-in (the sandbox)
  LIVE                  1 or true: every connector calls its real service (as --live)
  DYNAMODB_PORT         port of the embedded DynamoDB; default 8000 (0 picks a free one)
  DYNAMODB_ENDPOINT     an existing DynamoDB endpoint to use instead (DynamoDB Local, dynalite)
  LOCAL_STATE_DIR       where queued messages, dead letters and idempotency records are kept
                        across restarts; default .local/ at the project root
  POWERTOOLS_METRICS_DISABLED
                        set false to print the EMF metric lines; default true under npm start
  POWERTOOLS_LOG_LEVEL  DEBUG, INFO, WARN or ERROR; default INFO

More: docs/local-mode.md.
`;

/** What the command line asks for. */
export interface StartArguments {
  /** `--help` or `-h`: print {@link START_HELP} and exit 0. */
  help: boolean;
  /** `--reset`: delete the kept state (`.local/`) before starting. */
  reset: boolean;
}

/**
 * Reads `npm start`'s arguments (those after `--`).
 * @param argv - the arguments, without the node and script paths
 * @throws {@link StartupError} naming an option it does not know
 */
export function parseStartArguments(argv: readonly string[]): StartArguments {
  let help = false;
  let reset = false;
  for (const argument of argv) {
    if (argument === '--help' || argument === '-h') help = true;
    else if (argument === '--reset') reset = true;
    else if (argument === '--live')
      continue; // read by the sandbox (local/sandbox.ts)
    else throw new StartupError(`Unknown option '${argument}'; npm start -- --help lists the options.`);
  }
  return { help, reset };
}

/**
 * Reads `PORT`.
 * @param value - the variable's value; unset or empty means {@link DEFAULT_PORT}
 * @returns the port, an integer from 0 to 65535 (0: a free port)
 * @throws {@link StartupError} naming `PORT` and its value when it is anything else
 */
export function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const text = value.trim();
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535) {
    throw new StartupError(
      `PORT must be an integer from 0 to 65535 (0 picks a free port), not ${JSON.stringify(value)}.`,
    );
  }
  return port;
}

/**
 * The fields of each vendor's secret, as its `defineVendor({ secret })` schema reads them
 * (`functions/<vendor>/connector.ts`), with a hint of each value's form. The unit tests check them
 * against the schemas.
 */
export const VENDOR_SECRET_SHAPES: { readonly [K in VendorKind]: Readonly<Record<string, string>> } = {
  stripe: { apiKey: 'sk_test_...' },
  slack: { token: 'xoxb-...' },
  github: { token: '...' },
  twilio: { accountSid: 'AC...', authToken: '...' },
};

/** The field a webhook's secret must hold (`previousSigningSecret` is optional). */
export const WEBHOOK_SECRET_SHAPE: Readonly<Record<string, string>> = { signingSecret: '...' };

/** The fields each `auth.type` of an `http` connector reads (`functions/shared/auth/index.ts`). */
const AUTH_SECRET_SHAPES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  apiKey: { apiKey: '...' },
  bearer: { token: '...' },
  basic: { username: '...', password: '...' },
  oauth2ClientCredentials: { clientId: '...', clientSecret: '...' },
  hmac: { signingSecret: '...' },
  mtls: { certificate: '<PEM certificate>', privateKey: '<PEM private key>' },
};

/**
 * The fields a connector's secret must hold, each with a hint of its form, e.g. `{token: '...'}`
 * for a bearer `http` connector; `undefined` for a connector without a secret (`auth.type: none`)
 * or of a kind it does not know.
 */
export function secretShapeOf(config: AnyConnectorConfig): Readonly<Record<string, string>> | undefined {
  if (isVendorConnector(config)) return VENDOR_SECRET_SHAPES[config.kind];
  if (config.kind !== 'http' || !('auth' in config)) return undefined;
  const auth = config.auth as { type: string };
  return AUTH_SECRET_SHAPES[auth.type];
}

/** A shape as the secrets file holds it: `{"token": "..."}`. */
export function formatSecretShape(shape: Readonly<Record<string, string>>): string {
  return `{${Object.entries(shape)
    .map(([field, hint]) => `${JSON.stringify(field)}: ${JSON.stringify(hint)}`)
    .join(', ')}}`;
}

/** A connector whose secret is missing, unreadable or lacks a field. */
export interface SecretProblem {
  /** The connector's name. */
  connector: string;
  /** The secret's name. */
  secret: string;
  /** What is wrong, from the credential store or the field check; never a value. */
  reason: string;
  /** The shape the secret must have, `{"token": "..."}`, when the kind is known. */
  expected?: string;
}

/**
 * Reads each connector's secret (and its webhook's, docs/webhooks.md) once, as its first call
 * would, and lists the connectors that would answer `CONFIGURATION_ERROR` for want of it: a secret missing from the store (or a store that
 * cannot be read), or one without a non-empty string for a field its kind reads. Reads no value
 * into its result.
 * @param config - the validated suite
 * @param credentials - where the connectors read their secrets
 * @returns the problems, in the order of the connectors; empty when every secret is there
 */
export async function checkSecrets(
  config: SuiteConfig<AnyConnectorConfig>,
  credentials: CredentialStore,
): Promise<SecretProblem[]> {
  const problems: SecretProblem[] = [];
  // Each connector's own secret, then its webhook's signing secrets (docs/webhooks.md).
  const wanted = config.connectors.flatMap((connector) => {
    const secret = secretNameOf(connector);
    const webhook = webhookOf(connector);
    return [
      ...(secret === undefined ? [] : [{ connector, secret, shape: secretShapeOf(connector) }]),
      ...(webhook === undefined ? [] : [{ connector, secret: webhook.secret, shape: WEBHOOK_SECRET_SHAPE }]),
    ];
  });
  for (const { connector, secret, shape } of wanted) {
    const expected = shape === undefined ? {} : { expected: formatSecretShape(shape) };
    let value: Readonly<Record<string, unknown>>;
    try {
      value = await credentials.getSecret(secret);
    } catch (error) {
      problems.push({ connector: connector.name, secret, reason: (error as Error).message, ...expected });
      continue;
    }
    const lacking = Object.keys(shape ?? {}).filter((field) => {
      const fieldValue = value[field];
      return typeof fieldValue !== 'string' || fieldValue.trim() === '';
    });
    if (lacking.length > 0) {
      const fields = lacking.map((f) => `'${f}'`).join(', ');
      problems.push({
        connector: connector.name,
        secret,
        reason: `Secret '${secret}' has no non-empty string field ${fields}.`,
        ...expected,
      });
    }
  }
  return problems;
}

/** AWS endpoints the gateway serves, when it serves them. */
export interface AwsEndpoints {
  /** EventBridge `PutEvents`. */
  eventBridge?: string;
  /** SQS, for the inboxes and dead-letter queues. */
  sqs?: string;
  /** DynamoDB, for the idempotency records. */
  dynamoDB?: string;
}

/** What the startup block shows. */
export interface StartupInfo {
  /** The gateway's URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** The validated suite. */
  config: SuiteConfig<AnyConnectorConfig>;
  /** The AWS endpoints, each printed with an `aws ... --endpoint-url` example; @default none */
  endpoints?: AwsEndpoints | undefined;
  /** The secrets file the connectors read, and whether it is the committed example. */
  secrets?: { file: string; example: boolean } | undefined;
  /** From {@link checkSecrets}; @default none */
  secretProblems?: readonly SecretProblem[] | undefined;
  /** Each connector's mode (sandbox or live) and how to go live, from the sandbox; @default none */
  modes?: ReadonlyArray<{
    name: string;
    mode: string;
    standIn?: string | undefined;
    goLive?: string | undefined;
  }>;
}

/** Lines of `[label, text]` with the labels padded to one width. */
function table(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `${indent}${label.padEnd(width)}  ${text}`.trimEnd());
}

/**
 * The startup block: plain lines, the first `Connector Suite local gateway listening on <url>`.
 * Sections: connectors (route, kind, base URL), the asynchronous path's routes, the AWS endpoints
 * present in `endpoints` (none, and no heading, when it is empty), the secrets file, and the
 * connectors whose secret is missing with the shape it must have.
 */
export function startupBlock(info: StartupInfo): string {
  const { url, config } = info;
  const lines = [`Connector Suite local gateway listening on ${url}`, '', 'Connectors:'];
  lines.push(
    ...table(
      config.connectors.map((c) => [
        c.name,
        `POST ${url}/v1/connectors/${c.name}/{operation}  (${c.kind}, ${'baseUrl' in c ? String(c.baseUrl) : 'no base URL'})`,
      ]),
    ),
  );
  const modes = info.modes ?? [];
  if (modes.length > 0) {
    lines.push('', 'Modes (sandbox: a local stand-in answers; live: the real service):');
    lines.push(
      ...table(
        modes.map((m) => [
          m.name,
          m.mode === 'sandbox'
            ? `sandbox (${m.standIn ?? 'stand-in'})${m.goLive ? `; to go live: ${m.goLive}` : ''}`
            : 'live',
        ]),
      ),
    );
  }
  lines.push('', 'Asynchronous path:');
  lines.push(
    ...table([
      ['publish', `POST ${url}/v1/events`],
      ['queue', `GET  ${url}/v1/queue`],
      ['results', `GET  ${url}/v1/results[?connector=NAME]`],
      ['dead letters', `GET  ${url}/v1/dead-letters[?connector=NAME]`],
      ['redrive', `POST ${url}/v1/dead-letters/redrive[?connector=NAME]`],
    ]),
  );
  const webhooks = config.connectors.flatMap((c) => {
    const webhook = webhookOf(c);
    return webhook ? [[c.name, `POST ${url}/v1/webhooks/${c.name}  (${webhook.scheme})`] as const] : [];
  });
  if (webhooks.length > 0) {
    lines.push('', 'Webhooks (docs/webhooks.md):');
    lines.push(...table([...webhooks, ['received', `GET  ${url}/v1/webhooks[?connector=NAME]`]]));
  }
  const endpoints = info.endpoints ?? {};
  const aws: Array<readonly [string, string]> = [];
  if (endpoints.eventBridge) {
    aws.push(['EventBridge', endpoints.eventBridge]);
    aws.push([
      '',
      `aws events put-events --endpoint-url ${endpoints.eventBridge} --entries file://entries.json`,
    ]);
  }
  if (endpoints.sqs) {
    aws.push(['SQS', endpoints.sqs]);
    aws.push(['', `aws sqs list-queues --endpoint-url ${endpoints.sqs}`]);
  }
  if (endpoints.dynamoDB) {
    aws.push(['DynamoDB', endpoints.dynamoDB]);
    aws.push(['', `aws dynamodb list-tables --endpoint-url ${endpoints.dynamoDB}`]);
  }
  if (aws.length > 0) lines.push('', 'AWS endpoints:', ...table(aws));
  if (info.secrets) {
    lines.push(
      '',
      `Secrets: ${info.secrets.file}${info.secrets.example ? ' (the committed example; copy it to local/secrets.json to use your own)' : ''}`,
    );
  }
  const problems = info.secretProblems ?? [];
  if (problems.length > 0) {
    lines.push(
      '',
      'Missing secrets: each of these connectors answers CONFIGURATION_ERROR until its secret is in the secrets file:',
    );
    const width = Math.max(...problems.map((p) => p.connector.length));
    for (const p of problems) {
      lines.push(`  ${p.connector.padEnd(width)}  ${p.reason}`);
      if (p.expected) lines.push(`  ${''.padEnd(width)}  add: ${JSON.stringify(p.secret)}: ${p.expected}`);
    }
  }
  lines.push('', 'Ctrl-C stops it.');
  return `${lines.join('\n')}\n`;
}
