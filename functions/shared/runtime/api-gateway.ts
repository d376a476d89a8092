/**
 * The API Gateway adapter: REST proxy events on `POST /v1/connectors/{connector}/{operation}` in,
 * the envelopes of docs/design.md §3 out. One request goes through these steps:
 *
 * 1. **route**: the connector named by the path must be this one (`NOT_FOUND` otherwise);
 * 2. **read** the `Idempotency-Key` header (`VALIDATION_ERROR` when malformed) and the JSON body
 *    (`VALIDATION_ERROR` past `maxBodyBytes` or not JSON);
 * 3. **invoke** the operation through the request core ({@link ConnectorCore.invoke});
 * 4. **answer** with the success envelope, or the error body of the contract (redacted, with
 *    `Retry-After` when the error says when to come back), the failure logged at its level.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ConnectorError, toConnectorError } from '../errors.js';
import { IDEMPOTENCY_KEY_PATTERN } from './async-contract.js';
import { assertBodySize, type InputLimits } from './input-limits.js';
import { logFailure } from './log-failure.js';
import type { ConnectorCore, ExecutionResult, SuccessBody } from './types.js';
import { validationError } from './validation.js';

/**
 * Answers one API Gateway REST proxy event. Never throws: every failure is an error envelope.
 * @returns the success envelope ({@link SuccessBody}) with 200, or the error body of the contract
 *   with its HTTP status
 */
export async function handleApiGatewayEvent(
  core: ConnectorCore,
  event: APIGatewayProxyEvent,
  lambdaContext: Context,
): Promise<APIGatewayProxyResult> {
  const startedAt = Date.now();
  const requestId = event.requestContext?.requestId || lambdaContext.awsRequestId;
  const operationName = event.pathParameters?.operation ?? '';
  try {
    assertRoutedHere(core, event);
    const idempotencyKey = idempotencyKeyOf(event);
    const result = await core.invoke({
      operationName,
      input: parseBody(event, core.inputLimits),
      requestId,
      idempotencyKey,
      lambdaContext,
    });
    return respond(200, successBody(core, result, { operationName, requestId, startedAt }), requestId);
  } catch (thrown) {
    return errorResponse(core, toConnectorError(thrown), { operationName, requestId });
  }
}

/**
 * Step 1: the event's path names this connector (by the `{connector}` parameter, or by its own
 * resource).
 * @throws ConnectorError `NOT_FOUND` listing the connector's operations
 */
function assertRoutedHere(core: ConnectorCore, event: APIGatewayProxyEvent): void {
  const connectorName = event.pathParameters?.connector ?? connectorOfResource(event.resource);
  if (connectorName !== core.config.name) {
    throw new ConnectorError('NOT_FOUND', `No connector named '${connectorName ?? ''}' here.`, {
      details: { operations: [...core.operationNames] },
    });
  }
}

/**
 * The connector named by a per-connector API Gateway resource, `/v1/connectors/{name}/{operation}`,
 * where the name is a literal path part rather than a `{connector}` parameter (each connector has
 * its own function, hence its own resource).
 */
function connectorOfResource(resource: string | undefined): string | undefined {
  return /^\/v1\/connectors\/([^/{}]+)\/\{operation\}$/.exec(resource ?? '')?.[1];
}

/**
 * Step 2: the caller's `Idempotency-Key`, if any.
 * @throws ConnectorError `VALIDATION_ERROR` unless it is 1 to 255 visible ASCII characters
 */
function idempotencyKeyOf(event: APIGatewayProxyEvent): string | undefined {
  const idempotencyKey = header(event, 'idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    throw validationError([
      { path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  return idempotencyKey;
}

/** A request header by case-insensitive name. */
function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

/**
 * Step 2: the request body as JSON; its size is checked before it is parsed, its depth in `invoke`.
 * @throws ConnectorError `VALIDATION_ERROR` for a body past `maxBodyBytes` or not JSON
 */
function parseBody(event: APIGatewayProxyEvent, limits: InputLimits): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : undefined;
  assertBodySize(bytes ? bytes.length : Buffer.byteLength(event.body, 'utf8'), limits);
  const text = bytes ? bytes.toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw validationError([{ path: '', message: 'the body is not valid JSON' }]);
  }
}

/** Step 4: the success envelope; a replay reports no attempts of its own. */
function successBody(
  core: ConnectorCore,
  result: ExecutionResult,
  request: { operationName: string; requestId: string; startedAt: number },
): SuccessBody {
  return {
    data: result.data,
    meta: {
      connector: core.config.name,
      operation: request.operationName,
      requestId: request.requestId,
      attempts: result.idempotentReplay ? 0 : result.attempts,
      cached: result.cached,
      idempotentReplay: result.idempotentReplay === true,
      upstreamStatus: result.upstreamStatus,
      durationMs: Date.now() - request.startedAt,
    },
  };
}

/** Step 4: logs the failure and answers with its redacted error body (and `Retry-After`). */
function errorResponse(
  core: ConnectorCore,
  error: ConnectorError,
  request: { operationName: string; requestId: string },
): APIGatewayProxyResult {
  const { requestId } = request;
  logFailure(core.powertools, error, {
    requestId,
    connector: core.config.name,
    operation: request.operationName,
  });
  const headers: Record<string, string> =
    error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  return respond(error.httpStatus, core.redactor.redact(error.toBody(requestId)), requestId, headers);
}

function respond(
  statusCode: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(body),
  };
}
