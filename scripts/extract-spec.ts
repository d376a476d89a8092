/**
 * `npx tsx scripts/extract-spec.ts --source FILE --operations ID,ID,... --out FILE`: writes the part
 * of a vendor's API description (OpenAPI 3.x or Swagger 2.0, in JSON) that the named operations need, so
 * that a test fixture is the vendor's own text, only shortened. The Twilio and Slack fixtures of the
 * `openapi` kind's proofs were made with it (`test/fixtures/{twilio,slack}/SOURCE.md`):
 *
 * ```sh
 * npx tsx scripts/extract-spec.ts --source ../shared/vendor-specs/twilio_api_v2010.json \
 *   --operations CreateMessage,FetchMessage --out test/fixtures/twilio/api_v2010.openapi.json
 * npx biome format --write test/fixtures/twilio/api_v2010.openapi.json
 * ```
 *
 * What is kept ({@link extractDescription}): the top-level fields that say what the API is and how it
 * is reached ({@link TOP_LEVEL_KEPT}); each named operation, as is, under its path, with the path's
 * own fields (`parameters`, `servers`, `description`, extensions) and without its other methods; every
 * entry of `components` (Swagger 2.0: `definitions`, `parameters`, `responses`) the kept text
 * references, directly or through other entries, as is, sorted by name; and the security schemes the
 * kept `security` requirements name, as is. Nothing is edited, only left out, so every `$ref` of the
 * output resolves within it. `scripts/extract-github-spec.ts` makes GitHub's fixtures with it, from
 * `@octokit/openapi`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
type JsonObject = { [key: string]: Json };

/** The top-level fields kept as they are: the API's identity, servers and default security. */
export const TOP_LEVEL_KEPT = [
  'swagger',
  'openapi',
  'info',
  'jsonSchemaDialect',
  'host',
  'basePath',
  'schemes',
  'servers',
  'consumes',
  'produces',
  'security',
  'externalDocs',
] as const;

/** The methods of a path item (OpenAPI 3.x and Swagger 2.0). */
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The section and name of a `$ref`: `#/components/schemas/X` → `['components/schemas', 'X']`. */
function refTarget(ref: string): { section: string[]; name: string } {
  const parts = ref
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .slice(1);
  const depth = parts[0] === 'components' ? 2 : 1;
  const name = parts[depth];
  if (!ref.startsWith('#/') || name === undefined) throw new Error(`unsupported $ref ${ref}`);
  return { section: parts.slice(0, depth), name };
}

/**
 * The trimmed description: {@link TOP_LEVEL_KEPT} of `spec`, the operations named (each under its
 * path, with the path's own non-method fields), the referenced entries of `components`
 * (`definitions`, `parameters`, `responses` in Swagger 2.0), transitively, sorted by section and
 * name, and the security schemes (`securityDefinitions`) the kept `security` requirements name.
 * Values are the source's, not copied deeply.
 * @param spec - the full description, OpenAPI 3.x or Swagger 2.0
 * @param operationIds - the `operationId`s to keep
 * @returns the trimmed description, in which every `$ref` resolves
 * @throws Error naming the `operationId`s `spec` lacks, a `$ref` that is not local, or one that
 *   points nowhere
 */
export function extractDescription(spec: JsonObject, operationIds: readonly string[]): JsonObject {
  const wanted = new Set(operationIds);
  const paths: JsonObject = {};
  for (const [template, item] of Object.entries(isObject(spec.paths) ? spec.paths : {})) {
    if (!isObject(item)) continue;
    const kept = Object.entries(item).filter(
      ([key, operation]) =>
        METHODS.has(key) &&
        isObject(operation) &&
        typeof operation.operationId === 'string' &&
        wanted.has(operation.operationId),
    );
    if (kept.length === 0) continue;
    for (const [, operation] of kept) wanted.delete((operation as JsonObject).operationId as string);
    paths[template] = Object.fromEntries(
      Object.entries(item).filter(([key]) => !METHODS.has(key) || kept.some(([method]) => method === key)),
    );
  }
  if (wanted.size > 0) throw new Error(`no operation ${[...wanted].join(', ')} in the description`);

  // section ('components/schemas', 'definitions', ...) → name → entry
  const referenced = new Map<string, Map<string, Json>>();
  const schemeNames = new Set<string>();
  const walk = (value: Json | undefined, key?: string): void => {
    if (Array.isArray(value)) {
      // A `security` requirement names its schemes as keys, not by `$ref`.
      if (key === 'security') {
        for (const requirement of value) {
          for (const name of Object.keys(isObject(requirement) ? requirement : {})) schemeNames.add(name);
        }
      }
      for (const item of value) walk(item);
      return;
    }
    if (!isObject(value)) return;
    for (const [child, inner] of Object.entries(value)) {
      if (child !== '$ref' || typeof inner !== 'string') {
        walk(inner, child);
        continue;
      }
      const { section, name } = refTarget(inner);
      const sectionKey = section.join('/');
      const entries = referenced.get(sectionKey) ?? new Map<string, Json>();
      referenced.set(sectionKey, entries);
      if (entries.has(name)) continue;
      let container: Json | undefined = spec;
      for (const part of section) container = isObject(container) ? container[part] : undefined;
      const target = isObject(container) ? container[name] : undefined;
      if (target === undefined) throw new Error(`unresolved $ref ${inner}`);
      entries.set(name, target);
      walk(target);
    }
  };
  walk(paths);
  if (Array.isArray(spec.security)) walk({ security: spec.security });

  const sorted = (entries: Map<string, Json>): JsonObject =>
    Object.fromEntries([...entries.keys()].sort().map((name) => [name, entries.get(name) ?? null]));
  const out: JsonObject = {};
  for (const key of TOP_LEVEL_KEPT) if (spec[key] !== undefined) out[key] = spec[key] as Json;
  out.paths = paths;
  const components: JsonObject = {};
  for (const section of [...referenced.keys()].sort()) {
    const [first, kind] = section.split('/');
    const entries = referenced.get(section) ?? new Map();
    if (first === 'components' && kind) components[kind] = sorted(entries);
    else if (first) out[first] = sorted(entries);
  }
  const schemesOf = (container: Json | undefined) => {
    const kept = new Map<string, Json>();
    for (const name of schemeNames)
      if (isObject(container) && container[name]) kept.set(name, container[name]);
    return kept;
  };
  if (spec.swagger !== undefined) {
    const schemes = schemesOf(spec.securityDefinitions);
    if (schemes.size > 0) out.securityDefinitions = sorted(schemes);
  } else {
    const schemes = schemesOf(isObject(spec.components) ? spec.components.securitySchemes : undefined);
    if (schemes.size > 0) components.securitySchemes = sorted(schemes);
  }
  if (Object.keys(components).length > 0) out.components = components;
  return out;
}

/**
 * Reads `--source`, writes the extraction of `--operations` (comma-separated `operationId`s) to
 * `--out` as JSON with two-space indentation, and prints the source's sha256 for SOURCE.md.
 * @param argv - the command-line arguments after the script's name
 * @returns the exit code: 0 once written, 2 for a usage error
 * @throws Error as {@link extractDescription} does, or when a file cannot be read or written
 */
export function main(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      source: { type: 'string' },
      operations: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.source || !values.operations || !values.out) {
    console.error('Usage: npx tsx scripts/extract-spec.ts --source FILE --operations ID,ID,... --out FILE');
    return 2;
  }
  const text = readFileSync(values.source, 'utf8');
  const ids = values.operations
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const trimmed = extractDescription(JSON.parse(text) as JsonObject, ids);
  writeFileSync(values.out, `${JSON.stringify(trimmed, null, 2)}\n`);
  const sha256 = createHash('sha256').update(text).digest('hex');
  console.error(`${values.source} (sha256 ${sha256}): ${ids.length} operation(s)`);
  console.error(`wrote ${values.out}; format it with \`npx biome format --write ${values.out}\``);
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
