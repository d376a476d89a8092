/**
 * GitHub's scheme (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
 * `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body with the webhook's secret.
 *
 * Verified by `verify` of `@octokit/webhooks-methods` (GitHub's own, constant-time), once per
 * accepted secret. The scheme signs no timestamp, so there is no tolerance to check: a replay is
 * stopped only by the route's deduplication on `X-GitHub-Delivery`, a header GitHub does not sign.
 */
import { verify } from '@octokit/webhooks-methods';
import type { VerifiedWebhook, WebhookDelivery, WebhookVerifyOptions } from '../types.js';
import {
  asObject,
  bodyText,
  formParameters,
  formValue,
  headerValue,
  isFormContentType,
  parseJson,
  stringField,
  WebhookVerificationError,
} from './common.js';

/** The shape of `X-Hub-Signature-256`. */
const SIGNATURE = /^sha256=[0-9a-fA-F]{64}$/;

/**
 * Verifies a GitHub delivery. eventType: `X-GitHub-Event`, and `.action` when the payload has one
 * (`issues.opened`, `ping`); eventId: `X-GitHub-Delivery`; payload: the JSON body, or the JSON of
 * the `payload` parameter when the webhook's content type is `application/x-www-form-urlencoded`.
 * @throws {WebhookVerificationError} `missing-signature` (no `X-Hub-Signature-256`), `malformed` (a
 * signature not `sha256=` and 64 hex digits, no `X-GitHub-Event` or `X-GitHub-Delivery`, a body
 * that is not a JSON object), `invalid-signature`.
 */
export async function verifyGitHub(
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const signature = headerValue(delivery, 'x-hub-signature-256');
  if (signature === undefined) throw new WebhookVerificationError('github', 'missing-signature');
  const event = headerValue(delivery, 'x-github-event');
  const eventId = headerValue(delivery, 'x-github-delivery');
  if (!SIGNATURE.test(signature) || event === undefined || eventId === undefined)
    throw new WebhookVerificationError('github', 'malformed');
  const text = bodyText('github', delivery);
  if (text === '') throw new WebhookVerificationError('github', 'malformed');
  let verified = false;
  for (const secret of options.secrets) {
    if (await verify(secret, text, signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) throw new WebhookVerificationError('github', 'invalid-signature');
  const payload = isFormContentType(delivery)
    ? parseJson('github', formValue(formParameters(text), 'payload') ?? '')
    : parseJson('github', text);
  const object = asObject(payload);
  if (object === undefined) throw new WebhookVerificationError('github', 'malformed');
  const action = stringField(object, 'action');
  return { eventType: action === undefined ? event : `${event}.${action}`, eventId, payload };
}
