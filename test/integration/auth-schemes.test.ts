/**
 * Issue 12, deliverable 2: the `hmac`, `awsSigV4` and `mtls` auth schemes, each proven through the
 * real `http` connector handler against a local server that checks it independently:
 * - an HMAC verifier that rebuilds the documented canonical strings by hand (Coinbase-style and the
 *   default template) and refuses a mismatch or a stale timestamp;
 * - a SigV4 verifier that signs the received request again with the independent `aws4` package and
 *   the known (fake) credentials the test puts in the environment;
 * - a TLS server that requires a client certificate of its CA, with every key and certificate made
 *   by `openssl` at test time in a temporary directory (none is committed).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import aws4 from 'aws4';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import type { SuiteConfig } from '../../functions/shared/config.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { startLocalGateway } from '../../local/gateway.js';
import {
  type CapturedOutput,
  captureOutput,
  type Envelope,
  lambdaContext,
  type ParsedResult,
  parseResult,
  proxyEvent,
  sendJson,
  startTestServer,
  suiteConfig,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

/** Obviously fake values. */
const HMAC_SECRET = 'hmac-example-signing-secret';
const HMAC_WRONG_SECRET = 'hmac-example-wrong-secret';
const HMAC_KEY_ID = 'key-example-1';
const AWS_ACCESS_KEY_ID = 'EXAMPLEFAKEACCESSKEY1';
const AWS_SECRET_ACCESS_KEY = 'fake-secret-access-key-example-00000000000';
const SIGV4_SERVICE = 'execute-api';
const SIGV4_REGION = 'eu-west-1';
/** How far a timestamp may be from the verifier's clock, in seconds. */
const TOLERANCE_SECONDS = 300;

let output: CapturedOutput;
let secrets: TempSecrets;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Calls `connector` the way a user of `npm start` does: over HTTP, through a local gateway serving
 * `suite` with `secrets` (the local secrets file), then closes the gateway.
 */
async function throughLocalGateway(
  suite: SuiteConfig,
  connector: string,
  input: unknown,
): Promise<{ status: number; body: Envelope }> {
  const gateway = await startLocalGateway({ config: suite, credentials: secrets.store, port: 0 });
  try {
    const response = await fetch(`${gateway.url}/v1/connectors/${connector}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    return { status: response.status, body: (await response.json()) as Envelope };
  } finally {
    await gateway.close();
  }
}

function invoke(handler: ConnectorHandler, connector: string, body: unknown): Promise<ParsedResult> {
  return handler(proxyEvent({ connector, body }), lambdaContext()).then((result) => parseResult(result));
}

describe('hmac: a verifier that rebuilds the signature', () => {
  let server: TestServer;
  let suite: SuiteConfig;
  const handlers = new Map<string, ConnectorHandler>();

  /** Coinbase-style: hex HMAC-SHA256 of timestamp + METHOD + path with query + body. */
  function coinbaseProblem(req: IncomingMessage, body: string): string | undefined {
    const timestamp = String(req.headers['cb-access-timestamp'] ?? '');
    if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
      return 'stale or missing timestamp';
    }
    if (req.headers['cb-access-key'] !== HMAC_KEY_ID) return 'unknown key';
    const expected = createHmac('sha256', HMAC_SECRET)
      .update(`${timestamp}${req.method}${req.url}${body}`)
      .digest('hex');
    return sameText(expected, String(req.headers['cb-access-sign'] ?? '')) ? undefined : 'bad signature';
  }

  /** The default template, SHA-512 in base64 with a prefix and ISO 8601 timestamps. */
  function defaultTemplateProblem(req: IncomingMessage, body: string): string | undefined {
    const timestamp = String(req.headers['x-timestamp'] ?? '');
    const at = Date.parse(timestamp);
    if (Number.isNaN(at) || Math.abs(Date.now() - at) > TOLERANCE_SECONDS * 1000) return 'stale timestamp';
    const bodyDigest = createHash('sha256').update(body).digest('hex');
    const canonical = `${timestamp}\n${req.method}\n${req.url}\n${bodyDigest}`;
    const expected = `v1=${createHmac('sha512', HMAC_SECRET).update(canonical).digest('base64')}`;
    return sameText(expected, String(req.headers['x-signature'] ?? '')) ? undefined : 'bad signature';
  }

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets({
      'hmac-good': { signingSecret: HMAC_SECRET, keyId: HMAC_KEY_ID },
      'hmac-wrong': { signingSecret: HMAC_WRONG_SECRET, keyId: HMAC_KEY_ID },
    });
    server = await startTestServer(async (req, res) => {
      const body = await readBody(req);
      const problem = req.url?.startsWith('/coinbase')
        ? coinbaseProblem(req, body)
        : defaultTemplateProblem(req, body);
      if (problem) sendJson(res, 401, { message: problem });
      else sendJson(res, 200, { verified: true, url: req.url, body });
    });
    const coinbase = {
      type: 'hmac',
      canonical: '{timestamp}{method}{pathWithQuery}{body}',
      signatureHeader: 'CB-ACCESS-SIGN',
      timestampHeader: 'CB-ACCESS-TIMESTAMP',
      keyIdHeader: 'CB-ACCESS-KEY',
    };
    const defaults = {
      type: 'hmac',
      algorithm: 'sha512',
      encoding: 'base64',
      signaturePrefix: 'v1=',
      timestampFormat: 'iso8601',
    };
    suite = suiteConfig({
      connectors: [
        { name: 'hmac-coinbase', auth: { ...coinbase, secret: 'hmac-good' } },
        { name: 'hmac-coinbase-wrong', auth: { ...coinbase, secret: 'hmac-wrong' } },
        { name: 'hmac-default', auth: { ...defaults, secret: 'hmac-good' } },
        { name: 'hmac-default-wrong', auth: { ...defaults, secret: 'hmac-wrong' } },
      ].map((connector) => ({
        ...connector,
        kind: 'http',
        baseUrl: server.url,
        allowedMethods: ['GET', 'POST'],
        allowedPathPrefixes: ['/coinbase', '/default'],
        retry: { maxAttempts: 1 },
      })),
    });
    for (const config of suite.connectors) {
      handlers.set(
        config.name,
        httpConnector.createHandler({ config, credentials: secrets.store, allowLoopbackHttp: true }),
      );
    }
  });

  afterAll(async () => {
    await server?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  function handlerOf(name: string): ConnectorHandler {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`no handler for ${name}`);
    return handler;
  }

  it.each([
    ['hmac-coinbase', '/coinbase/orders'],
    ['hmac-default', '/default/orders'],
  ])('%s: a POST with a query and a JSON body is accepted', async (name, path) => {
    // Act
    const result = await invoke(handlerOf(name), name, {
      method: 'POST',
      path,
      query: { page: 2, q: 'a b&c' },
      body: { amount: 5, note: 'x' },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toEqual({
      verified: true,
      url: `${path}?page=2&q=a+b%26c`,
      body: '{"amount":5,"note":"x"}',
    });
  });

  it.each([
    ['hmac-coinbase', '/coinbase/orders'],
    ['hmac-default', '/default/orders'],
  ])('%s: a GET without a body is accepted', async (name, path) => {
    // Act
    const result = await invoke(handlerOf(name), name, { method: 'GET', path });

    // Assess
    expect(result.status).toBe(200);
  });

  it.each([
    ['hmac-coinbase-wrong', '/coinbase/orders'],
    ['hmac-default-wrong', '/default/orders'],
  ])('%s: a wrong secret is refused by the server and answers AUTHENTICATION_ERROR', async (name, path) => {
    // Act
    const result = await invoke(handlerOf(name), name, { method: 'POST', path, body: { amount: 5 } });

    // Assess: the upstream's 401 (after one forced re-read of the secret), not a 500.
    expect(result.status).toBe(502);
    expect(result.body.error?.code).toBe('AUTHENTICATION_ERROR');
    expect(JSON.stringify(result.body)).not.toContain(HMAC_WRONG_SECRET);
  });

  it('a body that would sign ambiguously after the URL is refused before sending (VALIDATION_ERROR)', async () => {
    // Prepare
    const sent = server.requests.length;

    // Act: Coinbase's template puts the body right after the URL; a text body could shift into it.
    const result = await invoke(handlerOf('hmac-coinbase'), 'hmac-coinbase', {
      method: 'POST',
      path: '/coinbase/orders',
      body: 'plain text',
    });

    // Assess
    expect(result.status).toBe(400);
    expect(result.body.error?.code).toBe('VALIDATION_ERROR');
    expect(server.requests.length).toBe(sent);
  });

  it('works under npm start: the local gateway, with the local secrets file', async () => {
    // Act
    const result = await throughLocalGateway(suite, 'hmac-coinbase', {
      method: 'POST',
      path: '/coinbase/orders',
      query: { page: 1 },
      body: { amount: 7 },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toMatchObject({ verified: true, url: '/coinbase/orders?page=1' });
  });

  it('the signing secret appears in no log line', () => {
    expect(output.text()).not.toContain(HMAC_SECRET);
    expect(output.text()).not.toContain(HMAC_WRONG_SECRET);
  });
});

describe('awsSigV4: a verifier that signs again with aws4', () => {
  let server: TestServer;
  let suite: SuiteConfig;
  const handlers = new Map<string, ConnectorHandler>();
  const savedEnv: Record<string, string | undefined> = {};
  const ENV_NAMES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

  /** Why the request's SigV4 signature does not verify, or `undefined` when it does. */
  function sigV4Problem(req: IncomingMessage, body: string): string | undefined {
    const authorization = String(req.headers.authorization ?? '');
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/.exec(
        authorization,
      );
    if (!match) return 'no SigV4 Authorization header';
    const [, accessKeyId, , , signedHeaderList] = match;
    if (accessKeyId !== AWS_ACCESS_KEY_ID) return 'unknown access key';
    const signed = (signedHeaderList as string).split(';');
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      if (!signed.includes(required)) return `${required} is not signed`;
    }
    // The body hash is the verifier's own, never the one the request claims.
    const bodyHash = createHash('sha256').update(body).digest('hex');
    if (req.headers['x-amz-content-sha256'] !== bodyHash) return 'body hash mismatch';
    const headers: Record<string, string> = {};
    for (const name of signed) headers[name] = String(req.headers[name] ?? '');
    const request = aws4.sign(
      {
        host: String(req.headers.host),
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        service: SIGV4_SERVICE,
        region: SIGV4_REGION,
        headers,
      },
      { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY },
    );
    const expected = String((request.headers as Record<string, unknown>).Authorization ?? '');
    return sameText(expected, authorization) ? undefined : 'signature mismatch';
  }

  beforeAll(async () => {
    output = captureOutput();
    for (const name of ENV_NAMES) savedEnv[name] = process.env[name];
    process.env.AWS_ACCESS_KEY_ID = AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    secrets = await writeTempSecrets({});
    server = await startTestServer(async (req, res) => {
      const body = await readBody(req);
      if (req.url?.startsWith('/api/moved')) {
        res.writeHead(307, { location: '/api/items?from=redirect' }).end();
        return;
      }
      const problem = sigV4Problem(req, body);
      if (problem) sendJson(res, 403, { message: problem });
      else sendJson(res, 200, { verified: true, url: req.url, body });
    });
    suite = suiteConfig({
      connectors: [
        { name: 'sigv4', region: SIGV4_REGION },
        { name: 'sigv4-other-region', region: 'us-east-1' },
      ].map(({ name, region }) => ({
        name,
        kind: 'http',
        baseUrl: server.url,
        auth: { type: 'awsSigV4', service: SIGV4_SERVICE, region },
        allowedMethods: ['GET', 'POST'],
        allowedPathPrefixes: ['/api'],
        retry: { maxAttempts: 1 },
      })),
    });
    for (const config of suite.connectors) {
      handlers.set(
        config.name,
        httpConnector.createHandler({ config, credentials: secrets.store, allowLoopbackHttp: true }),
      );
    }
  });

  afterAll(async () => {
    await server?.close();
    await secrets?.cleanup();
    for (const name of ENV_NAMES) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
    output?.restore();
  });

  function handlerOf(name: string): ConnectorHandler {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`no handler for ${name}`);
    return handler;
  }

  it('a POST with a query and a JSON body verifies', async () => {
    // Act
    const result = await invoke(handlerOf('sigv4'), 'sigv4', {
      method: 'POST',
      path: '/api/items',
      query: { b: 2, a: 'x y' },
      body: { name: 'widget' },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toMatchObject({ verified: true, body: '{"name":"widget"}' });
  });

  it('a redirect hop is signed again and verifies', async () => {
    // Act
    const result = await invoke(handlerOf('sigv4'), 'sigv4', { method: 'GET', path: '/api/moved' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toMatchObject({ verified: true, url: '/api/items?from=redirect' });
  });

  it('a signature for another region is refused and answers AUTHENTICATION_ERROR', async () => {
    // Act
    const result = await invoke(handlerOf('sigv4-other-region'), 'sigv4-other-region', {
      method: 'GET',
      path: '/api/items',
    });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error?.code).toBe('AUTHENTICATION_ERROR');
    expect(result.body.error?.details).toMatchObject({ upstreamBody: expect.stringContaining('mismatch') });
  });

  it('works under npm start: credentials from the environment (the default chain)', async () => {
    // Act
    const result = await throughLocalGateway(suite, 'sigv4', {
      method: 'POST',
      path: '/api/items',
      body: [1, 2],
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toMatchObject({ verified: true, body: '[1,2]' });
  });

  it('the secret access key appears in no log line', () => {
    expect(output.text()).not.toContain(AWS_SECRET_ACCESS_KEY);
  });
});

describe('mtls: a TLS server that requires a client certificate', () => {
  let dir: string;
  let server: HttpsServer;
  let baseUrl: string;
  let caOnlyAgent: Agent;
  let suite: SuiteConfig;
  let alertingServerUrl: string;
  let opensslServer: ChildProcess | undefined;
  const handlers = new Map<string, ConnectorHandler>();

  /** Runs openssl in the temporary directory. */
  function openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  }

  /** A P-256 key and a certificate for `cn` signed by `ca` (`ca.crt`/`ca.key` in the directory). */
  function issue(name: string, ca: string, cn: string, extensions: string): void {
    writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  }

  function authority(name: string): void {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    );
  }

  const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');

  /**
   * `openssl s_server`, which verifies the client certificate in the handshake and refuses a bad
   * one with a TLS alert; resolves with its URL once it prints the port it accepts on.
   */
  function startOpensslServer(): Promise<string> {
    opensslServer = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        '127.0.0.1:0',
        '-cert',
        'server.crt',
        '-key',
        'server.key',
        '-CAfile',
        'test-ca.crt',
        '-Verify',
        '1',
        '-verify_return_error',
        '-www',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const started = opensslServer;
    return new Promise((resolve, reject) => {
      let printed = '';
      started.stdout?.on('data', (chunk: Buffer) => {
        printed += chunk.toString('utf8');
        const port = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(printed)?.[1];
        if (port) resolve(`https://127.0.0.1:${port}`);
      });
      started.once('exit', (code) => reject(new Error(`openssl s_server exited (${code})`)));
    });
  }

  beforeAll(async () => {
    output = captureOutput();
    dir = mkdtempSync(path.join(tmpdir(), 'connector-suite-mtls-'));
    authority('test-ca');
    authority('other-ca');
    issue(
      'server',
      'test-ca',
      'localhost',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    issue('client', 'test-ca', 'connector-example', 'extendedKeyUsage=clientAuth\n');
    issue('stranger', 'other-ca', 'connector-stranger', 'extendedKeyUsage=clientAuth\n');
    secrets = await writeTempSecrets({
      'mtls-good': {
        certificate: read('client.crt'),
        privateKey: read('client.key'),
        caBundle: read('test-ca.crt'),
      },
      'mtls-other-ca': {
        certificate: read('stranger.crt'),
        privateKey: read('stranger.key'),
        caBundle: read('test-ca.crt'),
      },
      'mtls-no-certificate': { caBundle: read('test-ca.crt') },
      'mtls-mismatched': {
        certificate: read('client.crt'),
        privateKey: read('stranger.key'),
        caBundle: read('test-ca.crt'),
      },
    });
    server = createHttpsServer(
      {
        key: read('server.key'),
        cert: read('server.crt'),
        ca: [read('test-ca.crt')],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        sendJson(res, 200, { clientCertificate: peer.subject?.CN });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    alertingServerUrl = await startOpensslServer();
    // What a connector without a client certificate has: the CA, so that only the certificate is missing.
    caOnlyAgent = new Agent({ connect: { ca: read('test-ca.crt') } });
    suite = suiteConfig({
      connectors: [
        ...[
          { name: 'mtls-good', auth: { type: 'mtls', secret: 'mtls-good' } },
          { name: 'mtls-other-ca', auth: { type: 'mtls', secret: 'mtls-other-ca' } },
          { name: 'mtls-mismatched', auth: { type: 'mtls', secret: 'mtls-mismatched' } },
          { name: 'mtls-no-certificate', auth: { type: 'mtls', secret: 'mtls-no-certificate' } },
          { name: 'no-certificate', auth: { type: 'none' } },
        ].map((connector) => ({
          ...connector,
          kind: 'http',
          baseUrl,
          allowedMethods: ['GET', 'POST'],
          allowedPathPrefixes: ['/secure'],
          retry: { maxAttempts: 1 },
        })),
        ...[
          { name: 'mtls-good-alert', auth: { type: 'mtls', secret: 'mtls-good' } },
          { name: 'mtls-other-ca-alert', auth: { type: 'mtls', secret: 'mtls-other-ca' } },
        ].map((connector) => ({
          ...connector,
          kind: 'http',
          baseUrl: alertingServerUrl,
          allowedPathPrefixes: ['/'],
          retry: { maxAttempts: 1 },
        })),
      ],
    });
    for (const config of suite.connectors) {
      const noCertificateFetch: typeof fetch = (input, init) =>
        globalThis.fetch(input, { ...init, dispatcher: caOnlyAgent } as RequestInit);
      handlers.set(
        config.name,
        httpConnector.createHandler({
          config,
          credentials: secrets.store,
          ...(config.name === 'no-certificate' ? { fetch: noCertificateFetch } : {}),
        }),
      );
    }
  });

  afterAll(async () => {
    opensslServer?.kill();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await caOnlyAgent?.close();
    await secrets?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    output?.restore();
  });

  function handlerOf(name: string): ConnectorHandler {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`no handler for ${name}`);
    return handler;
  }

  it('a call with the client certificate succeeds', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-good'), 'mtls-good', {
      method: 'POST',
      path: '/secure/ping',
      body: { n: 1 },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toEqual({ clientCertificate: 'connector-example' });
  });

  it('a certificate of another CA: the server hangs up; the connector answers UPSTREAM_ERROR, not a 500', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-other-ca'), 'mtls-other-ca', {
      method: 'POST',
      path: '/secure/ping',
    });

    // Assess: Node's https server checks the certificate after the handshake and closes the
    // connection without a TLS alert: the client sees a connection closed, nothing more.
    expect(result.status).toBe(502);
    expect(result.body.error?.code).toBe('UPSTREAM_ERROR');
  });

  it('a certificate of another CA, refused with a TLS alert (OpenSSL s_server): AUTHENTICATION_ERROR', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-other-ca-alert'), 'mtls-other-ca-alert', {
      method: 'GET',
      path: '/',
    });

    // Assess: a server that refuses in the handshake, as nginx, Envoy or OpenSSL do, says why.
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', retryable: false });
    expect(result.body.error?.message).toMatch(/refused the client certificate .*\(TLS alert: unknown ca\)/);
  });

  it('the good certificate also passes the OpenSSL s_server', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-good-alert'), 'mtls-good-alert', {
      method: 'GET',
      path: '/',
    });

    // Assess
    expect(result.status).toBe(200);
  });

  it('a secret without the certificate answers CONFIGURATION_ERROR naming the field, and sends nothing', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-no-certificate'), 'mtls-no-certificate', {
      method: 'GET',
      path: '/secure/ping',
    });

    // Assess
    expect(result.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(result.body.error?.message).toMatch(/'certificate'/);
  });

  it('a connector without mtls (its own CA trusted, no certificate) fails typed, not with a 500', async () => {
    // Act
    const result = await invoke(handlerOf('no-certificate'), 'no-certificate', {
      method: 'POST',
      path: '/secure/ping',
    });

    // Assess: the shared connection pool cannot tell the refusal from a closed connection.
    expect(result.status).toBe(502);
    expect(result.body.error?.code).toBe('UPSTREAM_ERROR');
  });

  it('a private key that does not match the certificate answers CONFIGURATION_ERROR', async () => {
    // Act
    const result = await invoke(handlerOf('mtls-mismatched'), 'mtls-mismatched', {
      method: 'GET',
      path: '/secure/ping',
    });

    // Assess
    expect(result.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(result.body.error?.message).toMatch(/could not be loaded/);
    expect(JSON.stringify(result.body)).not.toContain('PRIVATE KEY');
  });

  it('works under npm start: the certificate from the local secrets file', async () => {
    // Act
    const result = await throughLocalGateway(suite, 'mtls-good', { method: 'GET', path: '/secure/ping' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data?.body).toEqual({ clientCertificate: 'connector-example' });
  });

  it('no private key appears in any log line', () => {
    expect(output.text()).not.toContain('PRIVATE KEY');
  });
});
