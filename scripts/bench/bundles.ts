/**
 * The deployed-bundle figures of `npm run bench`: each connector's bundle built the way the stack
 * builds it (an in-process synth of `ConnectorSuiteStack` with bundling on, so the esbuild options
 * are the stack's own), its size, and its cold start in a fresh Node process against a bare
 * handler that only calls `fetch`. Also the wall time of `cdk synth` through the CLI.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { type BuildOptions, build } from 'esbuild';
import type { ConnectorConfig, SuiteConfig } from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';
import { ENV } from '../../functions/shared/runtime/environment.js';
import { HANDLER_ENTRIES, PROJECT_ROOT } from '../../lib/connector-kinds.js';
import { ConnectorSuiteStack } from '../../lib/connector-suite-stack.js';
import { CONNECTOR_BUNDLING, ESM_REQUIRE_BANNER } from '../../lib/constructs/connector.js';
import { connectorProxyEvent } from '../../local/lambda-events.js';
import { loopbackCertificate } from '../../test/support/loopback-tls.js';
import { type Spread, spread } from './stats.js';
import { SMALL_BODY } from './upstream.js';

/** One connector's function as the stack deploys it. */
export interface BuiltConnector {
  name: string;
  kind: ConnectorConfig['kind'];
  /** Absolute path of the bundle's `index.mjs`. */
  bundle: string;
  /** Bytes of `index.mjs` (the source map beside it not counted). */
  bytes: number;
  /** The function's environment with its string values (tokens left out). */
  environment: Record<string, string>;
  /** The call its cold start makes; @default its kind's in {@link FIRST_CALLS} */
  firstCall?: { operation: string; body: unknown };
  /** The secret the Secrets Manager stand-in gives it; @default its kind's in {@link FAKE_SECRETS} */
  fakeSecret?: Record<string, string>;
}

/**
 * The default suite (`suite.config.ts`, `HTTPBIN_URL` unset as for a deploy) synthesized in-process
 * with bundling into `outdir`; one entry per connector.
 */
export async function buildBundles(outdir: string): Promise<BuiltConnector[]> {
  const httpbin = process.env.HTTPBIN_URL;
  process.env.HTTPBIN_URL = '';
  let suite: SuiteConfig;
  try {
    suite = await loadSuiteConfig(path.join(PROJECT_ROOT, 'suite.config.ts'));
  } finally {
    if (httpbin === undefined) delete process.env.HTTPBIN_URL;
    else process.env.HTTPBIN_URL = httpbin;
  }
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:enable-asset-metadata': true } });
  const stack = new ConnectorSuiteStack(app, 'ConnectorSuite-bench', { suite, stage: 'dev' });
  const assembly = app.synth();
  // The bundles leave the AWS SDK out (`@aws-sdk/*`, the stack's default): Lambda's Node.js runtime
  // provides it. Here the project's node_modules stands in for the runtime's.
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(outdir, 'node_modules'));
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Metadata?: Record<string, string>; Properties?: Record<string, unknown> }>;
  };
  return suite.connectors.map((config) => {
    const connector = stack.connectors.get(config.name);
    if (!connector) throw new Error(`no connector ${config.name} in the stack`);
    const logicalId = Stack.of(connector).getLogicalId(connector.function.node.defaultChild as CfnElement);
    const resource = template.Resources[logicalId];
    const assetPath = resource?.Metadata?.['aws:asset:path'];
    if (!assetPath) throw new Error(`no asset path for ${config.name}`);
    const bundle = path.join(outdir, assetPath, 'index.mjs');
    const variables = ((
      resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
    )?.Variables ?? {}) as Record<string, unknown>;
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables))
      if (typeof value === 'string') environment[name] = value;
    return { name: config.name, kind: config.kind, bundle, bytes: statSync(bundle).size, environment };
  });
}

/** Aws-xray-sdk-core and the packages it brings (cls-hooked and theirs): what Powertools Tracer costs. */
const XRAY_SDK_PACKAGES = new Set([
  'aws-xray-sdk-core',
  'cls-hooked',
  'semver',
  'atomic-batcher',
  'async-hook-jl',
  'emitter-listener',
  'shimmer',
  'stack-chain',
]);

/** What one connector kind's bundle is made of, and what it would weigh without the Powertools it carries. */
export interface BundleParts {
  /** Bytes of the minified bundle built here (the stack's esbuild options, plus a metafile). */
  bytes: number;
  /** Bytes in the bundle by part, largest first: `own code`, `zod`, `Powertools`, `X-Ray SDK`, or a package. */
  parts: Array<{ name: string; bytes: number }>;
  /**
   * Bytes with `@aws-lambda-powertools/*` and the X-Ray SDK left out of the bundle, as they would be
   * with Powertools' public Lambda layer (which carries both) attached to the function.
   */
  withPowertoolsLayerBytes: number;
}

/** The part a bundled input file belongs to. */
export function partOf(file: string): string {
  const at = file.lastIndexOf('node_modules/');
  if (at < 0) return 'own code';
  const rest = file.slice(at + 'node_modules/'.length).split('/');
  const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? file);
  if (name.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  if (XRAY_SDK_PACKAGES.has(name)) return 'X-Ray SDK';
  return name;
}

/**
 * esbuild's options for a connector's bundle as the stack builds it ({@link CONNECTOR_BUNDLING}):
 * `entry` bundled into `outfile` (not written), with a metafile (its paths relative to the project
 * root, as the stack's), the AWS SDK external.
 * @param entry - absolute path of the Lambda entry
 * @param outfile - absolute path of the `index.mjs` it would be
 */
export function stackBuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: CONNECTOR_BUNDLING.target,
    minify: CONNECTOR_BUNDLING.minify,
    mainFields: [...CONNECTOR_BUNDLING.mainFields],
    banner: { js: ESM_REQUIRE_BANNER },
    outfile,
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: [...CONNECTOR_BUNDLING.externalModules],
  };
}

/**
 * The parts of a kind's bundle: esbuild run with the stack's options ({@link CONNECTOR_BUNDLING})
 * and a metafile, then again with Powertools and the X-Ray SDK external.
 */
export async function bundleParts(kind: ConnectorConfig['kind']): Promise<BundleParts> {
  const options = stackBuildOptions(
    path.join(PROJECT_ROOT, HANDLER_ENTRIES[kind]),
    path.join(tmpdir(), 'bench-parts', 'index.mjs'),
  );
  const full = await build(options);
  const output = Object.values(full.metafile?.outputs ?? {}).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild gave no output for ${kind}`);
  const byPart = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
    const part = partOf(file);
    byPart.set(part, (byPart.get(part) ?? 0) + bytesInOutput);
  }
  const layered = await build({
    ...options,
    metafile: false,
    external: [...CONNECTOR_BUNDLING.externalModules, '@aws-lambda-powertools/*', ...XRAY_SDK_PACKAGES],
  });
  return {
    bytes: output.bytes,
    parts: [...byPart].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    withPowertoolsLayerBytes:
      (layered.outputFiles ?? []).find((f) => f.path.endsWith('.mjs'))?.contents.length ?? 0,
  };
}

/** The first call each connector kind serves at cold start (inputs the vendor docs show). */
export const FIRST_CALLS: Record<ConnectorConfig['kind'], { operation: string; body: unknown }> = {
  http: { operation: 'request', body: { method: 'GET', path: '/anything/bench' } },
  stripe: { operation: 'createCustomer', body: { email: 'bench@example.com' } },
  slack: { operation: 'postMessage', body: { channel: 'C0123456789', text: 'bench' } },
  github: { operation: 'createIssue', body: { owner: 'octo-org', repo: 'hello-world', title: 'bench' } },
  twilio: { operation: 'sendSms', body: { to: '+15005550006', from: '+15005550001', body: 'bench' } },
  openapi: {
    operation: 'FetchMessage',
    body: { path: { AccountSid: `AC${'a'.repeat(32)}`, Sid: `SM${'a'.repeat(32)}` } },
  },
};

/** Obviously fake secrets in each kind's shape (docs/connectors/*.md). */
const FAKE_SECRETS: Record<ConnectorConfig['kind'], Record<string, string>> = {
  http: { token: 'tok-example' },
  stripe: { apiKey: 'sk_test_example_0001' },
  slack: { token: 'xoxb-fake-example' },
  github: { token: 'ghp_example_not_a_real_token' },
  twilio: { accountSid: `AC${'a'.repeat(32)}`, authToken: 'fake-auth-token-example' },
  openapi: { username: `AC${'a'.repeat(32)}`, password: 'fake-auth-token-example' },
};

const DRIVER = `
const [bundle, eventFile, name] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
if (process.env.BENCH_ENV_FILE) Object.assign(process.env, JSON.parse(readFileSync(process.env.BENCH_ENV_FILE, 'utf8')));
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const { handler } = await import(bundle);
const imported = performance.now();
const context = { awsRequestId: 'bench-cold', functionName: name, getRemainingTimeInMillis: () => 29000 };
const result = await handler(event, context);
const done = performance.now();
let code;
try { code = JSON.parse(result.body).error?.code; } catch {}
process.stdout.write('\\nBENCH-COLD ' + JSON.stringify({ imported, done, status: result.statusCode, code }) + '\\n');
process.exit(0);
`;

const BARE_HANDLER = `
export const handler = async () => {
  const response = await fetch(process.env.BENCH_UPSTREAM_URL + '/anything/bench', { headers: { authorization: 'Bearer tok-example' } });
  return { statusCode: response.status, body: JSON.stringify({ data: await response.json() }) };
};
`;

/**
 * The bare handler plus what every connector's first call must also do: read its credential from
 * Secrets Manager through the SDK (the SDK from the runtime's node_modules, as for the connectors).
 */
const BARE_SECRET_HANDLER = `
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
const client = new SecretsManagerClient({});
export const handler = async () => {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: 'http' }));
  const { token } = JSON.parse(secret.SecretString);
  const response = await fetch(process.env.BENCH_UPSTREAM_URL + '/anything/bench', { headers: { authorization: 'Bearer ' + token } });
  return { statusCode: response.status, body: JSON.stringify({ data: await response.json() }) };
};
`;

/**
 * The bare handler with a secret read, plus the modules every connector loads at start whatever its
 * first call: the DynamoDB client of the idempotency store (Powertools' persistence layer imports it)
 * and the X-Ray SDK of Powertools Tracer.
 */
const BARE_DEPENDENCIES_HANDLER = `
import '@aws-sdk/client-dynamodb';
import '@aws-sdk/lib-dynamodb';
import 'aws-xray-sdk-core';
${BARE_SECRET_HANDLER}`;

/** The cold-start figures of one connector. */
export interface ColdStart {
  name: string;
  /** Its first-call time / the bare handler's, per round. */
  ratio: Spread;
  /** Median ms from process start to the first call's answer. */
  firstCallMs: number;
  /** Ms from process start to the first call's answer, round by round (the rounds alternate contenders). */
  firstCallRoundsMs: number[];
  /** Median ms from process start to the end of the bundle's import. */
  importMs: number;
  /** Status of the first call (vendor kinds meet a generic JSON upstream, so a mapped error is expected). */
  status: number;
  /** The error code of the first call's answer, if it is an error. */
  code?: string;
}

/**
 * Cold starts in fresh Node processes (`process.execPath`, the function's own `NODE_OPTIONS`):
 * alternated rounds of the bare handler, then each connector. The upstream is https on loopback
 * (a deployed connector speaks https only) with a throw-away self-signed certificate trusted through
 * `NODE_EXTRA_CA_CERTS`; Secrets Manager is a local stand-in reached through
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
export async function coldStarts(
  built: readonly BuiltConnector[],
  rounds: number,
): Promise<{
  bareMs: number;
  connectors: ColdStart[];
  /** The bare handler with a Secrets Manager read, then also with the modules every connector loads. */
  references: ColdStart[];
  upstreamRequests: number;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-cold-'));
  // The reference handlers import the SDK: the project's node_modules stands in for the runtime's.
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const tls = loopbackCertificate(dir);
  let upstreamRequests = 0;
  /** The secrets of connectors that bring their own, by the secret id they are given. */
  const ownSecrets = new Map<string, Record<string, string>>(
    built.flatMap((connector) =>
      connector.fakeSecret ? [[`bench-${connector.name}`, connector.fakeSecret] as const] : [],
    ),
  );
  const upstream = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    upstreamRequests += 1;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(SMALL_BODY));
  });
  const secrets = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      const kind = (SecretId ?? 'http') as ConnectorConfig['kind'];
      const secret = ownSecrets.get(SecretId ?? '') ?? FAKE_SECRETS[kind] ?? FAKE_SECRETS.http;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${kind}-AbCdEf`,
          Name: kind,
          VersionId: 'bench-version',
          SecretString: JSON.stringify(secret),
          CreatedDate: 1_700_000_000,
        }),
      );
    });
  });
  const listen = (server: Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
  const upstreamUrl = `https://127.0.0.1:${await listen(upstream)}`;
  const secretsUrl = `http://127.0.0.1:${await listen(secrets)}`;
  try {
    const driver = path.join(dir, 'driver.mjs');
    writeFileSync(driver, DRIVER);
    const bare = path.join(dir, 'bare.mjs');
    writeFileSync(bare, BARE_HANDLER);
    const baseEnv = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'LOCALFAKEKEY',
      AWS_SECRET_ACCESS_KEY: 'local-fake-secret',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
      NODE_EXTRA_CA_CERTS: tls.certFile,
      BENCH_UPSTREAM_URL: upstreamUrl,
    };
    const runs = built.map((connector) => {
      const config = JSON.parse(connector.environment[ENV.connectorConfig] ?? '{}') as Record<
        string,
        unknown
      >;
      const first = connector.firstCall ?? FIRST_CALLS[connector.kind];
      const eventFile = path.join(dir, `${connector.name}.event.json`);
      writeFileSync(
        eventFile,
        JSON.stringify(
          connectorProxyEvent({
            connector: connector.name,
            operation: first.operation,
            headers: [['content-type', 'application/json']],
            body: JSON.stringify(first.body),
          }),
        ),
      );
      return {
        name: connector.name,
        bundle: connector.bundle,
        eventFile,
        env: {
          ...connector.environment,
          ...baseEnv,
          [ENV.connectorConfig]: JSON.stringify({ ...config, baseUrl: upstreamUrl }),
          [ENV.idempotencyTable]: 'bench-idempotency',
          [ENV.secretId]: connector.fakeSecret ? `bench-${connector.name}` : connector.kind,
        },
      };
    });
    const bareEvent = runs[0]?.eventFile ?? '';
    const bareEnv = { ...baseEnv, NODE_OPTIONS: built[0]?.environment.NODE_OPTIONS ?? '' };
    const references = [
      { name: 'bare + Secrets Manager read', source: BARE_SECRET_HANDLER },
      {
        name: 'bare + Secrets Manager read + DynamoDB client + X-Ray SDK',
        source: BARE_DEPENDENCIES_HANDLER,
      },
    ].map(({ name, source }, i) => {
      const bundle = path.join(dir, `reference-${i}.mjs`);
      writeFileSync(bundle, source);
      return { name, bundle, eventFile: bareEvent, env: bareEnv };
    });
    const bareTimes: number[] = [];
    const times = new Map<string, { done: number[]; imported: number[]; status: number; code?: string }>();
    for (let round = 0; round < rounds; round++) {
      bareTimes.push((await runCold(driver, bare, bareEvent, 'bare', bareEnv)).done);
      for (const run of [...runs, ...references]) {
        const result = await runCold(driver, run.bundle, run.eventFile, run.name, run.env);
        const entry = times.get(run.name) ?? {
          done: [],
          imported: [],
          status: result.status,
          ...(result.code ? { code: result.code } : {}),
        };
        entry.done.push(result.done);
        entry.imported.push(result.imported);
        times.set(run.name, entry);
      }
    }
    const figuresOf = (run: { name: string }): ColdStart => {
      const entry = times.get(run.name) as {
        done: number[];
        imported: number[];
        status: number;
        code?: string;
      };
      return {
        name: run.name,
        ratio: spread(entry.done.map((ms, i) => ms / (bareTimes[i] as number))),
        firstCallMs: spread(entry.done).median,
        firstCallRoundsMs: entry.done,
        importMs: spread(entry.imported).median,
        status: entry.status,
        ...(entry.code ? { code: entry.code } : {}),
      };
    };
    return {
      bareMs: spread(bareTimes).median,
      upstreamRequests,
      connectors: runs.map(figuresOf),
      references: references.map(figuresOf),
    };
  } finally {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    await new Promise((resolve) => secrets.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The most bytes one environment variable may take on the command line of a new process (Linux's
 * `MAX_ARG_STRLEN` is 128 KiB); a larger one (an `openapi` connector's `CONNECTOR_CONFIG` carrying
 * its trimmed description) goes through a file the driver reads before it imports the bundle.
 */
const MAX_SPAWN_VARIABLE_BYTES = 64 * 1024;

async function runCold(
  driver: string,
  bundle: string,
  eventFile: string,
  name: string,
  env: Record<string, string>,
): Promise<{ imported: number; done: number; status: number; code?: string }> {
  const small: Record<string, string> = {};
  const large: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value.length > MAX_SPAWN_VARIABLE_BYTES) large[key] = value;
    else small[key] = value;
  }
  if (Object.keys(large).length > 0) {
    small.BENCH_ENV_FILE = `${eventFile}.env.json`;
    writeFileSync(small.BENCH_ENV_FILE, JSON.stringify(large));
  }
  const child = spawn(process.execPath, [driver, pathToFileURL(bundle).href, eventFile, name], {
    env: small,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = output.split('\n').find((l) => l.startsWith('BENCH-COLD '));
  if (code !== 0 || !line)
    throw new Error(`cold start of ${name} failed (exit ${code}):\n${output.slice(-2000)}`);
  return JSON.parse(line.slice('BENCH-COLD '.length));
}

/**
 * Wall time of `cdk synth` through the CLI (bundling and the cdk-nag packs included, as a user runs
 * it), in ms, for the default suite and for a suite of `connectors` connectors (the default five plus
 * more `http` ones).
 */
export async function synthTimes(connectors = 10): Promise<{ defaultMs: number; manyMs: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
  const cdk = path.join(PROJECT_ROOT, 'node_modules/.bin/cdk');
  const time = (env: Record<string, string>, outdir: string) => {
    const started = performance.now();
    execFileSync(cdk, ['synth', '--quiet', '-o', outdir], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, HTTPBIN_URL: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return performance.now() - started;
  };
  try {
    const defaultMs = time({}, path.join(dir, 'default'));
    const suite = (await import('../../suite.config.js')).default as {
      connectors: Array<Record<string, unknown>>;
    };
    const extra = Array.from({ length: connectors - suite.connectors.length }, (_, i) => ({
      name: `extra${i + 1}`,
      kind: 'http',
      baseUrl: `https://extra${i + 1}.example.com`,
      auth: { type: 'bearer', secret: `extra${i + 1}` },
      allowedPathPrefixes: ['/v1'],
    }));
    const file = path.join(dir, 'suite.json');
    const vendors = suite.connectors.filter((c) => c.kind !== 'http');
    const httpbin = { ...suite.connectors.find((c) => c.kind === 'http'), baseUrl: 'https://httpbin.org' };
    writeFileSync(file, JSON.stringify({ connectors: [httpbin, ...vendors, ...extra] }));
    const manyMs = time({ SUITE_CONFIG: file }, path.join(dir, 'many'));
    return { defaultMs, manyMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
