/**
 * The `hmac`, `awsSigV4` and `mtls` auth schemes (issue 12, deliverable 2): the hmac template's
 * rules and canonical string, timestamp formats, config validation messages, a Standard Webhooks
 * signature checked by the reference library, SigV4 credentials handling, and one mTLS dispatcher
 * per secret version. End to end against verifying servers: test/integration/auth-schemes.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AwsSigV4Scheme } from '../../functions/shared/auth/aws-sigv4.js';
import { canonicalString, formatTimestamp, HmacScheme } from '../../functions/shared/auth/hmac.js';
import {
  DEFAULT_HMAC_TEMPLATE,
  type ParsedTemplate,
  parseHmacTemplate,
} from '../../functions/shared/auth/hmac-template.js';
import { MtlsScheme } from '../../functions/shared/auth/mtls.js';
import type { AuthorizableRequest } from '../../functions/shared/auth/types.js';
import { type AuthConfig, ConfigValidationError, parseSuiteConfig } from '../../functions/shared/config.js';
import type { CredentialStore, SecretValue } from '../../functions/shared/credentials/store.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { REDACTED, Redactor } from '../../functions/shared/redaction.js';

/** 2026-12-02T02:50:17.123Z */
const NOW_MS = 1_796_179_817_123;

/** An in-memory credential store whose secrets a test may change (a rotation). */
class FakeCredentialStore implements CredentialStore {
  readonly secrets = new Map<string, SecretValue>();

  constructor(secrets: Record<string, SecretValue>) {
    for (const [name, value] of Object.entries(secrets)) this.secrets.set(name, value);
  }

  async getSecret(name: string): Promise<SecretValue> {
    const value = this.secrets.get(name);
    if (!value) throw new ConnectorError('CONFIGURATION_ERROR', `Secret '${name}' not found.`);
    return value;
  }
}

function parsed(template: string): ParsedTemplate {
  const result = parseHmacTemplate(template);
  if ('problems' in result) throw new Error(result.problems.join('; '));
  return result;
}

function problemsOf(template: string): string[] {
  const result = parseHmacTemplate(template);
  return 'problems' in result ? result.problems : [];
}

/** The `hmac` config as the schema outputs it, defaults applied. */
function hmacConfig(auth: Record<string, unknown>): Extract<AuthConfig, { type: 'hmac' }> {
  const suite = parseSuiteConfig(
    {
      connectors: [
        {
          name: 'signed',
          kind: 'http',
          baseUrl: 'https://api.example.com',
          allowedPathPrefixes: ['/'],
          auth: { type: 'hmac', ...auth },
        },
      ],
    },
    'test',
  );
  const config = suite.connectors[0];
  if (config?.kind !== 'http' || config.auth.type !== 'hmac') throw new Error('not an hmac connector');
  return config.auth;
}

/** The config issues of an `http` connector with this `auth`. */
function authIssues(auth: Record<string, unknown>): string[] {
  try {
    parseSuiteConfig(
      {
        connectors: [
          {
            name: 'signed',
            kind: 'http',
            baseUrl: 'https://api.example.com',
            allowedPathPrefixes: ['/'],
            auth,
          },
        ],
      },
      'test',
    );
    return [];
  } catch (error) {
    if (error instanceof ConfigValidationError) return [...error.issues];
    throw error;
  }
}

function request(method: string, url: string, body?: string): AuthorizableRequest {
  return { headers: new Headers(), url: new URL(url), method, body };
}

describe('the hmac template', () => {
  it.each([
    DEFAULT_HMAC_TEMPLATE,
    '{timestamp}{method}{pathWithQuery}{body}',
    '{nonce}.{timestamp}.{body}',
    '{method} {host}{pathWithQuery}\n{timestamp}\n{bodySha512Base64}',
    '{keyId}:{timestamp}:{path}\n{query}\n{bodySha256Base64}',
  ])('accepts %j', (template) => {
    expect(problemsOf(template)).toEqual([]);
  });

  it.each([
    ['{timestamp}{bodyHash}', 'has an unknown placeholder {bodyHash}; use one of {timestamp}'],
    ['{method}\n{pathWithQuery}\n{bodySha256Hex}', 'must include {timestamp}'],
    ['{timestamp}\n{method}\n{pathWithQuery}', 'must sign the body'],
    ['{timestamp}\n{body}\n{pathWithQuery}', 'must end with {body}'],
    ['{timestamp}{pathWithQuery}x{bodySha256Hex}', 'must follow {pathWithQuery} with a newline'],
    ['{timestamp}{path}{query}{bodySha256Hex}', 'must follow {path} with a newline'],
    ['{timestamp}{timestamp}{body}', 'uses {timestamp} twice'],
    ['{timestamp}{body', "has an unmatched '{'"],
  ])('refuses %j: %s', (template, message) => {
    expect(problemsOf(template).join('\n')).toContain(message);
  });
});

describe('the canonical string', () => {
  it('of the default template: timestamp, method, path with query and body digest, one a line', () => {
    // Act
    const text = canonicalString(parsed(DEFAULT_HMAC_TEMPLATE), {
      method: 'POST',
      url: new URL('https://api.example.com/v1/orders?b=2&a=x+y'),
      body: '{"n":1}',
      timestamp: '1796179817',
    });

    // Assess
    const digest = createHash('sha256').update('{"n":1}').digest('hex');
    expect(text).toBe(`1796179817\nPOST\n/v1/orders?b=2&a=x+y\n${digest}`);
  });

  it('refuses a text body right after the URL (VALIDATION_ERROR), and a URL holding a raw {', () => {
    const template = parsed('{timestamp}{method}{pathWithQuery}{body}');
    const parts = { method: 'POST', timestamp: '1', url: new URL('https://a.example/x') };

    expect(() => canonicalString(template, { ...parts, body: 'abc' })).toThrow(/JSON object or array/);
    expect(() =>
      canonicalString(template, { ...parts, url: new URL('https://a.example/x?q={'), body: '{}' }),
    ).toThrow(/raw \{ or \[/);
    expect(canonicalString(template, { ...parts, body: '' })).toBe('1POST/x');
  });

  const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
  const segment = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,6}$/);
  const query = fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), {
    maxLength: 3,
  });
  const body = fc.oneof(
    fc.constant(''),
    fc.json({ maxDepth: 1 }).map((json) => JSON.stringify(JSON.parse(json))),
    fc.string({ maxLength: 8 }),
  );
  const requestParts = fc.record({ method, segments: fc.array(segment, { maxLength: 3 }), query, body });

  function build(parts: {
    method: string;
    segments: string[];
    query: Array<[string, string]>;
    body: string;
  }) {
    const url = new URL(`https://api.example.com/${parts.segments.join('/')}`);
    for (const [key, value] of parts.query) url.searchParams.append(key, value);
    return { method: parts.method, url, body: parts.body, timestamp: '1796179817' };
  }

  it.each([
    DEFAULT_HMAC_TEMPLATE,
    '{timestamp}{method}{pathWithQuery}{body}',
    '{method} {path} {query}\n{timestamp}.{body}',
  ])('%j: two different requests never share a canonical string (property)', (text) => {
    const template = parsed(text);
    fc.assert(
      fc.property(requestParts, requestParts, (a, b) => {
        const left = build(a);
        const right = build(b);
        let leftText: string;
        let rightText: string;
        try {
          leftText = canonicalString(template, left);
          rightText = canonicalString(template, right);
        } catch (error) {
          // Refused before signing: never sent, so never signed alike.
          if (error instanceof ConnectorError && error.code === 'VALIDATION_ERROR') return;
          throw error;
        }
        const same =
          left.method === right.method && left.url.href === right.url.href && left.body === right.body;
        expect(leftText === rightText).toBe(same);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('timestamp formats', () => {
  it.each([
    ['unixSeconds', '1796179817'],
    ['unixMs', '1796179817123'],
    ['iso8601', '2026-12-02T02:50:17.123Z'],
  ] as const)('%s', (format, expected) => {
    expect(formatTimestamp(format, NOW_MS)).toBe(expected);
  });
});

describe('config validation of the new schemes', () => {
  it.each([
    [
      { type: 'hmac', secret: 'signed', canonical: '{timestamp}\n{digest}' },
      'connectors[0].auth.canonical: has an unknown placeholder {digest}',
    ],
    [
      { type: 'hmac', secret: 'signed', canonical: '{nonce}.{timestamp}.{body}' },
      'connectors[0].auth.nonceHeader: must be set when auth.canonical uses {nonce}',
    ],
    [
      { type: 'hmac', secret: 'signed', signatureHeader: 'X-Sig', timestampHeader: 'x-sig' },
      'connectors[0].auth.timestampHeader: must differ from signatureHeader',
    ],
    [{ type: 'hmac', secret: 'signed', algorithm: 'md5' }, 'connectors[0].auth.algorithm'],
    [{ type: 'hmac', secret: 'signed', signaturePrefix: 'v1 =' }, 'must be printable ASCII without spaces'],
    [
      { type: 'awsSigV4', service: 'execute-api', region: 'eu-west-1', externalId: 'ext-example' },
      'connectors[0].auth.externalId: is used only with roleArn',
    ],
    [
      { type: 'awsSigV4', service: 'execute-api', region: 'Europe' },
      'connectors[0].auth.region: must be an AWS region such as eu-west-1',
    ],
    [
      { type: 'awsSigV4', service: 'execute-api', region: 'eu-west-1', roleArn: 'arn:aws:iam::123:role/x' },
      'connectors[0].auth.roleArn: must be an IAM role ARN',
    ],
    [{ type: 'mtls' }, 'connectors[0].auth.secret'],
  ])('%j is refused: %s', (auth, message) => {
    expect(authIssues(auth).join('\n')).toContain(message);
  });

  it('an awsSigV4 connector has no secret; hmac and mtls have theirs', () => {
    const suite = parseSuiteConfig(
      {
        connectors: [
          {
            name: 'aws',
            kind: 'http',
            baseUrl: 'https://api.example.com',
            allowedPathPrefixes: ['/'],
            auth: { type: 'awsSigV4', service: 'execute-api', region: 'eu-west-1' },
          },
          {
            name: 'tls',
            kind: 'http',
            baseUrl: 'https://api.example.com',
            allowedPathPrefixes: ['/'],
            auth: { type: 'mtls', secret: 'tls' },
          },
        ],
      },
      'test',
    );
    expect(
      suite.connectors.map((c) => ('auth' in c && 'secret' in c.auth ? c.auth.secret : undefined)),
    ).toEqual([undefined, 'tls']);
  });
});

describe('the hmac scheme', () => {
  it('signs Standard Webhooks style, as the reference library verifies', async () => {
    // Prepare
    const secret = `whsec_${Buffer.from('hmac-example-standard-webhooks-key').toString('base64')}`;
    const credentials = new FakeCredentialStore({ signed: { signingSecret: secret } });
    const config = hmacConfig({
      secret: 'signed',
      canonical: '{nonce}.{timestamp}.{body}',
      nonceHeader: 'webhook-id',
      timestampHeader: 'webhook-timestamp',
      signatureHeader: 'webhook-signature',
      signaturePrefix: 'v1,',
      encoding: 'base64',
      secretEncoding: 'base64',
    });
    const scheme = new HmacScheme(config, { credentials, redactor: new Redactor() });
    const sent = request('POST', 'https://api.example.com/events', '{"type":"order.created"}');

    // Act
    await scheme.authorize(sent);

    // Assess
    const headers = Object.fromEntries(sent.headers);
    expect(() => new Webhook(secret).verify(sent.body ?? '', headers)).not.toThrow();
    expect(headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets the timestamp, key id and prefixed signature headers; redacts the signature header', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({
      signed: { signingSecret: 'hmac-example-signing-secret', keyId: 'key-example-1' },
    });
    const redactor = new Redactor();
    const config = hmacConfig({
      secret: 'signed',
      keyIdHeader: 'X-Key-Id',
      signaturePrefix: 'sha256=',
      timestampFormat: 'unixMs',
    });
    const scheme = new HmacScheme(config, { credentials, redactor }, () => NOW_MS);
    const sent = request('GET', 'https://api.example.com/v1/items?page=2');

    // Act
    await scheme.authorize(sent);

    // Assess
    const canonical = `1796179817123\nGET\n/v1/items?page=2\n${createHash('sha256').update('').digest('hex')}`;
    expect(Object.fromEntries(sent.headers)).toEqual({
      'x-timestamp': '1796179817123',
      'x-key-id': 'key-example-1',
      'x-signature': `sha256=${createHmac('sha256', 'hmac-example-signing-secret').update(canonical).digest('hex')}`,
    });
    expect(redactor.isSensitiveName('X-Signature')).toBe(true);
    expect(redactor.redactString('hmac-example-signing-secret')).toBe(REDACTED);
    expect(redactor.redactString('key-example-1')).toBe('key-example-1');
  });

  it.each([
    [
      { keyIdHeader: 'X-Key-Id' },
      { signingSecret: 'hmac-example-signing-secret' },
      "no non-empty string field 'keyId'",
    ],
    [{}, { secret: 'hmac-example-signing-secret' }, "no non-empty string field 'signingSecret'"],
    [{ secretEncoding: 'hex' }, { signingSecret: 'not-hex-example' }, "field 'signingSecret' is not hex"],
  ])('a secret that does not fit %j answers CONFIGURATION_ERROR', async (auth, secret, message) => {
    const credentials = new FakeCredentialStore({ signed: secret });
    const scheme = new HmacScheme(hmacConfig({ secret: 'signed', ...auth }), {
      credentials,
      redactor: new Redactor(),
    });

    await expect(scheme.authorize(request('GET', 'https://api.example.com/x'))).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: expect.stringContaining(message),
    });
  });
});

describe('the awsSigV4 scheme', () => {
  const config = { type: 'awsSigV4', service: 'execute-api', region: 'eu-west-1' } as const;

  it('signs with the provider credentials, caches them until near expiry, and redacts the secret parts', async () => {
    // Prepare
    const redactor = new Redactor();
    const provider = vi.fn(async () => ({
      accessKeyId: 'EXAMPLEFAKEACCESSKEY2',
      secretAccessKey: 'fake-secret-access-key-example-11111111111',
      sessionToken: 'fake-session-token-example-2222222222',
      expiration: new Date(Date.now() + 3_600_000),
    }));
    const scheme = new AwsSigV4Scheme(config, { redactor, credentials: provider });
    const first = request('POST', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/items?a=1', '{}');
    const second = request('GET', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/items');

    // Act
    await scheme.authorize(first);
    await scheme.authorize(second);

    // Assess
    expect(provider).toHaveBeenCalledTimes(1);
    expect(first.headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=EXAMPLEFAKEACCESSKEY2\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(first.headers.get('x-amz-security-token')).toBe('fake-session-token-example-2222222222');
    expect(first.headers.get('x-amz-content-sha256')).toMatch(/^44136fa3/);
    expect(redactor.redactString('fake-secret-access-key-example-11111111111')).toBe(REDACTED);
    expect(redactor.isSensitiveName('X-Amz-Security-Token')).toBe(true);
  });

  it('no credentials at all answers CONFIGURATION_ERROR; a failing STS DEPENDENCY_UNAVAILABLE', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    const none = new AwsSigV4Scheme(config, {
      redactor: new Redactor(),
      credentials: async () => Promise.reject(missing),
    });
    const sts = new AwsSigV4Scheme(
      { ...config, roleArn: 'arn:aws:iam::123456789012:role/signer' },
      { redactor: new Redactor(), credentials: async () => Promise.reject(throttled) },
    );

    await expect(none.authorize(request('GET', 'https://api.example.com/x'))).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
    });
    await expect(sts.authorize(request('GET', 'https://api.example.com/x'))).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    });
  });
});

describe('the mtls scheme', () => {
  let dir: string;
  const pem: Record<string, string> = {};

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'connector-suite-mtls-unit-'));
    for (const name of ['one', 'two']) {
      execFileSync(
        'openssl',
        [
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
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      pem[`${name}.crt`] = readFileSync(path.join(dir, `${name}.crt`), 'utf8');
      pem[`${name}.key`] = readFileSync(path.join(dir, `${name}.key`), 'utf8');
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('one Agent per secret version, with its certificate; the old one is closed when the secret rotates', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({
      tls: { certificate: pem['one.crt'] as string, privateKey: pem['one.key'] as string },
    });
    const made: Array<{ agent: Agent; options: AgentOptions; destroy: ReturnType<typeof vi.spyOn> }> = [];
    const scheme = new MtlsScheme(
      { type: 'mtls', secret: 'tls' },
      { credentials },
      {
        createAgent: (options) => {
          const agent = new Agent(options);
          made.push({ agent, options, destroy: vi.spyOn(agent, 'destroy') });
          return agent;
        },
      },
    );
    const first = request('GET', 'https://api.example.com/x');
    const again = request('GET', 'https://api.example.com/x');
    const rotated = request('GET', 'https://api.example.com/x');

    // Act
    await scheme.authorize(first);
    await scheme.authorize(again);
    credentials.secrets.set('tls', {
      certificate: pem['two.crt'] as string,
      privateKey: pem['two.key'] as string,
    });
    await scheme.authorize(rotated);

    // Assess
    expect(made.map((m) => m.options.cert)).toEqual([pem['one.crt'], pem['two.crt']]);
    expect(made[0]?.options).toMatchObject({ keepAlive: true, key: pem['one.key'] });
    expect(first.fetch).toBeTypeOf('function');
    expect(again.fetch).toBe(first.fetch);
    expect(rotated.fetch).not.toBe(first.fetch);
    expect(made[0]?.destroy).toHaveBeenCalledTimes(1);
    expect(made[1]?.destroy).not.toHaveBeenCalled();
    made[1]?.agent.destroy();
  });

  it('a key that does not match the certificate answers CONFIGURATION_ERROR without the key in it', async () => {
    const credentials = new FakeCredentialStore({
      tls: { certificate: pem['one.crt'] as string, privateKey: pem['two.key'] as string },
    });
    const scheme = new MtlsScheme({ type: 'mtls', secret: 'tls' }, { credentials });

    const error = await scheme
      .authorize(request('GET', 'https://api.example.com/x'))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: expect.stringContaining("Secret 'tls'"),
    });
    expect(String((error as Error).message)).not.toContain('PRIVATE KEY');
  });
});
