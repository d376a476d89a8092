/**
 * Synth time: the Lambda entry of one `openapi` connector, generated for esbuild to bundle. It holds
 * the trimmed description of the allowed operations and their validators as Ajv standalone code
 * (compiled here, once), and serves them through `precompiled.ts`; the connector's
 * `CONNECTOR_CONFIG` then names the description by digest instead of carrying it, so Lambda's 4 KB
 * environment limit no longer bounds the operations allowed. Called by the `Connector` construct.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigValidationError, type OpenApiConnectorConfig } from '../shared/config.js';
import { checkedStatuses, standaloneExportName, standaloneValidatorsCode } from './compile.js';
import { BUNDLED_SPEC_PREFIX } from './precompiled.js';
import type { OpenApiDescription, OpenApiOperation } from './types.js';

/** The extension of this project's modules as they run: `.ts` from source, `.js` once compiled. */
const MODULE_EXTENSION = path.extname(fileURLToPath(import.meta.url));
/** The module a generated entry imports its handler from. */
const PRECOMPILED_MODULE = fileURLToPath(new URL(`./precompiled${MODULE_EXTENSION}`, import.meta.url));

/** Where {@link writeOpenApiLambdaEntry} writes, below the project root. */
export const GENERATED_ENTRIES_DIRECTORY = path.join('node_modules', '.cache', 'connector-suite', 'openapi');

/** What {@link writeOpenApiLambdaEntry} gives the construct. */
export interface OpenApiLambdaEntry {
  /** The absolute path of the generated entry (`index.mjs`), under the project root. */
  readonly entry: string;
  /** The entry with `spec` set to `bundled:<digest>`: what `CONNECTOR_CONFIG` carries. */
  readonly config: OpenApiConnectorConfig;
  /** The digest of the description, the allowed operations and whether answers are checked. */
  readonly digest: string;
}

/** Options of {@link writeOpenApiLambdaEntry}. */
export interface OpenApiLambdaEntryOptions {
  /** The CDK app's project root, where esbuild runs: the entry must lie under it. */
  readonly projectRoot: string;
  /**
   * The directory the entry is written to.
   * @default `<projectRoot>/node_modules/.cache/connector-suite/openapi/<name>-<digest>`
   */
  readonly outDir?: string;
}

/**
 * What the Lambda needs of the trimmed description once its validators are compiled: every
 * operation's method, path, parameters and media types, with each schema replaced by `{}` (a
 * response documented without a JSON body stays `null`), and the file's name without its directory.
 */
export function bundledDescription(description: OpenApiDescription): OpenApiDescription {
  const operations = Object.fromEntries(
    Object.entries(description.operations).map(([id, operation]) => [
      id,
      {
        ...operation,
        parameters: operation.parameters.map((parameter) => ({ ...parameter, schema: {} })),
        ...(operation.requestBody ? { requestBody: { ...operation.requestBody, schema: {} } } : {}),
        responses: Object.fromEntries(
          Object.entries(operation.responses).map(([status, schema]) => [
            status,
            schema === null ? null : {},
          ]),
        ),
      },
    ]),
  );
  return { ...description, source: path.basename(description.source), operations };
}

/** A path from `from` to `to` as an import specifier (`./x`, `../y`), with forward slashes. */
function specifier(from: string, to: string): string {
  const relative = path.relative(from, to).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

/** Writes `text` to `file` through a temporary file and a rename, so a concurrent synth never reads half. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/**
 * Writes the Lambda entry of one `openapi` connector (`index.mjs` and `validators.mjs`) into a
 * directory named by the connector and the digest of its description and operations.
 * @param config - a loaded entry (`spec` the trimmed description, from `loadSuiteConfig`)
 * @throws ConfigValidationError when `spec` is still a file path (the suite was not loaded)
 */
export function writeOpenApiLambdaEntry(
  config: OpenApiConnectorConfig,
  options: OpenApiLambdaEntryOptions,
): OpenApiLambdaEntry {
  if (typeof config.spec === 'string') {
    throw new ConfigValidationError(`connector '${config.name}'`, [
      'spec: is a description file not yet read: load the suite with loadSuiteConfig, or pass it through resolveOpenApiSpecs (connector-suite/cdk) before the construct',
    ]);
  }
  const description = config.spec as unknown as OpenApiDescription;
  // Answers are never checked with responseValidation off: no response validator is compiled, and
  // the digest says so, so that a CONNECTOR_CONFIG turning them on cannot meet this bundle.
  const checkResponses = config.responseValidation !== 'off';
  // The file's directory is left out: the same description synthesized from another checkout (a CI
  // runner's) gives the same digest, so CONNECTOR_CONFIG and the stack do not change.
  const located = { ...description, source: path.basename(description.source) };
  const digest = createHash('sha256')
    .update(JSON.stringify({ description: located, operations: config.operations, checkResponses }))
    .digest('hex')
    .slice(0, 16);
  const outDir =
    options.outDir ?? path.join(options.projectRoot, GENERATED_ENTRIES_DIRECTORY, `${config.name}-${digest}`);
  const entry = path.join(outDir, 'index.mjs');
  const slim = { ...config, spec: `${BUNDLED_SPEC_PREFIX}${digest}` } as unknown as OpenApiConnectorConfig;
  // Written on every synth: the same input writes the same files, and an upgraded Ajv or suite
  // rewrites them.
  mkdirSync(outDir, { recursive: true });
  writeAtomically(
    path.join(outDir, 'validators.mjs'),
    standaloneValidatorsCode(description, config.operations, outDir, checkResponses),
  );
  const validators = config.operations.map((operationId, index) => {
    const operation = description.operations[operationId] as OpenApiOperation;
    const responses = checkedStatuses(operation, checkResponses).map(
      (status) => `${JSON.stringify(status)}: v.${standaloneExportName(index, status)}`,
    );
    return `${JSON.stringify(operationId)}: { input: v.${standaloneExportName(index)}, responses: { ${responses.join(', ')} } }`;
  });
  writeAtomically(
    entry,
    [
      `// Generated at synth time by connector-suite for the openapi connector '${config.name}': do not edit.`,
      `import { precompiledOpenApiHandler } from ${JSON.stringify(specifier(realpathSync(outDir), PRECOMPILED_MODULE))};`,
      `import * as v from './validators.mjs';`,
      `const description = ${JSON.stringify(bundledDescription(description))};`,
      `export const handler = precompiledOpenApiHandler({`,
      `  digest: ${JSON.stringify(digest)},`,
      '  description,',
      `  validators: { ${validators.join(',\n    ')} },`,
      '});',
      '',
    ].join('\n'),
  );
  return { entry, config: slim, digest };
}
