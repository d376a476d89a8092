/**
 * What every scheme's verifier shares: the refusal error, strict reading of the raw body, the
 * timestamp tolerance, and the fallbacks of an event id. No scheme logic here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type {
  VerifiedWebhook,
  WebhookDelivery,
  WebhookRefusal,
  WebhookScheme,
  WebhookVerifyOptions,
} from '../types.js';

/** How far a signed timestamp may be from now, either way, when the options say nothing: 300 s (5 minutes), every vendor's own default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** What the caller is told for each refusal: fixed words, never a library's text, a secret or a signature. */
const REFUSAL_MESSAGES: Record<WebhookRefusal, string> = {
  'missing-signature': 'The delivery carries no signature or no signed timestamp.',
  'invalid-signature': 'The delivery is not signed with an accepted signing secret.',
  'stale-timestamp': 'The delivery is signed with a timestamp outside the tolerance.',
  malformed: 'The delivery has headers or a body its signature scheme cannot read.',
};

/**
 * A delivery refused by its scheme's verifier: the route answers 401 with the error envelope and
 * publishes nothing. The message is one fixed sentence per {@link WebhookRefusal}: no library error
 * text, secret or signature ever reaches it (nor a `cause`).
 */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  /** Why the delivery was refused. */
  readonly reason: WebhookRefusal;
  /** The scheme that refused it. */
  readonly scheme: WebhookScheme;

  constructor(scheme: WebhookScheme, reason: WebhookRefusal) {
    super(REFUSAL_MESSAGES[reason]);
    this.scheme = scheme;
    this.reason = reason;
  }
}

/** One scheme's verification of a delivery (the options already checked by `verifyWebhook`). */
export type SchemeVerifier = (
  delivery: WebhookDelivery,
  options: WebhookVerifyOptions,
) => Promise<VerifiedWebhook>;

/** A non-empty header value, or `undefined` (names in lower case, as the delivery holds them). */
export function headerValue(delivery: WebhookDelivery, name: string): string | undefined {
  const value = delivery.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Decodes UTF-8 strictly: invalid bytes are an error rather than U+FFFD, and a byte-order mark is
 * kept, so the text re-encodes to exactly the bytes received. Every library that takes the body as
 * a string is thus handed the raw bytes, and no two bodies become the same text.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body's bytes as text, exactly (see {@link STRICT_UTF8}).
 * @throws {WebhookVerificationError} `malformed` if the bytes are not UTF-8.
 */
export function bodyText(scheme: WebhookScheme, delivery: WebhookDelivery): string {
  try {
    return STRICT_UTF8.decode(delivery.rawBody);
  } catch {
    throw new WebhookVerificationError(scheme, 'malformed');
  }
}

/**
 * `text` parsed as JSON.
 * @throws {WebhookVerificationError} `malformed` if it is not JSON.
 */
export function parseJson(scheme: WebhookScheme, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new WebhookVerificationError(scheme, 'malformed');
  }
}

/** `value` as a record if it is a JSON object (not an array, not null). */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A non-empty string field of `object`, or `undefined`. */
export function stringField(object: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = object && Object.hasOwn(object, name) ? object[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A whole number of seconds since the epoch as the schemes send it: digits, no sign, no leading zero. */
const UNIX_SECONDS = /^(?:0|[1-9]\d{0,11})$/;

/**
 * A signed timestamp header (seconds since the epoch) as a number.
 * @throws {WebhookVerificationError} `malformed` if it is not a whole number of seconds.
 */
export function parseUnixSeconds(scheme: WebhookScheme, value: string): number {
  if (!UNIX_SECONDS.test(value)) throw new WebhookVerificationError(scheme, 'malformed');
  return Number(value);
}

/**
 * Refuses a signed timestamp further than the tolerance from now, in the past or in the future
 * (a delivery from the future is as much a replay risk as an old one).
 * @param timestampSeconds - the signed timestamp, seconds since the epoch
 * @throws {WebhookVerificationError} `stale-timestamp`
 */
export function checkTimestamp(
  scheme: WebhookScheme,
  timestampSeconds: number,
  options: WebhookVerifyOptions,
): void {
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - timestampSeconds) > toleranceSeconds)
    throw new WebhookVerificationError(scheme, 'stale-timestamp');
}

/** Constant-time equality of two strings' UTF-8 bytes (different lengths differ at once: a signature's length is not secret). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * An event id made of the body when the vendor sends none: `sha256:` and the hex SHA-256 of the raw
 * body. The same delivery retried has the same body, so the same id.
 */
export function bodyDigestId(delivery: WebhookDelivery): string {
  return `sha256:${createHash('sha256').update(delivery.rawBody).digest('hex')}`;
}

/**
 * A form body (`application/x-www-form-urlencoded`) as an object: each name to its value, or to
 * all its values in order when it repeats. Built with `Object.fromEntries`, so a `__proto__` name is
 * an own property, never the object's prototype.
 */
export function formParameters(text: string): Record<string, string | string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const known = values.get(name);
    if (known) known.push(value);
    else values.set(name, [value]);
  }
  return Object.fromEntries(
    [...values].map(([name, list]) => [name, list.length === 1 ? (list[0] as string) : list]),
  );
}

/** The first value of a form parameter, or `undefined` when absent or empty. */
export function formValue(params: Record<string, string | string[]>, name: string): string | undefined {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  const first = typeof value === 'string' ? value : value?.[0];
  return first === '' ? undefined : first;
}

/** Whether a `Content-Type` header names a form body (`application/x-www-form-urlencoded`). */
export function isFormContentType(delivery: WebhookDelivery): boolean {
  return (headerValue(delivery, 'content-type') ?? '')
    .toLowerCase()
    .includes('application/x-www-form-urlencoded');
}
