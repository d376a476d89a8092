/**
 * Reads a vendor's API description (OpenAPI 3.0 or 3.1, or Swagger 2.0 converted with
 * `swagger2openapi`; JSON or YAML) once, where the suite's config is loaded, and keeps only what the
 * allowed operations need, with every local `$ref` inlined: an {@link OpenApiDescription}, small and
 * plain JSON, that replaces the entry's `spec` path. A deployed function never reads the description
 * file: the construct compiles its validators into the bundle (functions/openapi/lambda-entry.ts,
 * docs/connectors/openapi.md).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigValidationError, HTTP_METHODS, type HttpMethod } from '../shared/config.js';
import { editDistance } from '../shared/config-hints.js';
import { parseDescriptionText } from './parse.js';
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

/** What a config error about an operation the kind cannot serve suggests (docs/connectors/openapi.md, "Limits"). */
const WAY_OUT = 'allow another operation, or call this one with the http connector';

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
    if (!ref.startsWith('#/'))
      throw new Error(
        `$ref '${ref}' is not local (only #/... is supported); bundle the description into one file, or ${WAY_OUT}`,
      );
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

/** The JSON types a parameter value may take and be sent as the description says, by where it goes. */
const SCALARS = ['string', 'number', 'integer', 'boolean', 'null'];

/**
 * The JSON types `schema` allows, as far as `type`, `oneOf` / `anyOf` of typed branches, or an
 * `enum` of scalars tell; `undefined` when it does not say (any type).
 */
function typesOf(schema: unknown): string[] | undefined {
  if (!isObject(schema)) return undefined;
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.map(String);
  for (const keyword of ['oneOf', 'anyOf'] as const) {
    const branches = schema[keyword];
    if (!Array.isArray(branches)) continue;
    const types = branches.map(typesOf);
    return types.every((t) => t !== undefined) ? [...new Set(types.flat())] : undefined;
  }
  if (Array.isArray(schema.enum) && schema.enum.every((v) => v === null || typeof v !== 'object'))
    return SCALARS;
  return undefined;
}

/**
 * A parameter's schema, narrowed to the values the connector sends as its `style` says: scalars
 * everywhere, and arrays of scalars in the query with `style: form` (the default) or an exploded
 * `spaceDelimited` / `pipeDelimited` (both then written `name=a&name=b`). Objects, and arrays where
 * the style joins them otherwise (`deepObject`, a path or header `simple` list, `pipeDelimited`
 * unexploded), would leave as JSON text the vendor does not read: they are refused by validation
 * instead, `VALIDATION_ERROR` with nothing sent. So is an empty list where it would leave as one
 * empty value (`name=`, unexploded) or not at all (a required parameter). A schema that already
 * allows only those values is kept as it is.
 * @returns the schema, or why the operation cannot be served: a path `style` other than `simple`
 *   (`label`, `matrix`), or a required parameter whose every value would be refused
 */
function sendableSchema(where: 'path' | 'query' | 'header', parameter: Json): JsonSchema | string {
  const name = `its ${where} parameter '${String(parameter.name)}'`;
  const schema = isObject(parameter.schema) ? parameter.schema : {};
  const style = typeof parameter.style === 'string' ? parameter.style : where === 'query' ? 'form' : 'simple';
  if (where === 'path' && style !== 'simple') return `${name} has style ${style} (only simple is supported)`;
  const lists =
    where === 'query' &&
    (style === 'form' ||
      ((style === 'spaceDelimited' || style === 'pipeDelimited') && parameter.explode === true));
  // An empty list leaves as `name=` (one empty value) unexploded, and not at all exploded.
  // A path parameter is required whatever its `required` says (OpenAPI: it must be true).
  const required = where === 'path' || parameter.required === true;
  const nonEmpty = lists && (parameter.explode === false || required);
  const allowed: JsonSchema = lists
    ? { type: [...SCALARS, 'array'], items: { type: SCALARS }, ...(nonEmpty ? { minItems: 1 } : {}) }
    : { type: SCALARS };
  const types = typesOf(schema);
  const items = typesOf(schema.items);
  const fits = (type: string) =>
    SCALARS.includes(type) ||
    (lists &&
      type === 'array' &&
      items?.every((t) => SCALARS.includes(t)) &&
      (!nonEmpty || Number(schema.minItems) >= 1));
  if (types?.every(fits)) return schema;
  if (required && types !== undefined && !types.some((t) => SCALARS.includes(t) || (lists && t === 'array')))
    return `${name} is ${types.join(' or ')} in style ${style}, which the connector cannot send (it sends ${lists ? 'scalars and lists of scalars' : 'scalars'} there)`;
  return { allOf: [schema, allowed] };
}

/** Names of a token parameter: OAuth 2.0's `access_token` (RFC 6750 §2.3) and Slack's `token`. */
const TOKEN_PARAMETERS = new Set(['access_token', 'token']);

/**
 * Whether a parameter carries the credential, so that the connector's `auth` fills it and the caller
 * never does (docs/connectors/openapi.md#credential-parameters): a header named `Authorization` (what
 * `http` basic and bearer, OAuth 2.0 and OpenID Connect schemes send); the header or query parameter
 * of an `apiKey` scheme of the description; and, when the operation's `security` (else the
 * document's) requires an `oauth2`, `openIdConnect` or `http` bearer scheme, a header or query
 * parameter named `token` or `access_token` (Slack's description declares its token so).
 * @param document - the OpenAPI 3.x document (Swagger 2.0 converted), `$ref`s not yet inlined
 * @param operation - the operation, for its own `security`
 * @returns a test of a parameter's `in` and `name`; `false` for cookies (never sent by the connector)
 */
export function credentialParameterOf(
  document: Json,
  operation: Json,
): (where: string, name: string) => boolean {
  const schemes = isObject(document.components) ? document.components.securitySchemes : undefined;
  const byName = isObject(schemes) ? schemes : {};
  const apiKeys = Object.values(byName).filter(
    (scheme): scheme is Json =>
      isObject(scheme) && scheme.type === 'apiKey' && (scheme.in === 'header' || scheme.in === 'query'),
  );
  const security = Array.isArray(operation.security) ? operation.security : document.security;
  const tokenRequired = (Array.isArray(security) ? security : []).some(
    (requirement) =>
      isObject(requirement) &&
      Object.keys(requirement).some((name) => {
        const scheme = byName[name];
        return (
          isObject(scheme) &&
          (scheme.type === 'oauth2' ||
            scheme.type === 'openIdConnect' ||
            (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer'))
        );
      }),
  );
  return (where, name) =>
    (where === 'header' && name.toLowerCase() === 'authorization') ||
    apiKeys.some(
      (scheme) =>
        scheme.in === where &&
        (where === 'header'
          ? String(scheme.name).toLowerCase() === name.toLowerCase()
          : scheme.name === name),
    ) ||
    (tokenRequired && (where === 'header' || where === 'query') && TOKEN_PARAMETERS.has(name));
}

/**
 * One operation of the (inlined) description, or the reason it cannot be served.
 * @param pathItem - its path item, whose parameters it inherits
 * @param isCredential - whether a parameter carries the credential ({@link credentialParameterOf}):
 *   left out of the operation, filled by the connector's `auth`
 */
function operationOf(
  method: HttpMethod,
  template: string,
  pathItem: Json,
  operation: Json,
  isCredential: (where: string, name: string) => boolean = () => false,
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
    if (isCredential(String(where), String(parameter.name))) continue;
    if (where !== 'path' && where !== 'query' && where !== 'header') {
      if (parameter.required === true)
        return `its required ${String(where)} parameter '${String(parameter.name)}' is not supported (only path, query and header parameters are sent)`;
      continue; // an optional cookie parameter is never sent
    }
    if (parameter.content !== undefined)
      return `its parameter '${String(parameter.name)}' is described with content, not schema (not supported)`;
    const schema = sendableSchema(where, parameter);
    if (typeof schema === 'string') return schema;
    parameters.push({
      name: String(parameter.name),
      in: where,
      required: where === 'path' || parameter.required === true,
      schema,
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

/**
 * The URL of a `servers` entry, its variables (`https://{region}.api.example.com`) replaced by their
 * `default`s, as OpenAPI says a client uses them; `undefined` when it has none or a variable has
 * no default (then `baseUrl` must be set).
 */
function serverUrl(server: unknown): string | undefined {
  if (!isObject(server) || typeof server.url !== 'string') return undefined;
  const variables = isObject(server.variables) ? server.variables : {};
  let complete = true;
  const url = server.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const variable = variables[name];
    if (isObject(variable) && typeof variable.default === 'string') return variable.default;
    complete = false;
    return '';
  });
  return complete ? url.replace(/\/+$/, '') : undefined;
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
      const isCredential = credentialParameterOf(document, entry.operation);
      const built = operationOf(entry.method, entry.template, pathItem, operation, isCredential);
      if (typeof built === 'string')
        issues.push(`operations[${i}]: '${id}' cannot be served: ${built}; ${WAY_OUT}`);
      else operations[id] = built;
    } catch (error) {
      issues.push(`operations[${i}]: '${id}': ${(error as Error).message}`);
    }
  });
  if (issues.length > 0) throw new ConfigValidationError(source, issues);
  const baseUrl = serverUrl((document.servers as unknown[] | undefined)?.[0]);
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
 * @throws ConfigValidationError when the file is missing, neither JSON nor YAML (`.yaml` / `.yml`,
 *   {@link parseDescriptionText}), not OpenAPI 3.x or Swagger 2.0, or as {@link trimDescription}
 */
export async function loadDescription(
  file: string,
  operationIds: readonly string[],
  baseDir: string,
): Promise<OpenApiDescription> {
  const absolute = path.resolve(baseDir, file);
  let document: Json;
  try {
    const parsed = await parseDescriptionText(await readFile(absolute, 'utf8'), absolute);
    if (!isObject(parsed)) throw new Error('not an object');
    document = parsed;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
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
  // Compiled once here too, so that a schema Ajv cannot compile fails the config, not a deploy;
  // operation by operation only when that fails, to name the operations at fault.
  const { compileDescription, compileOperation } = await import('./compile.js');
  const issues: string[] = [];
  try {
    compileDescription(description);
  } catch {
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
  }
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
