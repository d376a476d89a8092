/**
 * Stripe's scheme (https://docs.stripe.com/webhooks#verify-events): `Stripe-Signature:
 * t=<seconds>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 with the endpoint's `whsec_…` secret of
 * `${t}.${body}`.
 *
 * Verified by the `stripe` package's own check, `Stripe.webhooks.signature.verifyHeaderAsync` (what
 * `Stripe.webhooks.constructEventAsync` calls before it parses): once per accepted secret until one
 * matches, since Stripe's function takes one secret. The body is then parsed here rather than by
 * `constructEventAsync`, which refuses Stripe's "thin" event notifications (`v2.core.event`, same
 * header, same secret) that an event destination may send; both have `id` and `type`.
 *
 * Stripe's tolerance check only refuses timestamps in the past; the timestamp is checked here first,
 * both ways, with the same arithmetic (whole seconds), so Stripe's own check never fires after it.
 */
import Stripe from 'stripe';
import type { VerifiedWebhook, WebhookDelivery, WebhookVerifyOptions } from '../types.js';
import {
  asObject,
  bodyText,
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  headerValue,
  parseJson,
  parseUnixSeconds,
  stringField,
  WebhookVerificationError,
} from './common.js';

/** A hex digest, as Stripe's `v1` signatures are. */
const HEX = /^[0-9a-fA-F]+$/;

/** The signed timestamp of a `Stripe-Signature` header, once its shape is checked. */
function signedTimestamp(header: string): number {
  let timestamp: number | undefined;
  let signatures = 0;
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    const name = at < 0 ? item : item.slice(0, at);
    const value = at < 0 ? '' : item.slice(at + 1);
    if (name === 't') {
      if (timestamp !== undefined) throw new WebhookVerificationError('stripe', 'malformed');
      timestamp = parseUnixSeconds('stripe', value);
    } else if (name === 'v1') {
      if (!HEX.test(value)) throw new WebhookVerificationError('stripe', 'malformed');
      signatures += 1;
    }
  }
  if (timestamp === undefined || signatures === 0) throw new WebhookVerificationError('stripe', 'malformed');
  return timestamp;
}

/**
 * Verifies a Stripe delivery. eventType: the event's `type` (`customer.created`); eventId: its `id`
 * (`evt_…`); payload: the event.
 * @throws {WebhookVerificationError} `missing-signature` (no `Stripe-Signature`), `malformed` (a
 * header without `t=` and `v1=`, a body that is not a JSON event with `id` and `type`),
 * `stale-timestamp`, `invalid-signature`.
 */
export async function verifyStripe(
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const header = headerValue(delivery, 'stripe-signature');
  if (header === undefined) throw new WebhookVerificationError('stripe', 'missing-signature');
  checkTimestamp('stripe', signedTimestamp(header), options);
  const text = bodyText('stripe', delivery);
  if (text === '') throw new WebhookVerificationError('stripe', 'malformed');
  const signature = Stripe.webhooks.signature;
  if (!signature) throw new Error('the stripe package has no webhook signature helper');
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  let verified = false;
  for (const secret of options.secrets) {
    try {
      // Stripe reads a tolerance of 0 as "no check": the check above has already been made.
      verified = await signature.verifyHeaderAsync(
        text,
        header,
        secret,
        toleranceSeconds,
        undefined,
        options.nowMs ?? Date.now(),
      );
    } catch {
      // StripeSignatureVerificationError (its text holds the header and the body): the next secret.
      verified = false;
    }
    if (verified) break;
  }
  if (!verified) throw new WebhookVerificationError('stripe', 'invalid-signature');
  const payload = parseJson('stripe', text);
  const event = asObject(payload);
  const eventType = stringField(event, 'type');
  const eventId = stringField(event, 'id');
  if (eventType === undefined || eventId === undefined)
    throw new WebhookVerificationError('stripe', 'malformed');
  return { eventType, eventId, payload };
}
