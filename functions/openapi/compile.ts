/**
 * Ajv (+ ajv-formats) over the trimmed description of an `openapi` connector: the JSON schema of
 * each allowed operation's input, compiled either now ({@link compileOperation}: `npm start`, tests,
 * and the `functions/openapi/handler.ts` entry) or into standalone ES module code
 * ({@link standaloneValidatorsCode}: at synth time, for the bundle, so that a Lambda function never
 * compiles a schema and carries no Ajv compiler).
 *
 * Never imported by a precompiled Lambda entry (functions/openapi/precompiled.ts).
 */
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

let ajv30: Ajv | undefined;
let ajv31: Ajv2020 | undefined;

/** A new Ajv of a dialect: draft-07 (with `nullable`) for OpenAPI 3.0, 2020-12 for 3.1. */
function newAjv(dialect: OpenApiDescription['dialect'], options: Options = {}): Ajv {
  const all = { ...AJV_OPTIONS, ...options };
  return addFormats(dialect === '3.1' ? new Ajv2020(all) : new Ajv(all));
}

/** The Ajv of a dialect, created once, for compiling at load. */
function ajvFor(dialect: OpenApiDescription['dialect']): Ajv {
  if (dialect === '3.1') {
    ajv31 ??= newAjv('3.1') as Ajv2020;
    return ajv31;
  }
  ajv30 ??= newAjv('3.0');
  return ajv30;
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
 * Compiles the validators of one operation now: its input and each documented response schema.
 * @param operation - from the trimmed description
 * @param dialect - the description's {@link OpenApiDescription.dialect}
 */
export function compileOperation(
  operation: OpenApiOperation,
  dialect: OpenApiDescription['dialect'],
): CompiledOperation {
  const ajv = ajvFor(dialect);
  const responses: Record<string, CompiledOperation['input']> = {};
  for (const [status, schema] of Object.entries(operation.responses)) {
    if (schema !== null) responses[status] = ajv.compile(schema);
  }
  return { input: ajv.compile(inputSchema(operation)), responses };
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
 * operation, `v<i>_input` and one `v<i>_r<status>` per documented JSON response (see
 * {@link standaloneExportName}). The few Ajv runtime helpers it needs (deep equality, Unicode
 * length, the formats of ajv-formats) are `require`d by path relative to `fromDirectory`, so that
 * esbuild finds them from a generated file wherever this package is installed.
 * @param fromDirectory - the directory of the file the code is written to
 */
export function standaloneValidatorsCode(
  description: OpenApiDescription,
  operationIds: readonly string[],
  fromDirectory: string,
): string {
  const ajv = newAjv(description.dialect, { code: { source: true, esm: true } });
  const exports: Record<string, string> = {};
  operationIds.forEach((operationId, index) => {
    const operation = description.operations[operationId];
    if (operation === undefined) throw new Error(`Operation ${operationId} is not in the description.`);
    const inputName = standaloneExportName(index);
    ajv.addSchema(inputSchema(operation), inputName);
    exports[inputName] = inputName;
    for (const [status, schema] of Object.entries(operation.responses)) {
      if (schema === null) continue;
      const name = standaloneExportName(index, status);
      ajv.addSchema(schema, name);
      exports[name] = name;
    }
  });
  const require = createRequire(import.meta.url);
  return generateStandalone(ajv, exports).replace(RUNTIME_PACKAGES, (_, specifier: string) => {
    const relative = path.relative(fromDirectory, require.resolve(specifier)).split(path.sep).join('/');
    return `require(${JSON.stringify(relative.startsWith('.') ? relative : `./${relative}`)})`;
  });
}
