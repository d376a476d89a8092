/**
 * The checks of one `openapi` operation, from its compiled validators: the caller's input
 * `{path, query, headers, body}` and the vendor's answer by status, as {@link SchemaIssue}s.
 *
 * Nothing here compiles: the validators are Ajv's, compiled either at synth time into standalone
 * code the Lambda bundle carries (functions/openapi/lambda-entry.ts), or at load under `npm start`
 * and in tests (functions/openapi/compile.ts). So the Lambda bundle holds no Ajv compiler.
 */
import type { ErrorObject } from 'ajv';
import { isForbiddenRequestHeader } from '../shared/config.js';
import type { JsonSchema, OpenApiOperation, OpenApiParameter } from './types.js';

/**
 * A header parameter whose name says it carries an idempotency key (`Idempotency-Key`,
 * `X-Idempotency-Key`, `Idempotency-Token`, any case): filled from the caller's `Idempotency-Key`,
 * never from the input.
 */
export const IDEMPOTENCY_KEY_PARAMETER = /idempotency[-_]?(key|token)/i;

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

/** One compiled validator: Ajv's `ValidateFunction`, or the same function as standalone code. */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null | undefined;
}

/** The compiled validators of one operation: its input, and its answers by documented status. */
export interface CompiledOperation {
  readonly input: CompiledValidator;
  /** By the status key of {@link OpenApiOperation.responses} (`200`, `2XX`, `DEFAULT`); none for `null`. */
  readonly responses: Readonly<Record<string, CompiledValidator>>;
}

/** Whether the caller may set header parameter `parameter` (the runtime sets the others). */
export function callerHeader(parameter: OpenApiParameter): boolean {
  return (
    !IDEMPOTENCY_KEY_PARAMETER.test(parameter.name) && !isForbiddenRequestHeader(parameter.name.toLowerCase())
  );
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
 * The checks of one operation from its compiled validators.
 * @param operation - from the trimmed description
 * @param compiled - its validators, compiled at synth time or at load
 */
export function validatorsOf(operation: OpenApiOperation, compiled: CompiledOperation): OperationValidators {
  return {
    input(value) {
      return compiled.input(value) ? [] : issuesOf(compiled.input.errors, []);
    },
    response(status, body) {
      const schema = responseSchemaFor(operation.responses, status);
      if (schema === null || schema === undefined) return [];
      const key = [String(status), `${String(status)[0]}XX`, 'DEFAULT'].find((k) =>
        Object.hasOwn(compiled.responses, k),
      );
      const validate = key === undefined ? undefined : compiled.responses[key];
      if (validate === undefined || validate(body)) return [];
      return issuesOf(validate.errors, ['body']);
    },
  };
}
