/**
 * Twilio's scheme (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 * `X-Twilio-Signature`, base64 HMAC-SHA1 with the account's auth token of the full URL followed by
 * each form parameter's name and value, sorted by name. A JSON body is signed instead through a
 * `bodySHA256` query parameter (the body's hex SHA-256) in the signed URL.
 *
 * Verified by the `twilio` package's own `validateRequest` (form bodies) and
 * `validateRequestWithBody` (`bodySHA256`), imported from its `lib/webhooks/webhooks` module alone,
 * not the whole SDK; once per accepted auth token. The scheme signs no timestamp, so there is no
 * tolerance to check: a replay is stopped only by the route's deduplication.
 */
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import type { VerifiedWebhook, WebhookDelivery, WebhookVerifyOptions } from '../types.js';
import {
  asObject,
  bodyDigestId,
  bodyText,
  formParameters,
  headerValue,
  parseJson,
  WebhookVerificationError,
} from './common.js';

/** The shape of `X-Twilio-Signature`: the base64 of a 20-byte SHA-1 digest. */
const SIGNATURE = /^[A-Za-z0-9+/]{27}=$/;

/** A parameter's first value as a string, or `undefined` when absent or empty. */
function parameter(params: Record<string, unknown>, name: string): string | undefined {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/**
 * The kind of callback, from the parameters Twilio sends with each:
 * - `message.status`: a message status callback (`MessageStatus`, or an `SmsStatus` other than
 *   `received`);
 * - `message.incoming`: an inbound message (`MessageSid`/`SmsSid` with `SmsStatus=received` or a
 *   `Body`);
 * - `call.incoming`: an inbound call being answered (`CallSid`, `Direction=inbound`,
 *   `CallStatus=ringing`, no `CallbackSource`);
 * - `call.status`: any other callback about a call (`CallSid`);
 * - `twilio.callback`: anything else.
 */
export function twilioEventType(params: Record<string, unknown>): string {
  const smsStatus = parameter(params, 'SmsStatus');
  if (parameter(params, 'MessageStatus') !== undefined) return 'message.status';
  if (smsStatus !== undefined && smsStatus !== 'received') return 'message.status';
  const messageSid = parameter(params, 'MessageSid') ?? parameter(params, 'SmsSid');
  if (messageSid !== undefined && (smsStatus === 'received' || Object.hasOwn(params, 'Body')))
    return 'message.incoming';
  if (parameter(params, 'CallSid') !== undefined) {
    const incoming =
      parameter(params, 'Direction') === 'inbound' &&
      parameter(params, 'CallStatus') === 'ringing' &&
      parameter(params, 'CallbackSource') === undefined;
    return incoming ? 'call.incoming' : 'call.status';
  }
  return 'twilio.callback';
}

/**
 * The delivery's id: `I-Twilio-Idempotency-Token` (the same on Twilio's retries of a callback),
 * else the callback's SID and status (`SM…:delivered`), else the body's digest.
 */
function twilioEventId(delivery: WebhookDelivery, params: Record<string, unknown>): string {
  const token = headerValue(delivery, 'i-twilio-idempotency-token');
  if (token !== undefined) return token;
  const sid =
    parameter(params, 'MessageSid') ??
    parameter(params, 'SmsSid') ??
    parameter(params, 'CallSid') ??
    parameter(params, 'Sid');
  if (sid === undefined) return bodyDigestId(delivery);
  const status =
    parameter(params, 'MessageStatus') ?? parameter(params, 'SmsStatus') ?? parameter(params, 'CallStatus');
  return status === undefined ? sid : `${sid}:${status}`;
}

/**
 * Verifies a Twilio delivery: a form body (payload: its parameters, a repeated name's values as an
 * array), or a JSON body signed through `bodySHA256` (payload: the JSON). eventType:
 * {@link twilioEventType}; eventId: `I-Twilio-Idempotency-Token`, else SID and status.
 * @throws {WebhookVerificationError} `missing-signature` (no `X-Twilio-Signature`), `malformed` (a
 * signature not the base64 of 20 bytes, a URL that is not one, a `bodySHA256` body that is not
 * JSON), `invalid-signature`.
 */
export async function verifyTwilio(
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const signature = headerValue(delivery, 'x-twilio-signature');
  if (signature === undefined) throw new WebhookVerificationError('twilio', 'missing-signature');
  if (!SIGNATURE.test(signature)) throw new WebhookVerificationError('twilio', 'malformed');
  let url: URL;
  try {
    url = new URL(delivery.url);
  } catch {
    throw new WebhookVerificationError('twilio', 'malformed');
  }
  const text = bodyText('twilio', delivery);
  const signsBody = url.searchParams.has('bodySHA256');
  const params = signsBody ? {} : formParameters(text);
  const verified = options.secrets.some((authToken) =>
    signsBody
      ? validateRequestWithBody(authToken, signature, delivery.url, text)
      : validateRequest(authToken, signature, delivery.url, params),
  );
  if (!verified) throw new WebhookVerificationError('twilio', 'invalid-signature');
  const payload = signsBody ? parseJson('twilio', text) : params;
  const fields = asObject(payload) ?? {};
  return { eventType: twilioEventType(fields), eventId: twilioEventId(delivery, fields), payload };
}
