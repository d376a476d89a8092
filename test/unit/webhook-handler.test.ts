/**
 * The webhook route's core (functions/webhooks/core.ts) with a fake verifier, a fake bus and the
 * embedded DynamoDB: routing, the raw bytes handed to the verifier, refusals, rotation, challenge,
 * TwiML, deduplication and the dependency failures that must leave the delivery to the vendor's retry.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { configurationError } from '../../functions/shared/errors.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import {
  createWebhookHandler,
  EMPTY_TWIML,
  type VerifyWebhook,
  WEBHOOK_RECEIVED,
  type WebhookDependencies,
  type WebhookEvent,
  type WebhookRoute,
} from '../../functions/webhooks/core.js';
import type { VerifiedWebhook, WebhookDelivery, WebhookRefusal } from '../../functions/webhooks/types.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../local/dynamodb.js';
import { webhookProxyEvent } from '../../local/webhooks.js';
import { captureOutput, lambdaContext } from '../support/fakes.js';

const SIGNING_SECRET = 'whsec-example-current';
const PREVIOUS_SECRET = 'whsec-example-previous';

function route(connector: string, scheme: WebhookRoute['webhook']['scheme'], extra = {}): WebhookRoute {
  return {
    connector,
    webhook: {
      scheme,
      secret: `${connector}-webhook`,
      toleranceSeconds: 300,
      dedupeWindowSeconds: 3_600,
      ...extra,
    },
  };
}

/** A credential store over a map the test can change (a rotation), counting forced reads. */
function secrets(initial: Record<string, SecretValue>) {
  const values = { ...initial };
  const forced: string[] = [];
  const store: CredentialStore = {
    async getSecret(name: string, options: GetSecretOptions = {}) {
      if (options.forceRefresh) forced.push(name);
      const value = values[name];
      if (!value) throw configurationError(`Secret '${name}' not found.`);
      return value;
    },
  };
  return { store, values, forced };
}

class Refusal extends Error {
  constructor(readonly reason: WebhookRefusal) {
    super(reason);
  }
}

/** A verifier that accepts a delivery whose `x-test-signature` header names one of the secrets. */
function fakeVerifier(answer: (delivery: WebhookDelivery) => Partial<VerifiedWebhook> = () => ({})) {
  const seen: Array<{ delivery: WebhookDelivery; secrets: readonly string[] }> = [];
  const verify: VerifyWebhook = async (_scheme, delivery, options) => {
    seen.push({ delivery, secrets: options.secrets });
    const signature = delivery.headers['x-test-signature'];
    if (signature === undefined) throw new Refusal('missing-signature');
    if (signature === 'stale') throw new Refusal('stale-timestamp');
    if (signature === 'garbled') throw new Refusal('malformed');
    if (!options.secrets.includes(signature)) throw new Refusal('invalid-signature');
    const id = delivery.headers['x-test-id'] ?? 'evt_1';
    return { eventType: 'thing.happened', eventId: id, payload: { id }, ...answer(delivery) };
  };
  return { verify, seen };
}

/** A bus that keeps what it is given, and fails the next `failures` publications. */
function fakeBus() {
  const events: WebhookEvent[] = [];
  let failures = 0;
  return {
    events,
    failNext(count: number) {
      failures = count;
    },
    bus: {
      async publish(event: WebhookEvent) {
        if (failures > 0) {
          failures -= 1;
          throw new Error('PutEvents refused an entry: InternalFailure');
        }
        events.push(event);
      },
    },
  };
}

let dynamo: LocalDynamoDB;
beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
});
afterAll(async () => {
  await dynamo?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

let uniqueId = 0;
/** A fresh event id per test, so that records of one test never answer another's deliveries. */
function nextId(): string {
  uniqueId += 1;
  return `evt_${Date.now()}_${uniqueId}`;
}

function build(overrides: Partial<WebhookDependencies> = {}) {
  const credentials = secrets({
    'shop-webhook': { signingSecret: SIGNING_SECRET },
    'sms-webhook': { signingSecret: SIGNING_SECRET },
    'chat-webhook': { signingSecret: SIGNING_SECRET },
  });
  const verifier = fakeVerifier();
  const bus = fakeBus();
  const handler = createWebhookHandler({
    routes: [route('shop', 'stripe'), route('sms', 'twilio'), route('chat', 'slack')],
    credentials: credentials.store,
    verify: verifier.verify,
    idempotency: { dynamoClient: dynamo.client, tableName: dynamo.tableName },
    bus: bus.bus,
    powertools: createPowertools({ serviceName: 'webhook-test' }),
    ...overrides,
  });
  return { handler, credentials, verifier, bus };
}

function deliver(
  handler: ReturnType<typeof build>['handler'],
  options: {
    connector?: string;
    headers?: Record<string, string>;
    body?: Uint8Array | string;
    query?: Array<[string, string]>;
  } = {},
): Promise<APIGatewayProxyResult> {
  const body = options.body ?? '{"id":"evt_1"}';
  return handler(
    webhookProxyEvent({
      connector: options.connector ?? 'shop',
      headers: Object.entries({ 'content-type': 'application/json', ...options.headers }),
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
      ...(options.query ? { query: options.query } : {}),
      requestId: 'req-webhook',
    }),
    lambdaContext(),
  );
}

function errorOf(result: APIGatewayProxyResult) {
  return (JSON.parse(result.body) as { error: { code: string; details?: { reason?: string } } }).error;
}

describe('the webhook route', () => {
  it('publishes one Webhook Received event for a verified delivery and answers 200', async () => {
    // Prepare
    captureOutput();
    const { handler, bus } = build();
    const id = nextId();

    // Act
    const result = await deliver(handler, {
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': id },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ received: true, duplicate: false });
    expect(bus.events).toHaveLength(1);
    expect(bus.events[0]).toMatchObject({
      detailType: WEBHOOK_RECEIVED,
      source: 'connector-suite.webhooks',
      detail: {
        connector: 'shop',
        vendor: 'stripe',
        eventType: 'thing.happened',
        eventId: id,
        payload: { id },
      },
    });
    expect(Date.parse(bus.events[0]?.detail.receivedAt ?? '')).not.toBeNaN();
  });

  it('publishes the same delivery once: a replay answers 200 and publishes nothing', async () => {
    // Prepare
    captureOutput();
    const { handler, bus } = build();
    const headers = { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId() };

    // Act
    const first = await deliver(handler, { headers });
    const second = await deliver(handler, { headers });

    // Assess
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(JSON.parse(second.body)).toEqual({ received: true, duplicate: true });
    expect(bus.events).toHaveLength(1);
  });

  it('answers 404 NOT_FOUND for a connector without a webhook, publishing nothing', async () => {
    // Prepare
    captureOutput();
    const { handler, bus, verifier } = build();

    // Act
    const result = await deliver(handler, {
      connector: 'nobody',
      headers: { 'x-test-signature': SIGNING_SECRET },
    });

    // Assess
    expect(result.statusCode).toBe(404);
    expect(errorOf(result).code).toBe('NOT_FOUND');
    expect(verifier.seen).toHaveLength(0);
    expect(bus.events).toHaveLength(0);
  });

  it.each([
    ['missing-signature', {}],
    ['invalid-signature', { 'x-test-signature': 'not-the-secret' }],
    ['stale-timestamp', { 'x-test-signature': 'stale' }],
  ] as const)(
    'refuses a delivery with %s: 401 WEBHOOK_SIGNATURE_INVALID, nothing published',
    async (reason, headers) => {
      // Prepare
      const output = captureOutput();
      const { handler, bus } = build();

      // Act
      const result = await deliver(handler, { headers });

      // Assess
      expect(result.statusCode).toBe(401);
      expect(errorOf(result)).toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID', details: { reason } });
      expect(bus.events).toHaveLength(0);
      const line = output.lines().find((l) => l.message === 'webhook');
      expect(line).toMatchObject({ connector: 'shop', outcome: 'refused', reason, status: 401 });
      expect(output.text()).not.toContain(SIGNING_SECRET);
    },
  );

  it.each([
    ['stale-timestamp', 'stale'],
    ['malformed', 'garbled'],
  ])(
    'does not re-read the secret after a %s refusal, which no newer secret mends',
    async (_reason, signature) => {
      // Prepare
      captureOutput();
      const { handler, credentials } = build();

      // Act
      const result = await deliver(handler, { headers: { 'x-test-signature': signature } });

      // Assess
      expect(result.statusCode).toBe(401);
      expect(credentials.forced).toEqual([]);
    },
  );

  it('accepts the previous signing secret during a rotation', async () => {
    // Prepare
    captureOutput();
    const { handler, bus, credentials } = build();
    credentials.values['shop-webhook'] = {
      signingSecret: SIGNING_SECRET,
      previousSigningSecret: PREVIOUS_SECRET,
    };

    // Act
    const result = await deliver(handler, {
      headers: { 'x-test-signature': PREVIOUS_SECRET, 'x-test-id': nextId() },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bus.events).toHaveLength(1);
  });

  it('re-reads the secret once after a refusal, so a secret rotated since it was cached is used', async () => {
    // Prepare
    captureOutput();
    const { handler, bus, credentials, verifier } = build();
    const rotated = 'whsec-example-rotated';
    credentials.values['shop-webhook'] = { signingSecret: rotated };
    // The store's cache still answers the old value to a plain read.
    const plain = credentials.store.getSecret.bind(credentials.store);
    credentials.store.getSecret = async (name, options = {}) =>
      options.forceRefresh ? plain(name, options) : { signingSecret: SIGNING_SECRET };

    // Act
    const result = await deliver(handler, {
      headers: { 'x-test-signature': rotated, 'x-test-id': nextId() },
    });
    const refused = await deliver(handler, { headers: { 'x-test-signature': 'still-wrong' } });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bus.events).toHaveLength(1);
    expect(credentials.forced).toEqual(['shop-webhook']);
    // A second refusal within the interval does not read the store again.
    expect(refused.statusCode).toBe(401);
    expect(credentials.forced).toEqual(['shop-webhook']);
    expect(verifier.seen.map((s) => s.secrets)).toEqual([[SIGNING_SECRET], [rotated], [SIGNING_SECRET]]);
  });

  it('hands the verifier the exact bytes of a body that is not UTF-8, and the URL called', async () => {
    // Prepare
    captureOutput();
    const { handler, verifier } = build();
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7b, 0x7d, 0xc3]);

    // Act
    await deliver(handler, {
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId(), host: 'example.test' },
      body: bytes,
      query: [['a', '1']],
    });

    // Assess
    expect(Buffer.from(verifier.seen[0]?.delivery.rawBody ?? [])).toEqual(Buffer.from(bytes));
    expect(verifier.seen[0]?.delivery.headers['x-test-signature']).toBe(SIGNING_SECRET);
    expect(verifier.seen[0]?.delivery.url).toMatch(/^https:\/\/.+\/local\/v1\/webhooks\/shop\?a=1$/);
  });

  it('uses the connector publicUrl as the URL the vendor signed, query appended', async () => {
    // Prepare
    captureOutput();
    const { handler, verifier } = build({
      routes: [route('shop', 'stripe', { publicUrl: 'https://hooks.example.com/stripe' })],
    });

    // Act
    await deliver(handler, {
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId() },
      query: [['x', 'y z']],
    });

    // Assess
    expect(verifier.seen[0]?.delivery.url).toBe('https://hooks.example.com/stripe?x=y+z');
  });

  it("answers Slack's URL verification challenge and publishes nothing", async () => {
    // Prepare
    captureOutput();
    const verifier = fakeVerifier(() => ({ challenge: 'challenge-example', eventType: 'url_verification' }));
    const { handler, bus } = build({ verify: verifier.verify });

    // Act
    const result = await deliver(handler, {
      connector: 'chat',
      headers: { 'x-test-signature': SIGNING_SECRET },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ challenge: 'challenge-example' });
    expect(bus.events).toHaveLength(0);
  });

  it('answers Twilio with the empty TwiML document', async () => {
    // Prepare
    captureOutput();
    const { handler, bus } = build();

    // Act
    const result = await deliver(handler, {
      connector: 'sms',
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId() },
    });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('text/xml');
    expect(result.body).toBe(EMPTY_TWIML);
    expect(bus.events).toHaveLength(1);
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE when the bus fails, and publishes the retry once', async () => {
    // Prepare
    const output = captureOutput();
    const { handler, bus } = build();
    const headers = { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId() };
    bus.failNext(1);

    // Act
    const failed = await deliver(handler, { headers });
    const retried = await deliver(handler, { headers });
    const again = await deliver(handler, { headers });

    // Assess
    expect(failed.statusCode).toBe(503);
    expect(errorOf(failed).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(failed.headers?.['retry-after']).toBe('1');
    expect(output.lines().find((l) => l.message === 'webhook' && l.status === 503)).toMatchObject({
      level: 'WARN',
      outcome: 'failed',
      reason: 'DEPENDENCY_UNAVAILABLE',
    });
    expect(retried.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
    expect(bus.events).toHaveLength(1);
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE when the idempotency table fails, publishing nothing', async () => {
    // Prepare
    captureOutput();
    const unreachable = await startLocalDynamoDB();
    await unreachable.close();
    const broken = new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({
      endpoint: unreachable.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
    });
    const { handler, bus } = build({
      idempotency: { dynamoClient: broken, tableName: 'connector-suite-idempotency' },
    });

    // Act
    const result = await deliver(handler, {
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': nextId() },
    });

    // Assess
    expect(result.statusCode).toBe(503);
    expect(errorOf(result).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(bus.events).toHaveLength(0);
    broken.destroy();
  });

  it('answers 500 CONFIGURATION_ERROR naming the secret when it has no signingSecret', async () => {
    // Prepare
    captureOutput();
    const { handler, credentials, bus } = build();
    credentials.values['shop-webhook'] = { previousSigningSecret: PREVIOUS_SECRET };

    // Act
    const result = await deliver(handler, { headers: { 'x-test-signature': SIGNING_SECRET } });

    // Assess
    expect(result.statusCode).toBe(500);
    expect(errorOf(result).code).toBe('CONFIGURATION_ERROR');
    expect(result.body).toContain('shop-webhook');
    expect(result.body).not.toContain(PREVIOUS_SECRET);
    expect(bus.events).toHaveLength(0);
  });

  it('logs one line per delivery with no header, signature or payload', async () => {
    // Prepare
    const output = captureOutput();
    const { handler } = build();
    const id = nextId();

    // Act
    await deliver(handler, {
      headers: { 'x-test-signature': SIGNING_SECRET, 'x-test-id': id },
      body: '{"card":"4242"}',
    });

    // Assess
    const lines = output.lines().filter((l) => l.message === 'webhook');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      connector: 'shop',
      vendor: 'stripe',
      outcome: 'accepted',
      eventId: id,
      status: 200,
    });
    expect(output.text()).not.toContain(SIGNING_SECRET);
    expect(output.text()).not.toContain('4242');
  });
});
