/**
 * redactOutput reads values as JSON carries them: JSON has no negative zero. The property test of
 * redact-output.test.ts ("leaves any JSON value without credentials as JSON would carry it") failed
 * on the seeds that draw `-0` (e.g. seed 819887080); this pins that case.
 */
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../functions/shared/redaction.js';
import { redactOutput } from '../../functions/shared/runtime/redact-output.js';

describe('redactOutput and negative zero', () => {
  it('gives 0 for -0, at the root and nested, as JSON.parse(JSON.stringify(...)) does', () => {
    // Prepare
    const redactor = new Redactor();
    const data = { count: -0, items: [-0, 1] };

    // Act
    const root = redactOutput(-0, redactor);
    const nested = redactOutput(data, redactor) as { count: number; items: number[] };

    // Assess
    expect(Object.is(root, 0)).toBe(true);
    expect(Object.is(nested.count, 0)).toBe(true);
    expect(Object.is(nested.items[0], 0)).toBe(true);
    expect(nested).toEqual(JSON.parse(JSON.stringify(data)));
  });
});
