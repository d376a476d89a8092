/**
 * Slack's scheme (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 with the app's signing secret of
 * `v0:${X-Slack-Request-Timestamp}:${body}`.
 *
 * Implemented here with `node:crypto`, following Slack's document, not imported: Slack's only
 * verifier is Bolt's `verifySlackRequest`, and `@slack/bolt` is a development dependency whose
 * install brings Express and its tree; a Lambda bundle or a user's install must not need it. The
 * unit tests check this verifier against Bolt's on random inputs. Two deliberate differences from
 * Bolt: a timestamp more than the tolerance in the future is refused too (Bolt accepts it), and a
 * signature must be exactly `v0=` and 64 hex digits (Bolt ignores anything after a second `=`).
 */
import { createHmac } from 'node:crypto';
import type { VerifiedWebhook, WebhookDelivery, WebhookVerifyOptions } from '../types.js';
import {
  asObject,
  bodyDigestId,
  bodyText,
  checkTimestamp,
  constantTimeEqual,
  formParameters,
  formValue,
  headerValue,
  isFormContentType,
  parseJson,
  parseUnixSeconds,
  stringField,
  WebhookVerificationError,
} from './common.js';

/** The shape of `X-Slack-Signature`. */
const SIGNATURE = /^v0=[0-9a-fA-F]{64}$/;

/** What a verified body says, signature aside. */
type Parsed = Omit<VerifiedWebhook, 'challenge'> & { challenge?: string };

/**
 * A JSON body of the Events API: `url_verification` (answered with its `challenge`),
 * `event_callback` (`event.type`, `event_id`), or another envelope (`app_rate_limited`: its `type`,
 * and `api_app_id` + the request timestamp as the id).
 */
function parseEventsApi(delivery: WebhookDelivery, text: string, timestamp: string): Parsed {
  const payload = parseJson('slack', text);
  const envelope = asObject(payload);
  const type = stringField(envelope, 'type');
  if (type === undefined) throw new WebhookVerificationError('slack', 'malformed');
  if (type === 'url_verification') {
    const challenge = stringField(envelope, 'challenge');
    if (challenge === undefined) throw new WebhookVerificationError('slack', 'malformed');
    return { eventType: type, eventId: bodyDigestId(delivery), payload, challenge };
  }
  if (type === 'event_callback') {
    const eventType = stringField(asObject(envelope?.event), 'type');
    const eventId = stringField(envelope, 'event_id');
    if (eventType === undefined || eventId === undefined)
      throw new WebhookVerificationError('slack', 'malformed');
    return { eventType, eventId, payload };
  }
  const eventId = stringField(envelope, 'event_id');
  const appId = stringField(envelope, 'api_app_id');
  return {
    eventType: type,
    eventId: eventId ?? (appId === undefined ? bodyDigestId(delivery) : `${appId}:${timestamp}`),
    payload,
  };
}

/**
 * A form body: an interaction (`payload=<JSON>`: its `type`, e.g. `block_actions`,
 * `view_submission`, `shortcut`), a slash command (`command=…`: `slash_command`), or anything else
 * (`slack.callback`). eventId: `trigger_id` when there is one, else the body's digest.
 */
function parseForm(delivery: WebhookDelivery, text: string): Parsed {
  const params = formParameters(text);
  const interaction = formValue(params, 'payload');
  if (interaction !== undefined) {
    const payload = parseJson('slack', interaction);
    const object = asObject(payload);
    const eventType = stringField(object, 'type');
    if (eventType === undefined) throw new WebhookVerificationError('slack', 'malformed');
    return { eventType, eventId: stringField(object, 'trigger_id') ?? bodyDigestId(delivery), payload };
  }
  return {
    eventType: formValue(params, 'command') === undefined ? 'slack.callback' : 'slash_command',
    eventId: formValue(params, 'trigger_id') ?? bodyDigestId(delivery),
    payload: params,
  };
}

/**
 * Verifies a Slack delivery: Events API JSON bodies, and form bodies (slash commands,
 * interactivity). eventType and eventId: see {@link parseEventsApi} and {@link parseForm}; a
 * `url_verification` carries its `challenge`, which the route answers, publishing nothing.
 * @throws {WebhookVerificationError} `missing-signature` (no `X-Slack-Signature` or no
 * `X-Slack-Request-Timestamp`), `malformed` (a signature not `v0=` and 64 hex digits, a timestamp
 * not whole seconds, a body Slack would not send), `stale-timestamp`, `invalid-signature`.
 */
export async function verifySlack(
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const signature = headerValue(delivery, 'x-slack-signature');
  const timestamp = headerValue(delivery, 'x-slack-request-timestamp');
  if (signature === undefined || timestamp === undefined)
    throw new WebhookVerificationError('slack', 'missing-signature');
  const timestampSeconds = parseUnixSeconds('slack', timestamp);
  if (!SIGNATURE.test(signature)) throw new WebhookVerificationError('slack', 'malformed');
  checkTimestamp('slack', timestampSeconds, options);
  const verified = options.secrets.some((secret) => {
    const expected = createHmac('sha256', secret)
      .update(`v0:${timestamp}:`)
      .update(delivery.rawBody)
      .digest('hex');
    return constantTimeEqual(signature, `v0=${expected}`);
  });
  if (!verified) throw new WebhookVerificationError('slack', 'invalid-signature');
  const text = bodyText('slack', delivery);
  const json =
    !isFormContentType(delivery) &&
    ((headerValue(delivery, 'content-type') ?? '').toLowerCase().includes('json') ||
      text.trimStart().startsWith('{'));
  return json ? parseEventsApi(delivery, text, timestamp) : parseForm(delivery, text);
}
