/**
 * Inbound webhooks end to end, as a new user tries them under `npm start`: the local gateway with
 * the real verifier, the local secrets file, the embedded DynamoDB and the local bus. Every delivery
 * is signed by the independent signers of test/support/webhook-signers.ts, sent over HTTP to
 * `POST /v1/webhooks/{connector}`, and looked for with `GET /v1/webhooks`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../functions/webhooks/core.js';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import { type LocalWebhookEvent, LocalWebhookEvents } from '../../local/webhooks.js';
import {
  captureOutput,
  suiteConfig,
  type TempSecrets,
  writeTempSecrets,
} from '../support/integration-helpers.js';
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

/** Obviously fake signing secrets. */
const STRIPE_SECRET = 'whsec_example_stripe';
const GITHUB_SECRET = 'example-github-webhook-secret';
const SLACK_SECRET = 'example-slack-signing-secret';
const TWILIO_TOKEN = 'example-twilio-auth-token';
const STANDARD_SECRET = newStandardWebhooksSecret();
const ED25519 = newEd25519Signer();

/** A bus whose `publish` can be made to fail, as a failing `PutEvents` would. */
class FlakyBus extends LocalWebhookEvents {
  failures = 0;

  override async publish(event: WebhookEvent): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('PutEvents: InternalFailure');
    }
    await super.publish(event);
  }
}

describe('inbound webhooks under the local gateway', () => {
  let gateway: LocalGateway;
  let secrets: TempSecrets;
  const bus = new FlakyBus();

  beforeAll(async () => {
    captureOutput();
    secrets = await writeTempSecrets({
      'shop-webhook': { signingSecret: STRIPE_SECRET },
      'code-webhook': { signingSecret: GITHUB_SECRET },
      'chat-webhook': { signingSecret: SLACK_SECRET },
      'sms-webhook': { signingSecret: TWILIO_TOKEN },
      'orders-webhook': { signingSecret: STANDARD_SECRET, previousSigningSecret: ED25519.publicKey },
    });
    const config = suiteConfig({
      connectors: [
        { name: 'shop', kind: 'stripe', secret: 'shop', webhook: { secret: 'shop-webhook' } },
        { name: 'code', kind: 'github', secret: 'code', webhook: { secret: 'code-webhook' } },
        { name: 'chat', kind: 'slack', secret: 'chat', webhook: { secret: 'chat-webhook' } },
        { name: 'sms', kind: 'twilio', secret: 'sms', webhook: { secret: 'sms-webhook' } },
        {
          name: 'orders',
          kind: 'http',
          baseUrl: 'https://orders.example.com',
          allowedPathPrefixes: ['/v1'],
          webhook: { scheme: 'standardWebhooks', secret: 'orders-webhook' },
        },
      ],
    });
    gateway = await startLocalGateway({ config, credentials: secrets.store, port: 0, webhookEvents: bus });
  });

  afterAll(async () => {
    await gateway?.close();
    await secrets?.cleanup();
  });

  function post(connector: string, body: string, headers: Record<string, string>, query = '') {
    return fetch(`${gateway.url}/v1/webhooks/${connector}${query}`, { method: 'POST', headers, body });
  }

  /** The `Webhook Received` events of `connector` on the local bus, as a user lists them. */
  async function received(connector: string): Promise<LocalWebhookEvent[]> {
    const answer = await fetch(`${gateway.url}/v1/webhooks?connector=${connector}`);
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { events: LocalWebhookEvent[] }).events;
  }

  async function receivedWithId(connector: string, eventId: string): Promise<LocalWebhookEvent[]> {
    return (await received(connector)).filter((event) => event.detail.eventId === eventId);
  }

  function stripeDelivery(id = `evt_${randomUUID()}`) {
    const body = JSON.stringify({
      id,
      object: 'event',
      type: 'customer.created',
      data: { object: { id: 'cus_1' } },
    });
    return {
      id,
      body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripeSignatureHeader(body, STRIPE_SECRET),
      },
    };
  }

  it('accepts a Stripe-signed delivery and puts a Webhook Received event on the bus', async () => {
    // Prepare
    const { id, body, headers } = stripeDelivery();

    // Act
    const answer = await post('shop', body, headers);

    // Assess
    expect(answer.status).toBe(200);
    const events = await receivedWithId('shop', id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      'detail-type': 'Webhook Received',
      source: 'connector-suite.webhooks',
      detail: { connector: 'shop', vendor: 'stripe', eventType: 'customer.created', eventId: id },
    });
    expect(events[0]?.detail.payload).toMatchObject({ id });
  });

  it('accepts a GitHub-signed delivery', async () => {
    // Prepare
    const delivery = randomUUID();
    const body = JSON.stringify({ action: 'opened', issue: { number: 1 } });

    // Act
    const answer = await post('code', body, {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': githubSignatureHeader(body, GITHUB_SECRET),
    });

    // Assess
    expect(answer.status).toBe(200);
    const events = await receivedWithId('code', delivery);
    expect(events.map((e) => [e.detail.vendor, e.detail.eventType])).toEqual([['github', 'issues.opened']]);
  });

  it('accepts a Slack-signed event callback', async () => {
    // Prepare
    const eventId = `Ev${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    const body = JSON.stringify({
      type: 'event_callback',
      api_app_id: 'A0EXAMPLE',
      event_id: eventId,
      event: { type: 'app_mention', text: 'hello' },
    });

    // Act
    const answer = await post('chat', body, {
      'content-type': 'application/json',
      ...slackHeaders(body, SLACK_SECRET),
    });

    // Assess
    expect(answer.status).toBe(200);
    const events = await receivedWithId('chat', eventId);
    expect(events.map((e) => e.detail.eventType)).toEqual(['app_mention']);
  });

  it("answers Slack's URL verification challenge and publishes nothing", async () => {
    // Prepare
    const before = (await received('chat')).length;
    const body = JSON.stringify({
      token: 'example',
      challenge: 'challenge-example-3eZbrw1a',
      type: 'url_verification',
    });

    // Act
    const answer = await post('chat', body, {
      'content-type': 'application/json',
      ...slackHeaders(body, SLACK_SECRET),
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ challenge: 'challenge-example-3eZbrw1a' });
    expect(await received('chat')).toHaveLength(before);
  });

  it('accepts a Twilio-signed status callback and answers the empty TwiML', async () => {
    // Prepare
    const sid = `SM${randomUUID().replaceAll('-', '')}`;
    const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: 'AC0example' };
    const body = formBody(params);
    const url = `${gateway.url}/v1/webhooks/sms`;

    // Act
    const answer = await post('sms', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(url, params, TWILIO_TOKEN),
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/xml');
    expect(await answer.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    const events = await receivedWithId('sms', `${sid}:delivered`);
    expect(events.map((e) => [e.detail.vendor, e.detail.eventType])).toEqual([['twilio', 'message.status']]);
  });

  it.each([
    ['v1 (HMAC-SHA256)', (id: string, body: string) => standardWebhooksHeaders(id, body, STANDARD_SECRET)],
    [
      'v1a (Ed25519)',
      (id: string, body: string) => standardWebhooksEd25519Headers(id, body, ED25519.privateKey),
    ],
  ])('accepts a Standard Webhooks %s delivery on an http connector', async (_label, sign) => {
    // Prepare
    const id = `msg_${randomUUID()}`;
    const body = JSON.stringify({ type: 'order.paid', data: { order: 42 } });

    // Act
    const answer = await post('orders', body, { 'content-type': 'application/json', ...sign(id, body) });

    // Assess
    expect(answer.status).toBe(200);
    const events = await receivedWithId('orders', id);
    expect(events.map((e) => [e.detail.vendor, e.detail.eventType])).toEqual([
      ['standardWebhooks', 'order.paid'],
    ]);
  });

  it.each([
    [
      'a tampered body',
      () => {
        const { id, body, headers } = stripeDelivery();
        return {
          id,
          body: body.replace('customer.created', 'customer.deleted'),
          headers,
          reason: 'invalid-signature',
        };
      },
    ],
    [
      'a stale timestamp',
      () => {
        const id = `evt_${randomUUID()}`;
        const body = JSON.stringify({ id, object: 'event', type: 'customer.created' });
        const stale = unixSeconds() - 3_600;
        const headers = {
          'content-type': 'application/json',
          'stripe-signature': stripeSignatureHeader(body, STRIPE_SECRET, stale),
        };
        return { id, body, headers, reason: 'stale-timestamp' };
      },
    ],
    [
      'a wrong secret',
      () => {
        const id = `evt_${randomUUID()}`;
        const body = JSON.stringify({ id, object: 'event', type: 'customer.created' });
        const headers = {
          'content-type': 'application/json',
          'stripe-signature': stripeSignatureHeader(body, 'whsec_not_the_secret'),
        };
        return { id, body, headers, reason: 'invalid-signature' };
      },
    ],
  ])('refuses %s with 401 and publishes nothing', async (_label, make) => {
    // Prepare
    const { id, body, headers, reason } = make();

    // Act
    const answer = await post('shop', body, headers);

    // Assess
    expect(answer.status).toBe(401);
    const { error } = (await answer.json()) as { error: { code: string; details: { reason: string } } };
    expect(error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(error.details.reason).toBe(reason);
    expect(await receivedWithId('shop', id)).toHaveLength(0);
  });

  it('publishes the same delivery sent twice once', async () => {
    // Prepare
    const { id, body, headers } = stripeDelivery();

    // Act
    const first = await post('shop', body, headers);
    const second = await post('shop', body, headers);

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ received: true, duplicate: true });
    expect(await receivedWithId('shop', id)).toHaveLength(1);
  });

  it('answers 404 NOT_FOUND for a connector without a webhook route', async () => {
    // Act
    const answer = await post('nobody', '{}', { 'content-type': 'application/json' });

    // Assess
    expect(answer.status).toBe(404);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it("answers 503 while PutEvents fails, then publishes the vendor's retry once", async () => {
    // Prepare
    const { id, body, headers } = stripeDelivery();
    bus.failures = 1;

    // Act
    const failed = await post('shop', body, headers);
    const retried = await post('shop', body, headers);
    const retriedAgain = await post('shop', body, headers);

    // Assess
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: { code: string } }).error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(retried.status).toBe(200);
    expect(retriedAgain.status).toBe(200);
    expect(await receivedWithId('shop', id)).toHaveLength(1);
  });
});
