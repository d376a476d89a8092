/**
 * Reads an API description for `npm run spec:diff`: OpenAPI 3.0 or 3.1, or Swagger 2.0 converted to
 * OpenAPI 3.0 with `swagger2openapi` (the converter the `openapi` kind uses), as JSON or YAML
 * (`parseDescriptionText` of functions/openapi/parse.ts, as the `openapi` kind reads them).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { convertObj } from 'swagger2openapi';
import { parseDescriptionText } from '../../functions/openapi/parse.js';
import type { JsonObject } from './diff.js';

/** A file that cannot be read as an API description: reported as one line, exit code 2. */
export class DescriptionError extends Error {
  override readonly name = 'DescriptionError';
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The OpenAPI 3.x form of a parsed description.
 *
 * @param value - the parsed JSON or YAML of the file.
 * @param source - the file's name, for messages.
 * @throws {DescriptionError} when `value` is neither OpenAPI 3.x (`openapi: "3.…"` and a `paths`
 *   object) nor Swagger 2.0 (`swagger: "2.0"` and a `paths` object) that `swagger2openapi` converts.
 */
export async function toOpenApi3(value: unknown, source: string): Promise<JsonObject> {
  if (!isObject(value)) throw new DescriptionError(`${source} is not an API description: not an object`);
  if (value.swagger === '2.0') {
    if (!isObject(value.paths))
      throw new DescriptionError(`${source} is not an API description: no "paths" object`);
    try {
      const { openapi } = await convertObj(value as never, { patch: true, warnOnly: true, resolve: false });
      return openapi as unknown as JsonObject;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new DescriptionError(
        `${source}: Swagger 2.0 description not converted: ${message.split('\n')[0]}`,
      );
    }
  }
  if (typeof value.openapi !== 'string' || !/^3\.[01]\./.test(value.openapi)) {
    throw new DescriptionError(
      `${source} is not an API description: no "openapi": "3.0.x" or "3.1.x" (nor "swagger": "2.0") field`,
    );
  }
  if (!isObject(value.paths))
    throw new DescriptionError(`${source} is not an API description: no "paths" object`);
  return value;
}

/**
 * Reads and parses `file` as a description (see {@link toOpenApi3}).
 *
 * @throws {DescriptionError} when the file cannot be read, is neither JSON nor YAML, or is not a
 *   description.
 */
export async function loadDescription(file: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DescriptionError(`cannot read ${file}${code ? ` (${code})` : ''}`);
  }
  let value: unknown;
  try {
    value = await parseDescriptionText(text, file);
  } catch (error) {
    throw new DescriptionError(`${file} is ${(error as Error).message}`);
  }
  return toOpenApi3(value, file);
}
