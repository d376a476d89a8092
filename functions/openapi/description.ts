/**
 * Reads a vendor's API description (OpenAPI 3.0 or 3.1, or Swagger 2.0 converted with
 * `swagger2openapi`) once, where the suite's config is loaded, and keeps only what the allowed
 * operations need, with every local `$ref` inlined: an {@link OpenApiDescription}, small and plain
 * JSON, that replaces the entry's `spec` path. The deployed function gets it in its config and never
 * reads the description file (docs/connectors/openapi.md).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigValidationError, HTTP_METHODS, type HttpMethod } from '../shared/config.js';
import { editDistance } from '../shared/config-hints.js';
import {
  type JsonSchema,
  type OpenApiDescription,
  type OpenApiOperation,
  type OpenApiParameter,
  type OpenApiRequestBody,
  REQUEST_MEDIA_TYPES,
} from './types.js';

export type { JsonSchema, OpenApiDescription, OpenApiOperation, OpenApiParameter, OpenApiRequestBody };
export { REQUEST_MEDIA_TYPES };

type Json = Record<string, unknown>;

/**
 * Up to three of `known` close to `id`: within a third of its letters (edit distance, any case),
 * or containing it (`Message` → `CreateMessage`), closest first.
 */
export function closestOperationIds(id: string, known: Iterable<string>): string[] {
  const bound = Math.max(1, Math.floor(id.length / 3));
  const lower = id.toLowerCase();
  return [...known]
    .map((candidate) => ({ candidate, distance: editDistance(id, candidate) }))
    .filter(({ candidate, distance }) => distance <= bound || candidate.toLowerCase().includes(lower))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keys that only document: dropped from the trimmed description. */
const DOCUMENTATION_KEYS = new Set([
  'description',
  'summary',
  'title',
  'example',
  'examples',
  'externalDocs',
]);
/** Keys whose value maps names of the API's own (fields, statuses, media types) to schemas or objects. */
const NAME_MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'responses',
  'content',
]);

/**
 * The keywords of an OpenAPI 3.0 schema rewritten for Ajv: the boolean `exclusiveMinimum` /
 * `exclusiveMaximum` (draft-04) as JSON Schema's numbers (`{minimum: 1, exclusiveMinimum: true}`
 * becomes `{exclusiveMinimum: 1}`), and `nullable` without `type` dropped (OpenAPI 3.0.3: it only
 * adds `null` to an explicit `type`; Ajv refuses it alone). The keys it returns replace the
 * schema's own (`undefined`: dropped). 3.1 schemas use numbers and no `nullable`: untouched.
 */
function ajvKeywords(schema: Json): Json {
  const out: Json = {};
  for (const [bound, exclusive] of [
    ['minimum', 'exclusiveMinimum'],
    ['maximum', 'exclusiveMaximum'],
  ] as const) {
    if (typeof schema[exclusive] !== 'boolean') continue;
    // A key set to undefined is dropped.
    out[exclusive] = schema[exclusive] === true ? schema[bound] : undefined;
    if (schema[exclusive] === true) out[bound] = undefined;
  }
  if ('nullable' in schema && schema.type === undefined) out.nullable = undefined;
  return out;
}

/**
 * `node` with every local `$ref` (`#/components/...`) replaced by what it points to. A reference
 * back into itself (a recursive schema) becomes `{}`, which accepts anything from there down.
 * @throws Error naming the reference when it is not local or points nowhere
 */
function inline(node: unknown, root: Json, seen: readonly string[] = [], names = false): unknown {
  if (Array.isArray(node)) return node.map((item) => inline(item, root, seen));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    if (!ref.startsWith('#/')) throw new Error(`$ref '${ref}' is not local (only #/... is supported)`);
    if (seen.includes(ref)) return {};
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) throw new Error(`$ref '${ref}' points nowhere`);
    return inline(target, root, [...seen, ref]);
  }
  const out: Json = {};
  const bounds = names ? {} : ajvKeywords(node);
  for (const [key, value] of Object.entries(node)) {
    if (key in bounds) continue;
    // Documentation (examples, prose, vendor extensions) is dropped to keep the config small, but
    // never a field of a map of names (`properties`: a field may be called `description`).
    if (!names && (DOCUMENTATION_KEYS.has(key) || key.startsWith('x-'))) continue;
    out[key] = inline(value, root, seen, NAME_MAPS.has(key) && !names);
  }
  for (const [key, value] of Object.entries(bounds)) if (value !== undefined) out[key] = value;
  return out;
}

/** The first JSON media type's schema of a `content` map, or `null`. */
function jsonSchemaOf(content: unknown): JsonSchema | null {
  if (!isObject(content)) return null;
  const type = Object.keys(content).find((name) => /^application\/([\w.-]+\+)?json\b/i.test(name));
  const schema = type === undefined ? undefined : (content[type] as Json | undefined)?.schema;
  return isObject(schema) ? schema : type === undefined ? null : {};
}

/**
 * One operation of the (inlined) description, or the reason it cannot be served.
 * @param pathItem - its path item, whose parameters it inherits
 */
function operationOf(
  method: HttpMethod,
  template: string,
  pathItem: Json,
  operation: Json,
): OpenApiOperation | string {
  const byKey = new Map<string, Json>();
  for (const parameter of [
    ...((pathItem.parameters as Json[] | undefined) ?? []),
    ...((operation.parameters as Json[] | undefined) ?? []),
  ]) {
    byKey.set(`${parameter.in}:${parameter.name}`, parameter);
  }
  const parameters: OpenApiParameter[] = [];
  for (const parameter of byKey.values()) {
    const where = parameter.in;
    if (where !== 'path' && where !== 'query' && where !== 'header') {
      if (parameter.required === true)
        return `its required ${String(where)} parameter '${String(parameter.name)}' is not supported`;
      continue; // an optional cookie parameter is never sent
    }
    if (parameter.content !== undefined)
      return `its parameter '${String(parameter.name)}' uses content, not schema`;
    parameters.push({
      name: String(parameter.name),
      in: where,
      required: where === 'path' || parameter.required === true,
      schema: isObject(parameter.schema) ? parameter.schema : {},
      explode: parameter.explode !== false,
    });
  }
  let requestBody: OpenApiRequestBody | undefined;
  if (isObject(operation.requestBody)) {
    const content = isObject(operation.requestBody.content) ? operation.requestBody.content : {};
    const mediaType = REQUEST_MEDIA_TYPES.find((type) => type in content);
    if (mediaType === undefined) {
      return `its request body is ${Object.keys(content).join(', ') || 'of no media type'}; supported: ${REQUEST_MEDIA_TYPES.join(', ')}`;
    }
    const schema = (content[mediaType] as Json | undefined)?.schema;
    requestBody = {
      required: operation.requestBody.required === true,
      mediaType,
      schema: isObject(schema) ? schema : {},
    };
  }
  const responses: Record<string, JsonSchema | null> = {};
  for (const [status, response] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
    if (isObject(response)) responses[status.toUpperCase()] = jsonSchemaOf(response.content);
  }
  return { method, path: template, parameters, ...(requestBody ? { requestBody } : {}), responses };
}

/** Where the description's `apiKey` security scheme puts the key (the first one in header or query). */
function apiKeyOf(document: Json): OpenApiDescription['apiKey'] {
  const schemes = isObject(document.components) ? document.components.securitySchemes : undefined;
  for (const scheme of Object.values(isObject(schemes) ? schemes : {})) {
    if (isObject(scheme) && scheme.type === 'apiKey' && (scheme.in === 'header' || scheme.in === 'query')) {
      return { in: scheme.in, name: String(scheme.name) };
    }
  }
  return undefined;
}

/**
 * Keeps of an OpenAPI 3.x document (Swagger 2.0 already converted) what `operationIds` need.
 * @param document - the parsed OpenAPI 3.0 or 3.1 document
 * @param operationIds - the allowed operations; each must exist
 * @param source - the file it came from, for messages
 * @returns the trimmed description, its `$ref`s inlined
 * @throws ConfigValidationError naming each unknown `operationId` (with the closest known ones), a
 *   non-local `$ref`, or an operation using a feature the connector does not support
 */
export function trimDescription(
  document: Json,
  operationIds: readonly string[],
  source: string,
): OpenApiDescription {
  const found = new Map<string, { method: HttpMethod; template: string; pathItem: Json; operation: Json }>();
  for (const [template, pathItem] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    if (!isObject(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method.toLowerCase()];
      if (isObject(operation) && typeof operation.operationId === 'string') {
        found.set(operation.operationId, { method, template, pathItem, operation });
      }
    }
  }
  const issues: string[] = [];
  const operations: Record<string, OpenApiOperation> = {};
  operationIds.forEach((id, i) => {
    const entry = found.get(id);
    if (entry === undefined) {
      const close = closestOperationIds(id, found.keys());
      issues.push(
        `operations[${i}]: '${id}' is not an operationId of ${source}${close.length > 0 ? ` (did you mean ${close.map((c) => `'${c}'`).join(', ')}?)` : ''}`,
      );
      return;
    }
    try {
      const pathItem = inline({ parameters: entry.pathItem.parameters ?? [] }, document) as Json;
      const operation = inline(entry.operation, document) as Json;
      const built = operationOf(entry.method, entry.template, pathItem, operation);
      if (typeof built === 'string') issues.push(`operations[${i}]: '${id}' cannot be served: ${built}`);
      else operations[id] = built;
    } catch (error) {
      issues.push(`operations[${i}]: '${id}': ${(error as Error).message}`);
    }
  });
  if (issues.length > 0) throw new ConfigValidationError(source, issues);
  const servers = document.servers as Json[] | undefined;
  const baseUrl = typeof servers?.[0]?.url === 'string' ? servers[0].url.replace(/\/+$/, '') : undefined;
  const apiKey = apiKeyOf(document);
  return {
    source,
    dialect: String(document.openapi).startsWith('3.1') ? '3.1' : '3.0',
    ...(baseUrl && /^https?:\/\//.test(baseUrl) ? { baseUrl } : {}),
    ...(apiKey ? { apiKey } : {}),
    operations,
  };
}

/**
 * Reads a description file and trims it to `operationIds` ({@link trimDescription}).
 * @param file - an absolute path, or one relative to `baseDir`
 * @param baseDir - the suite file's directory
 * @throws ConfigValidationError when the file is missing, not JSON, not OpenAPI 3.x or Swagger 2.0,
 *   or as {@link trimDescription}
 */
export async function loadDescription(
  file: string,
  operationIds: readonly string[],
  baseDir: string,
): Promise<OpenApiDescription> {
  const absolute = path.resolve(baseDir, file);
  let document: Json;
  try {
    document = JSON.parse(await readFile(absolute, 'utf8')) as Json;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found'
        : error instanceof SyntaxError
          ? 'not JSON (YAML descriptions are not supported yet: convert them to JSON)'
          : (error as Error).message;
    throw new ConfigValidationError(absolute, [`cannot be read: ${reason}`]);
  }
  if (typeof document.swagger === 'string' && document.swagger.startsWith('2.')) {
    const { convertObj } = await import('swagger2openapi');
    try {
      document = (await convertObj(document as never, { patch: true, warnOnly: true }))
        .openapi as unknown as Json;
    } catch (error) {
      throw new ConfigValidationError(absolute, [
        `cannot be converted from Swagger 2.0: ${(error as Error).message}`,
      ]);
    }
  } else if (typeof document.openapi !== 'string' || !/^3\.[01]\./.test(document.openapi)) {
    throw new ConfigValidationError(absolute, ['is not an OpenAPI 3.0, 3.1 or Swagger 2.0 description']);
  }
  const description = trimDescription(document, operationIds, absolute);
  // Compiled once here too, so that a schema Ajv cannot compile fails the config, not a cold start.
  const { compileOperation } = await import('./compile.js');
  const issues: string[] = [];
  operationIds.forEach((id, i) => {
    const operation = description.operations[id];
    try {
      if (operation) compileOperation(operation, description.dialect);
    } catch (error) {
      issues.push(
        `operations[${i}]: '${id}' has a schema that cannot be compiled: ${(error as Error).message}`,
      );
    }
  });
  if (issues.length > 0) throw new ConfigValidationError(absolute, issues);
  return description;
}

/**
 * A suite config as written, with each `openapi` entry's `spec` path replaced by its trimmed
 * description, `baseUrl` defaulted to the description's server, and an `apiKey` auth without `in`
 * and `name` completed from the description's `securitySchemes`. Other entries are left as they are.
 * Called by `loadSuiteConfig` before the config is validated; a CDK app that hands its suite to the
 * `ConnectorSuite` construct itself calls it first (exported by `connector-suite/cdk`):
 * `new ConnectorSuite(stack, 'Connectors', { suite: await resolveOpenApiSpecs(suite, import.meta.dirname) })`.
 * @param suite - the suite config as written (not yet validated)
 * @param baseDir - the suite file's directory, against which `spec` paths are resolved
 * @throws ConfigValidationError as {@link loadDescription}, naming the entry
 */
export async function resolveOpenApiSpecs<S>(suite: S, baseDir: string): Promise<S> {
  if (!isObject(suite) || !Array.isArray(suite.connectors)) return suite;
  const connectors = await Promise.all(
    suite.connectors.map(async (entry: unknown) => {
      if (!isObject(entry) || entry.kind !== 'openapi' || typeof entry.spec !== 'string') return entry;
      const ids = Array.isArray(entry.operations)
        ? entry.operations.filter((id) => typeof id === 'string')
        : [];
      const description = await loadDescription(entry.spec, ids, baseDir);
      return withDescription(entry, description);
    }),
  );
  return { ...suite, connectors } as S;
}

/** An `openapi` entry as written with its trimmed description in `spec` and its defaults from it. */
export function withDescription(entry: Json, description: OpenApiDescription): Json {
  const out: Json = { ...entry, spec: description };
  if (out.baseUrl === undefined && description.baseUrl !== undefined) out.baseUrl = description.baseUrl;
  const auth = out.auth;
  if (isObject(auth) && auth.type === 'apiKey' && auth.name === undefined && description.apiKey) {
    out.auth = { ...auth, in: description.apiKey.in, name: description.apiKey.name };
  }
  return out;
}
