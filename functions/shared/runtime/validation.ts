/**
 * The request core's checks of an operation's input and output against its schemas, and the
 * `VALIDATION_ERROR` / `RESPONSE_VALIDATION_ERROR` they answer (the error table of docs/errors-and-retries.md).
 */
import type { z } from 'zod';
import { formatPath } from '../config.js';
import { ConnectorError, type FieldIssue } from '../errors.js';
import type { Operation } from './connector.js';
import { assertInputDepth, type InputLimits } from './input-limits.js';

/** A `VALIDATION_ERROR` listing the fields at fault (`path` empty for the body as a whole). */
export function validationError(details: FieldIssue[]): ConnectorError {
  return new ConnectorError(
    'VALIDATION_ERROR',
    `Invalid request: ${details.map((d) => d.path || 'body').join(', ')}.`,
    {
      details,
    },
  );
}

/** Zod's issues as the field issues of an error body (`path` as `a.b[0]`). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/**
 * The caller's input, checked: its nesting depth first (before anything recursive reads it), then
 * the operation's input schema.
 * @returns the input as the schema parsed it (defaults applied)
 * @throws ConnectorError `VALIDATION_ERROR` for input past `limits.maxDepth` or not matching the schema
 */
export function validateInput(operation: Operation, input: unknown, limits: InputLimits): unknown {
  assertInputDepth(input, limits);
  const parsed = operation.input.safeParse(input);
  if (!parsed.success) throw validationError(toFieldIssues(parsed.error));
  return parsed.data;
}

/**
 * An operation's result, checked against its output schema when it has one.
 * @param call - what the call got from the vendor so far, for the error
 * @returns the result as the schema parsed it, or the result itself without a schema
 * @throws ConnectorError `RESPONSE_VALIDATION_ERROR` when the result does not match
 */
export function validateOutput(
  operation: Operation,
  data: unknown,
  call: { upstreamStatus: number | null; attempts: number },
): unknown {
  if (!operation.output) return data;
  const checked = operation.output.safeParse(data);
  if (!checked.success) {
    throw new ConnectorError(
      'RESPONSE_VALIDATION_ERROR',
      'The upstream answer does not match the operation output schema.',
      {
        details: toFieldIssues(checked.error),
        ...(call.upstreamStatus === null ? {} : { upstreamStatus: call.upstreamStatus }),
        attempts: call.attempts,
      },
    );
  }
  return checked.data;
}
