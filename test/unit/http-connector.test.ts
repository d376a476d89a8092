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

describe('pathProblem', () => {
  it.each([
    '/anything',
    '/anything/x',
    '/anything/x/y.json',
    '/status/418',
    '/v1/items/itm_1',
    '/anything/a%20b',
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
  ])('rejects %s (%j)', (_label, path) => {
    // Prepare
    const prefixes = PREFIXES;

    // Act
    const problem = pathProblem(path, prefixes);

    // Assess
    expect(problem).toEqual(expect.any(String));
  });

  it('only ever accepts paths that resolve within an allowed prefix', () => {
    // Prepare: paths built from an allowed prefix (or not) and pieces meant to escape it
    const piece = fc.constantFrom(
      '/',
      '//',
      '.',
      '..',
      '/..',
      '/.',
      '%2e',
      '%2E',
      '.%2e',
      '%2f',
      '%5c',
      '%25',
      '%',
      '\\',
      '?',
      '#',
      ';',
      ':',
      '@',
      'a',
      'x',
      'anything',
      'status',
      'items',
      '%20',
      '~',
      "'",
      '!',
      '$',
      '&',
      '=',
      '+',
      ',',
      '"',
      '<',
      '>',
      '`',
      '{',
      '|',
      '\t',
      ' ',
    );
    const start = fc.constantFrom('', '/', ...PREFIXES, '/anything/..', '/v1', 'http://evil.example');
    const path = fc
      .tuple(start, fc.array(piece, { maxLength: 12 }))
      .map(([head, tail]) => head + tail.join(''));

    // Act
    const run = () =>
      fc.assert(
        fc.property(path, (candidate) => {
          fc.pre(pathProblem(candidate, PREFIXES) === undefined);
          const resolved = new URL(candidate, 'https://api.example.com');
          return resolved.origin === 'https://api.example.com' && withinPrefix(resolved.pathname, PREFIXES);
        }),
        { numRuns: 2_000, maxSkipsPerRun: 1_000 },
      );

    // Assess
    expect(run).not.toThrow();
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
      headers: { 'x-trace': 'abc', Accept: 'application/json' },
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
  ])('rejects the header %s', (name) => {
    // Prepare
    const input = { method: 'GET', path: '/anything', headers: { [name]: 'value' } };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual([expect.objectContaining({ path: `headers.${name}` })]);
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
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['query']);
  });

  it('allows the same query name when the connector sends its key in a header', () => {
    // Prepare
    const input = { method: 'GET', path: '/anything', query: { api_key: 'not-a-credential-here' } };

    // Act
    const result = schema.safeParse(input);

    // Assess
    expect(result.success).toBe(true);
  });
});
