/** One log line for a request that failed, at the level its source deserves. */
import type { ConnectorError } from '../errors.js';
import type { Powertools } from '../powertools.js';

/**
 * Logs a failed request: bugs and configuration errors at ERROR (with the cause), the caller's
 * mistakes at INFO, the vendor's failures at WARN.
 */
export function logFailure(
  powertools: Powertools,
  error: ConnectorError,
  fields: Record<string, string>,
): void {
  const line = { ...fields, errorCode: error.code, errorSource: error.source, httpStatus: error.httpStatus };
  if (error.code === 'INTERNAL_ERROR' || error.code === 'CONFIGURATION_ERROR') {
    powertools.logger.error(error.message, { ...line, error: error.cause ?? error });
  } else if (error.source === 'client') {
    powertools.logger.info(error.message, line);
  } else {
    powertools.logger.warn(error.message, line);
  }
}
