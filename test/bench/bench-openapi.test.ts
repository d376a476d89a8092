/**
 * The `openapi` rows of `npm run bench` are built from a real bundle: one small GitHub operation
 * loaded, its entry generated as at synth time, bundled with the stack's options; the harness reads
 * its size, its parts and its Ajv files from esbuild's metafile. Nothing here is timed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/runtime/environment.js';
import { buildOpenApiConnector, OPENAPI_FIRST_CALL } from '../../scripts/bench/openapi.js';
import { GITHUB_FIXTURE_FILE } from '../../scripts/extract-github-spec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bench-openapi-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('bench openapi bundle', () => {
  it('bundles the generated entry without Ajv’s compiler and names the description by digest', async () => {
    // Act
    const built = await buildOpenApiConnector(
      'github-dispatch',
      fileURLToPath(GITHUB_FIXTURE_FILE),
      ['actions/create-workflow-dispatch'],
      dir,
      { POWERTOOLS_METRICS_NAMESPACE: 'Bench' },
    );

    // Assess
    expect(built).toMatchObject({
      name: 'github-dispatch',
      kind: 'openapi',
      operations: 1,
      ajvCompiler: { files: [], bytes: 0 },
      firstCall: OPENAPI_FIRST_CALL,
      fakeSecret: { token: 'tok-example' },
    });
    expect(built.bytes).toBe(statSync(built.bundle).size);
    expect(built.carriedBytes).toBe(built.bytes + built.configBytes);
    expect(built.parts.map((part) => part.name)).toEqual(
      expect.arrayContaining(['standalone validators', 'description', 'zod', 'own code']),
    );
    expect(built.parts.reduce((sum, part) => sum + part.bytes, 0)).toBeLessThanOrEqual(built.bytes);
    const config = JSON.parse(built.environment[ENV.connectorConfig] ?? '{}') as { spec?: unknown };
    expect(config.spec).toMatch(/^bundled:[0-9a-f]{16}$/);
    expect(built.environment).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: 'Bench',
      POWERTOOLS_SERVICE_NAME: 'github-dispatch',
    });
  }, 60_000);
});
