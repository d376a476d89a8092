/**
 * `npx tsx scripts/extract-github-spec.ts [--source FILE] [--operations ID,ID,… --out FILE]`:
 * rewrites `test/fixtures/github/api.github.com.operations.json`, the part of GitHub's REST API
 * description the GitHub mock and contract tests read, from the full description that the npm
 * package `@octokit/openapi` publishes (`generated/api.github.com.json`). With `--operations`, it
 * extracts the operations of those `operationId`s instead, to `--out` (required then): that is how
 * `test/fixtures/github/api.github.com.openapi.json` ({@link GITHUB_OPENAPI_OPERATION_IDS}) is made.
 *
 * The package is not a dependency (it is 385 MB); install it for the run without saving it, then
 * format the output with Biome as the rest of the repository:
 *
 * ```sh
 * npm install --no-save @octokit/openapi@23.0.2
 * npx tsx scripts/extract-github-spec.ts
 * npx biome format --write test/fixtures/github/api.github.com.operations.json
 * ```
 *
 * What is kept (see `test/fixtures/github/SOURCE.md`): the top-level `openapi`, `info`, `servers`
 * and `externalDocs`; the operations of {@link GITHUB_OPERATIONS}, as is; and every entry of
 * `components` they reference, directly or through other components, as is, sorted by name, so that
 * every `$ref` of the output resolves within it. Nothing is edited, only left out. The script prints
 * the source's package version and sha256 for SOURCE.md.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The parts of an OpenAPI 3 description the extraction reads. */
export interface OpenApiDescription {
  openapi?: Json;
  info?: Json;
  servers?: Json;
  externalDocs?: Json;
  paths: Record<string, Record<string, Json>>;
  components?: Record<string, Record<string, Json>>;
}

/** One operation to keep: its path template and (lower-case) method, as the description names them. */
export interface OperationRef {
  path: string;
  method: string;
}

/**
 * The operations of the `github` connector (`functions/github/connector.ts`), which the mock
 * (`local/stand-ins/github.ts`) serves: `issues/create`, `issues/create-comment` and
 * `actions/create-workflow-dispatch`.
 */
export const GITHUB_OPERATIONS: readonly OperationRef[] = [
  { path: '/repos/{owner}/{repo}/issues', method: 'post' },
  { path: '/repos/{owner}/{repo}/issues/{issue_number}/comments', method: 'post' },
  { path: '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', method: 'post' },
];

/**
 * The 20 operations of `test/fixtures/github/api.github.com.openapi.json`, the fixture of the
 * `openapi` kind built from GitHub's description (issue 14): what a platform team calls, issues and
 * their comments and labels, pull requests, the repository, its contents and releases, workflow
 * runs and dispatches, and the authenticated user. Extracted with
 * `--operations` and this list, comma-separated (test/fixtures/github/SOURCE.md).
 */
export const GITHUB_OPENAPI_OPERATION_IDS: readonly string[] = [
  'issues/get',
  'issues/list-for-repo',
  'issues/create',
  'issues/update',
  'issues/list-comments',
  'issues/create-comment',
  'issues/update-comment',
  'issues/list-labels-for-repo',
  'issues/add-labels',
  'pulls/get',
  'pulls/list',
  'pulls/create',
  'pulls/merge',
  'repos/get',
  'repos/get-content',
  'repos/list-releases',
  'repos/create-release',
  'actions/list-workflow-runs',
  'actions/create-workflow-dispatch',
  'users/get-authenticated',
];

/** The fixture of the `openapi` kind: {@link GITHUB_OPENAPI_OPERATION_IDS} of GitHub's description. */
export const GITHUB_OPENAPI_FIXTURE_FILE = new URL(
  '../test/fixtures/github/api.github.com.openapi.json',
  import.meta.url,
);

/** The fixture the mock reads. */
export const GITHUB_FIXTURE_FILE = new URL(
  '../test/fixtures/github/api.github.com.operations.json',
  import.meta.url,
);

/** The file of `@octokit/openapi` the fixture is extracted from. */
export const GITHUB_SOURCE_MODULE = '@octokit/openapi/generated/api.github.com.json';

/**
 * The trimmed description: `openapi`, `info`, `servers` and `externalDocs` of `spec`, the
 * `operations` (each under its path, with only its own method), and the `components` they reference,
 * transitively, sorted by kind and name. Values are the source's, not copied deeply.
 * @param spec - the full description
 * @param operations - the operations to keep
 * @returns the trimmed description, in which every `$ref` resolves
 * @throws Error naming the operation when `spec` lacks one, the `$ref` when it is not of the form
 *   `#/components/KIND/NAME`, or the component when `spec` lacks it
 */
export function extractOperations(
  spec: OpenApiDescription,
  operations: readonly OperationRef[],
): OpenApiDescription {
  const components: Record<string, Record<string, Json>> = {};
  const walk = (value: Json | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') {
        const [hash, section, kind, name, ...rest] = child.split('/');
        if (hash !== '#' || section !== 'components' || !kind || !name || rest.length > 0) {
          throw new Error(`unsupported $ref ${child}`);
        }
        const kept = components[kind] ?? {};
        components[kind] = kept;
        if (name in kept) continue;
        const target = spec.components?.[kind]?.[name];
        if (target === undefined) throw new Error(`unresolved $ref ${child}`);
        kept[name] = target;
        walk(target);
      } else {
        walk(child);
      }
    }
  };
  const paths: Record<string, Record<string, Json>> = {};
  for (const { path, method } of operations) {
    const operation = spec.paths[path]?.[method];
    if (operation === undefined) throw new Error(`no operation ${method.toUpperCase()} ${path}`);
    paths[path] = { ...paths[path], [method]: operation };
    walk(operation);
  }
  const sorted = Object.fromEntries(
    Object.keys(components)
      .sort()
      .map((kind) => {
        const byName = components[kind] ?? {};
        return [
          kind,
          Object.fromEntries(
            Object.keys(byName)
              .sort()
              .map((name) => [name, byName[name] ?? null]),
          ),
        ];
      }),
  );
  const { openapi, info, servers, externalDocs } = spec;
  return { openapi, info, servers, externalDocs, paths, components: sorted };
}

/**
 * The operations of `operationIds`, found by their `operationId` in `spec`, in that order.
 * @param spec - the full description
 * @param operationIds - the `operationId`s, e.g. `issues/get`
 * @returns each one's path template and lower-case method
 * @throws Error naming every `operationId` that `spec` lacks
 */
export function operationsById(spec: OpenApiDescription, operationIds: readonly string[]): OperationRef[] {
  const byId = new Map<string, OperationRef>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const id = (operation as { operationId?: unknown } | null)?.operationId;
      if (typeof id === 'string') byId.set(id, { path, method });
    }
  }
  const missing = operationIds.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new Error(`no operationId ${missing.join(', ')}`);
  return operationIds.map((id) => byId.get(id) as OperationRef);
}

/**
 * Reads the source (`--source`, default: `@octokit/openapi`'s file as installed), writes the
 * extraction of {@link GITHUB_OPERATIONS} to `--out` (default {@link GITHUB_FIXTURE_FILE}) as JSON
 * with two-space indentation, and prints the source's version and sha256. With `--operations
 * ID,ID,…`, extracts the operations of those `operationId`s ({@link operationsById}) instead, and
 * `--out` is required (the default file is the mock's).
 * @param argv - the command-line arguments after the script's name
 * @returns the exit code: 0 once written, 2 for a usage error or when the package is not installed
 * @throws Error as {@link extractOperations} and {@link operationsById} do, or when a file cannot be
 *   read or written
 */
export function main(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      source: { type: 'string' },
      out: { type: 'string' },
      operations: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const ids = values.operations
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (values.help || (ids !== undefined && (ids.length === 0 || values.out === undefined))) {
    console.error(
      'Usage: npx tsx scripts/extract-github-spec.ts [--source FILE] [--operations ID,ID,… --out FILE]',
    );
    return 2;
  }
  let source = values.source;
  let version = 'unknown';
  if (source === undefined) {
    const require = createRequire(import.meta.url);
    try {
      source = require.resolve(GITHUB_SOURCE_MODULE);
      version = (require('@octokit/openapi/package.json') as { version: string }).version;
    } catch {
      console.error(
        '@octokit/openapi is not installed: run `npm install --no-save @octokit/openapi@23.0.2` first, or pass --source FILE',
      );
      return 2;
    }
  }
  const text = readFileSync(source, 'utf8');
  const spec = JSON.parse(text) as OpenApiDescription;
  const trimmed = extractOperations(spec, ids === undefined ? GITHUB_OPERATIONS : operationsById(spec, ids));
  const out = values.out ?? GITHUB_FIXTURE_FILE;
  writeFileSync(out, `${JSON.stringify(trimmed, null, 2)}\n`);
  const sha256 = createHash('sha256').update(text).digest('hex');
  console.error(`${source} (@octokit/openapi ${version}, sha256 ${sha256})`);
  console.error(
    `wrote ${out instanceof URL ? out.pathname : out}; format it with \`npx biome format --write\``,
  );
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === (await import('node:url')).pathToFileURL(entry).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
