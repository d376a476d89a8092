/**
 * An `openapi` connector's Lambda bundle (issue 14): the entry the `Connector` construct generates
 * at synth time, bundled with the esbuild options of `CONNECTOR_BUNDLING`, holds the validators as
 * Ajv standalone code and no Ajv compiler, no description reader and no description file; run in a
 * fresh Node process as Lambda would, with `CONNECTOR_CONFIG` naming the description by digest, it
 * serves a valid call through an https upstream, refuses an invalid input with nothing sent, and
 * enforces the documented response schema.
 * One bundle (esbuild, about a second) shared by the tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveOpenApiSpecs } from '../../functions/openapi/description.js';
import { writeOpenApiLambdaEntry } from '../../functions/openapi/lambda-entry.js';
import { type OpenApiConnectorConfig, parseSuiteConfig } from '../../functions/shared/config.js';
import { connectorProxyEvent } from '../../local/lambda-events.js';
import { bundledInputs, connectorEsbuildOptions } from '../support/connector-esbuild.js';
import { PROJECT_ROOT } from '../support/infra-helpers.js';
import { loopbackCertificate } from '../support/loopback-tls.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const MESSAGE = `SM${'b'.repeat(32)}`;

/** Runs `handler` of `bundle` on each event in a fresh Node process; the answers, parsed. */
const DRIVER = `
const [bundle, eventsFile] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const { handler } = await import(bundle);
const context = { awsRequestId: 'bundle-test', functionName: 'twilio-openapi', getRemainingTimeInMillis: () => 29000 };
const answers = [];
for (const event of events) {
  const result = await handler(event, context);
  answers.push({ status: result.statusCode, body: JSON.parse(result.body) });
}
process.stdout.write('\\nANSWERS ' + JSON.stringify(answers) + '\\n');
process.exit(0);
`;

interface Answer {
  status: number;
  body: { data?: { status: number; body: unknown }; error?: { code: string; details?: unknown } };
}

let dir: string;
let bundle: string;
let metafile: Metafile;
let config: OpenApiConnectorConfig;
let slimConfig: OpenApiConnectorConfig;
let upstream: Server;
let upstreamUrl: string;
/** The upstream's certificate, trusted by the bundle's process. */
let certFile: string;
/** What the upstream received: method and path. */
const received: string[] = [];
/** What the upstream answers to a GET. */
let getAnswer: unknown = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'openapi-bundle-'));
  const suite = parseSuiteConfig(
    await resolveOpenApiSpecs(
      {
        connectors: [
          {
            name: 'twilio-openapi',
            kind: 'openapi',
            spec: 'test/fixtures/twilio/messages.openapi.json',
            operations: ['CreateMessage', 'FetchMessage', 'ListMessage'],
          },
        ],
      },
      PROJECT_ROOT,
    ),
    'openapi-bundle.test.ts',
  );
  config = suite.connectors[0] as OpenApiConnectorConfig;
  const generated = writeOpenApiLambdaEntry(config, { projectRoot: PROJECT_ROOT });
  slimConfig = generated.config;
  bundle = path.join(dir, 'bundle', 'index.mjs');
  const result = await build(connectorEsbuildOptions(generated.entry, bundle, true));
  metafile = result.metafile as Metafile;
  // The bundle leaves the AWS SDK to the runtime: the project's node_modules stands in for it.
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));

  const tls = loopbackCertificate(dir);
  certFile = tls.certFile;
  upstream = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(getAnswer)),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** The event of a call of `operation` with `input`. */
function call(operation: string, input: unknown) {
  return connectorProxyEvent({
    connector: 'twilio-openapi',
    operation,
    headers: [['content-type', 'application/json']],
    body: JSON.stringify(input),
  });
}

/** Runs the bundle on `events` in a fresh Node process, with `CONNECTOR_CONFIG` as given. */
async function runBundle(connectorConfig: unknown, events: unknown[]): Promise<Answer[]> {
  const driver = path.join(dir, 'driver.mjs');
  const eventsFile = path.join(dir, `events-${received.length}-${events.length}.json`);
  writeFileSync(driver, DRIVER);
  writeFileSync(eventsFile, JSON.stringify(events));
  const child = spawn(process.execPath, [driver, pathToFileURL(bundle).href, eventsFile], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'LOCALFAKEKEY',
      AWS_SECRET_ACCESS_KEY: 'local-fake-secret',
      NODE_EXTRA_CA_CERTS: certFile,
      POWERTOOLS_SERVICE_NAME: 'twilio-openapi',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      CONNECTOR_CONFIG: JSON.stringify(connectorConfig),
      IDEMPOTENCY_TABLE_NAME: 'bundle-test-idempotency',
    },
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
  const line = output.split('\n').find((l) => l.startsWith('ANSWERS '));
  if (code !== 0 || !line) throw new Error(`the bundle failed (exit ${code}):\n${output.slice(-3000)}`);
  return JSON.parse(line.slice('ANSWERS '.length)) as Answer[];
}

describe("an openapi connector's generated Lambda bundle", () => {
  it('carries the standalone validators, not the Ajv compiler, the description reader or the file', () => {
    // Act
    const inputs = bundledInputs(metafile);

    // Assess
    expect(inputs.some((file) => file.endsWith('validators.mjs'))).toBe(true);
    expect(inputs.some((file) => file.includes('ajv-formats/dist/formats'))).toBe(true);
    for (const absent of [
      'ajv/dist/core',
      'ajv/dist/compile/',
      'ajv/dist/standalone',
      'swagger2openapi',
      'functions/openapi/compile.ts',
      'functions/openapi/description.ts',
      'messages.openapi.json',
    ]) {
      expect(inputs.filter((file) => file.includes(absent))).toEqual([]);
    }
    expect(JSON.stringify(slimConfig)).not.toContain('"operations":{');
    expect(slimConfig.spec).toMatch(/^bundled:[0-9a-f]{16}$/);
  });

  it('serves a valid call, refuses an invalid input with nothing sent, and enforces the response schema', async () => {
    // Prepare
    getAnswer = { sid: MESSAGE, account_sid: ACCOUNT, status: 'delivered' };
    const sentBefore = received.length;

    // Act
    const [fetched, invalid] = await runBundle({ ...slimConfig, baseUrl: upstreamUrl }, [
      call('FetchMessage', { path: { AccountSid: ACCOUNT, Sid: MESSAGE } }),
      call('CreateMessage', { path: { AccountSid: ACCOUNT }, body: { From: '+15005550006' } }),
    ]);
    const sentByValidCall = received.slice(sentBefore);
    getAnswer = { sid: 5 };
    const [violating] = await runBundle(
      { ...slimConfig, baseUrl: upstreamUrl, responseValidation: 'enforce' },
      [call('FetchMessage', { path: { AccountSid: ACCOUNT, Sid: MESSAGE } })],
    );

    // Assess
    expect(fetched).toMatchObject({ status: 200, body: { data: { status: 200, body: { sid: MESSAGE } } } });
    expect(sentByValidCall).toEqual([`GET /2010-04-01/Accounts/${ACCOUNT}/Messages/${MESSAGE}.json`]);
    expect(invalid?.status).toBe(400);
    expect(invalid?.body.error?.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(invalid?.body.error?.details)).toContain('body.To');
    expect(received.slice(sentBefore).filter((line) => line.startsWith('POST'))).toEqual([]);
    expect(violating?.body.error?.code).toBe('RESPONSE_VALIDATION_ERROR');
    expect(JSON.stringify(violating?.body.error?.details)).toContain('body.sid');
  }, 60_000);

  it('answers CONFIGURATION_ERROR when CONNECTOR_CONFIG names a description the bundle does not carry', async () => {
    // Act
    const [answer] = await runBundle(
      { ...slimConfig, baseUrl: upstreamUrl, spec: 'bundled:0000000000000000' },
      [call('FetchMessage', { path: { AccountSid: ACCOUNT, Sid: MESSAGE } })],
    );

    // Assess
    expect(answer?.body.error?.code).toBe('CONFIGURATION_ERROR');
  }, 60_000);
});
