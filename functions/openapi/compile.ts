/**
 * Ajv (+ ajv-formats) over the trimmed description of an `openapi` connector: the JSON schema of
 * each allowed operation's input, compiled either now ({@link compileOperation}: `npm start`, tests,
 * and the `functions/openapi/handler.ts` entry) or into standalone ES module code
 * ({@link standaloneValidatorsCode}: at synth time, for the bundle, so that a Lambda function never
 * compiles a schema and carries no Ajv compiler).
 *
 * Never imported by a precompiled Lambda entry (functions/openapi/precompiled.ts).
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import formats from 'ajv-formats';
import type { JsonSchema, OpenApiDescription, OpenApiOperation, OpenApiParameter } from './types.js';
import {
  type CompiledOperation,
  callerHeader,
  type OperationValidators,
  validatorsOf,
} from './validators.js';

const AJV_OPTIONS: Options = {
  // Descriptions carry keywords Ajv does not know (OpenAPI's `discriminator`, `xml`, vendor
  // formats such as Twilio's `phone-number`): ignored, not refused.
  strict: false,
  allErrors: true,
  logger: false,
  validateSchema: false,
};

/** ajv-formats is CommonJS: its plugin is the module's `default` under Node's ESM and TypeScript alike. */
const addFormats = formats.default;
/** Ajv's standalone generator, CommonJS as well. */
const generateStandalone = standaloneCode.default;

/** A new Ajv of a dialect: draft-07 (with `nullable`) for OpenAPI 3.0, 2020-12 for 3.1. */
function newAjv(dialect: OpenApiDescription['dialect'], options: Options = {}): Ajv {
  const all = { ...AJV_OPTIONS, ...options };
  return addFormats(dialect === '3.1' ? new Ajv2020(all) : new Ajv(all));
}

/** The `$id` of a shared subschema (`urn:shared:s0`, …): each is a schema of its own, compiled once. */
const sharedId = (index: number) => `urn:shared:s${index}`;
/** A subschema this long (JSON characters) or longer, met twice, is shared rather than repeated. */
const SHARED_MIN_CHARACTERS = 200;

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = new Set([
  'items',
  'additionalProperties',
  'additionalItems',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
]);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = new Set([
  'properties',
  'patternProperties',
  'dependentSchemas',
  '$defs',
  'definitions',
]);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Calls `visit` on each subschema directly below `schema`, and rebuilds `schema` with what it returns. */
function mapSubschemas(schema: Json, visit: (subschema: Json) => Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_KEYWORDS.has(key) && isObject(value)) out[key] = visit(value);
    else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value))
      out[key] = value.map((item) => (isObject(item) ? visit(item) : item));
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value))
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, item]) => [name, isObject(item) ? visit(item) : item]),
      );
    else out[key] = value;
  }
  return out;
}

/**
 * The trimmed description inlines every `$ref`, so a vendor's shared schema (GitHub's
 * `simple-user`, in dozens of places of one answer) is repeated wherever it is used, and Ajv would
 * compile (and write as standalone code) each copy. This finds the subschemas met more than once
 * across `roots` (a root too: two statuses often document the same answer), moves each into one
 * schema of its own (`$id` `urn:shared:s<N>`), and puts a `$ref` to it in their places, so each
 * is compiled once (Ajv compiles a `$ref` into a fragment of another schema again for each root
 * that reaches it, but a `$ref` to a schema by its `$id` once): the validators' code grows with the
 * distinct schemas the allowed operations use, not with how often they use them.
 * @returns the roots with the `$ref`s, and the shared schemas, each with its `$id`
 */
export function shareSubschemas(roots: readonly JsonSchema[]): {
  roots: JsonSchema[];
  shared: JsonSchema[];
} {
  const counts = new Map<string, number>();
  const count = (schema: Json): Json => {
    const key = JSON.stringify(schema);
    if (key.length >= SHARED_MIN_CHARACTERS) counts.set(key, (counts.get(key) ?? 0) + 1);
    return mapSubschemas(schema, count);
  };
  for (const root of roots) count(root);

  const shared: JsonSchema[] = [];
  const ids = new Map<string, string>();
  const share = (schema: Json): Json => {
    const key = JSON.stringify(schema);
    if ((counts.get(key) ?? 0) < 2) return mapSubschemas(schema, share);
    let id = ids.get(key);
    if (id === undefined) {
      id = sharedId(ids.size);
      ids.set(key, id);
      const index = shared.push({}) - 1;
      // Its own `$id` wins over one the description gave it, which the `$ref` would not find.
      shared[index] = { ...mapSubschemas(schema, share), $id: id };
    }
    return { $ref: id };
  };
  return { roots: roots.map(share), shared };
}

/**
 * Whether the answers of a documented status key can reach response validation: only successes
 * do (`200`, `2XX`, and `DEFAULT`, which stands for any status not documented); an error status is
 * mapped to the connector's error codes before its body could be checked.
 */
export function isCheckedStatus(status: string): boolean {
  return status.startsWith('2') || status === 'DEFAULT';
}

/**
 * The documented statuses of an operation whose JSON answers are checked: those with a schema that
 * can be checked ({@link isCheckedStatus}); none when `checkResponses` is false
 * (`responseValidation: "off"`).
 */
export function checkedStatuses(operation: OpenApiOperation, checkResponses = true): string[] {
  if (!checkResponses) return [];
  return Object.entries(operation.responses)
    .filter(([status, schema]) => schema !== null && isCheckedStatus(status))
    .map(([status]) => status);
}

/**
 * An answer's schema as it is checked: `format: uri` read as `uri-reference`, since vendors' answers
 * give their own links as paths where their descriptions say `uri` (Twilio's `uri`,
 * `next_page_uri`: `/2010-04-01/...`); JSON Schema's `uri` would refuse every one. An input keeps
 * `uri`: what the caller sends must be what the vendor documents.
 */
function answerSchema(schema: Json): Json {
  const out = mapSubschemas(schema, answerSchema);
  return out.format === 'uri' ? { ...out, format: 'uri-reference' } : out;
}

/** The schemas of one operation to compile: its input, and the answers of {@link checkedStatuses}. */
function schemasOf(
  operation: OpenApiOperation,
  checkResponses = true,
): { input: JsonSchema; responses: [string, JsonSchema][] } {
  return {
    input: inputSchema(operation),
    responses: checkedStatuses(operation, checkResponses).map((status) => [
      status,
      answerSchema(operation.responses[status] as JsonSchema),
    ]),
  };
}

/**
 * One Ajv for `operations`, their schemas added under the names `name(index, status?)` with the
 * subschemas they share compiled once ({@link shareSubschemas}).
 */
function ajvWith(
  operations: readonly OpenApiOperation[],
  dialect: OpenApiDescription['dialect'],
  name: (index: number, status?: string) => string,
  options: Options = {},
  checkResponses = true,
): { ajv: Ajv; names: string[] } {
  const entries: [string, JsonSchema][] = [];
  operations.forEach((operation, index) => {
    const { input, responses } = schemasOf(operation, checkResponses);
    entries.push([name(index), input]);
    for (const [status, schema] of responses) entries.push([name(index, status), schema]);
  });
  const { roots, shared } = shareSubschemas(entries.map(([, schema]) => schema));
  const ajv = newAjv(dialect, { inlineRefs: false, ...options });
  for (const schema of shared) ajv.addSchema(schema);
  roots.forEach((root, i) => {
    ajv.addSchema(root, (entries[i] as [string, JsonSchema])[0]);
  });
  return { ajv, names: entries.map(([key]) => key) };
}

/** The JSON schema of the input's `path`, `query` or `headers` object. */
function groupSchema(parameters: readonly OpenApiParameter[]): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

/**
 * The JSON schema of an operation's whole input `{path?, query?, headers?, body?}`: its declared
 * parameters by place (the header parameters the runtime fills left out) and its request body.
 */
export function inputSchema(operation: OpenApiOperation): JsonSchema {
  const of = (where: OpenApiParameter['in']) => operation.parameters.filter((p) => p.in === where);
  const headers = of('header').filter(callerHeader);
  const groups = { path: of('path'), query: of('query'), headers };
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, parameters] of Object.entries(groups)) {
    if (parameters.length === 0) continue;
    properties[key] = groupSchema(parameters);
    if (parameters.some((p) => p.required)) required.push(key);
  }
  if (operation.requestBody) {
    properties.body = operation.requestBody.schema;
    if (operation.requestBody.required) required.push('body');
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/**
 * Compiles the validators of `operations` now, in one Ajv (their shared subschemas once): the
 * input and each documented response schema of each.
 * @param dialect - the description's {@link OpenApiDescription.dialect}
 * @returns one {@link CompiledOperation} per operation, in order
 * @throws Error (Ajv's) when a schema cannot be compiled
 */
export function compileOperations(
  operations: readonly OpenApiOperation[],
  dialect: OpenApiDescription['dialect'],
): CompiledOperation[] {
  const { ajv } = ajvWith(operations, dialect, standaloneExportName);
  const compiled = (key: string) => {
    const validate = ajv.getSchema(key);
    if (validate === undefined) throw new Error(`Ajv has no schema ${key}`);
    return validate;
  };
  return operations.map((operation, index) => ({
    input: compiled(standaloneExportName(index)),
    responses: Object.fromEntries(
      schemasOf(operation).responses.map(([status]) => [
        status,
        compiled(standaloneExportName(index, status)),
      ]),
    ),
  }));
}

/** The compiled validators of a description's operations, by `operationId`, compiled once per description. */
const compiledDescriptions = new WeakMap<OpenApiDescription, Record<string, CompiledOperation>>();

/**
 * The validators of every operation of a trimmed description, compiled now and once (kept with the
 * description object): what `npm start`, tests and the load-time check use.
 */
export function compileDescription(description: OpenApiDescription): Record<string, CompiledOperation> {
  let compiled = compiledDescriptions.get(description);
  if (compiled === undefined) {
    const ids = Object.keys(description.operations);
    const all = compileOperations(
      ids.map((id) => description.operations[id] as OpenApiOperation),
      description.dialect,
    );
    compiled = Object.fromEntries(ids.map((id, i) => [id, all[i] as CompiledOperation]));
    compiledDescriptions.set(description, compiled);
  }
  return compiled;
}

/** The compiled validators of one operation (compiled now, in an Ajv of its own). */
export function compileOperation(
  operation: OpenApiOperation,
  dialect: OpenApiDescription['dialect'],
): CompiledOperation {
  return compileOperations([operation], dialect)[0] as CompiledOperation;
}

/** The checks of one operation, compiled now (see {@link compileOperation}). */
export function operationValidators(
  operation: OpenApiOperation,
  dialect: OpenApiDescription['dialect'],
): OperationValidators {
  return validatorsOf(operation, compileOperation(operation, dialect));
}

/** The name a standalone validator is exported as: `v<index of the operation>_input` or `_r<status>`. */
export function standaloneExportName(operationIndex: number, status?: string): string {
  return status === undefined
    ? `v${operationIndex}_input`
    : `v${operationIndex}_r${status.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** The packages whose runtime modules Ajv's standalone code `require`s (`ajv/dist/runtime/equal`, …). */
const RUNTIME_PACKAGES = /require\("((?:ajv|ajv-formats)\/[^"]+)"\)/g;

/**
 * The validators of `operationIds` as one ES module of Ajv standalone code: for the `i`-th
 * operation, `v<i>_input` and one `v<i>_r<status>` per status of {@link checkedStatuses} (see
 * {@link standaloneExportName}). The few Ajv runtime helpers it needs (deep equality, Unicode
 * length, the formats of ajv-formats) are `require`d by path relative to `fromDirectory` (its real
 * path: esbuild resolves from there, through any symlink), so that esbuild finds them from a
 * generated file wherever this package is installed.
 * @param fromDirectory - the directory of the file the code is written to; it must exist
 * @param checkResponses - compile the response validators (false for `responseValidation: "off"`)
 */
export function standaloneValidatorsCode(
  description: OpenApiDescription,
  operationIds: readonly string[],
  fromDirectory: string,
  checkResponses = true,
): string {
  const operations = operationIds.map((operationId) => {
    const operation = description.operations[operationId];
    if (operation === undefined) throw new Error(`Operation ${operationId} is not in the description.`);
    return operation;
  });
  const { ajv, names } = ajvWith(
    operations,
    description.dialect,
    standaloneExportName,
    { code: { source: true, esm: true } },
    checkResponses,
  );
  const exports = Object.fromEntries(names.map((name) => [name, name]));
  const require = createRequire(import.meta.url);
  const from = realpathSync(fromDirectory);
  return generateStandalone(ajv, exports).replace(RUNTIME_PACKAGES, (_, specifier: string) => {
    const relative = path.relative(from, require.resolve(specifier)).split(path.sep).join('/');
    return `require(${JSON.stringify(relative.startsWith('.') ? relative : `./${relative}`)})`;
  });
}
