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
 * and `externalDocs`; the operations of {@link GITHUB_OPERATION_IDS}, as is; and every entry of
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
import { extractDescription, type Json } from './extract-spec.js';

export type { Json };

/** The parts of an OpenAPI 3 description the tests of the GitHub fixtures read. */
export interface OpenApiDescription {
  openapi?: Json;
  info?: Json;
  servers?: Json;
  externalDocs?: Json;
  paths: Record<string, Record<string, Json>>;
  components?: Record<string, Record<string, Json>>;
}

/**
 * The operations of the `github` connector (`functions/github/connector.ts`), which the mock
 * (`local/stand-ins/github.ts`) serves: `POST /repos/{owner}/{repo}/issues`, its comments, and a
 * workflow dispatch.
 */
export const GITHUB_OPERATION_IDS: readonly string[] = [
  'issues/create',
  'issues/create-comment',
  'actions/create-workflow-dispatch',
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
 * Reads the source (`--source`, default: `@octokit/openapi`'s file as installed), writes the
 * extraction ({@link extractDescription} of scripts/extract-spec.ts) of {@link GITHUB_OPERATION_IDS}
 * to `--out` (default {@link GITHUB_FIXTURE_FILE}) as JSON with two-space indentation, and prints the
 * source's version and sha256. With `--operations ID,ID,…`, extracts those `operationId`s instead,
 * and `--out` is required (the default file is the mock's).
 * @param argv - the command-line arguments after the script's name
 * @returns the exit code: 0 once written, 2 for a usage error or when the package is not installed
 * @throws Error as {@link extractDescription} does (naming the operations the description lacks),
 *   or when a file cannot be read or written
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
  const trimmed = extractDescription(JSON.parse(text), ids ?? GITHUB_OPERATION_IDS);
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
