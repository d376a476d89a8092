/**
 * The Standard Webhooks specification
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated list of
 * `<version>,<base64>` signatures of `${webhook-id}.${webhook-timestamp}.${body}`:
 * - `v1`: HMAC-SHA256 with the key whose base64 follows `whsec_` in the secret;
 * - `v1a`: Ed25519, checked with the signer's public key, `whpk_` and the base64 of its 32 bytes.
 *
 * `v1` is computed by the reference library's `Webhook.sign` (`standardwebhooks`) and compared here
 * in constant time. Its `Webhook.verify` is not called: it reads the clock itself with a fixed
 * 5-minute tolerance (this verifier's tolerance and clock are options) and skips every version but
 * `v1`. The library has no `v1a` (Ed25519) at all, so `v1a` is verified with `node:crypto`'s Ed25519
 * as the specification describes. Entries of other versions are ignored, as the specification asks.
 */
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { configurationError } from '../../shared/errors.js';
import type { VerifiedWebhook, WebhookDelivery, WebhookVerifyOptions } from '../types.js';
import {
  asObject,
  bodyText,
  checkTimestamp,
  constantTimeEqual,
  headerValue,
  parseJson,
  parseUnixSeconds,
  stringField,
  WebhookVerificationError,
} from './common.js';

/** The prefix of an Ed25519 public key (`v1a`). */
const PUBLIC_KEY_PREFIX = 'whpk_';
/** A standard base64 string (padding optional). */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The eventType of a payload without a `type`. */
const UNTYPED_EVENT = 'webhook';

/** One entry of `webhook-signature`. */
interface SignatureEntry {
  version: string;
  signature: string;
}

/** The entries of a `webhook-signature` header; at least one in `<version>,<base64>` form. */
function signatureEntries(header: string): SignatureEntry[] {
  const entries: SignatureEntry[] = [];
  for (const item of header.split(' ')) {
    const at = item.indexOf(',');
    if (at <= 0) continue;
    const signature = item.slice(at + 1);
    if (BASE64.test(signature)) entries.push({ version: item.slice(0, at), signature });
  }
  if (entries.length === 0) throw new WebhookVerificationError('standardWebhooks', 'malformed');
  return entries;
}

/** An Ed25519 public key from its `whpk_` form. */
function ed25519PublicKey(secret: string): KeyObject {
  const raw = Buffer.from(secret.slice(PUBLIC_KEY_PREFIX.length), 'base64');
  if (raw.length !== 32)
    throw configurationError('A Standard Webhooks whpk_ public key is not the base64 of 32 bytes.');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/** The reference library's signer for a `whsec_` secret. */
function hmacSigner(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch {
    throw configurationError('A Standard Webhooks whsec_ secret is not a base64 key.');
  }
}

/** Whether one accepted secret produced one of the entries. */
function signedWith(
  secret: string,
  entries: readonly SignatureEntry[],
  id: string,
  timestamp: number,
  delivery: WebhookDelivery,
  text: string,
): boolean {
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    const key = ed25519PublicKey(secret);
    const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), delivery.rawBody]);
    return entries.some(
      (entry) =>
        entry.version === 'v1a' &&
        verifySignature(null, content, key, Buffer.from(entry.signature, 'base64')),
    );
  }
  // `v1,<base64>`: the library signs the text, which re-encodes to exactly the raw bytes.
  const expected = hmacSigner(secret)
    .sign(id, new Date(timestamp * 1000), text)
    .slice('v1,'.length);
  return entries.some((entry) => entry.version === 'v1' && constantTimeEqual(entry.signature, expected));
}

/**
 * Verifies a Standard Webhooks delivery with any of the accepted secrets: `whsec_…` keys for `v1`,
 * `whpk_…` public keys for `v1a`, mixed if need be (a rotation from one to the other). eventType:
 * the payload's `type` (`webhook` when it has none); eventId: `webhook-id`; payload: the JSON body
 * (`null` when empty).
 * @throws {WebhookVerificationError} `missing-signature` (no `webhook-id`, `webhook-timestamp` or
 * `webhook-signature`), `malformed` (a timestamp not whole seconds, no `<version>,<base64>` entry,
 * a body that is not JSON), `stale-timestamp`, `invalid-signature`.
 * @throws {ConnectorError} `CONFIGURATION_ERROR` for a secret that is neither a base64 key nor a
 * 32-byte `whpk_` public key.
 */
export async function verifyStandardWebhooks(
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
): Promise<VerifiedWebhook> {
  const id = headerValue(delivery, 'webhook-id');
  const timestampHeader = headerValue(delivery, 'webhook-timestamp');
  const signatureHeader = headerValue(delivery, 'webhook-signature');
  if (id === undefined || timestampHeader === undefined || signatureHeader === undefined)
    throw new WebhookVerificationError('standardWebhooks', 'missing-signature');
  const timestamp = parseUnixSeconds('standardWebhooks', timestampHeader);
  const entries = signatureEntries(signatureHeader);
  checkTimestamp('standardWebhooks', timestamp, options);
  const text = bodyText('standardWebhooks', delivery);
  if (!options.secrets.some((secret) => signedWith(secret, entries, id, timestamp, delivery, text)))
    throw new WebhookVerificationError('standardWebhooks', 'invalid-signature');
  const payload = text === '' ? null : parseJson('standardWebhooks', text);
  return { eventType: stringField(asObject(payload), 'type') ?? UNTYPED_EVENT, eventId: id, payload };
}
