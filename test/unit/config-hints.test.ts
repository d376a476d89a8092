/**
 * Config errors a person can act on: the closest key for an unknown one ("did you mean
 * `timeoutMs`?") and the environment variable a rejected value came from.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { ConfigValidationError, formatIssues, parseSuiteConfig } from '../../functions/shared/config.js';
import { fromEnvironment } from '../../functions/shared/config-env.js';
import {
  closestKey,
  editDistance,
  knownKeysAt,
  unknownKeyHints,
} from '../../functions/shared/config-hints.js';

/** A minimal valid http connector entry. */
function connector(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'vendor',
    kind: 'http',
    baseUrl: 'https://api.example.com',
    allowedPathPrefixes: ['/v1'],
    ...overrides,
  };
}

/** The issues of a configuration that must be rejected. */
function issuesOf(value: unknown, options: { allowLoopbackHttp?: boolean } = {}): readonly string[] {
  try {
    parseSuiteConfig(value, 'suite.json', options);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('closestKey', () => {
  it.each([
    ['timeoutMS', 'timeoutMs'],
    ['timoutMs', 'timeoutMs'],
    ['allowedMethod', 'allowedMethods'],
    ['retries', undefined],
    ['colour', undefined],
  ])('suggests for %s: %s', (key, expected) => {
    // Act
    const match = closestKey(key, ['timeoutMs', 'allowedMethods', 'retry', 'name']);

    // Assess
    expect(match).toBe(expected);
  });

  it('measures the edit distance case-insensitively', () => {
    expect(editDistance('timeoutMS', 'timeoutMs')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('retyr', 'retry')).toBe(1);
  });

  it('names each key of several, and nothing when none is close', () => {
    expect(unknownKeyHints(['timeoutMS', 'zzz', 'retyr'], ['timeoutMs', 'retry'])).toBe(
      ' (did you mean `timeoutMs` for "timeoutMS", `retry` for "retyr"?)',
    );
    expect(unknownKeyHints(['zzz'], ['timeoutMs'])).toBe('');
  });
});

describe('knownKeysAt', () => {
  it('walks objects, arrays, optional fields and every branch of a union', () => {
    // Prepare
    const schema = z.object({
      items: z
        .array(
          z.discriminatedUnion('type', [
            z.object({ type: z.literal('a'), alpha: z.string() }),
            z.object({ type: z.literal('b'), beta: z.object({ depthMs: z.number() }).optional() }),
          ]),
        )
        .default([]),
    });

    // Act / Assess
    expect(knownKeysAt(schema, [])).toEqual(['items']);
    expect(knownKeysAt(schema, ['items', 0])).toEqual(['type', 'alpha', 'beta']);
    expect(knownKeysAt(schema, ['items', 3, 'beta'])).toEqual(['depthMs']);
    expect(knownKeysAt(schema, ['items', 0, 'alpha'])).toEqual([]);
    expect(knownKeysAt(schema, ['nowhere'])).toEqual([]);
    expect(knownKeysAt(schema, ['items', 1], { items: [{ type: 'a' }, { type: 'b' }] })).toEqual([
      'type',
      'beta',
    ]);
  });
});

describe('formatIssues', () => {
  it('adds the closest key of a connector entry to an unknown key, keeping zod message', () => {
    // Act
    const issues = issuesOf({ connectors: [connector({ timeoutMS: 5_000 })] });

    // Assess
    expect(issues).toEqual(['connectors[0]: Unrecognized key: "timeoutMS" (did you mean `timeoutMs`?)']);
  });

  it('suggests within nested objects: retry, auth', () => {
    // Act
    const issues = issuesOf({
      connectors: [
        connector({ retry: { maxAtempts: 2 }, auth: { type: 'bearer', secret: 'x', secert: 'y' } }),
      ],
    });

    // Assess
    expect(issues).toContain(
      'connectors[0].retry: Unrecognized key: "maxAtempts" (did you mean `maxAttempts`?)',
    );
    expect(issues).toContain('connectors[0].auth: Unrecognized key: "secert" (did you mean `secret`?)');
  });

  it('adds nothing to an unknown key far from every known one', () => {
    // Act
    const issues = issuesOf({ connectors: [connector({ colour: 'blue' })] });

    // Assess
    expect(issues).toEqual(['connectors[0]: Unrecognized key: "colour"']);
  });

  it("suggests only the keys of the entry's own kind and auth type, never another's field", () => {
    // Act
    const issues = issuesOf({
      connectors: [
        { name: 'pay', kind: 'stripe', secret: 'stripe', allowedMethods: ['GET'], timoutMs: 3_000 },
        connector({ auth: { type: 'bearer', secret: 'x', tokenUrl: 'https://auth.example.com/token' } }),
      ],
    });

    // Assess
    expect(issues).toEqual([
      'connectors[0]: Unrecognized keys: "allowedMethods", "timoutMs" (did you mean `timeoutMs` for "timoutMs"?)',
      'connectors[1].auth: Unrecognized key: "tokenUrl"',
    ]);
  });

  it('names the environment variable a rejected value was read from', () => {
    // Prepare
    vi.stubEnv('CONFIG_HINTS_TEST_URL', 'http://127.0.0.1:8080');
    const baseUrl = fromEnvironment('CONFIG_HINTS_TEST_URL');

    // Act
    const issues = issuesOf({ connectors: [connector({ baseUrl })] });

    // Assess
    expect(issues).toEqual(['connectors[0].baseUrl: must use https (from CONFIG_HINTS_TEST_URL)']);
  });

  it('names no variable for a value written in the file, nor for an unset variable', () => {
    // Prepare
    vi.stubEnv('CONFIG_HINTS_TEST_UNSET', '');

    // Act
    const unset = fromEnvironment('CONFIG_HINTS_TEST_UNSET');
    const issues = issuesOf({ connectors: [connector({ baseUrl: 'http://example.com' })] });

    // Assess
    expect(unset).toBeUndefined();
    expect(issues).toEqual(['connectors[0].baseUrl: must use https']);
  });

  it('without the schema and the input, is one `path: message` line per issue as before', () => {
    // Prepare
    const schema = z.strictObject({ timeoutMs: z.number() });
    const result = schema.safeParse({ timeoutMS: 1 });
    if (result.success) throw new Error('expected a failure');

    // Act / Assess
    expect(formatIssues(result.error)).toEqual([
      'timeoutMs: Invalid input: expected number, received undefined',
      '(root): Unrecognized key: "timeoutMS"',
    ]);
    expect(formatIssues(result.error, schema)).toContain(
      '(root): Unrecognized key: "timeoutMS" (did you mean `timeoutMs`?)',
    );
  });
});
