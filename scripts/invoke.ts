/**
 * `npm run invoke`: call one connector operation over HTTP(S) and print the answer.
 *
 * ## Invoke
 *
 * ```sh
 * # the deployed API (the stack's API URL, stage path included), SigV4-signed with your AWS credentials
 * npm run invoke -- --url https://abc123.execute-api.eu-west-1.amazonaws.com/dev/ \
 *   --connector httpbin --operation request --data '{"method":"GET","path":"/uuid"}'
 * # the local gateway of `npm start`: unsigned, no credentials needed
 * npm run invoke -- --url http://127.0.0.1:3000 --connector httpbin --operation request \
 *   --data @request.json --idempotency-key order-1234
 * ```
 *
 * It POSTs `--data` (JSON, or `@file` to read it from a file; default `{}`) to
 * `{url}/v1/connectors/{connector}/{operation}`, writes `HTTP {status}` and the `x-request-id` to
 * stderr and the body to stdout (pretty-printed when JSON). Exit code: 0 for a 2xx answer, 1 for any
 * other answer, a network error or missing credentials, 2 for a usage error.
 *
 * `https` URLs are signed with SigV4 (service `execute-api`) using the default AWS credential chain
 * (environment, profile, SSO, container or instance role); the region is read from an
 * `{id}.execute-api.{region}.amazonaws.com` host, else `--region`, `AWS_REGION` or
 * `AWS_DEFAULT_REGION`. Loopback URLs (127.0.0.0/8, localhost, [::1]) are sent unsigned. Plain `http`
 * to any other host is refused, so that signed requests never travel in clear.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';
import { isLoopbackUrl } from '../functions/shared/config.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../functions/shared/runtime/async-contract.js';
import { EXIT_FAILURE, EXIT_USAGE, firstLine, UsageError } from './cli.js';

export { EXIT_FAILURE, EXIT_USAGE, UsageError };

/** The usage text printed by `--help`. */
export const USAGE = `Usage: npm run invoke -- --url URL --connector NAME --operation NAME [options]

Calls POST {url}/v1/connectors/{connector}/{operation} and prints the answer.

Options:
  --url URL               API base URL, stage path included (https://{id}.execute-api.{region}.amazonaws.com/dev/)
                          or the local gateway (http://127.0.0.1:3000)
  --connector NAME        the connector, e.g. httpbin
  --operation NAME        the operation, e.g. request
  --data JSON|@FILE       the operation's input as JSON, or @file.json to read it from a file (default {})
  --idempotency-key KEY   sent as the Idempotency-Key header (1-255 visible ASCII characters)
  --region REGION         the SigV4 signing region (default: from the execute-api host, else AWS_REGION)
  --help                  show this help

https URLs are signed with SigV4 using the default AWS credential chain; loopback http URLs are sent
unsigned. Exit code: 0 for a 2xx answer, 1 otherwise, 2 for a usage error.
`;

/** A failure of the call itself (credentials, network): reported as one line, exit code {@link EXIT_FAILURE}. */
export class InvokeError extends Error {
  override readonly name = 'InvokeError';
}

/** The options of one invocation, as {@link parseOptions} returns them. */
export interface InvokeOptions {
  /** The API base URL: `http:` or `https:`, without query or fragment. */
  url: URL;
  connector: string;
  operation: string;
  /** The parsed `--data`: any JSON value (`{}` by default). */
  data: unknown;
  idempotencyKey?: string;
  /** `--region` as given; see {@link regionOf} for the default. */
  region?: string;
}

/** What {@link parseOptions} reads besides `argv`. */
export interface ParseContext {
  /** Directory `--data @file` paths are relative to. Default: `INIT_CWD` (npm's caller directory), else `process.cwd()`. */
  cwd?: string;
  /** Reads a `--data @file`. Default: `fs.readFileSync(path, 'utf8')`. */
  readFile?: (file: string) => string;
}

/**
 * Parses the command line (without the `node` and script entries).
 *
 * @returns `{help: true}` for `--help`, else the options.
 * @throws {UsageError} for an unknown option, a missing `--url`, `--connector` or `--operation`, a URL
 *   that is not `http(s)`, a plain `http` URL to a non-loopback host, invalid `--data` JSON or an
 *   unreadable `--data @file` (the message names `--data`), or an invalid `--idempotency-key`.
 */
export function parseOptions(
  argv: readonly string[],
  context: ParseContext = {},
): InvokeOptions | { help: true } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        connector: { type: 'string' },
        operation: { type: 'string' },
        data: { type: 'string' },
        'idempotency-key': { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${firstLine(error)} (see --help)`);
  }
  if (values.help === true) return { help: true };

  const required = (name: string): string => {
    const value = values[name];
    if (typeof value !== 'string' || value.trim() === '')
      throw new UsageError(`--${name} is required (see --help)`);
    return value.trim();
  };
  const url = parseBaseUrl(required('url'));
  const connector = required('connector');
  const operation = required('operation');
  const data = parseData(typeof values.data === 'string' ? values.data : '{}', context);

  const options: InvokeOptions = { url, connector, operation, data };
  const key = values['idempotency-key'];
  if (typeof key === 'string') {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key))
      throw new UsageError('--idempotency-key must be 1-255 visible ASCII characters');
    options.idempotencyKey = key;
  }
  if (typeof values.region === 'string') {
    if (!/^[a-z0-9-]+$/.test(values.region))
      throw new UsageError(`--region is not a region name: ${values.region}`);
    options.region = values.region;
  }
  return options;
}

function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url is not a URL: ${text}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--url must be an http(s) URL: ${text}`);
  }
  if (url.username || url.password) throw new UsageError('--url must not contain credentials');
  if (url.protocol === 'http:' && !isLoopbackUrl(url)) {
    throw new UsageError(
      `--url: plain http is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]); use https for ${url.host}`,
    );
  }
  url.search = '';
  url.hash = '';
  return url;
}

function parseData(text: string, context: ParseContext): unknown {
  let json = text;
  if (text.startsWith('@')) {
    const file = path.resolve(context.cwd ?? (process.env.INIT_CWD || process.cwd()), text.slice(1));
    try {
      json = (context.readFile ?? ((name: string) => readFileSync(name, 'utf8')))(file);
    } catch (error) {
      throw new UsageError(`--data: cannot read ${file}: ${firstLine(error)}`);
    }
  }
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new UsageError(
      `--data is not valid JSON${text.startsWith('@') ? ` (${text.slice(1)})` : ''}: ${firstLine(error)}`,
    );
  }
}

/**
 * The operation's URL: `{base}/v1/connectors/{connector}/{operation}`, keeping the base's path (an
 * API Gateway stage such as `/dev`) whether or not it ends with `/`, dropping its query and fragment.
 * Both names are percent-encoded as one path segment each.
 *
 * @throws {UsageError} when a name is empty, `.` or `..` (they would change the path).
 */
export function connectorUrl(base: string | URL, connector: string, operation: string): URL {
  const url = new URL(base);
  const segment = (name: string, what: string): string => {
    if (name === '' || name === '.' || name === '..')
      throw new UsageError(`--${what} is not a valid name: '${name}'`);
    return encodeURIComponent(name);
  };
  const prefix = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = `${prefix}v1/connectors/${segment(connector, 'connector')}/${segment(operation, 'operation')}`;
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * The signing region of an API URL: the `{region}` of an `{id}.execute-api.{region}.amazonaws.com`
 * host (also `.vpce.amazonaws.com` and `.amazonaws.com.cn`), else `AWS_REGION`, else
 * `AWS_DEFAULT_REGION` of `env` (default `process.env`), else `undefined`.
 */
export function regionOf(url: string | URL, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = new URL(url).hostname.toLowerCase();
  const match = /\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(host);
  return match?.[1] ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
}

/** True when a call to `url` is SigV4-signed: every `https` URL except loopback ones. */
export function needsSigning(url: URL): boolean {
  return url.protocol === 'https:' && !isLoopbackUrl(url);
}

/**
 * The POST of one invocation, in the signer's shape (`@smithy/types` `HttpRequest`): a `host` header,
 * `content-type: application/json`, `idempotency-key` when given, and `data` serialized as JSON.
 */
export function buildRequest(input: { url: URL; data: unknown; idempotencyKey?: string }): HttpRequest {
  const { url } = input;
  const headers: Record<string, string> = { host: url.host, 'content-type': 'application/json' };
  if (input.idempotencyKey !== undefined) headers['idempotency-key'] = input.idempotencyKey;
  return {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers,
    body: JSON.stringify(input.data),
  };
}

/**
 * Signs `request` with SigV4 for the service `execute-api`: adds `authorization`, `x-amz-date`,
 * `x-amz-content-sha256` and, with a session token, `x-amz-security-token`. `request` is not changed.
 *
 * @param options.signingDate the signing time (default: now); fixed in tests for a deterministic signature.
 */
export async function signRequest(
  request: HttpRequest,
  options: {
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    region: string;
    signingDate?: Date;
  },
): Promise<HttpRequest> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  return signer.sign(request, options.signingDate ? { signingDate: options.signingDate } : {});
}

/** The `fetch` arguments of a request built by {@link buildRequest} (the `host` header is left to fetch). */
export function toFetchArgs(request: HttpRequest): [string, RequestInit] {
  const port = request.port === undefined ? '' : `:${request.port}`;
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([name]) => name.toLowerCase() !== 'host'),
  );
  return [
    `${request.protocol}//${request.hostname}${port}${request.path}`,
    { method: request.method, headers, body: request.body as string, redirect: 'manual' },
  ];
}

/** What {@link main} uses from its environment; every field has a default for the real CLI. */
export interface MainDependencies {
  /** Default: the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** The credential provider of signed calls. Default: `defaultProvider()` of `@aws-sdk/credential-provider-node`. */
  credentials?: AwsCredentialIdentityProvider;
  /** For the region fallback. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** See {@link ParseContext}. */
  parse?: ParseContext;
}

/**
 * Runs the CLI: parses `argv`, sends the request (signed when {@link needsSigning}), writes the
 * status line to stderr and the body to stdout. Never throws: every failure is one line on stderr.
 *
 * @returns the exit code: 0 for a 2xx answer or `--help`, 1 for another answer, a network error or
 *   missing credentials, 2 for a usage error.
 */
export async function main(argv: readonly string[], deps: MainDependencies = {}): Promise<number> {
  try {
    const parsed = parseOptions(argv, deps.parse);
    if ('help' in parsed) {
      process.stdout.write(USAGE);
      return 0;
    }
    const url = connectorUrl(parsed.url, parsed.connector, parsed.operation);
    let request = buildRequest({ url, data: parsed.data, idempotencyKey: parsed.idempotencyKey });
    if (needsSigning(url)) {
      const region = parsed.region ?? regionOf(url, deps.env ?? process.env);
      if (!region)
        throw new UsageError(`cannot tell the region of ${url.host}: pass --region or set AWS_REGION`);
      const credentials = await resolveCredentials(deps.credentials);
      request = await signRequest(request, { credentials, region });
    }
    const response = await send(deps.fetch ?? globalThis.fetch, request);
    const requestId = response.headers.get('x-request-id') ?? response.headers.get('x-amzn-requestid');
    process.stderr.write(
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${requestId ? `  x-request-id: ${requestId}` : ''}\n`,
    );
    const text = await response.text();
    if (text !== '') process.stdout.write(`${formatBody(text)}\n`);
    return response.ok ? 0 : EXIT_FAILURE;
  } catch (error) {
    process.stderr.write(`invoke: ${firstLine(error)}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

async function resolveCredentials(provider?: AwsCredentialIdentityProvider): Promise<AwsCredentialIdentity> {
  try {
    const resolve = provider ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
    return await resolve();
  } catch (error) {
    throw new InvokeError(
      'No AWS credentials found: configure a profile (AWS_PROFILE, aws configure / aws sso login) or set ' +
        `AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${firstLine(error)})`,
    );
  }
}

async function send(fetchFn: typeof globalThis.fetch, request: HttpRequest): Promise<Response> {
  const [target, init] = toFetchArgs(request);
  try {
    return await fetchFn(target, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      cause && (cause.message || cause.code) ? String(cause.message || cause.code) : firstLine(error);
    throw new InvokeError(`request to ${target} failed: ${detail.split('\n')[0]}`);
  }
}

/** `text` pretty-printed when it is JSON, else as is (without a trailing newline). */
export function formatBody(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text.replace(/\n$/, '');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
