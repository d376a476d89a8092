/**
 * The `openapi` figures of `npm run bench` (issue 14): connectors built from GitHub's description
 * (`test/fixtures/github/api.github.com.openapi.json`) with 1, 5, 10 and 20 of its operations, each
 * bundled with the stack's esbuild options; what each carries (its bundle and its
 * `CONNECTOR_CONFIG`); whether Ajv's compiler is in the bundle; the same operations from a small
 * and a large description; and, measured with the other cold starts (scripts/bench/bundles.ts), the
 * 20-operation connector's cold start against the `http` connector's.
 *
 * The Lambda entry comes from {@link openapiEntry}, the one place to change when the kind's entry
 * changes (docs/performance.md, "The openapi kind").
 *
 * @module
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { writeOpenApiLambdaEntry } from '../../functions/openapi/lambda-entry.js';
import type { OpenApiConnectorConfig } from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';
import { ENV } from '../../functions/shared/runtime/environment.js';
import { PROJECT_ROOT } from '../../lib/connector-kinds.js';
import {
  GITHUB_FIXTURE_FILE,
  GITHUB_OPENAPI_FIXTURE_FILE,
  GITHUB_OPENAPI_OPERATION_IDS,
  GITHUB_OPERATION_IDS,
} from '../extract-github-spec.js';
import type { BuiltConnector, ColdStart } from './bundles.js';
import { partOf, stackBuildOptions } from './bundles.js';
import { type Figure, formatSpread, type Spread, spread, verdict } from './stats.js';

/** How many of {@link GITHUB_OPENAPI_OPERATION_IDS} (the first N) each measured connector allows. */
export const OPENAPI_OPERATION_COUNTS = [1, 5, 10, 20] as const;

/** The budget of the 20-operation connector's cold start, as a ratio to the `http` connector's (issue 14). */
export const OPENAPI_COLD_START_BUDGET = 1.2;

/**
 * The most two bundles of the same operations, from descriptions of different sizes, may differ,
 * as a fraction of the smaller: what the file name of the description and the order of its
 * components may change.
 */
export const SAME_OPERATIONS_TOLERANCE = 0.01;

/** The call the 20-operation connector serves at cold start: `GET /repos/{owner}/{repo}`. */
export const OPENAPI_FIRST_CALL = {
  operation: 'repos/get',
  body: { path: { owner: 'octo-org', repo: 'hello-world' } },
};

/** The connector's secret for `bearer` auth, obviously fake. */
const FAKE_TOKEN = { token: 'tok-example' };

/** A Lambda entry of an `openapi` connector and the environment it needs besides the stack's own. */
export interface OpenApiEntry {
  /** Absolute path of the file esbuild bundles. */
  entry: string;
  /** Variables it reads: `CONNECTOR_CONFIG` at least. */
  environment: Record<string, string>;
  /** What the figures say about it, e.g. `functions/openapi/handler.ts, validators compiled at cold start`. */
  label: string;
}

/**
 * The Lambda entry of one `openapi` connector, as the `Connector` construct makes it at synth time
 * (functions/openapi/lambda-entry.ts): the trimmed description and its validators as Ajv standalone
 * code, written into `outDir`, and a `CONNECTOR_CONFIG` that names the description by digest. To
 * measure another entry (e.g. `functions/openapi/handler.ts`, which compiles the validators at cold
 * start from the description in `CONNECTOR_CONFIG`), change this function: every figure follows.
 * @param config - the validated entry (its `spec` is the trimmed description)
 * @param outDir - the directory the entry is written into
 */
export async function openapiEntry(config: OpenApiConnectorConfig, outDir: string): Promise<OpenApiEntry> {
  const generated = writeOpenApiLambdaEntry(config, { projectRoot: PROJECT_ROOT, outDir });
  return {
    entry: generated.entry,
    environment: { [ENV.connectorConfig]: JSON.stringify(generated.config) },
    label: 'generated at synth time, validators precompiled (Ajv standalone)',
  };
}

/** Where Ajv's compiler is in a bundle. */
export interface AjvCompiler {
  /** The bundled files of Ajv's compiler (relative to `node_modules`), sorted. */
  files: string[];
  /** Their bytes in the bundle. */
  bytes: number;
}

/**
 * The files of Ajv's compiler among a bundle's inputs (esbuild's metafile): every file of `ajv`
 * but its `dist/runtime/` (what Ajv's standalone code requires: `equal`, `ucs2length`, `uri`,
 * `validation_error`), and `ajv-formats`' plugin (`dist/index.js`, `dist/limit.js`, which generate
 * code) but not its `dist/formats.js` (the format checks standalone code calls).
 * @param inputs - `metafile.outputs[...].inputs`
 */
export function ajvCompilerInputs(inputs: Readonly<Record<string, { bytesInOutput: number }>>): AjvCompiler {
  const files: string[] = [];
  let bytes = 0;
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const at = file.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const module = file.slice(at + 'node_modules/'.length);
    const compiler =
      (module.startsWith('ajv/') && !module.startsWith('ajv/dist/runtime/')) ||
      (module.startsWith('ajv-formats/') && !module.startsWith('ajv-formats/dist/formats.'));
    if (compiler && bytesInOutput > 0) {
      files.push(module);
      bytes += bytesInOutput;
    }
  }
  return { files: files.sort(), bytes };
}

/**
 * A bundle's bytes by part: {@link partOf}'s parts, and the files of the generated entry's
 * directory apart: its `validators.mjs` as `standalone validators`, the rest (`index.mjs`, which
 * holds the trimmed description) as `description`.
 * @param inputs - `metafile.outputs[...].inputs`, paths relative to `root`
 * @param entryDir - absolute path of the generated entry's directory
 * @param root - esbuild's working directory; @default the project root, as {@link stackBuildOptions}
 */
export function partsOf(
  inputs: Readonly<Record<string, { bytesInOutput: number }>>,
  entryDir: string,
  root: string = PROJECT_ROOT,
): Array<{ name: string; bytes: number }> {
  const byPart = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const absolute = path.resolve(root, file);
    const part =
      path.dirname(absolute) === entryDir
        ? path.basename(absolute).startsWith('validators.')
          ? 'standalone validators'
          : 'description'
        : partOf(file);
    byPart.set(part, (byPart.get(part) ?? 0) + bytesInOutput);
  }
  return [...byPart].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** One measured `openapi` connector. */
export interface OpenApiBundle extends BuiltConnector {
  kind: 'openapi';
  /** How many operations it allows. */
  operations: number;
  /** Bytes of the description file it is built from. */
  descriptionBytes: number;
  /** Bytes of its `CONNECTOR_CONFIG`. */
  configBytes: number;
  /** What the function carries: the bundle's bytes plus its `CONNECTOR_CONFIG`'s. */
  carriedBytes: number;
  ajvCompiler: AjvCompiler;
  /**
   * Bytes in the bundle by part, largest first: as `bundle parts` of the other kinds, with the
   * generated entry's files apart (`standalone validators`, `description`).
   */
  parts: Array<{ name: string; bytes: number }>;
  /** {@link OpenApiEntry.label} */
  entryLabel: string;
}

/**
 * Builds one `openapi` connector: a suite of it alone loaded with `loadSuiteConfig` (the
 * description read and trimmed as for a deploy), its entry from {@link openapiEntry}, bundled with
 * the stack's options into `outDir/<name>/bundle/index.mjs`.
 * @param spec - absolute path of the description
 * @param operations - the allowed `operationId`s
 * @param baseEnvironment - the variables the stack sets on every function (`POWERTOOLS_*`, `NODE_OPTIONS`)
 * @throws ConfigValidationError as `loadSuiteConfig`, or Error when esbuild fails
 */
export async function buildOpenApiConnector(
  name: string,
  spec: string,
  operations: readonly string[],
  outDir: string,
  baseEnvironment: Readonly<Record<string, string>> = {},
): Promise<OpenApiBundle> {
  const dir = path.join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const suiteFile = path.join(dir, 'suite.config.json');
  writeFileSync(
    suiteFile,
    JSON.stringify({
      connectors: [{ name, kind: 'openapi', spec, operations, auth: { type: 'bearer', secret: name } }],
    }),
  );
  const suite = await loadSuiteConfig(suiteFile);
  const config = suite.connectors[0] as OpenApiConnectorConfig;
  const entry = await openapiEntry(config, path.join(dir, 'entry'));
  const bundle = path.join(dir, 'bundle', 'index.mjs');
  const result = await build({
    ...stackBuildOptions(entry.entry, bundle),
    write: true,
    sourcemap: true,
    sourcesContent: false,
  });
  const output = Object.values(result.metafile?.outputs ?? {}).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild gave no output for ${name}`);
  const environment: Record<string, string> = {
    ...baseEnvironment,
    POWERTOOLS_SERVICE_NAME: name,
    ...entry.environment,
  };
  const bytes = statSync(bundle).size;
  const configBytes = Buffer.byteLength(environment[ENV.connectorConfig] ?? '', 'utf8');
  return {
    name,
    kind: 'openapi',
    bundle,
    bytes,
    environment,
    firstCall: OPENAPI_FIRST_CALL,
    fakeSecret: FAKE_TOKEN,
    operations: operations.length,
    descriptionBytes: statSync(spec).size,
    configBytes,
    carriedBytes: bytes + configBytes,
    ajvCompiler: ajvCompilerInputs(output.inputs),
    parts: partsOf(output.inputs, path.dirname(entry.entry)),
    entryLabel: entry.label,
  };
}

/** What {@link buildOpenApiBundles} measures. */
export interface OpenApiBundles {
  /** GitHub's description with the first 1, 5, 10 and 20 of its operations. */
  byOperations: OpenApiBundle[];
  /** The three operations of GitHub's mock, from its 3-operation fixture and from the 20-operation one. */
  sameOperations: { small: OpenApiBundle; large: OpenApiBundle };
}

/**
 * Builds the measured `openapi` connectors into `outDir`.
 * @param baseEnvironment - as {@link buildOpenApiConnector}
 */
export async function buildOpenApiBundles(
  outDir: string,
  baseEnvironment: Readonly<Record<string, string>> = {},
): Promise<OpenApiBundles> {
  const large = fileURLToPath(GITHUB_OPENAPI_FIXTURE_FILE);
  const small = fileURLToPath(GITHUB_FIXTURE_FILE);
  const byOperations: OpenApiBundle[] = [];
  for (const count of OPENAPI_OPERATION_COUNTS) {
    byOperations.push(
      await buildOpenApiConnector(
        `github-openapi-${count}`,
        large,
        GITHUB_OPENAPI_OPERATION_IDS.slice(0, count),
        outDir,
        baseEnvironment,
      ),
    );
  }
  const mockOperations = operationIdsOf(small, GITHUB_OPERATION_IDS.length);
  return {
    byOperations,
    sameOperations: {
      small: await buildOpenApiConnector('github-mock-small', small, mockOperations, outDir, baseEnvironment),
      large: await buildOpenApiConnector('github-mock-large', large, mockOperations, outDir, baseEnvironment),
    },
  };
}

/** The `operationId`s of a description file, in the order of its paths. */
function operationIdsOf(file: string, expected: number): string[] {
  const document = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  const ids = Object.values(document.paths).flatMap((item) =>
    Object.values(item).flatMap((operation) => (operation.operationId ? [operation.operationId] : [])),
  );
  if (ids.length !== expected) throw new Error(`${file} has ${ids.length} operations, not ${expected}`);
  return ids;
}

/** How what a connector carries grows with its operations. */
export interface Growth {
  /** Bytes per added operation, from the fewest operations to the most. */
  perOperationBytes: number;
  /** Whether it never shrinks as operations are added. */
  monotonic: boolean;
}

/**
 * The growth of `bytes` with `operations` over points sorted by operations: the slope from the
 * first point to the last, and whether each point carries at least what the one before does.
 * @param points - at least two, with different operation counts
 */
export function growthOf(points: ReadonlyArray<{ operations: number; bytes: number }>): Growth {
  const sorted = [...points].sort((a, b) => a.operations - b.operations);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last || last.operations === first.operations)
    return { perOperationBytes: 0, monotonic: true };
  return {
    perOperationBytes: (last.bytes - first.bytes) / (last.operations - first.operations),
    monotonic: sorted.every(
      (point, i) => i === 0 || point.bytes >= (sorted[i - 1] as { bytes: number }).bytes,
    ),
  };
}

/** Whether two byte counts differ by at most `tolerance` of the smaller. */
export function sameSize(a: number, b: number, tolerance = SAME_OPERATIONS_TOLERANCE): boolean {
  return Math.abs(a - b) <= tolerance * Math.min(a, b);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/**
 * The table rows of the bundle figures: what the connectors carry by operations (growth
 * proportional to the operations: it never shrinks, and the same operations from a 5× larger
 * description carry the same bytes), and Ajv's compiler (absent from the 20-operation bundle).
 */
export function openapiBundleFigures(measured: OpenApiBundles): Figure[] {
  const { byOperations, sameOperations } = measured;
  const growth = growthOf(byOperations.map((b) => ({ operations: b.operations, bytes: b.carriedBytes })));
  const bundleGrowth = growthOf(byOperations.map((b) => ({ operations: b.operations, bytes: b.bytes })));
  const { small, large } = sameOperations;
  const independent = sameSize(small.carriedBytes, large.carriedBytes);
  const widest = byOperations.at(-1);
  const entry = widest?.entryLabel ?? '';
  return [
    {
      name: `bundle: openapi, GitHub's description, ${byOperations.map((b) => b.operations).join(' / ')} operations (bundle + CONNECTOR_CONFIG)`,
      goal: 'grows with the operations, not with the description',
      measured:
        `${byOperations.map((b) => `${kb(b.bytes)} + ${kb(b.configBytes)}`).join(' / ')}; ` +
        `+${kb(growth.perOperationBytes)} per operation (bundle +${kb(bundleGrowth.perOperationBytes)}); ` +
        `the same 3 operations from a ${kb(small.descriptionBytes)} and a ${kb(large.descriptionBytes)} description: ` +
        `${kb(small.carriedBytes)} and ${kb(large.carriedBytes)}; entry ${entry}`,
      verdict: verdict(growth.monotonic && independent),
    },
    {
      name: `bundle: openapi, ${widest?.operations ?? 0} operations: Ajv's compiler left out`,
      goal: 'absent',
      measured: widest?.ajvCompiler.files.length
        ? `present: ${kb(widest.ajvCompiler.bytes)} in ${widest.ajvCompiler.files.length} files of ajv and ajv-formats (e.g. ${widest.ajvCompiler.files.find((f) => f.includes('compile/')) ?? widest.ajvCompiler.files[0]})`
        : 'absent',
      verdict: verdict(widest !== undefined && widest.ajvCompiler.files.length === 0),
    },
  ];
}

/** The reference row of the widest connector's bundle parts. */
export function openapiPartsFigure(bundle: OpenApiBundle): Figure {
  return {
    name: `bundle parts: openapi, ${bundle.operations} operations (KB; reference)`,
    goal: '—',
    measured: bundle.parts
      .slice(0, 6)
      .map((part) => `${part.name} ${(part.bytes / 1024).toFixed(0)}`)
      .join(', '),
    verdict: 'info',
  };
}

/**
 * The cold start of the 20-operation connector as a ratio to the `http` connector's, round by round
 * (the rounds alternate them, so both meet the same load).
 * @throws Error when the rounds do not pair up
 */
export function coldStartRatio(openapi: ColdStart, http: ColdStart): Spread {
  const rounds = openapi.firstCallRoundsMs;
  if (rounds.length === 0 || rounds.length !== http.firstCallRoundsMs.length) {
    throw new Error(
      `${rounds.length} rounds of ${openapi.name}, ${http.firstCallRoundsMs.length} of ${http.name}`,
    );
  }
  return spread(rounds.map((ms, i) => ms / (http.firstCallRoundsMs[i] as number)));
}

/** The table row of the cold-start budget. */
export function openapiColdStartFigure(bundle: OpenApiBundle, openapi: ColdStart, http: ColdStart): Figure {
  const ratio = coldStartRatio(openapi, http);
  return {
    name: `cold start: openapi, GitHub's description, ${bundle.operations} operations / http connector (${http.name})`,
    goal: `≤ ${OPENAPI_COLD_START_BUDGET}×`,
    measured:
      `${formatSpread(ratio)}; ${openapi.firstCallMs.toFixed(0)} vs ${http.firstCallMs.toFixed(0)} ms ` +
      `(import ${openapi.importMs.toFixed(0)} vs ${http.importMs.toFixed(0)} ms), answered ${openapi.status}` +
      `${openapi.code ? ` ${openapi.code}` : ''}; entry ${bundle.entryLabel}`,
    verdict: verdict(ratio.median <= OPENAPI_COLD_START_BUDGET),
  };
}
