/**
 * GitHub's description (test/fixtures/github/api.github.com.openapi.json, 20 operations, OpenAPI
 * 3.0.3) as an `openapi` connector: the suite entry naming it validates with `loadSuiteConfig`, every
 * operation's validators compile (at load, and as the standalone code of the Lambda entry generated
 * at synth time), and they check inputs and answers in the description's terms.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationValidators } from '../../functions/openapi/compile.js';
import type { OpenApiDescription } from '../../functions/openapi/description.js';
import { writeOpenApiLambdaEntry } from '../../functions/openapi/lambda-entry.js';
import type { OpenApiConnectorConfig } from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';
import {
  GITHUB_OPENAPI_FIXTURE_FILE,
  GITHUB_OPENAPI_OPERATION_IDS,
} from '../../scripts/extract-github-spec.js';

let dir: string;
let entry: OpenApiConnectorConfig;
let description: OpenApiDescription;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'openapi-github-'));
  const file = path.join(dir, 'suite.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      connectors: [
        {
          name: 'github-openapi',
          kind: 'openapi',
          spec: fileURLToPath(GITHUB_OPENAPI_FIXTURE_FILE),
          operations: GITHUB_OPENAPI_OPERATION_IDS,
          auth: { type: 'bearer', secret: 'github-openapi' },
        },
      ],
    }),
  );
  const suite = await loadSuiteConfig(file);
  entry = suite.connectors[0] as OpenApiConnectorConfig;
  description = entry.spec as unknown as OpenApiDescription;
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("GitHub's description as an openapi connector", () => {
  it('validates with loadSuiteConfig: the 20 operations, the base URL from its servers', () => {
    // Assess
    expect(entry).toMatchObject({
      kind: 'openapi',
      name: 'github-openapi',
      baseUrl: 'https://api.github.com',
    });
    expect(Object.keys(description.operations).sort()).toEqual([...GITHUB_OPENAPI_OPERATION_IDS].sort());
    expect(description.dialect).toBe('3.0');
    expect(description.operations['issues/update']).toMatchObject({
      method: 'PATCH',
      path: '/repos/{owner}/{repo}/issues/{issue_number}',
    });
  });

  it("compiles every operation's validators", () => {
    // Act
    const compile = () =>
      Object.values(description.operations).map((operation) =>
        operationValidators(operation, description.dialect),
      );

    // Assess
    expect(compile).not.toThrow();
  });

  it('generates the Lambda entry with the standalone validators of the 20 operations', () => {
    // Prepare
    const outDir = path.join(dir, 'entry');

    // Act
    const generated = writeOpenApiLambdaEntry(entry, { projectRoot: dir, outDir });

    // Assess
    expect(generated.entry).toBe(path.join(outDir, 'index.mjs'));
    expect(existsSync(path.join(outDir, 'validators.mjs'))).toBe(true);
    expect(generated.config.spec).toBe(`bundled:${generated.digest}`);
    expect(Buffer.byteLength(JSON.stringify(generated.config))).toBeLessThan(3_072);
  }, 60_000);

  it('checks an input and an answer in the description’s terms', () => {
    // Prepare
    const validators = operationValidators(
      description.operations['issues/create'] as never,
      description.dialect,
    );

    // Act
    const valid = validators.input({
      path: { owner: 'octo-org', repo: 'hello-world' },
      body: { title: 'x' },
    });
    const invalid = validators.input({ path: { owner: 'octo-org' }, body: { labels: 'bug' } });
    const answer = validators.response(201, { id: 'not-a-number' });

    // Assess
    expect(valid).toEqual([]);
    expect(invalid).toEqual(
      expect.arrayContaining([
        { path: ['path', 'repo'], message: 'is required' },
        { path: ['body', 'title'], message: 'is required' },
      ]),
    );
    expect(answer).toEqual(expect.arrayContaining([{ path: ['body', 'id'], message: 'must be integer' }]));
  });
});
