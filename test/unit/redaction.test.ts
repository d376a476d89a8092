import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createPowertools } from '../../functions/shared/powertools.js';
import {
  bodyExcerpt,
  isSecretField,
  MIN_SECRET_LENGTH,
  REDACTED,
  Redactor,
  SENSITIVE_HEADERS,
} from '../../functions/shared/redaction.js';

const SECRET = 'tok-example-secret';

describe('Redactor.redactString', () => {
  it('replaces every occurrence of a registered value', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);

    // Act
    const text = redactor.redactString(`token ${SECRET} and again ${SECRET}.`);

    // Assess
    expect(text).toBe(`token ${REDACTED} and again ${REDACTED}.`);
  });

  it('leaves text alone when nothing is registered', () => {
    // Prepare
    const redactor = new Redactor();

    // Act
    const text = redactor.redactString(`token ${SECRET}`);

    // Assess
    expect(text).toBe(`token ${SECRET}`);
  });

  it('replaces the URL-encoded form of a registered value', () => {
    // Prepare
    const redactor = new Redactor();
    const secret = 'fake/secret+value=&more';
    redactor.addSecret(secret);
    const url = `https://api.example.com/cb?key=${encodeURIComponent(secret)}`;

    // Act
    const text = redactor.redactString(url);

    // Assess
    expect(text).toBe(`https://api.example.com/cb?key=${REDACTED}`);
  });

  it('replaces the JSON-escaped form of a registered value', () => {
    // Prepare
    const redactor = new Redactor();
    const secret = 'fake"secret\\with\nescapes';
    redactor.addSecret(secret);
    const json = JSON.stringify({ echo: secret });

    // Act
    const text = redactor.redactString(json);

    // Assess
    expect(text).toBe(`{"echo":"${REDACTED}"}`);
  });

  it('treats regular expression characters in a value literally', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret('fake.*secret');

    // Act
    const text = redactor.redactString('fake-xx-secret fake.*secret');

    // Assess
    expect(text).toBe(`fake-xx-secret ${REDACTED}`);
  });

  it('replaces a value that contains another registered value whole', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret('fake-key');
    redactor.addSecret('fake-key-and-more');

    // Act
    const text = redactor.redactString('x fake-key-and-more y');

    // Assess
    expect(text).toBe(`x ${REDACTED} y`);
  });

  it(`ignores values shorter than MIN_SECRET_LENGTH (${MIN_SECRET_LENGTH})`, () => {
    // Prepare
    const redactor = new Redactor();
    const short = 'x'.repeat(MIN_SECRET_LENGTH - 1);
    const long = 'y'.repeat(MIN_SECRET_LENGTH);
    redactor.addSecret(short);
    redactor.addSecret(long);

    // Act
    const text = redactor.redactString(`${short} ${long}`);

    // Assess
    expect(text).toBe(`${short} ${REDACTED}`);
  });

  it('registers only the secret fields of a secret object', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecretValues({
      username: 'fake-user-name',
      password: 'fake-password',
      clientId: 'fake-client-id',
      clientSecret: 'fake-client-secret',
      accountSid: 'AC00000000000000000000000000000000',
      authToken: 'fake-auth-token',
      port: 8443,
    });

    // Act
    const text = redactor.redactString(
      'fake-user-name:fake-password fake-client-id:fake-client-secret AC00000000000000000000000000000000:fake-auth-token',
    );

    // Assess
    expect(text).toBe(
      `fake-user-name:${REDACTED} fake-client-id:${REDACTED} AC00000000000000000000000000000000:${REDACTED}`,
    );
  });

  it.each([
    ['user', '/users/42'],
    ['s', '/users/42'],
  ])('leaves %j alone: a user name is no secret (%s stays intact)', (username, path) => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecretValues({ username, password: 'fake-password' });

    // Act
    const text = redactor.redactString(path);

    // Assess
    expect(text).toBe(path);
  });

  it.each([
    ['apiKey', true],
    ['token', true],
    ['password', true],
    ['clientSecret', true],
    ['authToken', true],
    ['accessToken', true],
    ['privateKey', true],
    ['username', false],
    ['clientId', false],
    ['accountSid', false],
    ['region', false],
  ])('isSecretField(%s) is %s', (name, expected) => {
    // Act
    const secret = isSecretField(name);

    // Assess
    expect(secret).toBe(expected);
  });
});

describe('Redactor: encoded forms of a secret', () => {
  const secret = 'fake/secret value&more+"quoted"\\über';
  const json = JSON.stringify(secret).slice(1, -1);
  const upper = encodeURIComponent(secret);
  const lower = upper.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
  const form = new URLSearchParams({ k: secret }).toString().slice('k='.length);

  it.each([
    ['raw', secret],
    ['encodeURIComponent', upper],
    ['percent-encoded with lower-case hex', lower],
    ['form-encoded (space as +)', form],
    ['form-encoded with lower-case hex', form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())],
    ['JSON-escaped', json],
    ['JSON-escaped with \\/', json.replaceAll('/', '\\/')],
    ['JSON-escaped with \\u0026 and \\u00fc', json.replaceAll('&', '\\u0026').replaceAll('ü', '\\u00fc')],
    ['JSON-escaped with upper-case \\u00FC', json.replaceAll('ü', '\\u00FC').replaceAll('\\"', '\\u0022')],
    ['HTML-escaped (an error page quoting it)', secret.replaceAll('&', '&amp;').replaceAll('"', '&quot;')],
    ['HTML-escaped with numeric references', secret.replaceAll('&', '&#x26;').replaceAll('"', '&#34;')],
  ])('finds the %s form', (_label, encoded) => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(secret);

    // Act
    const text = redactor.redactString(`before ${encoded} after`);

    // Assess
    expect(text).toBe(`before ${REDACTED} after`);
  });

  it('finds every encoded form of any secret (property)', () => {
    // Prepare: secrets of characters encoders treat differently, and the encoders upstreams use
    const char = fc.constantFrom(...'aZ09-_.~ !*\'()&=+/\\"?#%:@;<>ü€😀\n');
    const secrets = fc.array(char, { minLength: MIN_SECRET_LENGTH, maxLength: 24 }).map((c) => c.join(''));
    const encoders: Array<(value: string) => string> = [
      (value) => value,
      encodeURIComponent,
      (value) => encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
      (value) => new URLSearchParams({ k: value }).toString().slice(2),
      (value) => JSON.stringify(value).slice(1, -1),
      (value) => JSON.stringify(value).slice(1, -1).replaceAll('/', '\\/'),
      (value) =>
        JSON.stringify(value)
          .slice(1, -1)
          .split('') // UTF-16 code units: an astral character becomes two \\u escapes
          .map((c) =>
            /[&<>'\u0080-\uffff]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c,
          )
          .join(''),
      (value) =>
        value.replace(
          /[&<>"']/g,
          (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? '&#39;',
        ),
    ];
    const encoder = fc.constantFrom(...encoders);

    // Act
    const run = () =>
      fc.assert(
        fc.property(secrets, encoder, (value, encode) => {
          const redactor = new Redactor();
          redactor.addSecret(value);
          return redactor.redactString(`x=${encode(value)};`) === `x=${REDACTED};`;
        }),
        { numRuns: 500 },
      );

    // Assess
    expect(run).not.toThrow();
  });
});

describe('Redactor: the fast path for texts with no encoded form', () => {
  it('redacts a text without %, +, \\ or & exactly as the pattern of every form does (property)', () => {
    // Prepare: texts made of secrets, parts of secrets and filler; a trailing `%` forces the full
    // pattern (it cannot complete an encoded form on its own).
    const secrets = fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9 ._:/-]{8,16}$/), {
      minLength: 1,
      maxLength: 4,
    });
    const run = () =>
      fc.assert(
        fc.property(secrets, fc.array(fc.nat(), { maxLength: 12 }), (values, picks) => {
          const redactor = new Redactor();
          for (const value of values) redactor.addSecret(value);
          const pieces = picks.map((pick) => {
            const value = values[pick % values.length] ?? '';
            return pick % 3 === 0 ? value : pick % 3 === 1 ? value.slice(1) : ` filler-${pick} `;
          });
          const text = pieces.join('');
          return `${redactor.redactString(text)}%` === redactor.redactString(`${text}%`);
        }),
        { numRuns: 500 },
      );

    // Assess
    expect(run).not.toThrow();
  });
});

describe('Redactor sensitive names', () => {
  it('knows the credential headers by default, in any case', () => {
    // Prepare
    const redactor = new Redactor();
    const names = ['Authorization', 'PROXY-AUTHORIZATION', 'cookie', 'Set-Cookie'];

    // Act
    const sensitive = names.map((name) => redactor.isSensitiveName(name));

    // Assess
    expect(SENSITIVE_HEADERS).toEqual(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
    expect(sensitive).toEqual([true, true, true, true]);
    expect(redactor.isSensitiveName('content-type')).toBe(false);
  });

  it('redacts sensitive headers whole and registered values in the others', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);
    const headers = {
      Authorization: 'Bearer whatever-value',
      'Proxy-Authorization': 'Basic ZmFrZTpmYWtl',
      Cookie: 'session=fake-session',
      'Set-Cookie': 'session=fake-session; HttpOnly',
      'X-Echo': `got ${SECRET}`,
      'Content-Type': 'application/json',
    };

    // Act
    const redacted = redactor.redactHeaders(headers);

    // Assess
    expect(redacted).toEqual({
      Authorization: REDACTED,
      'Proxy-Authorization': REDACTED,
      Cookie: REDACTED,
      'Set-Cookie': REDACTED,
      'X-Echo': `got ${REDACTED}`,
      'Content-Type': 'application/json',
    });
  });

  it('redacts an added sensitive name case-insensitively, from a Headers object too', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSensitiveName('X-Api-Key');
    const headers = new Headers({ 'x-api-key': 'fake-api-key', accept: 'application/json' });

    // Act
    const redacted = redactor.redactHeaders(headers);

    // Assess
    expect(redacted).toEqual({ 'x-api-key': REDACTED, accept: 'application/json' });
    expect(redactor.isSensitiveName('X-API-KEY')).toBe(true);
  });

  it('redacts sensitive keys whole and registered values anywhere in nested objects', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);
    redactor.addSensitiveName('X-Api-Key');
    const value = {
      request: {
        headers: { Authorization: { scheme: 'Bearer', token: 'unregistered-token' }, 'x-api-key': 'k-12345' },
        body: [{ note: `contains ${SECRET}` }, 42, null],
      },
      cookie: 'session=fake-session',
      status: 200,
    };

    // Act
    const redacted = redactor.redact(value);

    // Assess
    expect(redacted).toEqual({
      request: {
        headers: { Authorization: REDACTED, 'x-api-key': REDACTED },
        body: [{ note: `contains ${REDACTED}` }, 42, null],
      },
      cookie: REDACTED,
      status: 200,
    });
    expect(value.request.headers['x-api-key']).toBe('k-12345');
  });
});

describe('Redactor.loggablePath', () => {
  it('keeps query names and drops their values', () => {
    // Prepare
    const redactor = new Redactor();
    const url = new URL('https://api.example.com/v1/items?cursor=abc123&limit=10&limit=20&api_key=fake-key');

    // Act
    const path = redactor.loggablePath(url);

    // Assess
    expect(path).toBe('/v1/items?cursor=&limit=&api_key=');
  });

  it('returns the bare path without a query', () => {
    // Prepare
    const redactor = new Redactor();

    // Act
    const path = redactor.loggablePath(new URL('https://api.example.com/v1/items'));

    // Assess
    expect(path).toBe('/v1/items');
  });

  it('redacts a registered value in the path', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);

    // Act
    const path = redactor.loggablePath(new URL(`https://api.example.com/hooks/${SECRET}/send`));

    // Assess
    expect(path).toBe(`/hooks/${REDACTED}/send`);
  });
});

describe('bodyExcerpt', () => {
  it('redacts registered values', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);

    // Act
    const excerpt = bodyExcerpt(`{"error":"bad token ${SECRET}"}`, redactor);

    // Assess
    expect(excerpt).toBe(`{"error":"bad token ${REDACTED}"}`);
  });

  it('truncates to 512 characters by default, marking the cut', () => {
    // Prepare
    const body = 'a'.repeat(600);

    // Act
    const excerpt = bodyExcerpt(body, new Redactor());

    // Assess
    expect(excerpt).toBe(`${'a'.repeat(512)}…`);
  });

  it('leaves a body within maxChars whole', () => {
    // Prepare
    const body = 'b'.repeat(20);

    // Act
    const excerpt = bodyExcerpt(body, new Redactor(), 20);

    // Assess
    expect(excerpt).toBe(body);
  });

  it('redacts before truncating, so no part of a value across the cut leaks', () => {
    // Prepare
    const redactor = new Redactor();
    redactor.addSecret(SECRET);
    const body = `${'a'.repeat(10)}${SECRET}`;

    // Act
    const excerpt = bodyExcerpt(body, redactor, 14);

    // Assess
    expect(excerpt).toBe(`${'a'.repeat(10)}[RED…`);
  });
});

describe('Powertools Logger from createPowertools', () => {
  it('never prints a registered secret, nor the value under an authorization key', () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_DEV', '');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const redactor = new Redactor();
    redactor.addSecret(SECRET);
    const { logger } = createPowertools({ serviceName: 'redaction-test', redactor });
    const cause = new Error(`upstream echoed ${SECRET}`);

    // Act
    logger.info('outbound call', {
      request: { path: '/v1/items', nested: { deeper: [{ echo: `token=${SECRET}` }] } },
      authorization: 'Basic unregistered-credential',
    });
    logger.error(`call failed with ${SECRET}`, new Error(`vendor rejected ${SECRET}`, { cause }));
    logger.warn('headers', { headers: { Authorization: `Bearer ${SECRET}` } });

    // Assess
    const lines = written.join('').trim().split('\n');
    expect(lines).toHaveLength(3);
    const output = lines.join('\n');
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('unregistered-credential');
    const [info, error, warn] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(info).toMatchObject({
      message: 'outbound call',
      authorization: REDACTED,
      request: { nested: { deeper: [{ echo: `token=${REDACTED}` }] } },
    });
    expect(error).toMatchObject({
      level: 'ERROR',
      message: `call failed with ${REDACTED}`,
      error: { message: `vendor rejected ${REDACTED}`, cause: { message: `upstream echoed ${REDACTED}` } },
    });
    expect(warn).toMatchObject({ headers: { Authorization: REDACTED } });
  });
});
