import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AwsCredentialIdentity, HttpRequest } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  buildRequest,
  connectorUrl,
  type InvokeOptions,
  main,
  parseOptions,
  regionOf,
  signRequest,
  UsageError,
} from '../../scripts/invoke.js';

const CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'fake-secret-access-key-example',
};
const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/';
const SIGNING_DATE = new Date('2026-01-02T03:04:05Z');
const REQUIRED = ['--connector', 'httpbin', '--operation', 'request'];

/** Captures what `main` writes to stdout and stderr (restored after each test by `restoreMocks`). */
function captureStreams(): { stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  const spy = (stream: NodeJS.WriteStream, sink: string[]) =>
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write);
  spy(process.stdout, out);
  spy(process.stderr, err);
  return { stdout: () => out.join(''), stderr: () => err.join('') };
}

/** A fetch stub answering `status` with a JSON body, recording its calls. */
function stubFetch(status = 200, body: unknown = { data: { ok: true } }) {
  return vi.fn<typeof fetch>(
    async () =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-stub-1' },
      }),
  );
}

function fetchHeaders(fetchStub: ReturnType<typeof stubFetch>): Record<string, string> {
  const init = fetchStub.mock.calls[0]?.[1];
  return (init?.headers ?? {}) as Record<string, string>;
}

function optionsOf(argv: string[], context?: Parameters<typeof parseOptions>[1]): InvokeOptions {
  const parsed = parseOptions(argv, context);
  if ('help' in parsed) throw new Error('expected options, got --help');
  return parsed;
}

/** An independent SigV4 (AWS General Reference, "Create a signed AWS API request") for the checks below. */
function expectedSignature(input: {
  canonicalUri: string;
  headers: Record<string, string>;
  body: string;
  amzDate: string;
  region: string;
}): { signedHeaders: string; signature: string } {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const names = Object.keys(input.headers).sort();
  const signedHeaders = names.join(';');
  const canonicalHeaders = names.map((name) => `${name}:${input.headers[name]}\n`).join('');
  const canonicalRequest = [
    'POST',
    input.canonicalUri,
    '',
    canonicalHeaders,
    signedHeaders,
    sha256(input.body),
  ].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day);
  for (const part of [input.region, 'execute-api', 'aws4_request']) key = hmac(key, part);
  return { signedHeaders, signature: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

describe('parseOptions', () => {
  it('reads every option', () => {
    // Prepare
    const argv = [
      '--url',
      API,
      ...REQUIRED,
      '--data',
      '{"method":"GET","path":"/uuid"}',
      '--idempotency-key',
      'order-1234',
      '--region',
      'eu-central-1',
    ];

    // Act
    const options = optionsOf(argv);

    // Assess
    expect(options.url.href).toBe(API);
    expect(options).toMatchObject({
      connector: 'httpbin',
      operation: 'request',
      data: { method: 'GET', path: '/uuid' },
      idempotencyKey: 'order-1234',
      region: 'eu-central-1',
    });
  });

  it('defaults --data to {} and leaves the key and region unset', () => {
    // Prepare
    const argv = ['--url', 'http://127.0.0.1:3000', ...REQUIRED];

    // Act
    const options = optionsOf(argv);

    // Assess
    expect(options.data).toEqual({});
    expect(options.idempotencyKey).toBeUndefined();
    expect(options.region).toBeUndefined();
  });

  it.each(['url', 'connector', 'operation'])('requires --%s', (name) => {
    // Prepare
    const all: Record<string, string> = { url: API, connector: 'httpbin', operation: 'request' };
    const argv = Object.entries(all)
      .filter(([key]) => key !== name)
      .flatMap(([key, value]) => [`--${key}`, value]);

    // Act
    const parse = () => parseOptions(argv);

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(`--${name} is required`);
  });

  it('reads --data @file relative to the caller directory', () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'invoke-data-'));
    writeFileSync(path.join(dir, 'request.json'), '{"method":"POST","path":"/anything","body":{"n":1}}\n');

    // Act
    let options: InvokeOptions;
    try {
      options = optionsOf(['--url', API, ...REQUIRED, '--data', '@request.json'], { cwd: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Assess
    expect(options.data).toEqual({ method: 'POST', path: '/anything', body: { n: 1 } });
  });

  it.each([
    ['invalid JSON', '{"method":', {}],
    ['invalid JSON in a file', '@bad.json', { readFile: () => 'not json' }],
    ['an unreadable file', '@missing.json', { cwd: '/nonexistent-invoke-dir' }],
  ])('names --data for %s', (_case, data, context) => {
    // Prepare
    const argv = ['--url', API, ...REQUIRED, '--data', data];

    // Act
    const parse = () => parseOptions(argv, context);

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(/^--data/);
  });

  it('answers --help without requiring anything else', () => {
    // Prepare
    const argv = ['--help'];

    // Act
    const parsed = parseOptions(argv);

    // Assess
    expect(parsed).toEqual({ help: true });
  });

  it.each([
    [['--url', API, ...REQUIRED, '--bogus'], /Unknown option '--bogus'/],
    [['--url', API, ...REQUIRED, 'extra'], /positional/i],
    [['--url', 'not a url', ...REQUIRED], /--url is not a URL/],
    [['--url', 'ftp://example.com/', ...REQUIRED], /--url must be an http\(s\) URL/],
    [['--url', 'https://user:pw@example.com/', ...REQUIRED], /--url must not contain credentials/],
    [['--url', API, ...REQUIRED, '--idempotency-key', 'has space'], /--idempotency-key/],
    [['--url', API, ...REQUIRED, '--idempotency-key', 'k'.repeat(256)], /--idempotency-key/],
    [['--url', API, ...REQUIRED, '--region', 'EU West'], /--region/],
  ])('refuses %j', (argv, message) => {
    // Prepare
    const parse = () => parseOptions(argv);

    // Act
    let error: unknown;
    try {
      parse();
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it.each(['http://example.com/', 'http://10.0.0.1:3000', 'http://127.0.0.1.nip.io/'])(
    'refuses plain http to the non-loopback %s',
    (url) => {
      // Prepare
      const argv = ['--url', url, ...REQUIRED];

      // Act
      const parse = () => parseOptions(argv);

      // Assess
      expect(parse).toThrow(/plain http is allowed only to a loopback host/);
    },
  );

  it.each(['http://127.0.0.1:3000', 'http://127.8.9.10/', 'http://localhost:3000/', 'http://[::1]:3000'])(
    'accepts plain http to the loopback %s',
    (url) => {
      // Prepare
      const argv = ['--url', url, ...REQUIRED];

      // Act
      const options = optionsOf(argv);

      // Assess
      expect(options.url.protocol).toBe('http:');
    },
  );
});

describe('connectorUrl', () => {
  it.each([
    [API, 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/v1/connectors/httpbin/request'],
    [
      API.slice(0, -1),
      'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/v1/connectors/httpbin/request',
    ],
    ['https://api.example.com/a/b/?x=1#top', 'https://api.example.com/a/b/v1/connectors/httpbin/request'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/v1/connectors/httpbin/request'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/v1/connectors/httpbin/request'],
  ])('joins %s', (base, expected) => {
    // Prepare
    const names = ['httpbin', 'request'] as const;

    // Act
    const url = connectorUrl(base, ...names);

    // Assess
    expect(url.href).toBe(expected);
  });

  it('encodes each name as one segment', () => {
    // Prepare
    const connector = 'a b/c';
    const operation = 'x?y#z%';

    // Act
    const url = connectorUrl('http://127.0.0.1:3000', connector, operation);

    // Assess
    expect(url.pathname).toBe('/v1/connectors/a%20b%2Fc/x%3Fy%23z%25');
    expect(url.search).toBe('');
  });

  it.each(['..', '.', ''])('refuses the name %j', (name) => {
    // Prepare
    const base = API;

    // Act
    const join = () => connectorUrl(base, name, 'request');

    // Assess
    expect(join).toThrow(UsageError);
  });
});

describe('regionOf', () => {
  it.each([
    [API, 'eu-west-1'],
    ['https://abc123.execute-api.us-gov-west-1.amazonaws.com/', 'us-gov-west-1'],
    ['https://abc123-vpce-0123.execute-api.ap-southeast-2.vpce.amazonaws.com/prod', 'ap-southeast-2'],
    ['https://abc123.execute-api.cn-north-1.amazonaws.com.cn/', 'cn-north-1'],
  ])('reads the region of %s, before AWS_REGION', (url, region) => {
    // Prepare
    const env = { AWS_REGION: 'us-east-1' };

    // Act
    const found = regionOf(url, env);

    // Assess
    expect(found).toBe(region);
  });

  it.each([
    [{ AWS_REGION: 'eu-north-1', AWS_DEFAULT_REGION: 'us-west-2' }, 'eu-north-1'],
    [{ AWS_DEFAULT_REGION: 'us-west-2' }, 'us-west-2'],
    [{}, undefined],
  ])('falls back to the environment %j for other hosts', (env, region) => {
    // Prepare
    const url = 'https://api.example.com/';

    // Act
    const found = regionOf(url, env);

    // Assess
    expect(found).toBe(region);
  });
});

describe('signRequest', () => {
  const request = (body: unknown = { method: 'GET', path: '/uuid' }): HttpRequest =>
    buildRequest({
      url: connectorUrl(API, 'httpbin', 'request'),
      data: body,
      idempotencyKey: 'order-1234',
    });

  it('adds a SigV4 authorization for execute-api, equal to an independent computation', async () => {
    // Prepare
    const unsigned = request();

    // Act
    const signed = await signRequest(unsigned, {
      credentials: CREDENTIALS,
      region: 'eu-west-1',
      signingDate: SIGNING_DATE,
    });

    // Assess
    const body = '{"method":"GET","path":"/uuid"}';
    const expected = expectedSignature({
      canonicalUri: '/dev/v1/connectors/httpbin/request',
      headers: {
        'content-type': 'application/json',
        host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'idempotency-key': 'order-1234',
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        'x-amz-date': '20260102T030405Z',
      },
      body,
      amzDate: '20260102T030405Z',
      region: 'eu-west-1',
    });
    expect(signed.body).toBe(body);
    expect(signed.headers['x-amz-date']).toBe('20260102T030405Z');
    expect(signed.headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/execute-api/aws4_request, ` +
        `SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`,
    );
    expect(signed.headers['x-amz-security-token']).toBeUndefined();
    expect(unsigned.headers.authorization).toBeUndefined();
  });

  it('signs the path segments encoded twice, as execute-api expects', async () => {
    // Prepare
    const unsigned = buildRequest({ url: connectorUrl(API, 'my connector', 'request'), data: {} });

    // Act
    const signed = await signRequest(unsigned, {
      credentials: CREDENTIALS,
      region: 'eu-west-1',
      signingDate: SIGNING_DATE,
    });

    // Assess
    const expected = expectedSignature({
      canonicalUri: '/dev/v1/connectors/my%2520connector/request',
      headers: {
        'content-type': 'application/json',
        host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'x-amz-content-sha256': createHash('sha256').update('{}').digest('hex'),
        'x-amz-date': '20260102T030405Z',
      },
      body: '{}',
      amzDate: '20260102T030405Z',
      region: 'eu-west-1',
    });
    expect(signed.path).toBe('/dev/v1/connectors/my%20connector/request');
    expect(signed.headers.authorization).toContain(`Signature=${expected.signature}`);
  });

  it('adds x-amz-security-token, signed, with a session token', async () => {
    // Prepare
    const credentials = { ...CREDENTIALS, sessionToken: 'fake-session-token-example' };

    // Act
    const signed = await signRequest(request(), {
      credentials,
      region: 'eu-west-1',
      signingDate: SIGNING_DATE,
    });

    // Assess
    expect(signed.headers['x-amz-security-token']).toBe('fake-session-token-example');
    expect(signed.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^ ]*x-amz-security-token/,
    );
  });

  it('is deterministic for a fixed date, and the signature covers body and region', async () => {
    // Prepare
    const sign = (unsigned: HttpRequest, region = 'eu-west-1') =>
      signRequest(unsigned, { credentials: CREDENTIALS, region, signingDate: SIGNING_DATE }).then(
        (signed) => signed.headers.authorization,
      );

    // Act
    const first = await sign(request());
    const again = await sign(request());
    const otherBody = await sign(request({ method: 'GET', path: '/uuid', query: { n: '2' } }));
    const otherRegion = await sign(request(), 'us-east-1');

    // Assess
    const signature = (authorization?: string) => authorization?.split('Signature=')[1];
    expect(again).toBe(first);
    expect(signature(otherBody)).toMatch(/^[0-9a-f]{64}$/);
    expect(signature(otherBody)).not.toBe(signature(first));
    expect(signature(otherRegion)).not.toBe(signature(first));
  });
});

describe('main with a stubbed fetch', () => {
  it('signs an https call with the provided credentials', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = stubFetch();
    const credentials = vi.fn(async () => CREDENTIALS);

    // Act
    const code = await main(['--url', API, ...REQUIRED, '--idempotency-key', 'order-1234'], {
      fetch: fetchStub,
      credentials,
      env: {},
    });

    // Assess
    expect(code).toBe(0);
    expect(credentials).toHaveBeenCalledOnce();
    expect(fetchStub.mock.calls[0]?.[0]).toBe(
      'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/v1/connectors/httpbin/request',
    );
    const headers = fetchHeaders(fetchStub);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['idempotency-key']).toBe('order-1234');
    expect(headers.host).toBeUndefined();
    expect(fetchStub.mock.calls[0]?.[1]).toMatchObject({ method: 'POST', body: '{}' });
    expect(streams.stderr()).toBe('HTTP 200  x-request-id: req-stub-1\n');
  });

  it('reports missing credentials in one line, exit code 1, without calling', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = stubFetch();
    const credentials = vi.fn(async (): Promise<AwsCredentialIdentity> => {
      throw new Error('Could not load credentials from any providers\n    at somewhere (file.js:1:1)');
    });

    // Act
    const code = await main(['--url', API, ...REQUIRED], { fetch: fetchStub, credentials });

    // Assess
    expect(code).toBe(1);
    expect(fetchStub).not.toHaveBeenCalled();
    expect(streams.stderr()).toMatch(
      /^invoke: No AWS credentials found: configure a profile .* AWS_ACCESS_KEY_ID .*Could not load credentials from any providers\)\n$/,
    );
    expect(streams.stdout()).toBe('');
  });

  it('asks for --region when the host does not tell it', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = stubFetch();
    const credentials = vi.fn(async () => CREDENTIALS);

    // Act
    const code = await main(['--url', 'https://api.example.com/', ...REQUIRED], {
      fetch: fetchStub,
      credentials,
      env: {},
    });

    // Assess
    expect(code).toBe(2);
    expect(streams.stderr()).toMatch(/^invoke: cannot tell the region of api\.example\.com: pass --region/);
    expect(credentials).not.toHaveBeenCalled();
    expect(fetchStub).not.toHaveBeenCalled();
  });

  it('sends a loopback http call unsigned, without asking for credentials', async () => {
    // Prepare
    captureStreams();
    const fetchStub = stubFetch();
    const credentials = vi.fn(async () => CREDENTIALS);

    // Act
    const code = await main(['--url', 'http://localhost:3000/', ...REQUIRED], {
      fetch: fetchStub,
      credentials,
    });

    // Assess
    expect(code).toBe(0);
    expect(credentials).not.toHaveBeenCalled();
    expect(fetchStub.mock.calls[0]?.[0]).toBe('http://localhost:3000/v1/connectors/httpbin/request');
    const headers = fetchHeaders(fetchStub);
    expect(headers).toEqual({ 'content-type': 'application/json' });
  });

  it('refuses plain http to another host with exit code 2', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = stubFetch();
    const credentials = vi.fn(async () => CREDENTIALS);

    // Act
    const code = await main(['--url', 'http://abc123.execute-api.eu-west-1.amazonaws.com/dev', ...REQUIRED], {
      fetch: fetchStub,
      credentials,
    });

    // Assess
    expect(code).toBe(2);
    expect(streams.stderr()).toMatch(/^invoke: --url: plain http is allowed only to a loopback host.*\n$/);
    expect(credentials).not.toHaveBeenCalled();
    expect(fetchStub).not.toHaveBeenCalled();
  });

  it.each([
    [['--url', API, ...REQUIRED, '--data', '{oops'], /^invoke: --data is not valid JSON: .*\n$/],
    [['--url', API, '--connector', 'httpbin'], /^invoke: --operation is required \(see --help\)\n$/],
    [['--url', API, ...REQUIRED, '--url'], /^invoke: Option '--url <value>' argument missing.*\n$/],
  ])('answers the usage error of %j in one line with exit code 2', async (argv, message) => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = stubFetch();

    // Act
    const code = await main(argv, { fetch: fetchStub });

    // Assess
    expect(code).toBe(2);
    expect(streams.stderr()).toMatch(message);
    expect(streams.stderr().split('\n')).toHaveLength(2);
    expect(fetchStub).not.toHaveBeenCalled();
  });

  it('prints the usage for --help with exit code 0', async () => {
    // Prepare
    const streams = captureStreams();

    // Act
    const code = await main(['--help']);

    // Assess
    expect(code).toBe(0);
    expect(streams.stdout()).toMatch(/^Usage: npm run invoke -- --url URL --connector NAME --operation NAME/);
    expect(streams.stdout()).toContain('--idempotency-key KEY');
  });

  it('prints a body that is not JSON as is', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = vi.fn<typeof fetch>(async () => new Response('Bad Gateway\n', { status: 502 }));

    // Act
    const code = await main(['--url', 'http://127.0.0.1:3000', ...REQUIRED], { fetch: fetchStub });

    // Assess
    expect(code).toBe(1);
    expect(streams.stdout()).toBe('Bad Gateway\n');
    expect(streams.stderr()).toBe('HTTP 502\n');
  });

  it('reports a network error in one line with exit code 1', async () => {
    // Prepare
    const streams = captureStreams();
    const fetchStub = vi.fn<typeof fetch>(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(''), { code: 'ECONNREFUSED' }) });
    });

    // Act
    const code = await main(['--url', 'http://127.0.0.1:3999', ...REQUIRED], { fetch: fetchStub });

    // Assess
    expect(code).toBe(1);
    expect(streams.stderr()).toBe(
      'invoke: request to http://127.0.0.1:3999/v1/connectors/httpbin/request failed: ECONNREFUSED\n',
    );
  });
});

describe('main against a local HTTP server', () => {
  interface Received {
    method?: string;
    url?: string;
    headers: IncomingHttpHeaders;
    body: string;
  }
  const received: Received[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json', 'x-request-id': 'req-local-42' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts the body and Idempotency-Key and prints the pretty JSON answer, exit code 0', async () => {
    // Prepare
    received.length = 0;
    answer = {
      status: 200,
      body: { data: { status: 200, body: { uuid: 'u-1' } }, meta: { connector: 'httpbin', attempts: 1 } },
    };
    const streams = captureStreams();
    const credentials = vi.fn(async () => CREDENTIALS);

    // Act
    const code = await main(
      [
        '--url',
        `${base}/`,
        ...REQUIRED,
        '--data',
        '{"method":"GET","path":"/uuid"}',
        '--idempotency-key',
        'order-1234',
      ],
      { credentials },
    );

    // Assess
    expect(code).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/v1/connectors/httpbin/request' });
    expect(received[0]?.headers['content-type']).toBe('application/json');
    expect(received[0]?.headers['idempotency-key']).toBe('order-1234');
    expect(received[0]?.headers.authorization).toBeUndefined();
    expect(JSON.parse(received[0]?.body ?? '')).toEqual({ method: 'GET', path: '/uuid' });
    expect(streams.stdout()).toBe(`${JSON.stringify(answer.body, null, 2)}\n`);
    expect(streams.stderr()).toBe('HTTP 200 OK  x-request-id: req-local-42\n');
    expect(credentials).not.toHaveBeenCalled();
  });

  it('answers exit code 1 for a 4xx, still printing the error body', async () => {
    // Prepare
    received.length = 0;
    answer = {
      status: 404,
      body: {
        error: { code: 'NOT_FOUND', message: 'unknown connector nope', source: 'client', retryable: false },
      },
    };
    const streams = captureStreams();

    // Act
    const code = await main(['--url', base, '--connector', 'nope', '--operation', 'request']);

    // Assess
    expect(code).toBe(1);
    expect(received[0]?.url).toBe('/v1/connectors/nope/request');
    expect(received[0]?.body).toBe('{}');
    expect(streams.stderr()).toBe('HTTP 404 Not Found  x-request-id: req-local-42\n');
    expect(JSON.parse(streams.stdout())).toEqual(answer.body);
  });

  it('reports a refused connection in one line with exit code 1', async () => {
    // Prepare
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const streams = captureStreams();

    // Act
    const code = await main(['--url', `http://127.0.0.1:${port}`, ...REQUIRED]);

    // Assess
    expect(code).toBe(1);
    expect(streams.stderr()).toMatch(
      /^invoke: request to http:\/\/127\.0\.0\.1:\d+\/v1\/connectors\/httpbin\/request failed: .*ECONNREFUSED.*\n$/,
    );
  });
});
