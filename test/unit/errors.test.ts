import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  configurationError,
  ERROR_CODES,
  type ErrorCode,
  type ErrorSource,
  MAX_RETRY_AFTER_SECONDS,
  toConnectorError,
} from '../../functions/shared/errors.js';

/** The error contract of docs/design.md §3, plus CONFIGURATION_ERROR and DEPENDENCY_UNAVAILABLE, written out independently of the code. */
const CONTRACT: ReadonlyArray<[code: string, httpStatus: number, source: ErrorSource]> = [
  ['VALIDATION_ERROR', 400, 'client'],
  ['NOT_FOUND', 404, 'client'],
  ['IDEMPOTENCY_KEY_REUSED', 422, 'client'],
  ['REQUEST_IN_PROGRESS', 409, 'client'],
  ['UPSTREAM_REJECTED', 422, 'upstream'],
  ['AUTHENTICATION_ERROR', 502, 'upstream'],
  ['RATE_LIMIT_EXCEEDED', 429, 'upstream'],
  ['CIRCUIT_BREAKER_OPEN', 503, 'connector'],
  ['UPSTREAM_ERROR', 502, 'upstream'],
  ['API_TIMEOUT', 504, 'upstream'],
  ['RESPONSE_VALIDATION_ERROR', 502, 'upstream'],
  ['INTERNAL_ERROR', 500, 'connector'],
  ['CONFIGURATION_ERROR', 500, 'connector'],
  ['DEPENDENCY_UNAVAILABLE', 503, 'connector'],
  ['WEBHOOK_SIGNATURE_INVALID', 401, 'client'],
];

describe('ERROR_CODES', () => {
  it('has exactly the codes of the contract', () => {
    // Prepare
    const expected = CONTRACT.map(([code]) => code).sort();

    // Act
    const actual = Object.keys(ERROR_CODES).sort();

    // Assess
    expect(actual).toEqual(expected);
  });

  it.each(CONTRACT)('%s answers HTTP %i with source %s', (code, httpStatus, source) => {
    // Prepare
    const spec = ERROR_CODES[code as ErrorCode];

    // Act
    const error = new ConnectorError(code as ErrorCode, 'message');

    // Assess
    expect(spec).toMatchObject({ httpStatus, source });
    expect(error.httpStatus).toBe(httpStatus);
    expect(error.source).toBe(source);
  });

  it.each([
    ['REQUEST_IN_PROGRESS', true],
    ['RATE_LIMIT_EXCEEDED', true],
    ['CIRCUIT_BREAKER_OPEN', true],
    ['UPSTREAM_ERROR', true],
    ['API_TIMEOUT', true],
    ['DEPENDENCY_UNAVAILABLE', true],
    ['VALIDATION_ERROR', false],
    ['NOT_FOUND', false],
    ['IDEMPOTENCY_KEY_REUSED', false],
    ['UPSTREAM_REJECTED', false],
    ['AUTHENTICATION_ERROR', false],
    ['RESPONSE_VALIDATION_ERROR', false],
    ['CONFIGURATION_ERROR', false],
    ['INTERNAL_ERROR', false],
    ['WEBHOOK_SIGNATURE_INVALID', false],
  ] as const)('%s is retryable: %s', (code, retryable) => {
    // Prepare
    const message = 'message';

    // Act
    const error = new ConnectorError(code, message);

    // Assess
    expect(error.retryable).toBe(retryable);
  });
});

describe('ConnectorError', () => {
  it('is an Error with its code, name and message', () => {
    // Prepare
    const message = "Unknown connector 'nope'.";

    // Act
    const error = new ConnectorError('NOT_FOUND', message);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConnectorError');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(message);
  });

  it('lets options override source and retryable', () => {
    // Prepare
    const options = { source: 'connector', retryable: false } as const;

    // Act
    const error = new ConnectorError('UPSTREAM_ERROR', 'Connection refused.', options);

    // Assess
    expect(error.source).toBe('connector');
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(502);
  });

  it('toBody has the contract shape with only the optional fields that are set', () => {
    // Prepare
    const error = new ConnectorError('VALIDATION_ERROR', 'The body is invalid.', {
      details: [{ path: 'query.limit', message: 'must be a number' }],
    });

    // Act
    const body = error.toBody('req-123');

    // Assess
    expect(body).toStrictEqual({
      error: {
        code: 'VALIDATION_ERROR',
        message: 'The body is invalid.',
        source: 'client',
        retryable: false,
        requestId: 'req-123',
        details: [{ path: 'query.limit', message: 'must be a number' }],
      },
    });
  });

  it('toBody carries upstreamStatus, retryAfterSeconds and attempts when set, and never the cause', () => {
    // Prepare
    const cause = new Error('socket hang up at 10.0.0.1 with tok-example');
    const error = new ConnectorError('RATE_LIMIT_EXCEEDED', 'The vendor is rate limiting.', {
      upstreamStatus: 429,
      retryAfterSeconds: 7,
      attempts: 3,
      cause,
    });

    // Act
    const body = error.toBody('req-456');

    // Assess
    expect(body).toStrictEqual({
      error: {
        code: 'RATE_LIMIT_EXCEEDED',
        message: 'The vendor is rate limiting.',
        source: 'upstream',
        retryable: true,
        requestId: 'req-456',
        upstreamStatus: 429,
        retryAfterSeconds: 7,
        attempts: 3,
      },
    });
    expect(error.cause).toBe(cause);
    expect(JSON.stringify(body)).not.toContain('tok-example');
  });

  it('toBody has no stack trace', () => {
    // Prepare
    const error = new ConnectorError('INTERNAL_ERROR', 'Failed.');

    // Act
    const serialized = JSON.stringify(error.toBody('req-789'));

    // Assess
    expect(serialized).not.toContain('stack');
    expect(serialized).not.toContain('.ts:');
  });
});

describe('toConnectorError', () => {
  it('returns a ConnectorError as it is', () => {
    // Prepare
    const original = new ConnectorError('NOT_FOUND', 'Unknown operation.');

    // Act
    const converted = toConnectorError(original);

    // Assess
    expect(converted).toBe(original);
  });

  it('turns any other Error into an INTERNAL_ERROR that does not reveal its message', () => {
    // Prepare
    const original = new TypeError("Cannot read properties of undefined (reading 'tok-example-leak')");

    // Act
    const converted = toConnectorError(original);

    // Assess
    expect(converted).toBeInstanceOf(ConnectorError);
    expect(converted).toMatchObject({ code: 'INTERNAL_ERROR', httpStatus: 500, source: 'connector' });
    expect(converted.message).not.toContain('tok-example-leak');
    expect(converted.message).not.toContain('Cannot read properties');
    expect(JSON.stringify(converted.toBody('req-1'))).not.toContain('tok-example-leak');
    expect(converted.cause).toBe(original);
  });

  it.each([
    ['a string', 'tok-example-thrown-string'],
    ['an object', { secret: 'tok-example-thrown-object' }],
    ['undefined', undefined],
  ])('turns %s thrown into an INTERNAL_ERROR', (_name, thrown) => {
    // Prepare
    const value: unknown = thrown;

    // Act
    const converted = toConnectorError(value);

    // Assess
    expect(converted.code).toBe('INTERNAL_ERROR');
    expect(JSON.stringify(converted.toBody('req-1'))).not.toContain('tok-example');
  });
});

describe('configurationError', () => {
  it('is a CONFIGURATION_ERROR with the given message and cause', () => {
    // Prepare
    const cause = new Error('ENOENT');

    // Act
    const error = configurationError("Secret 'httpbin' not found.", cause);

    // Assess
    expect(error).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: "Secret 'httpbin' not found.",
      httpStatus: 500,
      source: 'connector',
      retryable: false,
    });
    expect(error.cause).toBe(cause);
  });
});

describe('ConnectorError retryAfterSeconds (issue 8, defect 13)', () => {
  it.each([
    [999_999_999, MAX_RETRY_AFTER_SECONDS],
    [Number.POSITIVE_INFINITY, MAX_RETRY_AFTER_SECONDS],
    [1.2, 2],
    [0, 0],
  ])('caps %d at the caller cap, whoever builds the error: %d', (given, expected) => {
    // Act
    const error = new ConnectorError('RATE_LIMIT_EXCEEDED', 'limited', { retryAfterSeconds: given });

    // Assess
    expect(error.retryAfterSeconds).toBe(expected);
    expect(error.toBody('r').error.retryAfterSeconds).toBe(expected);
  });

  it.each([Number.NaN, -5])('drops %d, a wait no caller can use', (given) => {
    // Act
    const error = new ConnectorError('RATE_LIMIT_EXCEEDED', 'limited', { retryAfterSeconds: given });

    // Assess
    expect(error.retryAfterSeconds).toBeUndefined();
  });
});
