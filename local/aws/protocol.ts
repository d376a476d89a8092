/**
 * The AWS JSON protocols (1.0 for SQS, 1.1 for EventBridge) as the local gateway speaks them: a
 * `POST /` whose `X-Amz-Target` header names `{Service}.{Action}` and whose body is a JSON object;
 * the answer is a JSON object, or an error `{"__type", "message"}` with its HTTP status (AWS
 * Smithy, "AWS JSON 1.0 protocol" and "AWS JSON 1.1 protocol"). Signatures are not checked: any
 * credentials do.
 */

/** An answer of an AWS JSON operation: an HTTP status, a body, and extra headers. */
export interface AwsJsonAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An error an AWS JSON operation answers with: its `__type`, HTTP status and message. */
export class AwsJsonError extends Error {
  override readonly name = 'AwsJsonError';
  /**
   * @param type the `__type` of the body, e.g. `ValidationException`
   * @param status the HTTP status (400 for a client error)
   * @param queryError for SQS, the code of its query protocol the SDK maps errors with
   *   (`x-amzn-query-error: {code};Sender`), e.g. `AWS.SimpleQueueService.NonExistentQueue`
   */
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly queryError?: string,
  ) {
    super(message);
  }

  /** The answer carrying this error. */
  toAnswer(): AwsJsonAnswer {
    return {
      status: this.status,
      body: { __type: this.type, message: this.message },
      headers: {
        'x-amzn-errortype': this.type,
        ...(this.queryError ? { 'x-amzn-query-error': `${this.queryError};Sender` } : {}),
      },
    };
  }
}

/** A JSON object parsed from an AWS JSON request body (`{}` for an empty body). */
export function parseAwsJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AwsJsonError('SerializationException', 'The request body is not JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsJsonError('SerializationException', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}
