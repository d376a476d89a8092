/**
 * What the idempotency store's failures before the call answer (issue 8, defect 2): every kind of
 * error Powertools and the SDK throw there maps to a code of the contract, never INTERNAL_ERROR
 * unless it is a bug.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyInconsistentStateError,
  IdempotencyItemNotFoundError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { beforeTheCall } from '../../functions/shared/runtime/idempotency.js';
import { dynamoErrors } from '../support/dynamodb-faults.js';

const wrapped = (cause: Error) =>
  new IdempotencyPersistenceLayerError('Failed to save in progress record to idempotency store', { cause });

describe('beforeTheCall', () => {
  it.each([
    ['a throttle', wrapped(dynamoErrors.throttled())],
    ['a DynamoDB 500', wrapped(dynamoErrors.internal())],
    ['a timeout', wrapped(dynamoErrors.timeout())],
    ['an unwrapped SDK error (a failed read of the existing record)', dynamoErrors.throttled()],
    ['an unwrapped socket error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  ])('maps %s to 503 DEPENDENCY_UNAVAILABLE, retryable, source connector', (_label, thrown) => {
    // Act
    const error = beforeTheCall(thrown);

    // Assess
    expect(error).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      httpStatus: 503,
      source: 'connector',
      retryable: true,
      retryAfterSeconds: 1,
    });
  });

  it('maps a missing table to CONFIGURATION_ERROR naming the cause', () => {
    const error = beforeTheCall(wrapped(dynamoErrors.tableNotFound()));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('ResourceNotFoundException');
  });

  it.each([
    ['in progress', new IdempotencyAlreadyInProgressError('running'), 'REQUEST_IN_PROGRESS'],
    ['inconsistent', new IdempotencyInconsistentStateError('expired meanwhile'), 'REQUEST_IN_PROGRESS'],
    ['vanished', new IdempotencyItemNotFoundError('gone'), 'REQUEST_IN_PROGRESS'],
    ['another body', new IdempotencyValidationError('payload differs'), 'IDEMPOTENCY_KEY_REUSED'],
  ])('maps the record being %s to %s', (_label, thrown, code) => {
    expect(beforeTheCall(thrown).code).toBe(code);
  });

  it('keeps a ConnectorError as it is, and a bug an INTERNAL_ERROR', () => {
    const typed = new ConnectorError('VALIDATION_ERROR', 'bad');
    expect(beforeTheCall(typed)).toBe(typed);
    expect(beforeTheCall(new RangeError('Maximum call stack size exceeded')).code).toBe('INTERNAL_ERROR');
  });
});
