/**
 * The extraction of GitHub's fixture (scripts/extract-github-spec.ts): it keeps the named operations
 * and the components they reach, sorted, and names what is missing; the committed fixture is its own
 * extraction (every `$ref` resolves within it and nothing unreferenced is left), and equals the
 * extraction of `@octokit/openapi` when that package happens to be installed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  extractOperations,
  GITHUB_FIXTURE_FILE,
  GITHUB_OPERATIONS,
  GITHUB_SOURCE_MODULE,
  type OpenApiDescription,
} from '../../scripts/extract-github-spec.js';

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** A small description: one kept operation reaching two schemas through a parameter, one left out. */
function description(): OpenApiDescription {
  return {
    openapi: '3.0.3',
    info: { title: 'example', version: '1' },
    servers: [{ url: 'https://api.example.test' }],
    externalDocs: { url: 'https://docs.example.test' },
    paths: {
      '/things': {
        post: { operationId: 'things/create', parameters: [ref('parameters', 'owner')], responses: {} },
        get: { operationId: 'things/list', parameters: [ref('parameters', 'unused')], responses: {} },
      },
      '/other': { post: { operationId: 'other/create', responses: {} } },
    },
    components: {
      parameters: {
        owner: { name: 'owner', in: 'path', schema: ref('schemas', 'zeta') },
        unused: { name: 'unused', in: 'query', schema: { type: 'string' } },
      },
      schemas: {
        zeta: { type: 'object', properties: { alpha: ref('schemas', 'alpha') } },
        alpha: { type: 'string' },
        orphan: { type: 'integer' },
      },
    },
  };
}

describe('extractOperations', () => {
  it('keeps the named operations and the components they reach, sorted by kind and name', () => {
    // Prepare
    const spec = description();

    // Act
    const trimmed = extractOperations(spec, [{ path: '/things', method: 'post' }]);

    // Assess
    expect(Object.keys(trimmed.paths)).toEqual(['/things']);
    expect(Object.keys(trimmed.paths['/things'] ?? {})).toEqual(['post']);
    expect(trimmed.components).toEqual({
      parameters: { owner: spec.components?.parameters?.owner },
      schemas: { alpha: { type: 'string' }, zeta: spec.components?.schemas?.zeta },
    });
    expect(Object.keys(trimmed.components?.schemas ?? {})).toEqual(['alpha', 'zeta']);
    expect(trimmed.info).toEqual(spec.info);
    expect(trimmed.servers).toEqual(spec.servers);
  });

  it('names an operation the description lacks', () => {
    // Prepare
    const spec = description();

    // Act
    const extract = () => extractOperations(spec, [{ path: '/things', method: 'delete' }]);

    // Assess
    expect(extract).toThrow('no operation DELETE /things');
  });

  it('names a $ref that does not resolve', () => {
    // Prepare
    const spec = description();
    const things = spec.paths['/things'] ?? {};
    things.post = { operationId: 'things/create', parameters: [ref('parameters', 'gone')] };

    // Act
    const extract = () => extractOperations(spec, [{ path: '/things', method: 'post' }]);

    // Assess
    expect(extract).toThrow('unresolved $ref #/components/parameters/gone');
  });
});

describe('the committed GitHub fixture', () => {
  const fixture = JSON.parse(readFileSync(GITHUB_FIXTURE_FILE, 'utf8')) as OpenApiDescription;

  it('holds the three operations of the github connector and is its own extraction', () => {
    // Prepare
    const expectedPaths = GITHUB_OPERATIONS.map((operation) => operation.path);

    // Act
    const again = extractOperations(fixture, GITHUB_OPERATIONS);

    // Assess
    expect(Object.keys(fixture.paths)).toEqual(expectedPaths);
    expect(again).toEqual(fixture);
  });

  let source: string | undefined;
  try {
    source = createRequire(import.meta.url).resolve(GITHUB_SOURCE_MODULE);
  } catch {
    source = undefined;
  }

  it.skipIf(source === undefined)(
    'equals the extraction of @octokit/openapi when it is installed',
    () => {
      // Prepare
      const spec = JSON.parse(readFileSync(source ?? '', 'utf8')) as OpenApiDescription;

      // Act
      const trimmed = extractOperations(spec, GITHUB_OPERATIONS);

      // Assess
      expect(trimmed).toEqual(fixture);
    },
    60_000,
  );
});
