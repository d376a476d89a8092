/**
 * Contract tests of the `stripe` connector: the real handler and the official SDK against the Stripe
 * mock built from Stripe's own fixtures and the SDK's declarations (local/stand-ins/stripe.ts).
 * Every outgoing request is checked against the described operation; every described error answer
 * is checked against the suite's error contract (docs/design.md §3).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { Redactor } from '../../functions/shared/redaction.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { stripeConnector } from '../../functions/stripe/connector.js';
import {
  STRIPE_CONTRACT,
  STRIPE_MOCK_MAGIC,
  startStripeMock,
  type VendorMock,
} from '../../local/stand-ins/stripe.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

/** Obviously fake test-mode keys. */
const API_KEY = 'sk_test_connector_suite_example_0001';
const ROTATED_KEY = 'sk_test_connector_suite_rotated_0002';
const MAX_ATTEMPTS = 3;
const FIXTURE_INTENT_ID = STRIPE_CONTRACT.fixtures.payment_intent.id as string;

/**
 * An in-memory credential store that behaves like the real ones: values are registered with the
 * redactor when handed out, and a read is cached until `forceRefresh` (so a rotation is seen only
 * after a forced refresh).
 */
class MemoryCredentialStore implements CredentialStore {
  readonly reads: Array<{ name: string; forceRefresh: boolean }> = [];
  readonly #stored = new Map<string, SecretValue>();
  readonly #cache = new Map<string, SecretValue>();
  readonly #redactor: Redactor;

  constructor(secrets: Record<string, SecretValue>, redactor: Redactor) {
    for (const [name, value] of Object.entries(secrets)) this.#stored.set(name, value);
    this.#redactor = redactor;
  }

  /** Replaces the stored value (a rotation); cached reads still see the old one. */
  put(name: string, value: SecretValue): void {
    this.#stored.set(name, value);
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    this.reads.push({ name, forceRefresh: options.forceRefresh ?? false });
    const cached = this.#cache.get(name);
    if (cached && !options.forceRefresh) return cached;
    const value = this.#stored.get(name);
    if (!value) throw new ConnectorError('CONFIGURATION_ERROR', `Secret '${name}' not found.`);
    this.#redactor.addSecretValues(value);
    this.#cache.set(name, value);
    return value;
  }
}

interface Envelope {
  data?: Record<string, unknown>;
  meta?: { connector: string; operation: string; attempts: number; upstreamStatus: number | null };
  error?: {
    code: string;
    message: string;
    source: string;
    retryable: boolean;
    upstreamStatus?: number;
    retryAfterSeconds?: number;
    attempts?: number;
    details?: Record<string, unknown>;
  };
}

interface Result {
  status: number;
  headers: Record<string, string>;
  body: Envelope;
  raw: string;
}

let mock: VendorMock;
let output: ReturnType<typeof captureOutput>;

beforeEach(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  output = captureOutput();
  mock = await startStripeMock();
});

afterEach(async () => {
  await mock.close();
});

/** A `stripe` connector handler against the mock, with a fresh breaker and secret store. */
function stripeHandler(options: { secret?: SecretValue; config?: Record<string, unknown> } = {}): {
  handler: ConnectorHandler;
  store: MemoryCredentialStore;
} {
  const config = parseConnectorConfig(
    {
      name: 'stripe',
      kind: 'stripe',
      secret: 'stripe',
      baseUrl: mock.url,
      timeoutMs: 2_000,
      retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterSeconds: 5 },
      ...options.config,
    },
    'test',
    { allowLoopbackHttp: true },
  );
  const redactor = new Redactor();
  const store = new MemoryCredentialStore({ stripe: options.secret ?? { apiKey: API_KEY } }, redactor);
  const handler = stripeConnector.createHandler({
    config,
    credentials: store,
    allowLoopbackHttp: true,
    redactor,
  });
  return { handler, store };
}

async function invoke(
  handler: ConnectorHandler,
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Result> {
  const result = (await handler(
    apiGatewayEvent({ connector: 'stripe', operation, body, headers }),
    lambdaContext(),
  )) as APIGatewayProxyResult;
  const lower = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  return {
    status: result.statusCode,
    headers: lower,
    body: JSON.parse(result.body) as Envelope,
    raw: result.body,
  };
}

/** The form parameters of a request the mock received. */
function form(index = 0): URLSearchParams {
  return new URLSearchParams(mock.requests[index]?.body ?? '');
}

function requestHeader(index: number, name: string): string | undefined {
  const value = mock.requests[index]?.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Asserts that request `index` matches a described operation: method, path, content type, Bearer auth. */
function expectDescribedRequest(index: number, operation: string, path?: string): void {
  const spec = STRIPE_CONTRACT.operations[operation];
  if (!spec) throw new Error(`no operation ${operation} in the contract`);
  const request = mock.requests[index];
  expect(request?.method).toBe(spec.method);
  expect(request?.path).toBe(path ?? spec.path);
  expect(requestHeader(index, 'authorization')).toMatch(/^Bearer sk_test_/);
  if (spec.method === 'POST') {
    expect(requestHeader(index, 'content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    const params = [...new Set([...form(index).keys()].map((key) => key.replace(/\[.*$/, '')))];
    for (const name of params) expect(spec.params).toContain(name);
    for (const name of spec.requiredParams) expect(form(index).get(name)).toBeTruthy();
  } else {
    expect(request?.body).toBe('');
  }
}

describe('stripe connector: operations against the described contract', () => {
  it('createCustomer sends POST /v1/customers as a form with the caller Idempotency-Key and answers the Customer', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(
      handler,
      'createCustomer',
      { email: 'jenny.rosen@example.com', name: 'Jenny Rosen', metadata: { order_id: '6735' } },
      { 'Idempotency-Key': 'customer-6735' },
    );

    // Assess
    expect(result.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expectDescribedRequest(0, 'createCustomer');
    expect(requestHeader(0, 'authorization')).toBe(`Bearer ${API_KEY}`);
    expect(requestHeader(0, 'idempotency-key')).toBe('customer-6735');
    expect(form().get('email')).toBe('jenny.rosen@example.com');
    expect(form().get('name')).toBe('Jenny Rosen');
    expect(form().get('metadata[order_id]')).toBe('6735');
    expect(result.body.data).toMatchObject({
      object: 'customer',
      email: 'jenny.rosen@example.com',
      name: 'Jenny Rosen',
      metadata: { order_id: '6735' },
      invoice_prefix: STRIPE_CONTRACT.fixtures.customer.invoice_prefix,
    });
    expect(result.body.data?.id).toMatch(/^cus_/);
    expect(result.body.meta).toMatchObject({
      connector: 'stripe',
      operation: 'createCustomer',
      attempts: 1,
      upstreamStatus: 200,
    });
  });

  it('createPaymentIntent sends amount, currency and the other parameters and answers the PaymentIntent', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(
      handler,
      'createPaymentIntent',
      {
        amount: 2000,
        currency: 'usd',
        customer: 'cus_NffrFeUfNV2Hib',
        payment_method: 'pm_card_visa',
        confirm: true,
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        description: 'Order 6735',
        metadata: { order_id: '6735' },
      },
      { 'Idempotency-Key': 'order-6735-payment' },
    );

    // Assess
    expect(result.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expectDescribedRequest(0, 'createPaymentIntent');
    expect(requestHeader(0, 'idempotency-key')).toBe('order-6735-payment');
    expect(Object.fromEntries(form())).toEqual({
      amount: '2000',
      currency: 'usd',
      customer: 'cus_NffrFeUfNV2Hib',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
      description: 'Order 6735',
      'metadata[order_id]': '6735',
    });
    expect(result.body.data).toMatchObject({
      object: 'payment_intent',
      amount: 2000,
      currency: 'usd',
      customer: 'cus_NffrFeUfNV2Hib',
      payment_method: 'pm_card_visa',
      status: 'succeeded',
      metadata: { order_id: '6735' },
    });
    expect(result.body.data?.client_secret).toMatch(/^pi_\w+_secret_\w+$/);
    expect(result.body.meta).toMatchObject({ attempts: 1, upstreamStatus: 200 });
  });

  it('retrievePaymentIntent sends GET /v1/payment_intents/{intent} with no body and no Idempotency-Key', async () => {
    // Prepare
    const { handler } = stripeHandler();
    const created = await invoke(handler, 'createPaymentIntent', { amount: 1099, currency: 'eur' });
    const id = created.body.data?.id as string;

    // Act
    const result = await invoke(handler, 'retrievePaymentIntent', { id }, { 'Idempotency-Key': 'read-1' });

    // Assess
    expect(result.status).toBe(200);
    expect(mock.requests).toHaveLength(2);
    expectDescribedRequest(1, 'retrievePaymentIntent', `/v1/payment_intents/${id}`);
    expect(requestHeader(1, 'idempotency-key')).toBeUndefined();
    expect(result.body.data).toMatchObject({
      id,
      object: 'payment_intent',
      amount: 1099,
      currency: 'eur',
      status: 'requires_payment_method',
    });
  });

  it("retrievePaymentIntent answers Stripe's fixture PaymentIntent for the fixture id", async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'retrievePaymentIntent', { id: FIXTURE_INTENT_ID });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual(STRIPE_CONTRACT.fixtures.payment_intent);
  });

  it('createRefund sends POST /v1/refunds with payment_intent, amount and reason and answers the Refund', async () => {
    // Prepare
    const { handler } = stripeHandler();
    const paid = await invoke(handler, 'createPaymentIntent', {
      amount: 5099,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const paymentIntent = paid.body.data?.id as string;

    // Act
    const result = await invoke(
      handler,
      'createRefund',
      { payment_intent: paymentIntent, amount: 1000, reason: 'requested_by_customer' },
      { 'Idempotency-Key': 'refund-6735' },
    );

    // Assess
    expect(result.status).toBe(200);
    expectDescribedRequest(1, 'createRefund');
    expect(requestHeader(1, 'idempotency-key')).toBe('refund-6735');
    expect(Object.fromEntries(form(1))).toEqual({
      payment_intent: paymentIntent,
      amount: '1000',
      reason: 'requested_by_customer',
    });
    expect(result.body.data).toMatchObject({
      object: 'refund',
      amount: 1000,
      currency: 'usd',
      payment_intent: paymentIntent,
      charge: paid.body.data?.latest_charge,
      reason: 'requested_by_customer',
      status: 'succeeded',
    });
    expect(result.body.data?.id).toMatch(/^re_/);
  });

  it('without a caller Idempotency-Key, a POST carries the key the SDK generates (stripe-node-retry-<uuid>)', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const first = await invoke(handler, 'createCustomer', { email: 'a@example.com' });
    const second = await invoke(handler, 'createCustomer', { email: 'a@example.com' });

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const keys = [requestHeader(0, 'idempotency-key'), requestHeader(1, 'idempotency-key')];
    for (const key of keys) expect(key).toMatch(/^stripe-node-retry-[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    expect(second.body.data?.id).not.toBe(first.body.data?.id);
  });

  it('the same Idempotency-Key and body twice: Stripe replays the first answer', async () => {
    // Prepare
    const { handler } = stripeHandler();
    const body = { amount: 1500, currency: 'usd' };
    const first = await invoke(handler, 'createPaymentIntent', body, { 'Idempotency-Key': 'order-77' });

    // Act
    const second = await invoke(handler, 'createPaymentIntent', body, { 'Idempotency-Key': 'order-77' });

    // Assess
    expect(second.status).toBe(200);
    expect(second.body.data?.id).toBe(first.body.data?.id);
    expect(mock.requests.map((_, i) => requestHeader(i, 'idempotency-key'))).toEqual([
      'order-77',
      'order-77',
    ]);
  });

  it('refuses an invalid input with 400 VALIDATION_ERROR before calling Stripe', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const noCurrency = await invoke(handler, 'createPaymentIntent', { amount: 2000 });
    const noTarget = await invoke(handler, 'createRefund', { amount: 100 });
    const unknownName = await invoke(handler, 'createCustomer', { mail: 'a@example.com' });

    // Assess
    expect(noCurrency.status).toBe(400);
    expect(noCurrency.body.error?.code).toBe('VALIDATION_ERROR');
    expect(noCurrency.body.error?.details).toEqual([expect.objectContaining({ path: 'currency' })]);
    expect(noTarget.status).toBe(400);
    expect(noTarget.body.error?.details).toEqual([
      { path: 'payment_intent', message: 'one of payment_intent or charge is required' },
    ]);
    expect(unknownName.status).toBe(400);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('stripe connector: described error answers', () => {
  it.each([
    [STRIPE_MOCK_MAGIC.declinedPaymentMethod, 'generic_decline'],
    [STRIPE_MOCK_MAGIC.insufficientFundsPaymentMethod, 'insufficient_funds'],
  ])(
    'a card decline (%s, 402) is 422 UPSTREAM_REJECTED with code and decline_code, not retried',
    async (paymentMethod, declineCode) => {
      // Prepare
      const { handler } = stripeHandler();

      // Act
      const result = await invoke(
        handler,
        'createPaymentIntent',
        { amount: 2000, currency: 'usd', payment_method: paymentMethod, confirm: true },
        { 'Idempotency-Key': `decline-${declineCode}` },
      );

      // Assess
      expect(result.status).toBe(422);
      expect(result.body.error).toMatchObject({
        code: 'UPSTREAM_REJECTED',
        source: 'upstream',
        retryable: false,
        upstreamStatus: 402,
        attempts: 1,
        details: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: declineCode,
          doc_url: 'https://stripe.com/docs/error-codes/card-declined',
        },
      });
      expect(result.body.error?.details?.payment_intent).toMatch(/^pi_/);
      expect(result.body.error?.details?.charge).toMatch(/^ch_/);
      expect(result.body.error?.details?.request_id).toMatch(/^req_/);
      // The PaymentIntent in Stripe's card error carries its client_secret: only its id is passed on.
      expect(result.raw).not.toContain('_secret_');
      expect(mock.requests).toHaveLength(1);
    },
  );

  it('an unknown PaymentIntent (404 resource_missing) is 422 UPSTREAM_REJECTED with upstreamStatus 404', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'retrievePaymentIntent', { id: 'pi_unknown123' });

    // Assess
    expect(result.status).toBe(422);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 404,
      details: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'intent',
        message: "No such payment_intent: 'pi_unknown123'",
      },
    });
    expect(mock.requests).toHaveLength(1);
  });

  it('an invalid request (400 charge_already_refunded) is 422 UPSTREAM_REJECTED with upstreamStatus 400', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'createRefund', {
      payment_intent: STRIPE_MOCK_MAGIC.alreadyRefundedIntent,
    });

    // Assess
    expect(result.status).toBe(422);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 400,
      details: { type: 'invalid_request_error', code: 'charge_already_refunded' },
    });
    expect(mock.requests).toHaveLength(1);
  });

  it('the same Idempotency-Key with another body (400 idempotency_error) is 422 IDEMPOTENCY_KEY_REUSED from the client', async () => {
    // Prepare
    const { handler } = stripeHandler();
    await invoke(handler, 'createCustomer', { email: 'first@example.com' }, { 'Idempotency-Key': 'cust-1' });

    // Act
    const result = await invoke(
      handler,
      'createCustomer',
      { email: 'other@example.com' },
      { 'Idempotency-Key': 'cust-1' },
    );

    // Assess
    expect(result.status).toBe(422);
    expect(result.body.error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      source: 'client',
      retryable: false,
      upstreamStatus: 400,
      details: { type: 'idempotency_error' },
    });
    expect(mock.requests).toHaveLength(2);
  });

  it('a concurrent request with the same key (409) is 409 REQUEST_IN_PROGRESS with Retry-After', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(
      handler,
      'createPaymentIntent',
      { amount: STRIPE_MOCK_MAGIC.amountIdempotencyInProgress, currency: 'usd' },
      { 'Idempotency-Key': 'order-busy' },
    );

    // Assess
    expect(result.status).toBe(409);
    expect(result.body.error).toMatchObject({
      code: 'REQUEST_IN_PROGRESS',
      retryable: true,
      upstreamStatus: 409,
      retryAfterSeconds: 1,
      details: { type: 'idempotency_error' },
    });
    expect(result.headers['retry-after']).toBe('1');
    expect(mock.requests).toHaveLength(1);
  });

  it('an invalid API key (401) is 502 AUTHENTICATION_ERROR after one forced secret refresh, sent once', async () => {
    // Prepare
    const { handler, store } = stripeHandler({ secret: { apiKey: STRIPE_MOCK_MAGIC.invalidApiKey } });

    // Act
    const result = await invoke(handler, 'createCustomer', { email: 'a@example.com' });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      source: 'upstream',
      upstreamStatus: 401,
      details: { type: 'invalid_request_error' },
    });
    expect(store.reads).toEqual([
      { name: 'stripe', forceRefresh: false },
      { name: 'stripe', forceRefresh: true },
    ]);
    expect(mock.requests).toHaveLength(1);
    expect(result.raw).not.toContain(STRIPE_MOCK_MAGIC.invalidApiKey);
  });

  it('a restricted key without the permission (403) is 502 AUTHENTICATION_ERROR with upstreamStatus 403', async () => {
    // Prepare
    const { handler } = stripeHandler({ secret: { apiKey: STRIPE_MOCK_MAGIC.restrictedApiKey } });

    // Act
    const result = await invoke(handler, 'createRefund', { payment_intent: FIXTURE_INTENT_ID });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', upstreamStatus: 403 });
    expect(mock.requests).toHaveLength(1);
  });

  it('a rotated key: after the 401 the secret is re-read and the call succeeds once with the new key', async () => {
    // Prepare
    const { handler, store } = stripeHandler({ secret: { apiKey: STRIPE_MOCK_MAGIC.invalidApiKey } });
    await store.getSecret('stripe'); // the cache now holds the old key
    store.put('stripe', { apiKey: ROTATED_KEY });

    // Act
    const result = await invoke(
      handler,
      'createCustomer',
      { email: 'a@example.com' },
      { 'Idempotency-Key': 'rot-1' },
    );

    // Assess
    expect(result.status).toBe(200);
    expect(mock.requests).toHaveLength(2);
    expect(requestHeader(0, 'authorization')).toBe(`Bearer ${STRIPE_MOCK_MAGIC.invalidApiKey}`);
    expect(requestHeader(1, 'authorization')).toBe(`Bearer ${ROTATED_KEY}`);
    expect(requestHeader(1, 'idempotency-key')).toBe('rot-1');
    expect(result.body.meta).toMatchObject({ attempts: 2, upstreamStatus: 200 });
  });

  it('a persistent 429 is 429 RATE_LIMIT_EXCEEDED after exactly retry.maxAttempts requests, all with the same key', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(
      handler,
      'createPaymentIntent',
      { amount: STRIPE_MOCK_MAGIC.amountRateLimited, currency: 'usd' },
      { 'Idempotency-Key': 'order-429' },
    );

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      source: 'upstream',
      retryable: true,
      upstreamStatus: 429,
      retryAfterSeconds: 1,
      attempts: MAX_ATTEMPTS,
      details: { code: 'rate_limit' },
    });
    expect(result.headers['retry-after']).toBe('1');
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
    expect(mock.requests.map((_, i) => requestHeader(i, 'idempotency-key'))).toEqual(
      Array(MAX_ATTEMPTS).fill('order-429'),
    );
  });

  it('a persistent 503 is 502 UPSTREAM_ERROR after exactly retry.maxAttempts requests', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(
      handler,
      'createRefund',
      { payment_intent: FIXTURE_INTENT_ID, amount: STRIPE_MOCK_MAGIC.amountUnavailable },
      { 'Idempotency-Key': 'refund-503' },
    );

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      retryable: true,
      upstreamStatus: 503,
      attempts: MAX_ATTEMPTS,
      details: { type: 'api_error' },
    });
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it('a persistent 500 on a POST without caller key is retried under the SDK key: maxAttempts requests, one key', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'createPaymentIntent', {
      amount: STRIPE_MOCK_MAGIC.amountServerError,
      currency: 'usd',
    });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 500,
      attempts: MAX_ATTEMPTS,
    });
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
    const keys = new Set(mock.requests.map((_, i) => requestHeader(i, 'idempotency-key')));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^stripe-node-retry-/);
  });

  it.each([
    [STRIPE_MOCK_MAGIC.intentUnavailable, 503, 'UPSTREAM_ERROR', 502],
    [STRIPE_MOCK_MAGIC.intentServerError, 500, 'UPSTREAM_ERROR', 502],
  ])(
    'a persistent %s on the GET is %s after exactly retry.maxAttempts requests',
    async (id, upstreamStatus, code, status) => {
      // Prepare
      const { handler } = stripeHandler();

      // Act
      const result = await invoke(handler, 'retrievePaymentIntent', { id });

      // Assess
      expect(result.status).toBe(status);
      expect(result.body.error).toMatchObject({ code, upstreamStatus, attempts: MAX_ATTEMPTS });
      expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
    },
  );

  it("a connection closed without an answer: retry.maxAttempts requests (the SDK's own closed-connection retry stays off)", async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'retrievePaymentIntent', {
      id: STRIPE_MOCK_MAGIC.intentConnectionReset,
    });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      retryable: true,
      attempts: MAX_ATTEMPTS,
    });
    expect(result.body.error?.upstreamStatus).toBeUndefined();
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });
  it('an answer that is not JSON (a proxy page) is 502 UPSTREAM_ERROR with the status of the last answer', async () => {
    // Prepare
    const { handler } = stripeHandler();

    // Act
    const result = await invoke(handler, 'retrievePaymentIntent', { id: STRIPE_MOCK_MAGIC.intentNotJson });

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 502,
      attempts: MAX_ATTEMPTS,
    });
    expect(result.raw).not.toContain('<html>');
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });
});

describe('stripe connector: configuration and secrets', () => {
  it("a secret without 'apiKey' is 500 CONFIGURATION_ERROR naming the field, with no request sent", async () => {
    // Prepare
    const { handler } = stripeHandler({ secret: { key: API_KEY } });

    // Act
    const result = await invoke(handler, 'createCustomer', { email: 'a@example.com' });

    // Assess
    expect(result.status).toBe(500);
    expect(result.body.error).toMatchObject({ code: 'CONFIGURATION_ERROR', source: 'connector' });
    expect(result.body.error?.message).toContain("'apiKey'");
    expect(result.body.error?.message).toContain("'stripe'");
    expect(result.raw).not.toContain(API_KEY);
    expect(mock.requests).toHaveLength(0);
  });

  it('a baseUrl with a path is 500 CONFIGURATION_ERROR (Stripe paths start at the root)', async () => {
    // Prepare
    const { handler } = stripeHandler({ config: { baseUrl: `${mock.url}/stripe` } });

    // Act
    const result = await invoke(handler, 'createCustomer', {});

    // Assess
    expect(result.status).toBe(500);
    expect(result.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(result.body.error?.message).toContain('baseUrl');
    expect(mock.requests).toHaveLength(0);
  });

  it('no log line carries a secret value, across successes, rejections and retries', async () => {
    // Prepare
    const { handler } = stripeHandler();
    const { handler: rejected } = stripeHandler({ secret: { apiKey: STRIPE_MOCK_MAGIC.invalidApiKey } });

    // Act
    await invoke(handler, 'createCustomer', { email: 'a@example.com' }, { 'Idempotency-Key': 'log-1' });
    await invoke(handler, 'createPaymentIntent', {
      amount: 2000,
      currency: 'usd',
      payment_method: STRIPE_MOCK_MAGIC.declinedPaymentMethod,
      confirm: true,
    });
    await invoke(handler, 'retrievePaymentIntent', { id: STRIPE_MOCK_MAGIC.intentUnavailable });
    await invoke(rejected, 'createCustomer', { email: 'a@example.com' });

    // Assess
    const text = output.text();
    expect(output.lines().length).toBeGreaterThan(0);
    expect(text).toContain('upstream attempt');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(STRIPE_MOCK_MAGIC.invalidApiKey);
    expect(text).not.toMatch(/sk_test_[A-Za-z0-9_]{8,}/);
  });
});

describe('the Stripe mock checks requests against the described operations', () => {
  it('answers 400 naming what is wrong: content type, auth scheme, missing or unknown parameter, route', async () => {
    // Prepare
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`${mock.url}${path}`, { method: 'POST', body, headers });
    const bearer = { authorization: `Bearer ${API_KEY}` };

    // Act
    const json = await post('/v1/payment_intents', '{"amount":1}', {
      ...bearer,
      'content-type': 'application/json',
    });
    const basic = await post('/v1/customers', '', {
      authorization: 'Basic c2tfdGVzdDo=',
      'content-type': 'application/x-www-form-urlencoded',
    });
    const missing = await post('/v1/payment_intents', 'amount=100', {
      ...bearer,
      'content-type': 'application/x-www-form-urlencoded',
    });
    const unknown = await post('/v1/refunds', 'payment_intent=pi_1&colour=red', {
      ...bearer,
      'content-type': 'application/x-www-form-urlencoded',
    });
    const route = await fetch(`${mock.url}/v1/refunds`, { headers: bearer });

    // Assess
    const errorOf = async (response: Response) => ({
      status: response.status,
      ...((await response.json()) as { error: Record<string, unknown> }).error,
    });
    expect(await errorOf(json)).toMatchObject({
      status: 400,
      code: 'mock_contract_violation',
      message: expect.stringContaining('application/x-www-form-urlencoded'),
    });
    expect(await errorOf(basic)).toMatchObject({
      status: 400,
      code: 'mock_contract_violation',
      message: expect.stringContaining('Bearer'),
    });
    expect(await errorOf(missing)).toMatchObject({
      status: 400,
      code: 'parameter_missing',
      param: 'currency',
    });
    expect(await errorOf(unknown)).toMatchObject({ status: 400, code: 'parameter_unknown', param: 'colour' });
    expect(await errorOf(route)).toMatchObject({
      status: 400,
      code: 'mock_contract_violation',
      message: expect.stringContaining('POST /v1/refunds'),
    });
  });
});
