import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathProblem, requestInputSchema } from '../../functions/http/connector.js';
import { type HttpConnectorConfig, parseConnectorConfig } from '../../functions/shared/config.js';

const PREFIXES = ['/anything', '/status/', '/v1/items'];

function config(
  auth: Record<string, unknown> = { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'vendor' },
): HttpConnectorConfig {
  const parsed = parseConnectorConfig(
    {
      kind: 'http',
      name: 'vendor',
      baseUrl: 'https://api.example.com',
      auth,
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: ['/anything', '/status'],
    },
    'test',
  );
  if (parsed.kind !== 'http') throw new Error('expected an http connector');
  return parsed;
}

/** Whether `pathname` lies within one of `prefixes` on a segment boundary. */
function withinPrefix(pathname: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => {
    const base = prefix.replace(/\/+$/, '');
    return pathname === base || pathname.startsWith(`${base}/`);
  });
}

/**
 * The ways a server may read `path` before resolving dot segments: as sent; percent-decoded once and
 * twice; NFKC-normalised; with IIS `%uXXXX` escapes decoded; with `;` path parameters stripped from
 * each segment (Tomcat, Jetty, Spring); with `\\` as `/` (IIS, Windows). A reading that cannot be
 * decoded is returned as `//invalid` so that the property fails: an accepted path must decode.
 */
function serverReadings(path: string): string[] {
  const decodeOnce = (text: string): string => {
    try {
      return decodeURIComponent(
        text.replace(/%u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      );
    } catch {
      return '//invalid';
    }
  };
  const once = decodeOnce(path);
  const twice = decodeOnce(once);
  const readings = [path, once, twice].flatMap((text) => [text, text.normalize('NFKC')]);
  return readings
    .flatMap((text) => [text, text.replaceAll('\\', '/')])
    .flatMap((text) => [text, text.replace(/;[^/]*/g, '')])
    .map((text) => text.replaceAll('%', '%25').replaceAll('?', '%3F').replaceAll('#', '%23'));
}

describe('pathProblem', () => {
  it.each([
    '/anything',
    '/anything/x',
    '/anything/x/y.json',
    '/status/418',
    '/v1/items/itm_1',
    '/anything/a%20b',
    '/anything/caf%C3%A9',
    '/anything/a%40b.example',
    '/anything/.well-known/x',
    '/anything/..hidden',
    "/anything/~a-b_c.d!$&'()*+,=:@",
  ])('accepts %s', (path) => {
    // Prepare
    const prefixes = PREFIXES;

    // Act
    const problem = pathProblem(path, prefixes);

    // Assess
    expect(problem).toBeUndefined();
  });

  it.each(['/anythingelse', '/anything-else', '/status', '/v1/itemsx', '/v1', '/', '/other/anything'])(
    'rejects %s: not within a prefix on a segment boundary',
    (path) => {
      // Prepare: '/status/' allows '/status/x' only; '/status' alone has no trailing segment
      const prefixes = ['/anything', '/status/x', '/v1/items'];

      // Act
      const problem = pathProblem(path, prefixes);

      // Assess
      expect(problem).toMatch(/prefix/);
    },
  );

  it.each([
    ['a .. segment', '/anything/../admin'],
    ['a trailing .. segment', '/anything/..'],
    ['a . segment', '/anything/./x'],
    ['a .. segment with a path parameter (Tomcat, Jetty, Spring read it as ..)', '/anything/..;/admin'],
    ['a .. segment with a named path parameter', '/anything/..;jsessionid=1/admin'],
    ['a . segment with a path parameter', '/anything/.;/x'],
    ['an encoded dot segment', '/anything/%2e%2e/admin'],
    ['an upper-case encoded dot segment', '/anything/%2E%2E/admin'],
    ['a half-encoded dot segment', '/anything/.%2e/admin'],
    ['an encoded slash', '/anything%2F..%2Fadmin'],
    ['an encoded backslash', '/anything/%5C..%5Cadmin'],
    ['an encoded percent', '/anything/%252e%252e/admin'],
    ['a backslash', '/anything\\..\\admin'],
    ['a protocol-relative URL', '//evil.example/x'],
    ['an absolute URL', 'http://evil.example/'],
    ['an https URL', 'https://evil.example/anything'],
    ['a query', '/anything?x=1'],
    ['a fragment', '/anything#top'],
    ['a relative path', 'anything/x'],
    ['an empty path', ''],
    ['a space', '/anything/a b'],
    ['a tab', '/anything/\tx'],
    ['a newline', '/anything/x\n'],
    ['a non-ASCII character', '/anything/ünïcode'],
    ['a .. segment with an encoded path parameter (..%3b)', '/anything/..%3b/admin'],
    ['a .. segment with an upper-case encoded path parameter', '/anything/..%3B/admin'],
    ['an encoded semicolon', '/anything/x%3bjsessionid=1'],
    ['fullwidth dots (U+FF0E, NFKC .)', '/anything/%EF%BC%8E%EF%BC%8E/admin'],
    ['a fullwidth solidus (U+FF0F)', '/anything/x%EF%BC%8F..%EF%BC%8Fadmin'],
    ['a fullwidth reverse solidus (U+FF3C)', '/anything/%EF%BC%BC..%EF%BC%BCadmin'],
    ['a two dot leader (U+2025, NFKC ..)', '/anything/%E2%80%A5/admin'],
    ['one dot leaders (U+2024)', '/anything/%E2%80%A4%E2%80%A4/admin'],
    ['a division slash (U+2215)', '/anything/x%E2%88%95..%E2%88%95admin'],
    ['IIS %u escapes', '/anything/%u002e%u002e/admin'],
    ['an IIS %u slash', '/anything/x%u2215..%u2215admin'],
    ['an overlong UTF-8 dot (%C0%AE)', '/anything/%C0%AE%C0%AE/admin'],
    ['an overlong UTF-8 slash (%C0%AF)', '/anything/x%C0%AF..%C0%AFadmin'],
    ['invalid UTF-8', '/anything/%FF'],
    ['a stray %', '/anything/100%'],
    ['a % without two hex digits', '/anything/%zz'],
    ['a .. segment with a trailing encoded space (IIS strips it)', '/anything/..%20/admin'],
    ['a ... segment', '/anything/.../admin'],
    ['a .. segment followed by a colon', '/anything/..:/admin'],
    ['an encoded NUL', '/anything/x%00.json'],
    ['an encoded control character', '/anything/x%0d%0aInjected:%201'],
    ['an encoded DEL', '/anything/x%7F'],
    ['a double-quote', '/anything/"x"'],
    ['angle brackets', '/anything/<x>'],
    ['a pipe', '/anything/a|b'],
    ['braces', '/anything/{id}'],
    ['a caret', '/anything/a^b'],
    ['a backtick', '/anything/a`b'],
  ])('rejects %s (%j)', (_label, path) => {
    // Prepare
    const prefixes = PREFIXES;

    // Act
    const problem = pathProblem(path, prefixes);

    // Assess
    expect(problem).toEqual(expect.any(String));
  });

  it('only ever accepts paths that resolve within an allowed prefix, however a server reads them', () => {
    // Prepare: paths built from an allowed prefix (or not) and pieces meant to escape it
    // Pieces every path may hold, whose combinations could still escape...
    const allowedPiece = fc.constantFrom(
      '/',
      '//',
      '.',
      '..',
      '/..',
      '/.',
      ';',
      ':',
      '@',
      'a',
      'x',
      'anything',
      'status',
      'items',
      '%20',
      '%41',
      '%C3%A9',
      '~',
      "'",
      '!',
      '$',
      '&',
      '=',
      '+',
      ',',
      '-',
      '_',
    );
    // ...and pieces meant to be refused, alone or once decoded or normalised
    const refusedPiece = fc.constantFrom(
      '%2e',
      '%2E',
      '.%2e',
      '%2f',
      '%5c',
      '%25',
      '%',
      '%3b',
      '%3B',
      '%EF%BC%8E',
      '%EF%BC%8F',
      '%EF%BC%BC',
      '%E2%80%A4',
      '%E2%80%A5',
      '%E2%88%95',
      '%u002e',
      '%u2215',
      '%C0%AE',
      '%C0%AF',
      '%252e',
      '%09',
      '%00',
      '\\',
      '?',
      '#',
      '"',
      '<',
      '>',
      '`',
      '{',
      '|',
      '\t',
      ' ',
      '．',
    );
    const piece = fc.oneof({ arbitrary: allowedPiece, weight: 4 }, { arbitrary: refusedPiece, weight: 1 });
    const start = fc.constantFrom('', '/', ...PREFIXES, '/anything/..', '/v1', 'http://evil.example');
    const path = fc
      .tuple(start, fc.array(piece, { maxLength: 12 }))
      .map(([head, tail]) => head + tail.join(''));

    // Act
    let accepted = 0;
    const run = () =>
      fc.assert(
        fc.property(path, (candidate) => {
          if (pathProblem(candidate, PREFIXES) !== undefined) return true;
          accepted += 1;
          return serverReadings(candidate).every((reading) => {
            const resolved = new URL(reading, 'https://api.example.com');
            return resolved.origin === 'https://api.example.com' && withinPrefix(resolved.pathname, PREFIXES);
          });
        }),
        { numRuns: 5_000 },
      );

    // Assess
    expect(run).not.toThrow();
    expect(accepted).toBeGreaterThan(50); // the generator reaches accepted paths, not only refusals
  });
});

describe('requestInputSchema', () => {
  const schema = requestInputSchema(config());

  function issuesOf(input: unknown): Array<{ path: string; message: string }> {
    const result = schema.safeParse(input);
    if (result.success) return [];
    return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  }

  it('accepts a request within the allowed methods and prefixes', () => {
    // Prepare
    const input = {
      method: 'POST',
      path: '/anything/orders',
      query: { expand: ['customer', 'items'], limit: 5, live: false },
      headers: { 'If-None-Match': '"v1"', Accept: 'application/json' },
      body: { amount: 10 },
    };

    // Act
    const result = schema.safeParse(input);

    // Assess
    expect(result.success).toBe(true);
    expect(result.data).toEqual(input);
  });

  it.each(['DELETE', 'PUT', 'PATCH', 'TRACE', 'CONNECT', 'get'])('rejects method %s', (method) => {
    // Prepare
    const input = { method, path: '/anything' };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['method']);
  });

  it('rejects a path outside the prefixes', () => {
    // Prepare
    const input = { method: 'GET', path: '/anythingelse' };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['path']);
  });

  it.each([
    'authorization',
    'Authorization',
    'proxy-authorization',
    'host',
    'Cookie',
    'idempotency-key',
    'Idempotency-Key',
    'content-length',
    'transfer-encoding',
    'X-Api-Key',
    'x-api-key',
    'X-HTTP-Method-Override',
    'X-HTTP-Method',
    'X-Method-Override',
    'X-Original-URL',
    'X-Rewrite-URL',
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'X-Forwarded-Proto',
    'Forwarded',
    'X-Real-IP',
    'x-trace',
  ])('rejects the header %s, naming it', (name) => {
    // Prepare
    const input = { method: 'GET', path: '/anything', headers: { [name]: 'value' } };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([
      expect.objectContaining({ path: `headers.${name}`, message: expect.stringContaining(name) }),
    ]);
  });

  it('accepts a header the connector allows, and refuses a default one it no longer lists', () => {
    // Prepare
    const custom = requestInputSchema(
      parseConnectorConfig(
        {
          kind: 'http',
          name: 'vendor',
          baseUrl: 'https://api.example.com',
          allowedPathPrefixes: ['/anything'],
          allowedRequestHeaders: ['X-Trace', 'accept'],
        },
        'test',
      ) as HttpConnectorConfig,
    );

    // Act
    const allowed = custom.safeParse({
      method: 'GET',
      path: '/anything',
      headers: { 'x-trace': 'abc', Accept: '*/*' },
    });
    const refused = custom.safeParse({ method: 'GET', path: '/anything', headers: { 'If-Match': '"v1"' } });

    // Assess
    expect(allowed.success).toBe(true);
    expect(refused.error?.issues.map((i) => i.path.join('.'))).toEqual(['headers.If-Match']);
  });

  it.each([
    ['a header name with a space', { 'x trace': 'v' }],
    ['a header value with a newline', { 'x-trace': 'a\r\nx-injected: 1' }],
  ])('rejects %s', (_label, headers) => {
    // Prepare
    const input = { method: 'GET', path: '/anything', headers };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.path.startsWith('headers'))).toBe(true);
  });

  it('rejects a body with GET', () => {
    // Prepare
    const input = { method: 'GET', path: '/anything', body: { a: 1 } };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['body']);
  });

  it('rejects unknown fields', () => {
    // Prepare
    const input = { method: 'GET', path: '/anything', url: 'https://evil.example/' };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toHaveLength(1);
  });

  it('rejects the apiKey query parameter of a connector that sends its key in the query', () => {
    // Prepare
    const querySchema = requestInputSchema(
      config({ type: 'apiKey', in: 'query', name: 'api_key', secret: 'vendor' }),
    );
    const input = { method: 'GET', path: '/anything', query: { api_key: 'forged', page: 2 } };

    // Act
    const result = querySchema.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['query.api_key']);
  });

  it.each(['API_KEY', 'Api_Key', 'api_key[]', 'api_key[0]', 'api_key ', ' api_key', 'api%5Fkey', 'api.key'])(
    'rejects %j: a spelling of the credential parameter a server may read as it',
    (key) => {
      // Prepare
      const querySchema = requestInputSchema(
        config({ type: 'apiKey', in: 'query', name: 'api_key', secret: 'vendor' }),
      );
      const input = { method: 'GET', path: '/anything', query: { [key]: 'forged', page: 2 } };

      // Act
      const result = querySchema.safeParse(input);

      // Assess
      expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual([`query.${key}`]);
    },
  );

  it('allows the same query name when the connector sends its key in a header', () => {
    // Prepare
    const input = { method: 'GET', path: '/anything', query: { api_key: 'not-a-credential-here' } };

    // Act
    const result = schema.safeParse(input);

    // Assess
    expect(result.success).toBe(true);
  });
});
