/**
 * `npm run redrive`: move a connector's dead letters back to its inbox, once the cause is fixed.
 *
 * ```sh
 * # the deployed stack ConnectorSuite-{stage}, with your AWS credentials
 * npm run redrive -- --connector httpbin --stage prod --region eu-west-1
 * # the local gateway of `npm start`, through its SQS API (the same calls as against AWS)
 * npm run redrive -- --connector httpbin --endpoint-url http://127.0.0.1:3000
 * # the local gateway of `npm start`, through its own route
 * npm run redrive -- --connector httpbin --url http://127.0.0.1:3000
 * ```
 *
 * Deployed, it reads the queue ARNs from the outputs of the stack `ConnectorSuite-{stage}`
 * (`{Name}DeadLetterQueueArn` and `{Name}InboxQueueArn`, `{Name}` being the connector's resource id,
 * e.g. `my-api` → `MyApi`) and starts an SQS message move task from the dead-letter queue to the
 * inbox (`StartMessageMoveTask`); SQS moves the messages in the background, and the command prints
 * how to follow the task. Events the runtime dead-lettered start over with a full set of attempts;
 * one the inbox's redrive backstop moved after a crash keeps the attempts it had spent.
 *
 * With `--endpoint-url` (or `AWS_ENDPOINT_URL_SQS`), it talks SQS to that endpoint instead and has no
 * stack to read: it finds the queues by name (`GetQueueUrl` of `{connector}-inbox`, then its
 * `QueueArn` and the `deadLetterTargetArn` of its `RedrivePolicy`, the names the local gateway
 * serves, see `local/aws/sqs.ts`) and starts the same message move task. A loopback endpoint is
 * called with obviously fake credentials and region `us-east-1` unless others are given (the local
 * gateway checks no signature).
 *
 * With `--url` (a loopback URL only), it asks the local gateway to do the same:
 * `POST {url}/v1/dead-letters/redrive?connector={name}`, and prints the answer.
 *
 * Exit code: 0 when the move started (or the local gateway answered 2xx), 1 for a failure (no stack,
 * no such connector in it, no credentials, an AWS or network error, another answer), 2 for a usage
 * error.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { CONNECTOR_NAME_PATTERN, isLoopbackUrl, resourceId } from '../functions/shared/config.js';
import { STAGES, type Stage } from '../lib/stage-names.js';
import { EXIT_FAILURE, EXIT_USAGE, firstLine, UsageError } from './cli.js';

export { EXIT_FAILURE, EXIT_USAGE, STAGES, type Stage, UsageError };

/** The usage text printed by `--help`. */
export const USAGE = `Usage: npm run redrive -- --connector NAME [--stage dev|prod] [--region REGION]
       npm run redrive -- --connector NAME --endpoint-url http://127.0.0.1:3000
       npm run redrive -- --connector NAME --url http://127.0.0.1:3000

Moves the connector's dead letters back to its inbox, where they start over.

Options:
  --connector NAME   the connector, e.g. httpbin
  --stage STAGE      the deployed stage: dev (default) or prod; the stack is ConnectorSuite-{stage}
  --region REGION    the stack's region (default: AWS_REGION, AWS_DEFAULT_REGION or your profile's)
  --endpoint-url URL an SQS endpoint (e.g. the local gateway of npm start) instead of the deployed
                     stack: the queues are found by name ({connector}-inbox); default:
                     AWS_ENDPOINT_URL_SQS when set
  --url URL          the local gateway of npm start (a loopback URL), through its own route
  --help             show this help

Deployed, it starts an SQS message move task (StartMessageMoveTask) and prints how to follow it.
Exit code: 0 when the move started, 1 for a failure, 2 for a usage error.
`;

/** A failure of the redrive itself: reported as one line, exit code {@link EXIT_FAILURE}. */
export class RedriveError extends Error {
  override readonly name = 'RedriveError';
}

/** The options of one run, as {@link parseOptions} returns them. */
export interface RedriveOptions {
  connector: string;
  stage: Stage;
  /** `--region` as given; else the SDK's default chain. */
  region?: string;
  /** The local gateway's base URL; when set, the deployed stack is left alone. */
  url?: URL;
  /** `--endpoint-url`: an SQS endpoint; the queues are then found by name, not in a stack. */
  endpointUrl?: URL;
}

/**
 * Parses the command line (without the `node` and script entries).
 *
 * @returns `{help: true}` for `--help`, else the options.
 * @throws {UsageError} for an unknown option or positional, a missing or malformed `--connector`, a
 *   stage other than dev or prod, a malformed `--region`, or a `--url` that is not an http(s) URL to a
 *   loopback host.
 */
export function parseOptions(argv: readonly string[]): RedriveOptions | { help: true } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        connector: { type: 'string' },
        stage: { type: 'string' },
        region: { type: 'string' },
        url: { type: 'string' },
        'endpoint-url': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${firstLine(error)} (see --help)`);
  }
  if (values.help === true) return { help: true };

  const connector = typeof values.connector === 'string' ? values.connector.trim() : '';
  if (connector === '') throw new UsageError('--connector is required (see --help)');
  if (!CONNECTOR_NAME_PATTERN.test(connector)) {
    throw new UsageError(
      `--connector is not a connector name: '${connector}' (a-z, 0-9 and -, starting with a letter, at most 40)`,
    );
  }
  const stage = typeof values.stage === 'string' ? values.stage : 'dev';
  if (!(STAGES as readonly string[]).includes(stage)) {
    throw new UsageError(`--stage must be ${STAGES.join(' or ')}, not '${stage}'`);
  }
  const options: RedriveOptions = { connector, stage: stage as Stage };
  if (typeof values.region === 'string') {
    if (!/^[a-z0-9-]+$/.test(values.region)) {
      throw new UsageError(`--region is not a region name: ${values.region}`);
    }
    options.region = values.region;
  }
  if (typeof values.url === 'string') options.url = parseLocalUrl(values.url);
  if (typeof values['endpoint-url'] === 'string') {
    if (options.url) throw new UsageError('pass --url or --endpoint-url, not both');
    options.endpointUrl = parseEndpointUrl(values['endpoint-url'], '--endpoint-url');
  }
  return options;
}

function parseLocalUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url is not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL: ${text}`);
  }
  if (url.username || url.password) throw new UsageError('--url must not contain credentials');
  if (!isLoopbackUrl(url)) {
    throw new UsageError(
      `--url must be the local gateway on a loopback host (127.0.0.0/8, localhost, [::1]), not ${url.host}; ` +
        'for a deployed stack leave out --url and pass --stage',
    );
  }
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * An SQS endpoint URL (`--endpoint-url`, `AWS_ENDPOINT_URL_SQS`).
 * @throws {UsageError} naming `what` for a value that is not an http(s) URL without credentials
 */
export function parseEndpointUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} is not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${what} must be an http(s) URL: ${text}`);
  }
  if (url.username || url.password) throw new UsageError(`${what} must not contain credentials`);
  return url;
}

/** The name of the stack of `stage`: `ConnectorSuite-{stage}`. */
export function stackName(stage: Stage): string {
  return `ConnectorSuite-${stage}`;
}

/** The names of the stack outputs holding a connector's queue ARNs. */
export function outputNames(connector: string): { deadLetterQueueArn: string; inboxQueueArn: string } {
  const id = resourceId(connector);
  return { deadLetterQueueArn: `${id}DeadLetterQueueArn`, inboxQueueArn: `${id}InboxQueueArn` };
}

/**
 * The dead-letter queue and inbox ARNs of `connector` among a stack's outputs.
 * @throws {RedriveError} naming the missing output and the connectors the stack has
 */
export function queueArns(
  outputs: readonly Output[],
  connector: string,
  stack: string,
): { deadLetterQueueArn: string; inboxQueueArn: string } {
  const names = outputNames(connector);
  const value = (key: string) => outputs.find((output) => output.OutputKey === key)?.OutputValue;
  const deadLetterQueueArn = value(names.deadLetterQueueArn);
  const inboxQueueArn = value(names.inboxQueueArn);
  if (deadLetterQueueArn && inboxQueueArn) return { deadLetterQueueArn, inboxQueueArn };
  const known = outputs
    .map((output) => /^(.+)DeadLetterQueueArn$/.exec(output.OutputKey ?? '')?.[1])
    .filter((id): id is string => id !== undefined);
  throw new RedriveError(
    `the stack ${stack} has no output ${deadLetterQueueArn ? names.inboxQueueArn : names.deadLetterQueueArn}: ` +
      `is '${connector}' a connector of this stage? ` +
      (known.length > 0
        ? `Connectors with queues: ${known.join(', ')} (resource ids)`
        : 'It has no connector queues'),
  );
}

/** The local gateway's redrive URL: `{base}/v1/dead-letters/redrive?connector={name}`, keeping the base's path. */
export function localRedriveUrl(base: URL, connector: string): URL {
  const url = new URL(base);
  const prefix = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = `${prefix}v1/dead-letters/redrive`;
  url.search = new URLSearchParams({ connector }).toString();
  url.hash = '';
  return url;
}

/** The `send` of the AWS clients {@link main} uses (tests pass mocked clients). */
export interface AwsClients {
  cloudFormation: Pick<CloudFormationClient, 'send'>;
  sqs: Pick<SQSClient, 'send'>;
}

/** What {@link main} uses from its environment; every field has a default for the real CLI. */
export interface MainDependencies {
  /** Default: the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Builds the AWS clients for `region` (`undefined`: the SDK's default chain). Default: the SDK's clients. */
  clients?: (region: string | undefined) => AwsClients;
  /** Where the answer goes. Default: `process.stdout`. */
  stdout?: Pick<NodeJS.WriteStream, 'write'>;
  /** Where errors go. Default: `process.stderr`. */
  stderr?: Pick<NodeJS.WriteStream, 'write'>;
  /** Builds the SQS client of `--endpoint-url`. Default: the SDK's, see {@link endpointSqsClient}. */
  endpointClient?: (endpoint: URL, region: string | undefined) => Pick<SQSClient, 'send'>;
  /** The environment (`AWS_ENDPOINT_URL_SQS`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The SQS client of `--endpoint-url`: the SDK's default region and credentials chains, except that a
 * loopback endpoint (the local gateway, which checks no signature) gets region `us-east-1` and
 * obviously fake credentials unless a region or `AWS_ACCESS_KEY_ID` is given.
 */
export function endpointSqsClient(
  endpoint: URL,
  region: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): SQSClient {
  const loopback = isLoopbackUrl(endpoint);
  const chosenRegion =
    region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (loopback ? 'us-east-1' : undefined);
  return new SQSClient({
    endpoint: endpoint.href,
    ...(chosenRegion === undefined ? {} : { region: chosenRegion }),
    ...(loopback && !env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' } }
      : {}),
  });
}

function defaultClients(region: string | undefined): AwsClients {
  const config = region === undefined ? {} : { region };
  return { cloudFormation: new CloudFormationClient(config), sqs: new SQSClient(config) };
}

/**
 * Runs the CLI: parses `argv`, then redrives through the local gateway (`--url`) or the deployed
 * stack. Never throws: every failure is one line on stderr.
 *
 * @returns the exit code: 0 when the redrive started (or `--help`), 1 for a failure, 2 for a usage error.
 */
export async function main(argv: readonly string[], deps: MainDependencies = {}): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  try {
    const parsed = parseOptions(argv);
    if ('help' in parsed) {
      stdout.write(USAGE);
      return 0;
    }
    if (parsed.url) {
      const answer = await redriveLocal(deps.fetch ?? globalThis.fetch, parsed.url, parsed.connector);
      stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    const env = deps.env ?? process.env;
    const endpointUrl =
      parsed.endpointUrl ??
      (parsed.url === undefined && env.AWS_ENDPOINT_URL_SQS
        ? parseEndpointUrl(env.AWS_ENDPOINT_URL_SQS, 'AWS_ENDPOINT_URL_SQS')
        : undefined);
    let started: StartedMove;
    let region = parsed.region ? ` --region ${parsed.region}` : '';
    if (endpointUrl) {
      const sqs = (deps.endpointClient ?? ((url, r) => endpointSqsClient(url, r, env)))(
        endpointUrl,
        parsed.region,
      );
      started = await redriveByQueueName(sqs, parsed.connector, endpointUrl);
      region += ` --endpoint-url ${endpointUrl.origin}`;
    } else {
      const clients = (deps.clients ?? defaultClients)(parsed.region);
      started = await redriveDeployed(clients, parsed);
    }
    stdout.write(
      `Moving the dead letters of ${parsed.connector} (${started.stack}) back to its inbox.\n` +
        `  task handle: ${started.taskHandle}\n` +
        `  from: ${started.deadLetterQueueArn}\n` +
        `  to:   ${started.inboxQueueArn}\n` +
        `Follow it with: aws sqs list-message-move-tasks --source-arn ${started.deadLetterQueueArn}${region}\n` +
        `Cancel it with: aws sqs cancel-message-move-task --task-handle ${started.taskHandle}${region}\n`,
    );
    return 0;
  } catch (error) {
    stderr.write(`redrive: ${firstLine(error)}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/**
 * Asks the local gateway to redrive the connector's dead letters.
 * @returns the gateway's answer (`{redriven: n}`)
 * @throws {RedriveError} for a network error or a non-2xx answer (with the gateway's error message)
 */
export async function redriveLocal(
  fetchFn: typeof globalThis.fetch,
  base: URL,
  connector: string,
): Promise<unknown> {
  const target = localRedriveUrl(base, connector);
  let response: Response;
  try {
    response = await fetchFn(target, { method: 'POST', redirect: 'manual' });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      cause && (cause.message || cause.code) ? String(cause.message || cause.code) : firstLine(error);
    throw new RedriveError(`request to ${target} failed: ${detail.split('\n')[0]} (is npm start running?)`);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
    throw new RedriveError(
      `the local gateway answered HTTP ${response.status}: ${typeof message === 'string' ? message : text.slice(0, 200)}`,
    );
  }
  return body;
}

/** What {@link redriveDeployed} or {@link redriveByQueueName} started. */
export interface StartedMove {
  /** The stack the ARNs came from; for {@link redriveByQueueName}, the endpoint's origin. */
  stack: string;
  taskHandle: string;
  deadLetterQueueArn: string;
  inboxQueueArn: string;
}

/**
 * Reads the connector's queue ARNs from the stack's outputs and starts a message move task from the
 * dead-letter queue to the inbox.
 * @throws {RedriveError} when the stack or its outputs are missing, or AWS refuses a call
 */
export async function redriveDeployed(
  clients: AwsClients,
  options: Pick<RedriveOptions, 'connector' | 'stage'>,
): Promise<StartedMove> {
  const stack = stackName(options.stage);
  let outputs: Output[];
  try {
    const answer = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    if (/does not exist/i.test(firstLine(error))) {
      throw new RedriveError(
        `the stack ${stack} does not exist in this account and region: deploy it, or pass --stage or --region`,
      );
    }
    throw new RedriveError(`cannot read the stack ${stack}: ${awsMessage(error)}`);
  }
  const arns = queueArns(outputs, options.connector, stack);
  return { stack, taskHandle: await startMove(clients.sqs, arns), ...arns };
}

/**
 * Finds the connector's inbox by name on an SQS endpoint (`{connector}-inbox`, as the local gateway
 * names it), its dead-letter queue from the inbox's `RedrivePolicy`, and starts a message move task
 * from the one to the other, as {@link redriveDeployed} does.
 * @throws {RedriveError} when the endpoint has no such queue, the inbox has no redrive policy, or SQS
 *   refuses a call
 */
export async function redriveByQueueName(
  sqs: Pick<SQSClient, 'send'>,
  connector: string,
  endpoint: URL,
): Promise<StartedMove> {
  const queueName = `${connector}-inbox`;
  let inboxQueueArn: string | undefined;
  let deadLetterQueueArn: string | undefined;
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'RedrivePolicy'] }),
    );
    inboxQueueArn = Attributes?.QueueArn;
    const policy = Attributes?.RedrivePolicy ? (JSON.parse(Attributes.RedrivePolicy) as unknown) : undefined;
    const target = (policy as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn;
    deadLetterQueueArn = typeof target === 'string' ? target : undefined;
  } catch (error) {
    const text = awsMessage(error);
    throw new RedriveError(
      /NonExistentQueue|QueueDoesNotExist|does not exist/i.test(text)
        ? `${endpoint.origin} has no queue ${queueName}: is '${connector}' a connector of this gateway?`
        : `cannot read the queue ${queueName} at ${endpoint.origin}: ${text}`,
    );
  }
  if (!inboxQueueArn || !deadLetterQueueArn) {
    throw new RedriveError(`the queue ${queueName} at ${endpoint.origin} has no ARN or no redrive policy`);
  }
  const arns = { deadLetterQueueArn, inboxQueueArn };
  return { stack: endpoint.origin, taskHandle: await startMove(sqs, arns), ...arns };
}

async function startMove(
  sqs: Pick<SQSClient, 'send'>,
  arns: { deadLetterQueueArn: string; inboxQueueArn: string },
): Promise<string> {
  let taskHandle: string | undefined;
  try {
    const answer = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: arns.deadLetterQueueArn,
        DestinationArn: arns.inboxQueueArn,
      }),
    );
    taskHandle = answer.TaskHandle;
  } catch (error) {
    throw new RedriveError(`SQS did not start the move: ${awsMessage(error)}`);
  }
  if (!taskHandle) throw new RedriveError('SQS started no move task (no task handle in its answer)');
  return taskHandle;
}

/** An AWS SDK error in one line: its name (the error code) and message. */
function awsMessage(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  const message = firstLine(error);
  const text = name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return `${text} (configure a profile: AWS_PROFILE, aws configure / aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`;
  }
  if (/region is missing/i.test(message)) return `${text} (pass --region or set AWS_REGION)`;
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
