/**
 * The validators of one `openapi` operation, compiled with Ajv (+ ajv-formats) from the trimmed
 * description: the caller's input `{path, query, headers, body}` and the vendor's answer by status.
 *
 * For now they are compiled when the connector is created (cold start); {@link operationValidators}
 * is the one place that does it, so that precompiled (Ajv standalone) validators can replace it.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { isForbiddenRequestHeader } from '../shared/config.js';
import type { JsonSchema, OpenApiDescription, OpenApiOperation, OpenApiParameter } from './types.js';

/** A header parameter whose name says it carries an idempotency key: filled from the caller's `Idempotency-Key`. */
export const IDEMPOTENCY_KEY_PARAMETER = /idempotency-key/i;

/** One problem found: where (`['body', 'To']`) and what, in words; never the value. */
export interface SchemaIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What an operation checks. */
export interface OperationValidators {
  /** The problems of the caller's input `{path?, query?, headers?, body?}`; empty when valid. */
  input(value: unknown): SchemaIssue[];
  /**
   * The problems of an answer's body (paths start with `body`), checked against the schema
   * documented for `status` (exact, then `2XX`, then `default`); empty when valid or undocumented.
   */
  response(status: number, body: unknown): SchemaIssue[];
}

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

let ajv30: Ajv | undefined;
let ajv31: Ajv2020 | undefined;

/** The Ajv of a dialect (draft-07 with `nullable` for OpenAPI 3.0, 2020-12 for 3.1), created once. */
function ajvFor(dialect: OpenApiDescription['dialect']): Ajv {
  if (dialect === '3.1') {
    ajv31 ??= addFormats(new Ajv2020(AJV_OPTIONS)) as Ajv2020;
    return ajv31;
  }
  ajv30 ??= addFormats(new Ajv(AJV_OPTIONS));
  return ajv30;
}

/** Whether the caller may set header parameter `parameter` (the runtime sets the others). */
export function callerHeader(parameter: OpenApiParameter): boolean {
  return (
    !IDEMPOTENCY_KEY_PARAMETER.test(parameter.name) && !isForbiddenRequestHeader(parameter.name.toLowerCase())
  );
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

/** The JSON schema of an operation's whole input. */
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

/** Ajv's errors as issues: `/path/AccountSid` → `['path', 'AccountSid']`, a missing field named. */
function issuesOf(
  errors: readonly ErrorObject[] | null | undefined,
  prefix: readonly string[],
): SchemaIssue[] {
  const issues = new Map<string, SchemaIssue>();
  for (const error of errors ?? []) {
    const path: (string | number)[] = [...prefix];
    for (const part of error.instancePath.split('/').slice(1)) {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
      path.push(/^\d+$/.test(key) ? Number(key) : key);
    }
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      path.push(String(error.params.missingProperty));
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      path.push(String(error.params.additionalProperty));
      message = 'is not defined by the description';
    }
    const key = JSON.stringify(path);
    // One line a field (anyOf branches repeat themselves); the first reason stands.
    if (!issues.has(key)) issues.set(key, { path, message });
  }
  return [...issues.values()];
}

/** The schema documented for `status`: the exact code, then its class (`2XX`), then `DEFAULT`. */
function responseSchemaFor(
  responses: OpenApiOperation['responses'],
  status: number,
): JsonSchema | null | undefined {
  const exact = responses[String(status)];
  if (exact !== undefined) return exact;
  return responses[`${String(status)[0]}XX`] ?? responses.DEFAULT;
}

/**
 * Compiles the validators of one operation: its input and each documented response schema.
 * @param operation - from the trimmed description
 * @param dialect - the description's {@link OpenApiDescription.dialect}
 */
export function operationValidators(
  operation: OpenApiOperation,
  dialect: OpenApiDescription['dialect'],
): OperationValidators {
  const ajv = ajvFor(dialect);
  const input = ajv.compile(inputSchema(operation));
  const responses = new Map<string, ValidateFunction>();
  for (const [status, schema] of Object.entries(operation.responses)) {
    if (schema !== null) responses.set(status, ajv.compile(schema));
  }
  return {
    input(value) {
      return input(value) ? [] : issuesOf(input.errors, []);
    },
    response(status, body) {
      const schema = responseSchemaFor(operation.responses, status);
      if (schema === null || schema === undefined) return [];
      const key = [String(status), `${String(status)[0]}XX`, 'DEFAULT'].find((k) => responses.has(k));
      const validate = key === undefined ? undefined : responses.get(key);
      if (validate === undefined || validate(body)) return [];
      return issuesOf(validate.errors, ['body']);
    },
  };
}
