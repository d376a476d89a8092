/**
 * Independent signers of each webhook scheme the suite verifies, written from the vendors' own
 * documentation with `node:crypto` only, so that a verifier is never checked against itself.
 *
 * - Stripe: https://docs.stripe.com/webhooks#verify-manually (`Stripe-Signature: t=…,v1=…`,
 *   HMAC-SHA256 of `${t}.${body}`, hex).
 * - Slack: https://api.slack.com/authentication/verifying-requests-from-slack (`v0=` + hex
 *   HMAC-SHA256 of `v0:${timestamp}:${body}`, with `X-Slack-Request-Timestamp`).
 * - GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 *   (`X-Hub-Signature-256: sha256=` + hex HMAC-SHA256 of the body).
 * - Twilio: https://www.twilio.com/docs/usage/webhooks/webhooks-security (base64 HMAC-SHA1 of the
 *   full URL followed by each form parameter's name and value, sorted by name).
 * - Standard Webhooks: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 *   (`${id}.${timestamp}.${body}` signed as `v1,` base64 HMAC-SHA256 with the base64 key after
 *   `whsec_`, or `v1a,` base64 Ed25519).
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/** Seconds since the epoch, as the schemes' timestamps are. */
export function unixSeconds(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

function hmacHex(algorithm: 'sha256', key: string | Buffer, content: string | Buffer): string {
  return createHmac(algorithm, key).update(content).digest('hex');
}

/** The `Stripe-Signature` header for `body`. */
export function stripeSignatureHeader(body: string, secret: string, timestamp = unixSeconds()): string {
  return `t=${timestamp},v1=${hmacHex('sha256', secret, `${timestamp}.${body}`)}`;
}

/** Slack's `X-Slack-Signature` and `X-Slack-Request-Timestamp` headers for `body`. */
export function slackHeaders(
  body: string,
  secret: string,
  timestamp = unixSeconds(),
): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${hmacHex('sha256', secret, `v0:${timestamp}:${body}`)}`,
  };
}

/** GitHub's `X-Hub-Signature-256` header for `body`. */
export function githubSignatureHeader(body: string, secret: string): string {
  return `sha256=${hmacHex('sha256', secret, body)}`;
}

/** Twilio's `X-Twilio-Signature` for a form POST of `params` to `url`, signed with the auth token. */
export function twilioSignature(
  url: string,
  params: Readonly<Record<string, string | readonly string[]>>,
  authToken: string,
): string {
  let content = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    const values = typeof value === 'string' ? [value] : [...(value ?? [])].sort();
    for (const v of values) content += name + v;
  }
  return createHmac('sha1', authToken).update(content, 'utf8').digest('base64');
}

/** A form body (`application/x-www-form-urlencoded`) of `params`, as Twilio sends them. */
export function formBody(params: Readonly<Record<string, string>>): string {
  return new URLSearchParams(params).toString();
}

/** The three Standard Webhooks headers of a `v1` (HMAC-SHA256) signature with a `whsec_` secret. */
export function standardWebhooksHeaders(
  id: string,
  body: string,
  secret: string,
  timestamp = unixSeconds(),
): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

/** A fresh `whsec_` secret of 32 random bytes (test only). */
export function newStandardWebhooksSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

/** An Ed25519 key pair for `v1a`: the private key to sign with, and the `whpk_` public key to verify with. */
export function newEd25519Signer(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return { privateKey, publicKey: `whpk_${raw.toString('base64')}` };
}

/** The three Standard Webhooks headers of a `v1a` (Ed25519) signature. */
export function standardWebhooksEd25519Headers(
  id: string,
  body: string,
  privateKey: KeyObject,
  timestamp = unixSeconds(),
): Record<string, string> {
  const signature = sign(null, Buffer.from(`${id}.${timestamp}.${body}`), privateKey).toString('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1a,${signature}`,
  };
}
