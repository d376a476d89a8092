/**
 * Properties of the webhook verifiers (fast-check): a single byte changed anywhere in a signed body
 * is refused; headers, bodies and URLs of any shape never make a verifier throw anything but a
 * `WebhookVerificationError`; and the Slack verifier (own code, node:crypto) agrees with Bolt's
 * `verifySlackRequest` on signed, wrongly signed and wrongly timed deliveries.
 */
import { createHash } from 'node:crypto';
import { verifySlackRequest } from '@slack/bolt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WebhookDelivery, WebhookScheme } from '../../functions/webhooks/types.js';
import { verifyWebhook, WebhookVerificationError } from '../../functions/webhooks/verify.js';
import {
  formBody,
  githubSignatureHeader,
  newEd25519Signer,
  newStandardWebhooksSecret,
  slackHeaders,
  standardWebhooksEd25519Headers,
  standardWebhooksHeaders,
  stripeSignatureHeader,
  twilioSignature,
  unixSeconds,
} from '../support/webhook-signers.js';

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = unixSeconds(NOW_MS);
const URL_OF_ROUTE = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/webhooks/hook?x=1';
const SECRET = 'whsec_example_property';
const SLACK_SECRET = 'slack-signing-secret-example';
const TWILIO_TOKEN = 'fake-auth-token-example';
const SW_SECRET = newStandardWebhooksSecret();
const ED25519 = newEd25519Signer();
/** The secrets each scheme is verified with here. */
const SECRETS: Record<WebhookScheme, string[]> = {
  stripe: [SECRET],
  slack: [SLACK_SECRET],
  github: [SECRET],
  twilio: [TWILIO_TOKEN],
  standardWebhooks: [SW_SECRET, ED25519.publicKey],
};
const RUNS = 200;

/** A signed delivery of `body` (a JSON object's text) by the scheme's independent signer. */
function signedDelivery(
  scheme: Exclude<WebhookScheme, 'twilio'>,
  body: string,
  ed25519 = false,
): WebhookDelivery {
  const headers: Record<string, string> = (() => {
    switch (scheme) {
      case 'stripe':
        return { 'stripe-signature': stripeSignatureHeader(body, SECRET, NOW) };
      case 'slack':
        return slackHeaders(body, SLACK_SECRET, NOW);
      case 'github':
        return {
          'x-hub-signature-256': githubSignatureHeader(body, SECRET),
          'x-github-event': 'issues',
          'x-github-delivery': 'delivery-1',
        };
      case 'standardWebhooks':
        return ed25519
          ? standardWebhooksEd25519Headers('msg_1', body, ED25519.privateKey, NOW)
          : standardWebhooksHeaders('msg_1', body, SW_SECRET, NOW);
    }
  })();
  return {
    rawBody: new TextEncoder().encode(body),
    headers: { ...headers, 'content-type': 'application/json' },
    url: URL_OF_ROUTE,
  };
}

/** A JSON event every scheme reads: `id`, `type`, a Slack `event_callback`'s fields, and random data. */
const eventBody = fc
  .record({ data: fc.jsonValue({ maxDepth: 3 }), text: fc.string({ unit: 'grapheme', maxLength: 40 }) })
  .map(({ data, text }) =>
    JSON.stringify({
      id: 'evt_1',
      type: 'event_callback',
      event_id: 'Ev1',
      event: { type: 'message', text },
      data,
    }),
  );

/** `bytes` with the byte at `index` (modulo the length) replaced by another value. */
function changeOneByte(bytes: Uint8Array, index: number, delta: number): Uint8Array {
  const changed = Uint8Array.from(bytes);
  const at = index % changed.length;
  changed[at] = ((changed[at] ?? 0) + delta) % 256;
  return changed;
}

/** Whether a verification of `delivery` ends in acceptance (`true`), a refusal (`false`), or anything else (thrown). */
async function accepted(scheme: WebhookScheme, delivery: WebhookDelivery): Promise<boolean> {
  try {
    await verifyWebhook(scheme, delivery, { secrets: SECRETS[scheme], nowMs: NOW_MS });
    return true;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false;
    throw error;
  }
}

describe('a single byte changed in a signed body is refused', () => {
  it.each([
    ['stripe', false],
    ['slack', false],
    ['github', false],
    ['standardWebhooks', false],
    ['standardWebhooks', true],
  ] as const)('%s (Ed25519: %s)', async (scheme, ed25519) => {
    await fc.assert(
      fc.asyncProperty(eventBody, fc.nat(), fc.integer({ min: 1, max: 255 }), async (body, index, delta) => {
        const delivery = signedDelivery(scheme, body, ed25519);
        expect(await accepted(scheme, delivery)).toBe(true);
        const changed = { ...delivery, rawBody: changeOneByte(delivery.rawBody, index, delta) };
        expect(await accepted(scheme, changed)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('twilio: refused, unless the form parameters Twilio signs are unchanged (`+` for a space, `%2f` for `%2F`)', async () => {
    const params = fc.dictionary(
      fc.constantFrom('MessageSid', 'MessageStatus', 'Body', 'From', 'To', 'ErrorCode'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      { minKeys: 1 },
    );
    await fc.assert(
      fc.asyncProperty(params, fc.nat(), fc.integer({ min: 1, max: 255 }), async (fields, index, delta) => {
        const body = formBody(fields);
        const delivery: WebhookDelivery = {
          rawBody: new TextEncoder().encode(body),
          headers: { 'x-twilio-signature': twilioSignature(URL_OF_ROUTE, fields, TWILIO_TOKEN) },
          url: URL_OF_ROUTE,
        };
        expect(await accepted('twilio', delivery)).toBe(true);
        const changed = { ...delivery, rawBody: changeOneByte(delivery.rawBody, index, delta) };
        if (await accepted('twilio', changed)) {
          const text = new TextDecoder().decode(changed.rawBody);
          expect(Object.fromEntries(new URLSearchParams(text))).toEqual(fields);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('twilio with bodySHA256: refused', async () => {
    await fc.assert(
      fc.asyncProperty(eventBody, fc.nat(), fc.integer({ min: 1, max: 255 }), async (body, index, delta) => {
        const url = `${URL_OF_ROUTE}&bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
        const delivery: WebhookDelivery = {
          rawBody: new TextEncoder().encode(body),
          headers: { 'x-twilio-signature': twilioSignature(url, {}, TWILIO_TOKEN) },
          url,
        };
        expect(await accepted('twilio', delivery)).toBe(true);
        expect(
          await accepted('twilio', { ...delivery, rawBody: changeOneByte(delivery.rawBody, index, delta) }),
        ).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

/** Header values near each scheme's shapes, and anything at all. */
const headerValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', ',', '=', 'v1', 'v0=', 'sha256=', 't=', 'v1,', 'v1a,', '0', '-1', '1e3', 'NaN'),
  fc.integer({ min: NOW - 1000, max: NOW + 1000 }).map(String),
  fc.stringMatching(/^t=\d{1,12},v1=[0-9a-f]{0,70}(,v1=[0-9a-f]{0,64})?$/),
  fc.stringMatching(/^v0=[0-9a-fA-F]{60,66}$/),
  fc.stringMatching(/^sha256=[0-9a-fA-F]{60,66}$/),
  fc.stringMatching(/^(v1a?,[A-Za-z0-9+/=]{0,90} ?){1,3}$/),
  fc.stringMatching(/^[A-Za-z0-9+/]{27}=$/),
);
const headerName = fc.constantFrom(
  'stripe-signature',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'x-hub-signature-256',
  'x-github-event',
  'x-github-delivery',
  'x-twilio-signature',
  'i-twilio-idempotency-token',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  '__proto__',
  'constructor',
);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  eventBody.map((text) => new TextEncoder().encode(text)),
  fc.string().map((text) => new TextEncoder().encode(text)),
  fc
    .constantFrom(
      'payload=%7B',
      'payload=%7B%22type%22%3A1%7D',
      'command=%2Fx',
      '{"type":"url_verification"}',
      '',
    )
    .map((text) => new TextEncoder().encode(text)),
);
const url = fc.oneof(
  fc.constant(URL_OF_ROUTE),
  fc.constant(`${URL_OF_ROUTE}&bodySHA256=abc`),
  fc.webUrl({ withQueryParameters: true }),
  fc.string(),
);

describe('random deliveries', () => {
  it.each(['stripe', 'slack', 'github', 'twilio', 'standardWebhooks'] as const)(
    '%s: never throws anything but WebhookVerificationError',
    async (scheme) => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(headerName, headerValue),
          body,
          url,
          async (headers, rawBody, href) => {
            const outcome = await verifyWebhook(
              scheme,
              { rawBody, headers, url: href },
              {
                secrets: SECRETS[scheme],
                nowMs: NOW_MS,
              },
            ).catch((error: unknown) => error);
            expect(outcome).toBeInstanceOf(WebhookVerificationError);
          },
        ),
        { numRuns: RUNS * 2 },
      );
    },
  );
});

describe("the Slack verifier agrees with Bolt's verifySlackRequest", () => {
  it('on signed, wrongly signed, and wrongly timed deliveries', async () => {
    const secret = fc.oneof(fc.constant(SLACK_SECRET), fc.string({ minLength: 1, maxLength: 30 }));
    await fc.assert(
      fc.asyncProperty(
        eventBody,
        secret,
        // Bolt accepts any timestamp in the future; this verifier refuses one beyond the tolerance.
        fc.integer({ min: -900, max: 300 }),
        fc.option(fc.stringMatching(/^v0=[0-9a-f]{64}$/), { nil: undefined }),
        async (text, signedWith, offsetSeconds, forged) => {
          const signed = slackHeaders(text, signedWith, NOW + offsetSeconds);
          const headers = forged === undefined ? signed : { ...signed, 'x-slack-signature': forged };
          let bolt = true;
          try {
            verifySlackRequest({
              signingSecret: SLACK_SECRET,
              body: text,
              headers: {
                'x-slack-signature': headers['x-slack-signature'] ?? '',
                'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
              },
              nowMilliseconds: NOW_MS,
            });
          } catch {
            bolt = false;
          }
          const ours = await accepted('slack', {
            rawBody: new TextEncoder().encode(text),
            headers: { ...headers, 'content-type': 'application/json' },
            url: URL_OF_ROUTE,
          });
          expect(ours).toBe(bolt);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
