import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthScheme, queryParameterShadows } from '../../functions/shared/auth/index.js';
import type { AuthConfig } from '../../functions/shared/config.js';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { REDACTED, Redactor } from '../../functions/shared/redaction.js';

/** An in-memory credential store that records every read. */
class FakeCredentialStore implements CredentialStore {
  readonly secrets = new Map<string, SecretValue>();
  readonly reads: Array<{ name: string; options: GetSecretOptions | undefined }> = [];

  constructor(secrets: Record<string, SecretValue>) {
    for (const [name, value] of Object.entries(secrets)) this.secrets.set(name, value);
  }

  async getSecret(name: string, options?: GetSecretOptions): Promise<SecretValue> {
    this.reads.push({ name, options });
    const value = this.secrets.get(name);
    if (!value) throw new ConnectorError('CONFIGURATION_ERROR', `Secret '${name}' not found.`);
    return value;
  }
}

function newRequest(url = 'https://api.example.com/v1/items') {
  return { headers: new Headers(), url: new URL(url) };
}

const TOKEN_URL = 'https://auth.example.com/oauth/token';

function oauth2Config(overrides: Partial<Extract<AuthConfig, { type: 'oauth2ClientCredentials' }>> = {}) {
  return {
    type: 'oauth2ClientCredentials',
    tokenUrl: TOKEN_URL,
    scope: 'items:read',
    clientAuthentication: 'basic',
    secret: 'vendor-oauth',
    ...overrides,
  } as const satisfies AuthConfig;
}

function tokenResponse(accessToken: string, expiresIn: number | undefined = 3600): Response {
  return new Response(
    JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn }),
    { status: 200, headers: { 'content-type': 'application/json' } },
  );
}

/** A fake token endpoint handing out `tok-example-1`, `tok-example-2`, ... */
function tokenEndpoint(expiresIn = 3600) {
  let issued = 0;
  return vi.fn<typeof fetch>(async () => {
    issued += 1;
    return tokenResponse(`tok-example-${issued}`, expiresIn);
  });
}

/** The form body and headers of the n-th call to a fake fetch. */
function sentRequest(fetchMock: ReturnType<typeof tokenEndpoint>, n = 0) {
  const call = fetchMock.mock.calls[n];
  if (!call) throw new Error(`fetch was not called ${n + 1} time(s)`);
  const [url, init] = call;
  return {
    url: String(url),
    method: init?.method,
    headers: new Headers(init?.headers),
    form: new URLSearchParams(String(init?.body)),
  };
}

describe('createAuthScheme: static schemes', () => {
  it('none leaves the request alone and reads no secret', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({});
    const scheme = createAuthScheme({ type: 'none' }, { credentials, redactor: new Redactor() });
    const request = newRequest('https://api.example.com/v1/items?limit=5');

    // Act
    await scheme.authorize(request);

    // Assess
    expect([...request.headers.keys()]).toEqual([]);
    expect(request.url.href).toBe('https://api.example.com/v1/items?limit=5');
    expect(credentials.reads).toEqual([]);
  });

  it('apiKey in a header sets the header and makes its name sensitive', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({ vendor: { apiKey: 'fake-api-key' } });
    const redactor = new Redactor();
    const scheme = createAuthScheme(
      { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'vendor' },
      { credentials, redactor },
    );
    const request = newRequest();

    // Act
    await scheme.authorize(request);

    // Assess
    expect(request.headers.get('x-api-key')).toBe('fake-api-key');
    expect(request.url.search).toBe('');
    expect(redactor.isSensitiveName('x-api-key')).toBe(true);
    expect(credentials.reads).toEqual([{ name: 'vendor', options: { forceRefresh: false } }]);
  });

  it('apiKey in the query sets the parameter and keeps the other parameters', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({ vendor: { apiKey: 'fake-api-key' } });
    const redactor = new Redactor();
    const scheme = createAuthScheme(
      { type: 'apiKey', in: 'query', name: 'api_key', secret: 'vendor' },
      { credentials, redactor },
    );
    const request = newRequest('https://api.example.com/v1/items?limit=5');

    // Act
    await scheme.authorize(request);

    // Assess
    expect(request.url.searchParams.get('api_key')).toBe('fake-api-key');
    expect(request.url.searchParams.get('limit')).toBe('5');
    expect(request.headers.has('api_key')).toBe(false);
    expect(redactor.isSensitiveName('API_KEY')).toBe(true);
  });

  it('apiKey in the query first removes every parameter a server could read as its own', async () => {
    // Prepare: spellings that PHP, Rails, qs or a case-insensitive framework read as api_key
    const credentials = new FakeCredentialStore({ vendor: { apiKey: 'fake-api-key' } });
    const scheme = createAuthScheme(
      { type: 'apiKey', in: 'query', name: 'api_key', secret: 'vendor' },
      { credentials, redactor: new Redactor() },
    );
    const request = newRequest(
      'https://api.example.com/v1/items?API_KEY=forged-1&api_key%5B%5D=forged-2&api_key%20=forged-3' +
        '&api.key=forged-4&Api_Key%5Bx%5D=forged-5&limit=5&api_key=forged-6',
    );

    // Act
    await scheme.authorize(request);

    // Assess
    expect([...request.url.searchParams]).toEqual([
      ['limit', '5'],
      ['api_key', 'fake-api-key'],
    ]);
  });

  it.each([
    ['api_key', true],
    ['API_KEY', true],
    ['api_key[]', true],
    ['api_key[0]', true],
    [' api_key ', true],
    ['api_key\u0000', true],
    ['api%5Fkey', true],
    ['api.key', true],
    ['api key', true],
    ['api+key', true],
    ['api_keys', false],
    ['xapi_key', false],
    ['limit', false],
  ])('queryParameterShadows(%j, "api_key") is %s', (key, expected) => {
    // Act
    const shadows = queryParameterShadows(key, 'api_key');

    // Assess
    expect(shadows).toBe(expected);
  });

  it.each([
    ['apiKey', { type: 'apiKey', in: 'query', name: 'api_key', secret: 'vendor' }, 'fake-api-key-value'],
    ['bearer', { type: 'bearer', secret: 'vendor' }, 'tok-example-bearer'],
    ['basic', { type: 'basic', secret: 'vendor' }, 'fake-basic-password'],
  ] as const)('%s registers the secret it sends, and never the user name', async (_name, auth, sent) => {
    // Prepare: a store that registers nothing, so that only the scheme can have registered
    const credentials = new FakeCredentialStore({
      vendor: {
        apiKey: 'fake-api-key-value',
        token: 'tok-example-bearer',
        username: 'users',
        password: 'fake-basic-password',
      },
    });
    const redactor = new Redactor();
    const scheme = createAuthScheme(auth, { credentials, redactor });

    // Act
    await scheme.authorize(newRequest());

    // Assess
    expect(redactor.redactString(`echo ${encodeURIComponent(sent)}`)).toBe(`echo ${REDACTED}`);
    expect(redactor.redactString('/users/42')).toBe('/users/42');
  });

  it('bearer sets Authorization: Bearer <token>', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({ vendor: { token: 'tok-example' } });
    const scheme = createAuthScheme(
      { type: 'bearer', secret: 'vendor' },
      { credentials, redactor: new Redactor() },
    );
    const request = newRequest();

    // Act
    await scheme.authorize(request);

    // Assess
    expect(request.headers.get('authorization')).toBe('Bearer tok-example');
  });

  it('basic sets Authorization: Basic base64(user:pass) and registers that credential', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({
      vendor: { username: 'fake-user', password: 'fake-pass:wörd' },
    });
    const redactor = new Redactor();
    const scheme = createAuthScheme({ type: 'basic', secret: 'vendor' }, { credentials, redactor });
    const request = newRequest();
    const expected = Buffer.from('fake-user:fake-pass:wörd', 'utf8').toString('base64');

    // Act
    await scheme.authorize(request);

    // Assess
    expect(request.headers.get('authorization')).toBe(`Basic ${expected}`);
    expect(redactor.redactString(`sent ${expected}`)).toBe(`sent ${REDACTED}`);
  });

  it.each([
    ['apiKey', { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'vendor' }],
    ['bearer', { type: 'bearer', secret: 'vendor' }],
    ['basic', { type: 'basic', secret: 'vendor' }],
  ] as const)('%s passes forceRefresh to the credential store', async (_name, auth) => {
    // Prepare
    const credentials = new FakeCredentialStore({
      vendor: { apiKey: 'fake-api-key', token: 'tok-example', username: 'fake-user', password: 'fake-pass' },
    });
    const scheme = createAuthScheme(auth, { credentials, redactor: new Redactor() });

    // Act
    await scheme.authorize(newRequest());
    await scheme.authorize(newRequest(), { forceRefresh: true });

    // Assess
    expect(credentials.reads).toEqual([
      { name: 'vendor', options: { forceRefresh: false } },
      { name: 'vendor', options: { forceRefresh: true } },
    ]);
  });

  it('a secret without the needed field is a CONFIGURATION_ERROR naming the secret and field', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({ vendor: { apiKey: 'fake-api-key' } });
    const scheme = createAuthScheme(
      { type: 'bearer', secret: 'vendor' },
      { credentials, redactor: new Redactor() },
    );

    // Act
    const result = scheme.authorize(newRequest());

    // Assess
    await expect(result).rejects.toBeInstanceOf(ConnectorError);
    await expect(result).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
    await expect(result).rejects.toThrow(/'vendor'.*'token'/);
  });
});

describe('createAuthScheme: oauth2ClientCredentials', () => {
  const SECRETS = { 'vendor-oauth': { clientId: 'fake-client-id', clientSecret: 'fake-client-secret' } };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a forced refresh does not join a token request that used the stale secret', async () => {
    // Prepare: the first token request is slow; a 401 meanwhile asks for a forced refresh.
    const credentials = new FakeCredentialStore(SECRETS);
    let release: (() => void) | undefined;
    let issued = 0;
    const fetchMock = vi.fn<typeof fetch>(async () => {
      issued += 1;
      const n = issued;
      if (n === 1) await new Promise<void>((resolve) => (release = resolve));
      return tokenResponse(`tok-example-${n}`);
    });
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    const first = newRequest();
    const forced = newRequest();

    // Act
    const pendingFirst = scheme.authorize(first);
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1), { timeout: 30_000 });
    const pendingForced = scheme.authorize(forced, { forceRefresh: true });
    release?.();
    await Promise.all([pendingFirst, pendingForced]);

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(forced.headers.get('authorization')).toBe('Bearer tok-example-2');
    expect(credentials.reads.at(-1)?.options?.forceRefresh).toBe(true);
  });

  it('requests a token once and reuses it', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    const first = newRequest();
    const second = newRequest();

    // Act
    await scheme.authorize(first);
    await scheme.authorize(second);

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(first.headers.get('authorization')).toBe('Bearer tok-example-1');
    expect(second.headers.get('authorization')).toBe('Bearer tok-example-1');
    const sent = sentRequest(fetchMock);
    expect(sent.url).toBe(TOKEN_URL);
    expect(sent.method).toBe('POST');
    expect(sent.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(sent.form.get('grant_type')).toBe('client_credentials');
    expect(sent.form.get('scope')).toBe('items:read');
  });

  it('shares one token request among concurrent calls', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    const requests = Array.from({ length: 10 }, () => newRequest());

    // Act
    await Promise.all(requests.map((request) => scheme.authorize(request)));

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(credentials.reads).toHaveLength(1);
    expect(requests.map((r) => r.headers.get('authorization'))).toEqual(
      Array.from({ length: 10 }, () => 'Bearer tok-example-1'),
    );
  });

  it('keeps the token until 60 s before it expires, then requests a new one', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint(3600);
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    await scheme.authorize(newRequest());
    const at3000 = newRequest();
    const at3590 = newRequest();

    // Act
    vi.advanceTimersByTime(3_000_000);
    await scheme.authorize(at3000);
    vi.advanceTimersByTime(590_000);
    await scheme.authorize(at3590);

    // Assess
    expect(at3000.headers.get('authorization')).toBe('Bearer tok-example-1');
    expect(at3590.headers.get('authorization')).toBe('Bearer tok-example-2');
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('refreshes a short-lived token at half its life', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint(60);
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    await scheme.authorize(newRequest());
    const before = newRequest();
    const after = newRequest();

    // Act
    vi.advanceTimersByTime(29_999);
    await scheme.authorize(before);
    vi.advanceTimersByTime(1);
    await scheme.authorize(after);

    // Assess
    expect(before.headers.get('authorization')).toBe('Bearer tok-example-1');
    expect(after.headers.get('authorization')).toBe('Bearer tok-example-2');
  });

  it('forceRefresh requests a new token and re-reads the secret', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    await scheme.authorize(newRequest());
    credentials.secrets.set('vendor-oauth', {
      clientId: 'fake-client-id',
      clientSecret: 'fake-rotated-secret',
    });
    const request = newRequest();

    // Act
    await scheme.authorize(request, { forceRefresh: true });

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(request.headers.get('authorization')).toBe('Bearer tok-example-2');
    expect(credentials.reads.map((r) => r.options)).toEqual([
      { forceRefresh: false },
      { forceRefresh: true },
    ]);
    const expected = Buffer.from('fake-client-id:fake-rotated-secret').toString('base64');
    expect(sentRequest(fetchMock, 1).headers.get('authorization')).toBe(`Basic ${expected}`);
  });

  it('a burst of forced refreshes, one after another, makes one token request and one secret read (issue 8, defect 16)', async () => {
    // Prepare: twenty 401s ask for a forced refresh one after the other (the clock stands still).
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    await scheme.authorize(newRequest());
    const requests = Array.from({ length: 20 }, () => newRequest());

    // Act
    for (const request of requests) await scheme.authorize(request, { forceRefresh: true });

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(credentials.reads.filter((r) => r.options?.forceRefresh)).toHaveLength(1);
    expect(new Set(requests.map((r) => r.headers.get('authorization')))).toEqual(
      new Set(['Bearer tok-example-2']),
    );
  });

  it('a forced refresh more than a second after the last one requests a new token', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    await scheme.authorize(newRequest(), { forceRefresh: true });
    vi.setSystemTime(new Date('2030-01-01T00:00:01.001Z'));
    const request = newRequest();

    // Act
    await scheme.authorize(request, { forceRefresh: true });

    // Assess
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(request.headers.get('authorization')).toBe('Bearer tok-example-2');
  });

  it('passes its signal on to the secret read', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: tokenEndpoint(),
      redactor: new Redactor(),
    });
    const signal = new AbortController().signal;

    // Act
    await scheme.authorize(newRequest(), { signal });

    // Assess
    expect(credentials.reads[0]?.options?.signal).toBe(signal);
  });

  it('client authentication basic sends Basic of the form-urlencoded id and secret', async () => {
    // Prepare
    const credentials = new FakeCredentialStore({
      'vendor-oauth': { clientId: 'fake:client', clientSecret: 'fake/client+secret=' },
    });
    const fetchMock = tokenEndpoint();
    const redactor = new Redactor();
    const scheme = createAuthScheme(oauth2Config({ clientAuthentication: 'basic' }), {
      credentials,
      fetch: fetchMock,
      redactor,
    });
    const expected = Buffer.from('fake%3Aclient:fake%2Fclient%2Bsecret%3D').toString('base64');

    // Act
    await scheme.authorize(newRequest());

    // Assess
    const sent = sentRequest(fetchMock);
    expect(sent.headers.get('authorization')).toBe(`Basic ${expected}`);
    expect(sent.form.has('client_id')).toBe(false);
    expect(sent.form.has('client_secret')).toBe(false);
    expect(redactor.redactString(expected)).toBe(REDACTED);
  });

  it('client authentication body sends client_id and client_secret in the form', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config({ clientAuthentication: 'body' }), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });

    // Act
    await scheme.authorize(newRequest());

    // Assess
    const sent = sentRequest(fetchMock);
    expect(sent.headers.has('authorization')).toBe(false);
    expect(sent.form.get('client_id')).toBe('fake-client-id');
    expect(sent.form.get('client_secret')).toBe('fake-client-secret');
    expect(sent.form.get('grant_type')).toBe('client_credentials');
  });

  it('leaves out scope when none is configured', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = tokenEndpoint();
    const scheme = createAuthScheme(oauth2Config({ scope: undefined }), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });

    // Act
    await scheme.authorize(newRequest());

    // Assess
    expect(sentRequest(fetchMock).form.has('scope')).toBe(false);
  });

  it('registers the access token and the OAuth2 field names with the redactor', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const redactor = new Redactor();
    const scheme = createAuthScheme(oauth2Config(), { credentials, fetch: tokenEndpoint(), redactor });

    // Act
    await scheme.authorize(newRequest());

    // Assess
    expect(redactor.redactString('echo tok-example-1')).toBe(`echo ${REDACTED}`);
    expect(redactor.redact({ access_token: 'x', client_secret: 'y', refresh_token: 'z' })).toEqual({
      access_token: REDACTED,
      client_secret: REDACTED,
      refresh_token: REDACTED,
    });
  });

  it('a 401 from the token endpoint is AUTHENTICATION_ERROR', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = vi.fn<typeof fetch>(
      async () => new Response(JSON.stringify({ error: 'invalid_client' }), { status: 401 }),
    );
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });

    // Act
    const error = await scheme.authorize(newRequest()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      httpStatus: 502,
      source: 'upstream',
      upstreamStatus: 401,
      details: { tokenEndpointError: 'invalid_client' },
    });
  });

  it('a 500 from the token endpoint is UPSTREAM_ERROR, and the next call tries again', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = vi
      .fn<typeof fetch>()
      .mockResolvedValueOnce(new Response('internal error', { status: 500 }))
      .mockResolvedValueOnce(tokenResponse('tok-example-after-outage'));
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });
    const request = newRequest();

    // Act
    const error = await scheme.authorize(newRequest()).catch((e: unknown) => e);
    await scheme.authorize(request);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 500, retryable: true });
    expect(request.headers.get('authorization')).toBe('Bearer tok-example-after-outage');
  });

  it('a token endpoint error body echoing the client secret is redacted in the details', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const redactor = new Redactor();
    redactor.addSecret('fake-client-secret');
    const fetchMock = vi.fn<typeof fetch>(
      async () => new Response('bad secret fake-client-secret', { status: 502 }),
    );
    const scheme = createAuthScheme(oauth2Config(), { credentials, fetch: fetchMock, redactor });

    // Act
    const error = await scheme.authorize(newRequest()).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      details: { tokenEndpointError: `bad secret ${REDACTED}` },
    });
  });

  it('a success answer without a bearer token is UPSTREAM_ERROR', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = vi.fn<typeof fetch>(
      async () =>
        new Response(JSON.stringify({ access_token: 'tok-example', token_type: 'mac' }), { status: 200 }),
    );
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });

    // Act
    const error = await scheme.authorize(newRequest()).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 200 });
  });

  it('a token endpoint that cannot be reached is UPSTREAM_ERROR', async () => {
    // Prepare
    const credentials = new FakeCredentialStore(SECRETS);
    const fetchMock = vi.fn<typeof fetch>(async () => {
      throw new TypeError('fetch failed');
    });
    const scheme = createAuthScheme(oauth2Config(), {
      credentials,
      fetch: fetchMock,
      redactor: new Redactor(),
    });

    // Act
    const error = await scheme.authorize(newRequest()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});
