/**
 * Verification of an inbound webhook's signature, one verifier per scheme (docs/webhooks-verification.md).
 *
 * Every verifier works on the raw bytes of the body, compares in constant time, accepts any of the
 * signing secrets (rotation), checks a signed timestamp both ways against the tolerance, and refuses
 * with a {@link WebhookVerificationError} whose message is fixed: a library's error text, a secret or
 * a signature never reaches the caller. Each scheme's module is loaded on its first use, so a
 * function that serves only GitHub never evaluates the Stripe SDK.
 */
import { ConnectorError, configurationError } from '../shared/errors.js';
import type { VerifiedWebhook, WebhookDelivery, WebhookScheme, WebhookVerifyOptions } from './types.js';
import { type SchemeVerifier, WebhookVerificationError } from './verifiers/common.js';

export { WebhookVerificationError } from './verifiers/common.js';

/** Each scheme's verifier, loaded when first needed. */
const VERIFIERS: Record<WebhookScheme, () => Promise<SchemeVerifier>> = {
  stripe: async () => (await import('./verifiers/stripe.js')).verifyStripe,
  slack: async () => (await import('./verifiers/slack.js')).verifySlack,
  github: async () => (await import('./verifiers/github.js')).verifyGitHub,
  twilio: async () => (await import('./verifiers/twilio.js')).verifyTwilio,
  standardWebhooks: async () => (await import('./verifiers/standard-webhooks.js')).verifyStandardWebhooks,
};

/** The options a verifier may rely on, or a `CONFIGURATION_ERROR` (the operator's to fix, not the sender's). */
function checkOptions(options: WebhookVerifyOptions): void {
  const { secrets, toleranceSeconds, nowMs } = options;
  if (
    !Array.isArray(secrets) ||
    secrets.length === 0 ||
    !secrets.every((s) => typeof s === 'string' && s !== '')
  )
    throw configurationError('A webhook needs at least one signing secret, and none may be empty.');
  if (toleranceSeconds !== undefined && !(Number.isFinite(toleranceSeconds) && toleranceSeconds >= 0))
    throw configurationError('A webhook tolerance must be a number of seconds, zero or more.');
  if (nowMs !== undefined && !Number.isFinite(nowMs))
    throw configurationError('A webhook verification clock must be epoch milliseconds.');
}

/**
 * Verifies a delivery's signature by its scheme and reads the vendor's event type, event id and
 * payload from it (their source per scheme: {@link VerifiedWebhook}, docs/webhooks-verification.md).
 *
 * @param scheme - the connector's scheme: `stripe`, `slack`, `github`, `twilio` or `standardWebhooks`
 * @param delivery - the request as received: raw body bytes, lower-case header names, full URL
 * @param options - the accepted secrets (current first, then the previous one during a rotation
 * window), the tolerance in seconds (@default 300) and the clock (epoch ms, @default `Date.now()`)
 * @returns the verified event; a Slack `url_verification` carries the `challenge` to answer
 * @throws {WebhookVerificationError} the delivery is refused (`reason`: `missing-signature`,
 * `invalid-signature`, `stale-timestamp` or `malformed`); anything a library throws on a strange
 * delivery becomes `malformed`
 * @throws {ConnectorError} `CONFIGURATION_ERROR` for an unknown scheme, no or an empty secret, a
 * negative tolerance, or a Standard Webhooks secret that is not a key
 */
export async function verifyWebhook(
  scheme: WebhookScheme,
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const load = Object.hasOwn(VERIFIERS, scheme) ? VERIFIERS[scheme] : undefined;
  if (load === undefined) throw configurationError('The webhook scheme is not one the suite verifies.');
  checkOptions(options);
  const verifier = await load();
  if (
    !(delivery?.rawBody instanceof Uint8Array) ||
    typeof delivery.headers !== 'object' ||
    delivery.headers === null
  )
    throw new WebhookVerificationError(scheme, 'malformed');
  try {
    return await verifier(delivery, options);
  } catch (error) {
    if (error instanceof WebhookVerificationError || error instanceof ConnectorError) throw error;
    // A library's own error on a delivery it cannot read: its text may quote the header or the body.
    throw new WebhookVerificationError(scheme, 'malformed');
  }
}
