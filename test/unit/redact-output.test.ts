/**
 * The success data's redaction (issue 8, defect 3): registered credentials go, everything else stays
 * as the vendor sent it, and no shape of data can make it throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { REDACTED, Redactor } from '../../functions/shared/redaction.js';
import { MAX_OUTPUT_DEPTH, redactOutput } from '../../functions/shared/runtime/redact-output.js';

const TOKEN = 'tok-example-output-91ac';

function redactorWithToken(): Redactor {
  const redactor = new Redactor();
  redactor.addSecret(TOKEN);
  return redactor;
}

describe('redactOutput', () => {
  it('replaces a registered credential in nested strings and keys, and keeps the rest', () => {
    // Prepare
    const data = {
      headers: { authorization: `Bearer ${TOKEN}`, 'set-cookie': 'session=vendor-own' },
      args: [{ url: `https://api.example.com/x?key=${TOKEN}` }, 42, null, true],
      [TOKEN]: 'as a key',
    };

    // Act
    const redacted = redactOutput(data, redactorWithToken());

    // Assess
    expect(redacted).toEqual({
      headers: { authorization: `Bearer ${REDACTED}`, 'set-cookie': 'session=vendor-own' },
      args: [{ url: `https://api.example.com/x?key=${REDACTED}` }, 42, null, true],
      [REDACTED]: 'as a key',
    });
  });

  it('leaves any JSON value without credentials as JSON would carry it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(redactOutput(value, redactorWithToken())).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('keeps a `__proto__` key a plain key', () => {
    // Prepare
    const data = JSON.parse(`{"__proto__": {"polluted": "${TOKEN}"}}`) as unknown;

    // Act
    const redacted = redactOutput(data, redactorWithToken()) as Record<string, unknown>;

    // Assess
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(redacted, '__proto__')?.value).toEqual({ polluted: REDACTED });
  });

  it('reads dates as JSON does', () => {
    expect(redactOutput({ at: new Date('2026-01-02T03:04:05Z') }, new Redactor())).toEqual({
      at: '2026-01-02T03:04:05.000Z',
    });
  });

  it('walks data nested 100,000 levels deep without overflowing the stack', () => {
    // Prepare
    const data = JSON.parse(`${'['.repeat(100_000)}"${TOKEN}"${']'.repeat(100_000)}`) as unknown;

    // Act
    let inner = redactOutput(data, redactorWithToken(), Number.POSITIVE_INFINITY);
    for (let level = 0; level < 100_000; level++) inner = (inner as unknown[])[0];

    // Assess
    expect(inner).toBe(REDACTED);
  });

  it('refuses output nested deeper than MAX_OUTPUT_DEPTH: RESPONSE_VALIDATION_ERROR, never a stack overflow later', () => {
    // Prepare
    const deep = JSON.parse(
      `${'['.repeat(MAX_OUTPUT_DEPTH + 1)}${']'.repeat(MAX_OUTPUT_DEPTH + 1)}`,
    ) as unknown;
    const deepest = JSON.parse(`${'['.repeat(MAX_OUTPUT_DEPTH)}${']'.repeat(MAX_OUTPUT_DEPTH)}`) as unknown;

    // Act
    const refused = (() => {
      try {
        redactOutput(deep, redactorWithToken());
        return undefined;
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(refused).toBeInstanceOf(ConnectorError);
    expect(refused).toMatchObject({ code: 'RESPONSE_VALIDATION_ERROR', httpStatus: 502 });
    expect(() => JSON.stringify(redactOutput(deepest, redactorWithToken()))).not.toThrow();
  });
});
