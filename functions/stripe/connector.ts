/**
 * The `stripe` connector kind: customers, PaymentIntents and refunds through Stripe's official
 * Node SDK (`stripe`), with every request sent through the connector's policies.
 *
 * Operations (input names are Stripe's parameter names, https://docs.stripe.com/api):
 * `createCustomer` (POST /v1/customers), `createPaymentIntent` (POST /v1/payment_intents),
 * `retrievePaymentIntent` (GET /v1/payment_intents/{intent}), `createRefund` (POST /v1/refunds),
 * `listCustomers` (GET /v1/customers, page after page).
 *
 * The secret is `{"apiKey": "sk_test_..."}` (a secret or restricted key). The caller's
 * `Idempotency-Key` goes to Stripe as its `Idempotency-Key`, unchanged.
 */
import Stripe from 'stripe';
import * as z from 'zod';
import type { VendorConnectorConfig } from '../shared/config.js';
import { configurationError } from '../shared/errors.js';
import {
  defineConnector,
  defineOperation,
  defineVendor,
  type OperationContext,
  type VendorClientTools,
} from '../shared/runtime/index.js';
import {
  collectPages,
  type FetchedPage,
  pageLimitsShape,
  paginatedOutputShape,
  sdkPageReader,
} from '../shared/runtime/pagination.js';
import { mapStripeError } from './errors.js';

/** A validated `stripe` connector entry. */
export type StripeConnectorConfig = VendorConnectorConfig<'stripe'>;

/** The field of the connector's secret that holds the Stripe API key: `{"apiKey": "sk_test_..."}`. */
export const STRIPE_SECRET_FIELD = 'apiKey';

/**
 * Builds a Stripe client wired into the suite (https://github.com/stripe/stripe-node#configuration):
 *
 * - `httpClient: Stripe.createFetchHttpClient(fetch)`: every request goes through `fetch`, the
 *   connector's policy fetch (timeout, deadline, retries with `Retry-After`, breaker, rate limit,
 *   redacted logs, trace), and Stripe's final answer comes back to the SDK, which parses its errors;
 * - `maxNetworkRetries: 0`: the policies retry; the SDK must not retry again. (The SDK still keys
 *   every POST with an `Idempotency-Key` of its own, `stripe-node-retry-<uuid>`, unless the caller
 *   gave one; the policies then retry that POST on 5xx and network errors, which is safe because
 *   Stripe replays a keyed request instead of running it twice.)
 * - `host`, `port`, `protocol` from `config.baseUrl` (a mock, a proxy); Stripe's paths (`/v1/...`)
 *   are absolute, so the base URL must have no path;
 * - `timeout` longer than the Lambda can run, so that the policies' timeout and deadline decide;
 * - `telemetry: false`: no request-latency header carried from one call to the next, and no
 *   telemetry id file written to the home directory.
 *
 * The API version is the SDK's pinned version (`Stripe.API_VERSION`).
 *
 * @param apiKey - the secret or restricted key
 * @param fetch - the policy fetch (`VendorClientTools.fetch`)
 * @throws ConnectorError `CONFIGURATION_ERROR` when `config.baseUrl` has a path, a query or a fragment
 */
export function createStripeClient(
  apiKey: string,
  config: StripeConnectorConfig,
  fetch: typeof globalThis.fetch,
): Stripe {
  const base = new URL(config.baseUrl);
  if ((base.pathname !== '/' && base.pathname !== '') || base.search !== '' || base.hash !== '') {
    throw configurationError(
      `Connector '${config.name}': baseUrl must be an origin such as https://api.stripe.com, without a path (Stripe's SDK sends /v1/... from the root).`,
    );
  }
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(apiKey, {
    httpClient: Stripe.createFetchHttpClient(fetch),
    maxNetworkRetries: 0,
    host: base.hostname,
    port: base.port || (protocol === 'http' ? '80' : '443'),
    protocol,
    timeout: config.functionTimeoutSeconds * 1000 + 5_000,
    telemetry: false,
  });
}

/**
 * Stripe as a vendor of the kit: the secret `{"apiKey": "sk_test_..."}` (a secret or restricted
 * key), a client from {@link createStripeClient}, errors mapped by {@link mapStripeError}. Calls made
 * with `stripeVendor.call` get the rotation retry, client caching per key and the error mapping.
 */
export const stripeVendor = defineVendor({
  name: 'Stripe',
  secret: z.object({ [STRIPE_SECRET_FIELD]: z.string().min(1) }),
  client: ({ apiKey }, { config, fetch }: VendorClientTools<StripeConnectorConfig>) =>
    createStripeClient(apiKey, config, fetch),
  mapError: mapStripeError,
});

/**
 * Stripe's request options for one call: the caller's `Idempotency-Key`, unchanged, as Stripe's
 * `idempotencyKey` (https://docs.stripe.com/api/idempotent_requests).
 */
export function stripeRequestOptions(
  context: OperationContext<StripeConnectorConfig>,
): Stripe.RequestOptions {
  return context.idempotencyKey === undefined ? {} : { idempotencyKey: context.idempotencyKey };
}

/** A Stripe object id: letters, digits and `_`, e.g. `pi_3MtwBwLkdIwHu7ix28a3tqPa`. */
const stripeId = z.string().regex(/^[A-Za-z0-9_]{1,255}$/, 'must be a Stripe id such as pi_123');

/**
 * Stripe metadata: at most 50 keys of up to 40 characters, values of up to 500 characters
 * (https://docs.stripe.com/api/metadata).
 */
const metadata = z
  .record(z.string().min(1).max(40), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 50, { message: 'must have at most 50 keys' });

/** An amount in the currency's smallest unit (100 = $1.00); Stripe allows up to eight digits. */
const amount = z.int().positive().max(99_999_999);

/** A lowercase three-letter ISO currency code (https://docs.stripe.com/currencies). */
const currency = z
  .string()
  .regex(/^[a-z]{3}$/, 'must be a lowercase three-letter ISO currency code, e.g. usd');

/** A field holding an id, or the object when expanded. */
const expandable = z.union([z.string(), z.looseObject({ id: z.string() })]);

/**
 * The input of `createCustomer`: a subset of Stripe's `CustomerCreateParams`. Lengths are capped at
 * Stripe's documented limits (email: 512) or its general string limit (5000); Stripe checks the rest.
 */
export const createCustomerInput = z.strictObject({
  /** The customer's email address (at most 512 characters). */
  email: z.string().min(3).max(512).optional(),
  /** The customer's full name or business name. */
  name: z.string().min(1).max(5000).optional(),
  /** The customer's phone number. */
  phone: z.string().min(1).max(5000).optional(),
  /** An arbitrary description, shown in the Dashboard. */
  description: z.string().max(5000).optional(),
  /** The id of a PaymentMethod to attach to the new customer. */
  payment_method: stripeId.optional(),
  metadata: metadata.optional(),
});

/**
 * The output of `createCustomer`: Stripe's Customer object (https://docs.stripe.com/api/customers/object);
 * the fields below are checked, the rest passes through.
 */
export const customerOutput = z.looseObject({
  id: z.string(),
  object: z.literal('customer'),
  email: z.string().nullable(),
  name: z.string().nullable().optional(),
  created: z.int(),
  livemode: z.boolean(),
  metadata: z.record(z.string(), z.string()),
});

/** The input of `createPaymentIntent`: a subset of Stripe's `PaymentIntentCreateParams`. */
export const createPaymentIntentInput = z.strictObject({
  /** Amount to collect, in the smallest currency unit (e.g. 1099 = $10.99). */
  amount,
  currency,
  /** The id of the Customer the payment belongs to. */
  customer: stripeId.optional(),
  /** The id of the PaymentMethod to charge, e.g. `pm_card_visa` in test mode. */
  payment_method: stripeId.optional(),
  /** Confirm the PaymentIntent at once. @default false (Stripe's default) */
  confirm: z.boolean().optional(),
  /** When the funds are captured. @default automatic (Stripe's default) */
  capture_method: z.enum(['automatic', 'automatic_async', 'manual']).optional(),
  /** Accept the payment methods enabled in the Dashboard. */
  automatic_payment_methods: z
    .strictObject({ enabled: z.boolean(), allow_redirects: z.enum(['always', 'never']).optional() })
    .optional(),
  /** The payer is not present (charging a saved method later). */
  off_session: z.boolean().optional(),
  /** Where to send the payer back after a redirect-based authentication (with `confirm`). */
  return_url: z.url().optional(),
  /** Email address to send the receipt to. */
  receipt_email: z.string().min(3).max(512).optional(),
  /** An arbitrary description, often shown to the payer. */
  description: z.string().max(5000).optional(),
  /** Suffix of the card statement descriptor (at most 22 characters). */
  statement_descriptor_suffix: z.string().min(1).max(22).optional(),
  /** Save the payment method for later use. */
  setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
  metadata: metadata.optional(),
});

/**
 * The output of `createPaymentIntent` and `retrievePaymentIntent`: Stripe's PaymentIntent object
 * (https://docs.stripe.com/api/payment_intents/object); the fields below are checked, the rest passes
 * through. `client_secret` is there for the caller to hand to Stripe.js; it is not a credential of
 * the connector.
 */
export const paymentIntentOutput = z.looseObject({
  id: z.string(),
  object: z.literal('payment_intent'),
  amount: z.int(),
  currency: z.string(),
  /** `requires_payment_method`, `requires_confirmation`, `requires_action`, `processing`, `requires_capture`, `canceled` or `succeeded`. */
  status: z.string(),
  client_secret: z.string().nullable(),
  customer: expandable.nullable(),
  payment_method: expandable.nullable(),
  latest_charge: expandable.nullable(),
  last_payment_error: z.looseObject({ type: z.string() }).nullable(),
  created: z.int(),
  livemode: z.boolean(),
  metadata: z.record(z.string(), z.string()),
});

/** The input of `retrievePaymentIntent`. */
export const retrievePaymentIntentInput = z.strictObject({
  /** The PaymentIntent's id (the `{intent}` of GET /v1/payment_intents/{intent}). */
  id: stripeId,
});

/** The input of `createRefund`: a subset of Stripe's `RefundCreateParams`; `payment_intent` or `charge` is required. */
export const createRefundInput = z
  .strictObject({
    /** The PaymentIntent to refund. */
    payment_intent: stripeId.optional(),
    /** The Charge to refund (instead of `payment_intent`). */
    charge: stripeId.optional(),
    /** Amount to refund, in the smallest currency unit. @default the whole remaining amount */
    amount: amount.optional(),
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
    metadata: metadata.optional(),
  })
  .refine((input) => input.payment_intent !== undefined || input.charge !== undefined, {
    message: 'one of payment_intent or charge is required',
    path: ['payment_intent'],
  });

/**
 * The output of `createRefund`: Stripe's Refund object (https://docs.stripe.com/api/refunds/object);
 * the fields below are checked, the rest passes through.
 */
export const refundOutput = z.looseObject({
  id: z.string(),
  object: z.literal('refund'),
  amount: z.int(),
  currency: z.string(),
  /** `pending`, `requires_action`, `succeeded`, `failed` or `canceled`. */
  status: z.string().nullable(),
  payment_intent: expandable.nullable(),
  charge: expandable.nullable(),
  reason: z.string().nullable(),
  created: z.int(),
  metadata: z.record(z.string(), z.string()).nullable(),
});

/**
 * The input of `listCustomers`: Stripe's `CustomerListParams` filter `email`, its page size `limit`,
 * and the limits of the walk (`maxPages`, `maxItems`, `start`: see docs/connectors.md#pagination).
 */
export const listCustomersInput = z
  .strictObject({
    /** Only the customers with this email address (case-sensitive, as Stripe matches it). */
    email: z.string().min(3).max(512).optional(),
    /** Customers per page (Stripe's `limit`, 1 to 100). @default 100 */
    limit: z.int().min(1).max(100).default(100),
    ...pageLimitsShape,
  })
  .superRefine((input, ctx) => {
    const from = input.start?.from;
    if (from !== undefined && !(typeof from === 'string' && /^cus_[A-Za-z0-9]+$/.test(from))) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a customer id such as cus_NffrFeUfNV2Hib',
        path: ['start', 'from'],
      });
    }
  });

/**
 * The output of `listCustomers`: the customers of every page, newest first, the pages fetched,
 * whether the list is complete, and otherwise what stopped it and `next` (`from`: the id of the last
 * customer returned, sent as `starting_after`).
 */
export const listCustomersOutput = z.object({ ...paginatedOutputShape, items: z.array(customerOutput) });

/**
 * Lists customers page after page through the SDK's own auto-pagination (`for await` over
 * `customers.list(...)`: Stripe's list cursor, `starting_after` the last id while `has_more`),
 * stopping between items: the items of one page are read from the page the SDK holds, and the pull
 * that makes the SDK fetch the next page is one `stripeVendor.call` (so each page goes through the
 * connector's policies and keeps the rotation retry), made only within `maxPages`, `maxItems` and the
 * deadline ({@link collectPages} decides before it). The resume point is the id of the last customer
 * returned, sent as `starting_after`.
 *
 * The auto-pagination keeps each page's `has_more` and size to itself; the walk needs them to know
 * where a page ends and whether the pull after it would fetch at all (a last page that is full must
 * read as complete, not as stopped by `maxPages`). So the walk's `fetch` notes both from each list
 * page it carries back to the SDK ({@link watchListPages}); the SDK parses the answer as before.
 * @see https://docs.stripe.com/api/pagination/auto
 */
function listCustomers(
  input: z.output<typeof listCustomersInput>,
  context: OperationContext<StripeConnectorConfig>,
) {
  const { maxPages, maxItems, start, ...params } = input;
  const seen: SeenListPage = {};
  const watched: OperationContext<StripeConnectorConfig> = {
    ...context,
    fetch: watchListPages(context.fetch, seen),
  };
  const readPage = sdkPageReader<Stripe, string>((client, after) =>
    customerPages(client, { ...params, ...(after === undefined ? {} : { starting_after: after }) }, seen),
  );
  return collectPages<string>({
    start,
    keyOf: String,
    fromOf: (after) => after,
    // Stripe's cursor is an id: the page is resumed right after the last customer returned.
    cutAt: (_after, page, taken) => ({ from: (page.items[taken - 1] as { id: string }).id }),
    fetchPage: (after) => stripeVendor.call(watched, (client) => readPage(client, after)),
    maxPages,
    maxItems,
    deadlineAtMs: context.deadlineAtMs,
    minPageMs: context.config.timeoutMs,
  });
}

/** The last Stripe list page a walk's `fetch` carried: its `has_more` and its number of items. */
interface SeenListPage {
  page?: { hasMore: boolean; size: number } | undefined;
}

/**
 * The policy `fetch`, noting in `seen` the `has_more` and size of each Stripe list object
 * (`{"object": "list", "data": [...], "has_more": ...}`) it answers with; the SDK still reads the
 * answer itself (a clone is read here).
 */
function watchListPages(fetch: typeof globalThis.fetch, seen: SeenListPage): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.ok) {
      const body = (await response
        .clone()
        .json()
        .catch(() => undefined)) as { object?: unknown; data?: unknown; has_more?: unknown } | undefined;
      if (body?.object === 'list' && Array.isArray(body.data) && typeof body.has_more === 'boolean') {
        seen.page = { hasMore: body.has_more, size: body.data.length };
      }
    }
    return response;
  };
}

/**
 * The pages of the SDK's auto-pagination over `customers.list(params)`, as {@link collectPages}
 * reads them: the first pull of a page is the one that fetches it (the SDK's first request is made
 * when the list is opened); the rest of its items come from the page the SDK holds.
 */
async function* customerPages(
  client: Stripe,
  params: Stripe.CustomerListParams & { limit: number },
  seen: SeenListPage,
): AsyncGenerator<FetchedPage<string>> {
  seen.page = undefined;
  const customers = client.customers.list(params)[Symbol.asyncIterator]();
  for (;;) {
    const first = await customers.next();
    if (first.done) return;
    // Should the answer not have been read (it always is), a full page may have more: Stripe's rule.
    const { hasMore, size } = seen.page ?? { hasMore: true, size: params.limit };
    const items: Stripe.Customer[] = [first.value];
    while (items.length < size) {
      const more = await customers.next();
      if (more.done) break;
      items.push(more.value);
    }
    yield { items, next: hasMore ? items.at(-1)?.id : undefined };
    // The next pull fetches the next page: what is seen from here on is that page.
    seen.page = undefined;
  }
}

/**
 * The `stripe` connector kind: `createCustomer`, `createPaymentIntent`, `retrievePaymentIntent`,
 * `createRefund` and `listCustomers`, errors mapped by {@link mapStripeError}. See docs/connectors/stripe.md.
 */
export const stripeConnector = defineConnector<StripeConnectorConfig>({
  kind: 'stripe',
  // Each operation's output type is `unknown`: the SDK's object types have no index signature, so
  // they do not fit the loose output schemas' types; the runtime checks every answer against them.
  operations: () => ({
    createCustomer: defineOperation<StripeConnectorConfig, z.output<typeof createCustomerInput>, unknown>({
      description: 'Creates a Stripe Customer (POST /v1/customers).',
      input: createCustomerInput,
      output: customerOutput,
      run: (input, context) =>
        stripeVendor.call(context, (client) => client.customers.create(input, stripeRequestOptions(context))),
    }),
    createPaymentIntent: defineOperation<
      StripeConnectorConfig,
      z.output<typeof createPaymentIntentInput>,
      unknown
    >({
      description: 'Creates (and, with confirm, confirms) a Stripe PaymentIntent (POST /v1/payment_intents).',
      input: createPaymentIntentInput,
      output: paymentIntentOutput,
      run: (input, context) =>
        stripeVendor.call(context, (client) =>
          client.paymentIntents.create(input, stripeRequestOptions(context)),
        ),
    }),
    retrievePaymentIntent: defineOperation<
      StripeConnectorConfig,
      z.output<typeof retrievePaymentIntentInput>,
      unknown
    >({
      description: 'Retrieves a Stripe PaymentIntent (GET /v1/payment_intents/{intent}).',
      input: retrievePaymentIntentInput,
      output: paymentIntentOutput,
      // A GET carries no idempotency key; Stripe ignores one on GET anyway.
      run: (input, context) =>
        stripeVendor.call(context, (client) => client.paymentIntents.retrieve(input.id)),
    }),
    createRefund: defineOperation<StripeConnectorConfig, z.output<typeof createRefundInput>, unknown>({
      description: 'Refunds a PaymentIntent or a Charge, in whole or in part (POST /v1/refunds).',
      input: createRefundInput,
      output: refundOutput,
      run: (input, context) =>
        stripeVendor.call(context, (client) => client.refunds.create(input, stripeRequestOptions(context))),
    }),
    listCustomers: defineOperation<StripeConnectorConfig, z.output<typeof listCustomersInput>, unknown>({
      description:
        'Lists customers, newest first, page after page within maxPages, maxItems and the deadline (GET /v1/customers).',
      input: listCustomersInput,
      output: listCustomersOutput,
      run: listCustomers,
    }),
  }),
});
