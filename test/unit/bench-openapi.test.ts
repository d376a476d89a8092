/**
 * The pure parts of the `openapi` figures of `npm run bench` (scripts/bench/openapi.ts): where Ajv's
 * compiler is in a bundle, how what a connector carries grows, the cold-start ratio and the rows.
 * No timing is asserted: the figures are measured by the bench, not here.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ColdStart } from '../../scripts/bench/bundles.js';
import {
  ajvCompilerInputs,
  coldStartRatio,
  growthOf,
  type OpenApiBundle,
  type OpenApiBundles,
  openapiBundleFigures,
  openapiColdStartFigure,
  partsOf,
  sameSize,
} from '../../scripts/bench/openapi.js';

describe('ajvCompilerInputs', () => {
  it("names Ajv's compiler and ajv-formats' plugin, not the runtime standalone code requires", () => {
    // Prepare
    const inputs = {
      'node_modules/ajv/dist/compile/codegen/code.js': { bytesInOutput: 300 },
      'node_modules/ajv/dist/core.js': { bytesInOutput: 200 },
      'node_modules/ajv/dist/runtime/equal.js': { bytesInOutput: 40 },
      'node_modules/ajv/dist/runtime/ucs2length.js': { bytesInOutput: 30 },
      'node_modules/ajv-formats/dist/formats.js': { bytesInOutput: 500 },
      'node_modules/ajv-formats/dist/index.js': { bytesInOutput: 20 },
      '../../work/main/node_modules/ajv/dist/compile/index.js': { bytesInOutput: 100 },
      'node_modules/ajv/dist/types/index.js': { bytesInOutput: 0 },
      'functions/openapi/validators.ts': { bytesInOutput: 900 },
    };

    // Act
    const compiler = ajvCompilerInputs(inputs);

    // Assess
    expect(compiler).toEqual({
      files: [
        'ajv-formats/dist/index.js',
        'ajv/dist/compile/codegen/code.js',
        'ajv/dist/compile/index.js',
        'ajv/dist/core.js',
      ],
      bytes: 620,
    });
  });

  it('finds nothing in a bundle of standalone validators', () => {
    // Act
    const compiler = ajvCompilerInputs({
      'node_modules/ajv/dist/runtime/validation_error.js': { bytesInOutput: 50 },
      'node_modules/ajv-formats/dist/formats.js': { bytesInOutput: 500 },
    });

    // Assess
    expect(compiler).toEqual({ files: [], bytes: 0 });
  });
});

describe('partsOf', () => {
  it("puts the generated entry's files apart from the packages and the project's code", () => {
    // Prepare
    const entryDir = path.resolve('/tmp/bench/github-openapi-20/entry');
    const root = path.resolve('/work/project');
    const relative = (file: string) => path.relative(root, file);
    const inputs = {
      [relative(path.join(entryDir, 'validators.mjs'))]: { bytesInOutput: 4_000 },
      [relative(path.join(entryDir, 'index.mjs'))]: { bytesInOutput: 300 },
      'node_modules/zod/v4/core/schemas.js': { bytesInOutput: 90 },
      'node_modules/@aws-lambda-powertools/logger/lib/esm/Logger.js': { bytesInOutput: 50 },
      'node_modules/@aws-lambda-powertools/metrics/lib/esm/Metrics.js': { bytesInOutput: 40 },
      'functions/openapi/precompiled.ts': { bytesInOutput: 60 },
    };

    // Act
    const parts = partsOf(inputs, entryDir, root);

    // Assess
    expect(parts).toEqual([
      { name: 'standalone validators', bytes: 4_000 },
      { name: 'description', bytes: 300 },
      { name: 'zod', bytes: 90 },
      { name: 'Powertools', bytes: 90 },
      { name: 'own code', bytes: 60 },
    ]);
  });
});

describe('growthOf', () => {
  it('gives the bytes per added operation and whether it never shrinks, whatever the order', () => {
    // Act
    const growth = growthOf([
      { operations: 20, bytes: 3_000 },
      { operations: 1, bytes: 1_100 },
      { operations: 10, bytes: 2_000 },
    ]);

    // Assess
    expect(growth).toEqual({ perOperationBytes: 100, monotonic: true });
  });

  it('tells when more operations carry fewer bytes', () => {
    // Act
    const growth = growthOf([
      { operations: 1, bytes: 1_000 },
      { operations: 5, bytes: 900 },
      { operations: 10, bytes: 2_000 },
    ]);

    // Assess
    expect(growth.monotonic).toBe(false);
  });
});

describe('sameSize', () => {
  it('allows 1 % of the smaller by default', () => {
    // Assess
    expect(sameSize(100_000, 101_000)).toBe(true);
    expect(sameSize(100_000, 101_001)).toBe(false);
    expect(sameSize(101_000, 100_000)).toBe(true);
  });
});

/** A measured connector with `operations` operations. */
function bundle(
  operations: number,
  bytes: number,
  configBytes: number,
  ajvFiles: string[] = [],
): OpenApiBundle {
  return {
    name: `github-openapi-${operations}`,
    kind: 'openapi',
    bundle: `/tmp/github-openapi-${operations}/index.mjs`,
    bytes,
    environment: {},
    operations,
    descriptionBytes: 500_000,
    configBytes,
    carriedBytes: bytes + configBytes,
    ajvCompiler: { files: ajvFiles, bytes: ajvFiles.length * 1024 },
    parts: [],
    entryLabel: 'generated entry',
  };
}

describe('openapiBundleFigures', () => {
  it('meets both goals when the bundle grows with the operations, the same operations weigh the same, and Ajv is out', () => {
    // Prepare
    const measured: OpenApiBundles = {
      byOperations: [bundle(1, 200_000, 500), bundle(5, 240_000, 500), bundle(20, 400_000, 500)],
      sameOperations: {
        small: { ...bundle(3, 230_000, 500), descriptionBytes: 98_000 },
        large: { ...bundle(3, 230_100, 500), descriptionBytes: 500_000 },
      },
    };

    // Act
    const [growth, ajv] = openapiBundleFigures(measured);

    // Assess
    expect(growth?.verdict).toBe('met');
    expect(growth?.measured).toContain('+10 KB per operation');
    expect(growth?.measured).toContain('from a 96 KB and a 488 KB description');
    expect(ajv).toMatchObject({ goal: 'absent', measured: 'absent', verdict: 'met' });
  });

  it('is not met when the same operations from a larger description carry more, or Ajv is in', () => {
    // Prepare
    const measured: OpenApiBundles = {
      byOperations: [bundle(1, 200_000, 500), bundle(20, 400_000, 500, ['ajv/dist/compile/index.js'])],
      sameOperations: { small: bundle(3, 230_000, 500), large: bundle(3, 300_000, 500) },
    };

    // Act
    const [growth, ajv] = openapiBundleFigures(measured);

    // Assess
    expect(growth?.verdict).toBe('NOT met');
    expect(ajv?.verdict).toBe('NOT met');
    expect(ajv?.measured).toContain('ajv/dist/compile/index.js');
  });
});

/** A cold start with these first-call times, round by round. */
function cold(name: string, rounds: number[]): ColdStart {
  return {
    name,
    ratio: { median: 1, min: 1, max: 1 },
    firstCallMs: rounds[0] ?? 0,
    firstCallRoundsMs: rounds,
    importMs: 100,
    status: 200,
  };
}

describe('coldStartRatio and openapiColdStartFigure', () => {
  it('divides round by round and judges the median against 1.2×', () => {
    // Prepare
    const openapi = cold('github-openapi-20', [330, 220, 240]);
    const http = cold('httpbin', [300, 200, 100]);

    // Act
    const ratio = coldStartRatio(openapi, http);
    const figure = openapiColdStartFigure(bundle(20, 1, 1), openapi, http);

    // Assess
    expect(ratio).toEqual({ median: 1.1, min: 1.1, max: 2.4 });
    expect(figure).toMatchObject({ goal: '≤ 1.2×', verdict: 'met' });
    expect(figure.measured).toMatch(/^1\.10 \(1\.10–2\.40\)/);
  });

  it('refuses rounds that do not pair up', () => {
    // Act
    const ratio = () => coldStartRatio(cold('a', [1, 2]), cold('b', [1]));

    // Assess
    expect(ratio).toThrow('2 rounds of a, 1 of b');
  });
});
