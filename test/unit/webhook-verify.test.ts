/**
 * The webhook verifiers (`functions/webhooks/verify.ts`), each checked against the independent
 * signers of test/support/webhook-signers.ts (written from the vendors' documents with node:crypto),
 * never against itself: an accepted delivery gives the vendor's event type, id and payload; a
 * tampered body, a stale timestamp (past and future), a wrong secret, a missing or malformed header
 * are refused with the right reason; the previous secret is accepted during a rotation.
 */
import { verifySlackRequest } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import type { WebhookDelivery, WebhookRefusal, WebhookScheme } from '../../functions/webhooks/types.js';
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

/** The clock of every test: a fixed instant, so no test depends on the machine's speed. */
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = unixSeconds(NOW_MS);
/** Obviously fake secrets. */
const STRIPE_SECRET = 'whsec_example_current';
const STRIPE_PREVIOUS = 'whsec_example_previous';
const SLACK_SECRET = 'slack-signing-secret-example';
const SLACK_PREVIOUS = 'slack-signing-secret-example-old';
const GITHUB_SECRET = 'github-webhook-secret-example';
const GITHUB_PREVIOUS = 'github-webhook-secret-example-old';
const TWILIO_TOKEN = 'fake-auth-token-example';
const TWILIO_PREVIOUS = 'fake-auth-token-example-old';
const SW_SECRET = newStandardWebhooksSecret();
const SW_PREVIOUS = newStandardWebhooksSecret();
const ED25519 = newEd25519Signer();

const TWILIO_URL = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/webhooks/sms?x=1';
const ROUTE_URL = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/webhooks/hook';

function delivery(body: string, headers: Record<string, string>, url = ROUTE_URL): WebhookDelivery {
  return { rawBody: new TextEncoder().encode(body), headers, url };
}

/** The reason a verification was refused with, or `accepted`. */
async function outcome(
  scheme: WebhookScheme,
  d: WebhookDelivery,
  secrets: readonly string[],
): Promise<WebhookRefusal | 'accepted'> {
  try {
    await verifyWebhook(scheme, d, { secrets, nowMs: NOW_MS });
    return 'accepted';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
}

const STRIPE_EVENT = JSON.stringify({
  id: 'evt_1Example',
  object: 'event',
  type: 'customer.created',
  data: { object: { id: 'cus_Example', object: 'customer' } },
});

describe('stripe', () => {
  const signed = (body = STRIPE_EVENT, secret = STRIPE_SECRET, t = NOW) =>
    delivery(body, {
      'stripe-signature': stripeSignatureHeader(body, secret, t),
      'content-type': 'application/json',
    });

  it('accepts a signed event with its type, id and payload', async () => {
    // Act
    const verified = await verifyWebhook('stripe', signed(), { secrets: [STRIPE_SECRET], nowMs: NOW_MS });

    // Assess
    expect(verified).toEqual({
      eventType: 'customer.created',
      eventId: 'evt_1Example',
      payload: JSON.parse(STRIPE_EVENT),
    });
  });

  it('accepts the previous secret during a rotation', async () => {
    expect(
      await outcome('stripe', signed(STRIPE_EVENT, STRIPE_PREVIOUS), [STRIPE_SECRET, STRIPE_PREVIOUS]),
    ).toBe('accepted');
  });

  it('accepts a thin event notification', async () => {
    const body = JSON.stringify({
      id: 'evt_test_thin',
      object: 'v2.core.event',
      type: 'v1.billing.meter.no_meter_found',
    });
    const verified = await verifyWebhook('stripe', signed(body), { secrets: [STRIPE_SECRET], nowMs: NOW_MS });
    expect(verified.eventType).toBe('v1.billing.meter.no_meter_found');
  });

  it.each([
    [
      'a tampered body',
      () => ({ ...signed(), rawBody: new TextEncoder().encode(STRIPE_EVENT.replace('cus_', 'cux_')) }),
      'invalid-signature',
    ],
    ['a wrong secret', () => signed(STRIPE_EVENT, 'whsec_example_wrong'), 'invalid-signature'],
    [
      'a timestamp 301 s in the past',
      () => signed(STRIPE_EVENT, STRIPE_SECRET, NOW - 301),
      'stale-timestamp',
    ],
    [
      'a timestamp 301 s in the future',
      () => signed(STRIPE_EVENT, STRIPE_SECRET, NOW + 301),
      'stale-timestamp',
    ],
    ['no Stripe-Signature', () => delivery(STRIPE_EVENT, {}), 'missing-signature'],
    ['a header without v1', () => delivery(STRIPE_EVENT, { 'stripe-signature': `t=${NOW}` }), 'malformed'],
    ['a header without t', () => delivery(STRIPE_EVENT, { 'stripe-signature': 'v1=abcdef' }), 'malformed'],
    ['a body that is not JSON', () => signed('not json'), 'malformed'],
    ['a body without id', () => signed('{"type":"x"}'), 'malformed'],
  ] as const)('refuses %s', async (_, make, reason) => {
    expect(await outcome('stripe', make(), [STRIPE_SECRET, STRIPE_PREVIOUS])).toBe(reason);
  });

  it('accepts a timestamp 300 s away either way', async () => {
    expect(await outcome('stripe', signed(STRIPE_EVENT, STRIPE_SECRET, NOW - 300), [STRIPE_SECRET])).toBe(
      'accepted',
    );
    expect(await outcome('stripe', signed(STRIPE_EVENT, STRIPE_SECRET, NOW + 300), [STRIPE_SECRET])).toBe(
      'accepted',
    );
  });
});

const SLACK_EVENT = JSON.stringify({
  token: 'tok-example',
  team_id: 'T0001',
  api_app_id: 'A0001',
  type: 'event_callback',
  event_id: 'Ev0001EXAMPLE',
  event_time: NOW,
  event: { type: 'app_mention', user: 'U0001', text: 'hello', channel: 'C0001', ts: '1.2' },
});

describe('slack', () => {
  const signed = (body = SLACK_EVENT, secret = SLACK_SECRET, t = NOW, contentType = 'application/json') =>
    delivery(body, { ...slackHeaders(body, secret, t), 'content-type': contentType });
  const form = 'application/x-www-form-urlencoded';

  it('accepts an Events API event_callback with event.type and event_id', async () => {
    const verified = await verifyWebhook('slack', signed(), { secrets: [SLACK_SECRET], nowMs: NOW_MS });
    expect(verified).toEqual({
      eventType: 'app_mention',
      eventId: 'Ev0001EXAMPLE',
      payload: JSON.parse(SLACK_EVENT),
    });
  });

  it('gives the url_verification challenge to answer', async () => {
    const body = JSON.stringify({
      token: 'tok-example',
      challenge: 'challenge-example',
      type: 'url_verification',
    });
    const verified = await verifyWebhook('slack', signed(body), { secrets: [SLACK_SECRET], nowMs: NOW_MS });
    expect(verified.challenge).toBe('challenge-example');
    expect(verified.eventType).toBe('url_verification');
  });

  it('names another envelope by its type, with the app id and timestamp as its id', async () => {
    const body = JSON.stringify({
      token: 'tok-example',
      type: 'app_rate_limited',
      team_id: 'T0001',
      api_app_id: 'A0001',
    });
    const verified = await verifyWebhook('slack', signed(body), { secrets: [SLACK_SECRET], nowMs: NOW_MS });
    expect(verified).toMatchObject({ eventType: 'app_rate_limited', eventId: `A0001:${NOW}` });
  });

  it('reads a slash command as slash_command with its trigger_id', async () => {
    const body = formBody({ command: '/deploy', text: 'prod', trigger_id: '123.456.abc', team_id: 'T0001' });
    const verified = await verifyWebhook('slack', signed(body, SLACK_SECRET, NOW, form), {
      secrets: [SLACK_SECRET],
      nowMs: NOW_MS,
    });
    expect(verified).toEqual({
      eventType: 'slash_command',
      eventId: '123.456.abc',
      payload: { command: '/deploy', text: 'prod', trigger_id: '123.456.abc', team_id: 'T0001' },
    });
  });

  it('reads an interaction payload by its type, with the body digest when it has no trigger_id', async () => {
    const interaction = { type: 'block_actions', user: { id: 'U0001' }, actions: [{ action_id: 'ok' }] };
    const body = formBody({ payload: JSON.stringify(interaction) });
    const verified = await verifyWebhook('slack', signed(body, SLACK_SECRET, NOW, form), {
      secrets: [SLACK_SECRET],
      nowMs: NOW_MS,
    });
    expect(verified.eventType).toBe('block_actions');
    expect(verified.eventId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(verified.payload).toEqual(interaction);
  });

  it('accepts the previous secret during a rotation', async () => {
    expect(await outcome('slack', signed(SLACK_EVENT, SLACK_PREVIOUS), [SLACK_SECRET, SLACK_PREVIOUS])).toBe(
      'accepted',
    );
  });

  it.each([
    [
      'a tampered body',
      () => ({ ...signed(), rawBody: new TextEncoder().encode(SLACK_EVENT.replace('hello', 'jello')) }),
      'invalid-signature',
    ],
    ['a wrong secret', () => signed(SLACK_EVENT, 'slack-wrong-secret-example'), 'invalid-signature'],
    ['a timestamp 301 s in the past', () => signed(SLACK_EVENT, SLACK_SECRET, NOW - 301), 'stale-timestamp'],
    [
      'a timestamp 301 s in the future',
      () => signed(SLACK_EVENT, SLACK_SECRET, NOW + 301),
      'stale-timestamp',
    ],
    [
      'no X-Slack-Signature',
      () => delivery(SLACK_EVENT, { 'x-slack-request-timestamp': String(NOW) }),
      'missing-signature',
    ],
    [
      'no X-Slack-Request-Timestamp',
      () => {
        const { 'x-slack-signature': signature = '' } = slackHeaders(SLACK_EVENT, SLACK_SECRET, NOW);
        return delivery(SLACK_EVENT, { 'x-slack-signature': signature });
      },
      'missing-signature',
    ],
    [
      'a signature of another version',
      () => {
        const headers = slackHeaders(SLACK_EVENT, SLACK_SECRET, NOW);
        return delivery(SLACK_EVENT, {
          ...headers,
          'x-slack-signature': headers['x-slack-signature']?.replace('v0=', 'v1=') ?? '',
        });
      },
      'malformed',
    ],
    [
      'a timestamp that is not seconds',
      () =>
        delivery(SLACK_EVENT, {
          ...slackHeaders(SLACK_EVENT, SLACK_SECRET, NOW),
          'x-slack-request-timestamp': 'soon',
        }),
      'malformed',
    ],
    ['a JSON body without type', () => signed('{"event_id":"Ev1"}'), 'malformed'],
  ] as const)('refuses %s', async (_, make, reason) => {
    expect(await outcome('slack', make(), [SLACK_SECRET, SLACK_PREVIOUS])).toBe(reason);
  });

  it("agrees with Bolt's verifySlackRequest on a signed and a wrongly signed delivery", async () => {
    const good = slackHeaders(SLACK_EVENT, SLACK_SECRET, NOW);
    const bolt = (signature: string) => () =>
      verifySlackRequest({
        signingSecret: SLACK_SECRET,
        body: SLACK_EVENT,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': NOW },
        nowMilliseconds: NOW_MS,
      });
    expect(bolt(good['x-slack-signature'] ?? '')).not.toThrow();
    expect(await outcome('slack', signed(), [SLACK_SECRET])).toBe('accepted');
    expect(bolt(`v0=${'0'.repeat(64)}`)).toThrow();
    expect(await outcome('slack', signed(SLACK_EVENT, 'slack-wrong-secret-example'), [SLACK_SECRET])).toBe(
      'invalid-signature',
    );
  });
});

const GITHUB_EVENT = JSON.stringify({
  action: 'opened',
  issue: { number: 1, title: 'Example' },
  repository: { full_name: 'octo-org/hello-world' },
});

describe('github', () => {
  const signed = (body = GITHUB_EVENT, secret = GITHUB_SECRET, extra: Record<string, string> = {}) =>
    delivery(body, {
      'x-hub-signature-256': githubSignatureHeader(body, secret),
      'x-github-event': 'issues',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'content-type': 'application/json',
      ...extra,
    });

  it('accepts a signed delivery as <event>.<action> with the delivery id', async () => {
    const verified = await verifyWebhook('github', signed(), { secrets: [GITHUB_SECRET], nowMs: NOW_MS });
    expect(verified).toEqual({
      eventType: 'issues.opened',
      eventId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      payload: JSON.parse(GITHUB_EVENT),
    });
  });

  it('names an event without action by its header alone', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const verified = await verifyWebhook(
      'github',
      signed(body, GITHUB_SECRET, { 'x-github-event': 'ping' }),
      {
        secrets: [GITHUB_SECRET],
      },
    );
    expect(verified.eventType).toBe('ping');
  });

  it('reads a form-encoded delivery from its payload parameter', async () => {
    const body = formBody({ payload: GITHUB_EVENT });
    const d = signed(body, GITHUB_SECRET, { 'content-type': 'application/x-www-form-urlencoded' });
    const verified = await verifyWebhook('github', d, { secrets: [GITHUB_SECRET] });
    expect(verified.payload).toEqual(JSON.parse(GITHUB_EVENT));
  });

  it('accepts the previous secret during a rotation', async () => {
    expect(
      await outcome('github', signed(GITHUB_EVENT, GITHUB_PREVIOUS), [GITHUB_SECRET, GITHUB_PREVIOUS]),
    ).toBe('accepted');
  });

  it.each([
    [
      'a tampered body',
      () => ({ ...signed(), rawBody: new TextEncoder().encode(GITHUB_EVENT.replace('opened', 'closed')) }),
      'invalid-signature',
    ],
    ['a wrong secret', () => signed(GITHUB_EVENT, 'github-wrong-secret-example'), 'invalid-signature'],
    [
      'no X-Hub-Signature-256',
      () => delivery(GITHUB_EVENT, { 'x-github-event': 'issues', 'x-github-delivery': 'd1' }),
      'missing-signature',
    ],
    [
      'a SHA-1 signature',
      () => signed(GITHUB_EVENT, GITHUB_SECRET, { 'x-hub-signature-256': `sha1=${'a'.repeat(40)}` }),
      'malformed',
    ],
    [
      'no X-GitHub-Delivery',
      () => signed(GITHUB_EVENT, GITHUB_SECRET, { 'x-github-delivery': '' }),
      'malformed',
    ],
    ['a body that is not JSON', () => signed('not json'), 'malformed'],
  ] as const)('refuses %s', async (_, make, reason) => {
    expect(await outcome('github', make(), [GITHUB_SECRET, GITHUB_PREVIOUS])).toBe(reason);
  });
});

const TWILIO_STATUS = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  SmsSid: 'SM0123456789abcdef0123456789abcdef',
  AccountSid: `AC${'a'.repeat(32)}`,
  MessageStatus: 'delivered',
  SmsStatus: 'delivered',
  To: '+15005550006',
  From: '+15005550001',
};

describe('twilio', () => {
  const signed = (
    params: Record<string, string> = TWILIO_STATUS,
    token = TWILIO_TOKEN,
    extra: Record<string, string> = {},
  ) =>
    delivery(
      formBody(params),
      {
        'x-twilio-signature': twilioSignature(TWILIO_URL, params, token),
        'content-type': 'application/x-www-form-urlencoded',
        ...extra,
      },
      TWILIO_URL,
    );

  it('accepts a signed status callback as message.status, SID and status as its id', async () => {
    const verified = await verifyWebhook('twilio', signed(), { secrets: [TWILIO_TOKEN] });
    expect(verified).toEqual({
      eventType: 'message.status',
      eventId: 'SM0123456789abcdef0123456789abcdef:delivered',
      payload: TWILIO_STATUS,
    });
  });

  it('takes I-Twilio-Idempotency-Token as the id when sent', async () => {
    const d = signed(TWILIO_STATUS, TWILIO_TOKEN, { 'i-twilio-idempotency-token': 'idem-example-1' });
    expect((await verifyWebhook('twilio', d, { secrets: [TWILIO_TOKEN] })).eventId).toBe('idem-example-1');
  });

  it.each([
    [
      'an inbound message',
      { MessageSid: 'SM1', SmsSid: 'SM1', SmsStatus: 'received', Body: 'hi', From: '+1', To: '+2' },
      'message.incoming',
    ],
    [
      'an inbound call',
      { CallSid: 'CA1', CallStatus: 'ringing', Direction: 'inbound', From: '+1', To: '+2' },
      'call.incoming',
    ],
    [
      'a call status callback',
      {
        CallSid: 'CA1',
        CallStatus: 'completed',
        CallbackSource: 'call-progress-events',
        Direction: 'outbound-api',
      },
      'call.status',
    ],
    ['anything else', { AccountSid: 'AC1', ErrorCode: '11200' }, 'twilio.callback'],
  ] as const)('names %s %s', async (_, params, eventType) => {
    expect((await verifyWebhook('twilio', signed(params), { secrets: [TWILIO_TOKEN] })).eventType).toBe(
      eventType,
    );
  });

  it('accepts the previous auth token during a rotation', async () => {
    expect(
      await outcome('twilio', signed(TWILIO_STATUS, TWILIO_PREVIOUS), [TWILIO_TOKEN, TWILIO_PREVIOUS]),
    ).toBe('accepted');
  });

  it('verifies a JSON body signed through bodySHA256', async () => {
    const body = JSON.stringify({ MessageSid: 'SM1', MessageStatus: 'sent' });
    const { createHash } = await import('node:crypto');
    const url = `${TWILIO_URL}&bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const d = delivery(body, { 'x-twilio-signature': twilioSignature(url, {}, TWILIO_TOKEN) }, url);
    const verified = await verifyWebhook('twilio', d, { secrets: [TWILIO_TOKEN] });
    expect(verified).toMatchObject({ eventType: 'message.status', eventId: 'SM1:sent' });
    const tampered = { ...d, rawBody: new TextEncoder().encode(body.replace('sent', 'read')) };
    expect(await outcome('twilio', tampered, [TWILIO_TOKEN])).toBe('invalid-signature');
  });

  it.each([
    [
      'a tampered body',
      () => ({
        ...signed(),
        rawBody: new TextEncoder().encode(formBody({ ...TWILIO_STATUS, MessageStatus: 'failed' })),
      }),
      'invalid-signature',
    ],
    ['a wrong auth token', () => signed(TWILIO_STATUS, 'fake-wrong-token-example'), 'invalid-signature'],
    ['another URL', () => ({ ...signed(), url: TWILIO_URL.replace('x=1', 'x=2') }), 'invalid-signature'],
    ['no X-Twilio-Signature', () => delivery(formBody(TWILIO_STATUS), {}, TWILIO_URL), 'missing-signature'],
    [
      'a signature that is not base64 of 20 bytes',
      () => signed(TWILIO_STATUS, TWILIO_TOKEN, { 'x-twilio-signature': 'abc' }),
      'malformed',
    ],
  ] as const)('refuses %s', async (_, make, reason) => {
    expect(await outcome('twilio', make(), [TWILIO_TOKEN, TWILIO_PREVIOUS])).toBe(reason);
  });
});

const SW_EVENT = JSON.stringify({
  type: 'invoice.paid',
  timestamp: '2026-01-15T12:00:00Z',
  data: { id: 'inv_1' },
});
const SW_ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

describe('standardWebhooks', () => {
  const signed = (body = SW_EVENT, secret = SW_SECRET, t = NOW) =>
    delivery(body, standardWebhooksHeaders(SW_ID, body, secret, t));

  it('accepts a v1 (HMAC-SHA256) delivery with its type and webhook-id', async () => {
    const verified = await verifyWebhook('standardWebhooks', signed(), {
      secrets: [SW_SECRET],
      nowMs: NOW_MS,
    });
    expect(verified).toEqual({ eventType: 'invoice.paid', eventId: SW_ID, payload: JSON.parse(SW_EVENT) });
  });

  it('accepts a v1a (Ed25519) delivery with the whpk_ public key', async () => {
    const d = delivery(SW_EVENT, standardWebhooksEd25519Headers(SW_ID, SW_EVENT, ED25519.privateKey, NOW));
    expect(await outcome('standardWebhooks', d, [SW_SECRET, ED25519.publicKey])).toBe('accepted');
    expect(await outcome('standardWebhooks', d, [SW_SECRET])).toBe('invalid-signature');
    const tampered = { ...d, rawBody: new TextEncoder().encode(SW_EVENT.replace('paid', 'void')) };
    expect(await outcome('standardWebhooks', tampered, [ED25519.publicKey])).toBe('invalid-signature');
  });

  it('accepts any of several signatures in the header', async () => {
    const headers = standardWebhooksHeaders(SW_ID, SW_EVENT, SW_SECRET, NOW);
    const d = delivery(SW_EVENT, {
      ...headers,
      'webhook-signature': `v1,${'A'.repeat(44)} v2,xyz ${headers['webhook-signature']}`,
    });
    expect(await outcome('standardWebhooks', d, [SW_SECRET])).toBe('accepted');
  });

  it('accepts the previous secret during a rotation', async () => {
    expect(await outcome('standardWebhooks', signed(SW_EVENT, SW_PREVIOUS), [SW_SECRET, SW_PREVIOUS])).toBe(
      'accepted',
    );
  });

  it.each([
    [
      'a tampered body',
      () => ({ ...signed(), rawBody: new TextEncoder().encode(SW_EVENT.replace('inv_1', 'inv_2')) }),
      'invalid-signature',
    ],
    ['a wrong secret', () => signed(SW_EVENT, newStandardWebhooksSecret()), 'invalid-signature'],
    [
      'another webhook-id',
      () => ({ ...signed(), headers: { ...signed().headers, 'webhook-id': 'msg_other' } }),
      'invalid-signature',
    ],
    ['a timestamp 301 s in the past', () => signed(SW_EVENT, SW_SECRET, NOW - 301), 'stale-timestamp'],
    ['a timestamp 301 s in the future', () => signed(SW_EVENT, SW_SECRET, NOW + 301), 'stale-timestamp'],
    [
      'no webhook-signature',
      () => delivery(SW_EVENT, { 'webhook-id': SW_ID, 'webhook-timestamp': String(NOW) }),
      'missing-signature',
    ],
    [
      'no webhook-timestamp',
      () => delivery(SW_EVENT, { 'webhook-id': SW_ID, 'webhook-signature': 'v1,abc=' }),
      'missing-signature',
    ],
    [
      'a signature without version',
      () => ({ ...signed(), headers: { ...signed().headers, 'webhook-signature': 'nonsense' } }),
      'malformed',
    ],
    ['a body that is not JSON', () => signed('not json'), 'malformed'],
  ] as const)('refuses %s', async (_, make, reason) => {
    expect(await outcome('standardWebhooks', make(), [SW_SECRET, SW_PREVIOUS])).toBe(reason);
  });
});

describe('every scheme', () => {
  it('honours a tolerance and clock given in the options', async () => {
    const body = SW_EVENT;
    const d = delivery(body, standardWebhooksHeaders(SW_ID, body, SW_SECRET, NOW - 30));
    await expect(
      verifyWebhook('standardWebhooks', d, { secrets: [SW_SECRET], nowMs: NOW_MS, toleranceSeconds: 10 }),
    ).rejects.toMatchObject({ reason: 'stale-timestamp' });
    await expect(
      verifyWebhook('standardWebhooks', d, { secrets: [SW_SECRET], nowMs: NOW_MS, toleranceSeconds: 30 }),
    ).resolves.toMatchObject({ eventId: SW_ID });
  });

  it('refuses a body that is not UTF-8 as malformed', async () => {
    const d = {
      ...delivery(GITHUB_EVENT, {
        'x-hub-signature-256': githubSignatureHeader(GITHUB_EVENT, GITHUB_SECRET),
        'x-github-event': 'issues',
        'x-github-delivery': 'd1',
      }),
      rawBody: Uint8Array.from([0x7b, 0xff, 0x7d]),
    };
    expect(await outcome('github', d, [GITHUB_SECRET])).toBe('malformed');
  });

  it('never puts a secret or the signature in what it throws', async () => {
    const d = delivery(STRIPE_EVENT, {
      'stripe-signature': stripeSignatureHeader(STRIPE_EVENT, 'whsec_example_wrong', NOW),
    });
    const error = await verifyWebhook('stripe', d, { secrets: [STRIPE_SECRET], nowMs: NOW_MS }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookVerificationError);
    const text = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ''}`;
    expect(text).not.toContain(STRIPE_SECRET);
    expect(text).not.toContain(d.headers['stripe-signature']?.split('v1=')[1] ?? 'none');
    expect((error as Error).cause).toBeUndefined();
  });

  it.each([
    ['no secret', []],
    ['an empty secret', ['']],
  ] as const)('refuses a configuration with %s as CONFIGURATION_ERROR', async (_, secrets) => {
    const error = await verifyWebhook('github', delivery('{}', {}), { secrets }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('CONFIGURATION_ERROR');
  });

  it('refuses an unknown scheme as CONFIGURATION_ERROR', async () => {
    const error = await verifyWebhook('mailgun' as WebhookScheme, delivery('{}', {}), {
      secrets: ['k'],
    }).catch((e: unknown) => e);
    expect((error as ConnectorError).code).toBe('CONFIGURATION_ERROR');
  });

  it('refuses a Standard Webhooks secret that is not base64 as CONFIGURATION_ERROR', async () => {
    const error = await verifyWebhook('standardWebhooks', signed(), {
      secrets: ['whsec_not-base64!'],
      nowMs: NOW_MS,
    }).catch((e: unknown) => e);
    expect((error as ConnectorError).code).toBe('CONFIGURATION_ERROR');
    expect((error as Error).message).not.toContain('not-base64');
  });

  it('refuses a Standard Webhooks whpk_ key of the wrong length as CONFIGURATION_ERROR', async () => {
    const error = await verifyWebhook('standardWebhooks', signed(), {
      secrets: ['whpk_AAAA'],
      nowMs: NOW_MS,
    }).catch((e: unknown) => e);
    expect((error as ConnectorError).code).toBe('CONFIGURATION_ERROR');
  });

  function signed() {
    return delivery(SW_EVENT, standardWebhooksHeaders(SW_ID, SW_EVENT, SW_SECRET, NOW));
  }
});
