/**
 * The contract between a webhook's verification (one verifier per scheme, `verify.ts`) and the
 * webhook route that publishes what it verifies (`handler.ts`). Types only.
 */

/**
 * The signature schemes an inbound webhook can be verified with: the four vendors' own, and the
 * Standard Webhooks specification (https://www.standardwebhooks.com/, `v1` HMAC-SHA256 and `v1a`
 * Ed25519) for any other vendor, through an `http` connector's `webhook` setting.
 */
export type WebhookScheme = 'stripe' | 'slack' | 'github' | 'twilio' | 'standardWebhooks';

/** One delivery as the route received it, before anything is parsed. */
export interface WebhookDelivery {
  /** The body's bytes exactly as received: every scheme signs these, never a re-serialization. */
  readonly rawBody: Uint8Array;
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The full URL the vendor called, query included (Twilio signs it): the public URL of the route,
   * e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/webhooks/sms?x=1`.
   */
  readonly url: string;
}

/** What a verifier needs besides the delivery. */
export interface WebhookVerifyOptions {
  /**
   * The signing secrets accepted, current first: one, or two during a rotation window (the secret's
   * `signingSecret` and `previousSigningSecret`). A delivery signed with either is accepted.
   * For `standardWebhooks`: a `whsec_…` secret (`v1`) or a `whpk_…` Ed25519 public key (`v1a`).
   * For `twilio`: the account's auth token.
   */
  readonly secrets: readonly string[];
  /** How far the signed timestamp may be from now, either way, in seconds. @default 300 */
  readonly toleranceSeconds?: number;
  /** The current time, epoch ms (tests). @default Date.now() */
  readonly nowMs?: number;
}

/** A delivery whose signature was verified: what the route publishes. */
export interface VerifiedWebhook {
  /**
   * The vendor's event type: Stripe `type` (`customer.created`), GitHub `X-GitHub-Event` (and
   * `.action` when the payload has one: `issues.opened`), Slack `event.type` of an
   * `event_callback` (or the envelope's `type`), Twilio the kind of callback (`message.status`,
   * `message.incoming`, `call.status`, …), Standard Webhooks the payload's `type`.
   */
  readonly eventType: string;
  /**
   * The vendor's id of the delivery, the same on every retry of it (the deduplication key): Stripe
   * event `id`, GitHub `X-GitHub-Delivery`, Slack `event_id` (or the envelope's `api_app_id` +
   * `X-Slack-Request-Timestamp` when none), Twilio `I-Twilio-Idempotency-Token` (or the
   * callback's SID and status), Standard Webhooks `webhook-id`.
   */
  readonly eventId: string;
  /** The parsed payload: JSON for every scheme but Twilio's, whose form parameters become an object. */
  readonly payload: unknown;
  /**
   * What the route must answer instead of its usual acknowledgement, if anything: Slack's URL
   * verification challenge (`{ challenge }`, nothing published).
   */
  readonly challenge?: string;
}

/** Why a delivery was refused. */
export type WebhookRefusal =
  /** No signature header, or no timestamp where the scheme has one. */
  | 'missing-signature'
  /** A signature that no accepted secret produces (a tampered body, a wrong secret). */
  | 'invalid-signature'
  /** A signed timestamp outside the tolerance. */
  | 'stale-timestamp'
  /** Headers or a body the scheme cannot read (not JSON where JSON is signed). */
  | 'malformed';
