/**
 * The extraction of GitHub's fixtures (scripts/extract-github-spec.ts, over the generic extractor of
 * scripts/extract-spec.ts, tested in extract-spec.test.ts): its command line, and the committed
 * fixtures, each its own extraction (every `$ref` resolves within it and nothing unreferenced is
 * left), equal to the extraction of `@octokit/openapi` when that package happens to be installed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  GITHUB_FIXTURE_FILE,
  GITHUB_OPENAPI_FIXTURE_FILE,
  GITHUB_OPENAPI_OPERATION_IDS,
  GITHUB_OPERATION_IDS,
  GITHUB_SOURCE_MODULE,
  main,
  type OpenApiDescription,
} from '../../scripts/extract-github-spec.js';
import { extractDescription } from '../../scripts/extract-spec.js';

/** The extraction of `operationIds` from `spec`, as the script writes it. */
const extract = (spec: OpenApiDescription, operationIds: readonly string[]) =>
  extractDescription(spec as never, operationIds) as unknown as OpenApiDescription;

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

describe('main with --operations', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    vi.restoreAllMocks();
  });

  it('writes the extraction of those operationIds to --out', () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'extract-github-spec-'));
    dirs.push(dir);
    const source = path.join(dir, 'source.json');
    const out = path.join(dir, 'out.json');
    writeFileSync(source, JSON.stringify(description()));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);

    // Act
    const code = main(['--source', source, '--operations', 'things/list, other/create', '--out', out]);

    // Assess
    expect(code).toBe(0);
    const written = JSON.parse(readFileSync(out, 'utf8')) as OpenApiDescription;
    expect(written).toEqual(extract(description(), ['things/list', 'other/create']));
    expect(Object.keys(written.paths)).toEqual(['/things', '/other']);
    expect(Object.keys(written.components?.schemas ?? {})).toEqual([]);
    expect(Object.keys(written.components?.parameters ?? {})).toEqual(['unused']);
  });

  it("is a usage error without --out, so that the mock's fixture is never overwritten", () => {
    // Prepare
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    // Act
    const code = main(['--operations', 'things/list']);

    // Assess
    expect(code).toBe(2);
    expect(error).toHaveBeenCalledWith(expect.stringContaining('--operations ID,ID,… --out FILE'));
  });
});

describe('the committed GitHub fixture', () => {
  const fixture = JSON.parse(readFileSync(GITHUB_FIXTURE_FILE, 'utf8')) as OpenApiDescription;

  it('holds the three operations of the github connector and is its own extraction', () => {
    // Prepare
    const ids = Object.values(fixture.paths).flatMap((item) =>
      Object.values(item).map((operation) => (operation as { operationId?: string }).operationId),
    );

    // Act
    const again = extract(fixture, GITHUB_OPERATION_IDS);

    // Assess
    expect(ids).toEqual([...GITHUB_OPERATION_IDS]);
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
      const trimmed = extract(spec, GITHUB_OPERATION_IDS);

      // Assess
      expect(trimmed).toEqual(fixture);
    },
    60_000,
  );
});

describe('the committed GitHub fixture of the openapi kind (20 operations)', () => {
  const fixture = JSON.parse(readFileSync(GITHUB_OPENAPI_FIXTURE_FILE, 'utf8')) as OpenApiDescription;

  it('holds the 20 operations and is its own extraction', () => {
    // Act
    const again = extract(fixture, GITHUB_OPENAPI_OPERATION_IDS);

    // Assess
    const ids = Object.values(fixture.paths).flatMap((item) =>
      Object.values(item).map((operation) => (operation as { operationId?: string }).operationId),
    );
    expect(ids.toSorted()).toEqual([...GITHUB_OPENAPI_OPERATION_IDS].sort());
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
      const trimmed = extract(spec, GITHUB_OPENAPI_OPERATION_IDS);

      // Assess
      expect(trimmed).toEqual(fixture);
    },
    60_000,
  );
});
