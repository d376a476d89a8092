/**
 * Limits on caller input, checked before anything recursive touches it (zod, `JSON.stringify`,
 * redaction, the idempotency hash): a body nested a few thousand levels deep would otherwise
 * overflow the stack and answer `500 INTERNAL_ERROR`. Every check here is iterative.
 */
import { ConnectorError, type FieldIssue } from '../errors.js';

/** Limits on what a caller may send. */
export interface InputLimits {
  /**
   * Deepest nesting of objects and arrays in an operation's input; a scalar or an empty body is
   * depth 0, `{}` and `[]` are depth 1, `{"a": [1]}` is depth 2. Real payloads nest well under 20;
   * 64 is far above that and far below what overflows the stack (a few thousand).
   * @default 64
   */
  maxDepth: number;
  /**
   * Largest request body, in bytes of UTF-8 (after base64 decoding, for a binary media type).
   * API Gateway accepts up to 10 MB and Lambda 6 MB per synchronous invocation; 1 MiB matches SQS's
   * largest message, so the same input is accepted on both paths.
   * @default 1_048_576
   */
  maxBodyBytes: number;
}

/** The limits applied unless a handler is built with others (`ConnectorDependencies.inputLimits`). */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxDepth: 64,
  maxBodyBytes: 1_048_576,
});

/**
 * The nesting depth of `value` (see {@link InputLimits.maxDepth}), counted without recursion; stops
 * as soon as it passes `stopAbove`.
 * @returns the depth, or `stopAbove + 1` when it is deeper than `stopAbove`
 */
export function nestingDepth(value: unknown, stopAbove = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    const level = depth + 1;
    if (level > deepest) {
      deepest = level;
      if (deepest > stopAbove) return stopAbove + 1;
    }
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) pending.push([child, level]);
    }
  }
  return deepest;
}

/**
 * Checks the nesting depth of an operation's input (already parsed, from any entry point).
 * @throws ConnectorError `VALIDATION_ERROR` naming the limit (`maxDepth`)
 */
export function assertInputDepth(input: unknown, limits: Pick<InputLimits, 'maxDepth'>): void {
  if (nestingDepth(input, limits.maxDepth) > limits.maxDepth) {
    throw inputLimitError({
      path: '',
      message: `nests objects and arrays deeper than ${limits.maxDepth} levels (maxDepth)`,
    });
  }
}

/**
 * Checks the size of a raw request body before it is parsed.
 * @param bytes - its length in bytes of UTF-8
 * @throws ConnectorError `VALIDATION_ERROR` naming the limit (`maxBodyBytes`)
 */
export function assertBodySize(bytes: number, limits: Pick<InputLimits, 'maxBodyBytes'>): void {
  if (bytes > limits.maxBodyBytes) {
    throw inputLimitError({
      path: '',
      message: `is ${bytes} bytes, more than the ${limits.maxBodyBytes} allowed (maxBodyBytes)`,
    });
  }
}

function inputLimitError(issue: FieldIssue): ConnectorError {
  return new ConnectorError('VALIDATION_ERROR', `Invalid request: body ${issue.message}.`, {
    details: [issue],
  });
}
