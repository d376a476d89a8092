/**
 * Loads the suite configuration from a file, for the CDK app and the local gateway (a deployed
 * connector reads its own entry from the environment instead).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveOpenApiSpecs } from '../openapi/description.js';
import {
  type ConfigSchemaOptions,
  ConfigValidationError,
  parseSuiteConfig,
  type SuiteConfig,
} from './config.js';

/** The file read when `SUITE_CONFIG` is not set, relative to the working directory. */
export const DEFAULT_SUITE_CONFIG = 'suite.config.ts';

/**
 * Reads and validates the suite configuration.
 *
 * `.json` files are parsed as JSON; `.ts`, `.mts`, `.js` and `.mjs` files are imported and their
 * default export is used (a `.ts` file needs a TypeScript-aware loader such as `tsx`, which
 * `npm start` and the CDK app use).
 *
 * @param file - path of the file; @default `process.env.SUITE_CONFIG ?? 'suite.config.ts'`
 * An `openapi` entry's `spec` (a description file, relative to the suite file) is read here and
 * replaced by the description of its allowed operations (functions/openapi/description.ts).
 *
 * @throws {@link ConfigValidationError} when the file is missing, unreadable or invalid; the message
 *   names the file and every bad field (and an `openapi` entry's unreadable description or unknown
 *   `operationId`)
 */
export async function loadSuiteConfig(
  file: string = process.env.SUITE_CONFIG || DEFAULT_SUITE_CONFIG,
  options: ConfigSchemaOptions = {},
): Promise<SuiteConfig> {
  const absolute = path.resolve(file);
  let value: unknown;
  try {
    if (absolute.endsWith('.json')) {
      value = JSON.parse(await readFile(absolute, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
      value = mod.default;
    }
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigValidationError(absolute, [`cannot be read: ${reason}`]);
  }
  value = await resolveOpenApiSpecs(value, path.dirname(absolute));
  return parseSuiteConfig(value, absolute, options);
}
