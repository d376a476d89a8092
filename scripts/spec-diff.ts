/**
 * `npm run spec:diff -- OLD NEW`: what a new version of an API description removes or changes that
 * the allowed operations depend on (docs/connectors/openapi.md, "Breaking changes").
 *
 * ```sh
 * npm run spec:diff -- old.json new.json
 * npm run spec:diff -- old.json new.json --operations ListMessage,CreateMessage
 * npm run spec:diff -- old.json new.json --config suite.config.ts --connector twilio-api
 * ```
 *
 * OLD and NEW are OpenAPI 3.0 or 3.1 descriptions, or Swagger 2.0 (converted with
 * `swagger2openapi`). The comparison is `diffOperations` of `./spec-diff/diff.ts`; this file only
 * reads the arguments and prints. Each finding is one line: `BREAKING`, `NOTABLE` (a change to an
 * error response: shown, exit code 0) or `ok` (with `--verbose`), the operation, the location and
 * what changed.
 *
 * Exit code: 0 when nothing breaks (or `--help`), 1 on a breaking change, 2 on bad input (a missing
 * or unreadable file, a file that is not a description, an unknown option or operation).
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSuiteConfig } from '../functions/shared/config-file.js';
import { EXIT_FAILURE, EXIT_USAGE, firstLine, UsageError } from './cli.js';
import { diffOperations, type Finding, indexOperations } from './spec-diff/diff.js';
import { DescriptionError, loadDescription } from './spec-diff/load.js';

export { DescriptionError, diffOperations, EXIT_FAILURE, EXIT_USAGE, type Finding, UsageError };

/** The usage text printed by `--help`. */
export const USAGE = `Usage: npm run spec:diff -- OLD NEW [--operations ID,ID,...] [--verbose]
       npm run spec:diff -- OLD NEW --config suite.config.ts --connector NAME [--verbose]

Lists what NEW, a new version of the API description OLD, removes or changes that the allowed
operations depend on. OLD and NEW: OpenAPI 3.0/3.1 or Swagger 2.0, as JSON or YAML.

Options:
  --operations IDS   the operationIds to check, comma-separated (default: every operation of OLD)
  --config FILE      a suite file whose connector --connector lists the operations (its operations)
  --connector NAME   the connector of --config
  --verbose          also list what is neither breaking nor notable (additions, relaxed rules)
  --help             show this help

Breaking changes (exit code 1) are those a caller of an operation may fail on; notable ones, listed
too (exit code 0), are changes to error responses, which the connector maps to its own errors.

Exit code: 0 when nothing breaks, 1 on a breaking change, 2 on bad input.
`;

/** The options of one run, as {@link parseOptions} returns them. */
export interface SpecDiffOptions {
  oldFile: string;
  newFile: string;
  /** From `--operations`; `undefined` for every operation of OLD. */
  operationIds?: string[];
  config?: string;
  connector?: string;
  verbose: boolean;
}

/**
 * Parses the command line.
 *
 * @throws {UsageError} for an unknown option, other than two files, an empty `--operations`, or
 *   `--config` without `--connector` (or the other way round, or with `--operations`).
 */
export function parseOptions(argv: readonly string[]): SpecDiffOptions | { help: true } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(firstLine(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 2)
    throw new UsageError(`expected two files, OLD and NEW (got ${positionals.length})`);
  const [oldFile, newFile] = positionals as [string, string];
  if ((values.config === undefined) !== (values.connector === undefined))
    throw new UsageError('--config and --connector go together');
  if (values.config !== undefined && values.operations !== undefined)
    throw new UsageError('give --operations or --config with --connector, not both');
  let operationIds: string[] | undefined;
  if (values.operations !== undefined) {
    operationIds = values.operations
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    if (operationIds.length === 0) throw new UsageError('--operations names no operationId');
  }
  return {
    oldFile,
    newFile,
    ...(operationIds ? { operationIds } : {}),
    ...(values.config !== undefined ? { config: values.config, connector: values.connector } : {}),
    verbose: values.verbose ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      operations: { type: 'string' },
      config: { type: 'string' },
      connector: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
}

/** Reads a suite file: `loadSuiteConfig` of functions/shared/config-file.ts, or a stand-in in tests. */
export type LoadSuiteConfig = (file: string) => ReturnType<typeof loadSuiteConfig>;

/** What {@link main} uses from its environment; every field has a default for the real CLI. */
export interface MainDependencies {
  /** Reads the `--config` file. Default: `loadSuiteConfig`, which validates it as `cdk synth` does. */
  loadSuiteConfig?: LoadSuiteConfig;
}

/**
 * The `operations` allow-list of connector `name` in the suite file `file`.
 *
 * @param load - reads the file; @default `loadSuiteConfig`
 * @throws {UsageError} when the file is invalid, has no such connector, or the connector has no
 *   `operations` list of strings.
 */
export async function operationsOfConnector(
  file: string,
  name: string,
  load: LoadSuiteConfig = loadSuiteConfig,
): Promise<string[]> {
  let suite: Awaited<ReturnType<LoadSuiteConfig>>;
  try {
    suite = await load(file);
  } catch (error) {
    // A ConfigValidationError lists one bad field a line: keep them all, on one line.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\s*\n\s*/g, ' '));
  }
  const connector = suite.connectors.find((c) => c.name === name) as Record<string, unknown> | undefined;
  if (!connector) throw new UsageError(`${file} has no connector named ${name}`);
  const operations = connector.operations;
  if (!Array.isArray(operations) || !operations.every((id) => typeof id === 'string'))
    throw new UsageError(
      `connector ${name} of ${file} has no operations list (the openapi kind's allow-list)`,
    );
  return operations as string[];
}

/** One finding as a line of the report. */
export function formatFinding(finding: Finding): string {
  const label = finding.breaking ? 'BREAKING' : finding.notable ? 'NOTABLE ' : 'ok      ';
  const schema = finding.schema ? ` (in ${finding.schema})` : '';
  return `${label} ${finding.operationId}: ${finding.location}: ${finding.change}${schema}`;
}

/**
 * Runs the CLI: reads both descriptions, compares them, prints the findings on stdout and a summary
 * on stderr. Never throws: bad input is one line on stderr.
 *
 * @returns the exit code: 0 when nothing breaks or `--help`, 1 on a breaking change, 2 on bad input.
 */
export async function main(argv: readonly string[], deps: MainDependencies = {}): Promise<number> {
  try {
    const options = parseOptions(argv);
    if ('help' in options) {
      process.stdout.write(USAGE);
      return 0;
    }
    const [before, after] = await Promise.all([
      loadDescription(options.oldFile),
      loadDescription(options.newFile),
    ]);
    const operationIds =
      options.config !== undefined && options.connector !== undefined
        ? await operationsOfConnector(options.config, options.connector, deps.loadSuiteConfig)
        : options.operationIds;
    if (operationIds) {
      const known = indexOperations(before);
      const unknown = operationIds.filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new UsageError(
          `${options.oldFile} has no operation ${unknown.join(', ')} (operationIds are case-sensitive)`,
        );
    }
    const findings = diffOperations(before, after, operationIds);
    const breaking = findings.filter((f) => f.breaking);
    const notable = findings.filter((f) => f.notable);
    const shown = options.verbose ? findings : findings.filter((f) => f.breaking || f.notable);
    if (shown.length > 0) process.stdout.write(`${shown.map(formatFinding).join('\n')}\n`);
    const checked = operationIds ? operationIds.length : indexOperations(before).size;
    process.stderr.write(
      `spec:diff: ${breaking.length} breaking change(s), ${notable.length} notable, ${findings.length - breaking.length - notable.length} other(s), in ${checked} operation(s)\n`,
    );
    return breaking.length > 0 ? EXIT_FAILURE : 0;
  } catch (error) {
    process.stderr.write(`spec:diff: ${firstLine(error)}\n`);
    // A UsageError, a DescriptionError, or a description too odd to compare: all bad input.
    return EXIT_USAGE;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
