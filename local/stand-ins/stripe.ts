/**
 * A mock of the Stripe API, built from `test/fixtures/stripe/stripe-contract.json` (Stripe's own
 * fixture objects and the four endpoints as the official SDK declares them; see its SOURCE.md), for
 * the `stripe` connector's contract tests and for trying the connector by hand:
 *
 * ```sh
 * npm run mock -- stripe --port 4010                     # or, logging each request:
 * npm exec -- tsx local/stand-ins/stripe.ts 4010      # (any port; 0 picks a free one)
 * STRIPE_BASE_URL=http://127.0.0.1:4010 npm start          # with {"stripe": {"apiKey": "sk_test_..."}} in the secrets file
 * ```
 *
 * It implements `POST /v1/customers`, `GET /v1/customers`, `POST /v1/payment_intents`,
 * `GET /v1/payment_intents/{intent}` and `POST /v1/refunds`. Each request is checked against its described operation: a method or path
 * no operation has, an `Authorization` that is not `Bearer <key>`, a POST body that is not
 * `application/x-www-form-urlencoded` or a GET with a body answer **400** with
 * `code: "mock_contract_violation"` and a message naming what is wrong; an unknown, missing or
 * mistyped parameter answers Stripe's own 400 (`parameter_unknown`, `parameter_missing`,
 * `parameter_invalid_integer`, `parameter_invalid_boolean`). A success answers the fixture object,
 * filled with the request's values (ids are new; PaymentIntents are remembered for retrieval and
 * refunds).
 *
 * `GET /v1/customers` pages as Stripe does (https://docs.stripe.com/api/pagination): the customers,
 * newest first, are the {@link StripeMockOptions.listedCustomers} the mock starts with and those
 * created since; `limit` (1 to 100, default 10), `starting_after` and `ending_before` (an id of the
 * list; another answers 404 `resource_missing`) and `email` (exact match) select the page, answered
 * as `{object: "list", url, has_more, data}`.
 *
 * Idempotency works as Stripe's (https://docs.stripe.com/api/idempotent_requests): a POST with an
 * `Idempotency-Key` already used (per API key) replays the stored answer with
 * `Idempotent-Replayed: true`, or answers 400 `idempotency_error` if the method, path or body
 * differ. Answers 200 and 402 are stored; rate limits, server errors and invalid parameters are not.
 *
 * Magic values (see {@link STRIPE_MOCK_MAGIC}):
 *
 * | value | answer |
 * |---|---|
 * | API key `sk_test_invalid_example` (or no `sk_`/`rk_` key) | 401 `invalid_request_error` "Invalid API Key provided" |
 * | API key `rk_test_restricted_example` | 403 insufficient permissions |
 * | `amount` 4290 (payment intents, refunds) | 429 `rate_limit`, `Retry-After: 1` |
 * | `amount` 5000 | 500 `api_error` |
 * | `amount` 5030 | 503 `api_error` |
 * | `amount` 4090 | 409 `idempotency_error` (a concurrent request with the same key) |
 * | `payment_method` `pm_card_chargeDeclined` with `confirm=true` | 402 `card_declined`, `decline_code` `generic_decline` |
 * | `payment_method` `pm_card_chargeDeclinedInsufficientFunds` with `confirm=true` | 402 `card_declined`, `insufficient_funds` |
 * | customer `email` `status-429@example.com`, `status-500@example.com`, `status-503@example.com` | that status, as above |
 * | retrieve id `pi_status_429`, `pi_status_500`, `pi_status_503` | that status, as above |
 * | retrieve id `pi_connection_reset` | the connection is closed without an answer |
 * | retrieve id `pi_not_json` | 502 with an HTML page, as a proxy in front of Stripe might answer |
 * | retrieve of an id the mock did not create (but the fixture's) | 404 `resource_missing` |
 * | refund of `payment_intent` `pi_already_refunded` | 400 `charge_already_refunded` |
 * | refund of a `payment_intent` the mock does not know (but the fixture's) | 404 `resource_missing` |
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { listenOnLoopback, type VendorMock } from './server.js';

export type { VendorMock };

/** Options of {@link startStripeMock}. */
export interface StripeMockOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** Called with one line per request answered (`POST /v1/customers -> 200`). @default none */
  log?: (line: string) => void;
  /**
   * Customers listed before any is created, newest first: `cus_mock00000001` (`customer-1@example.com`)
   * is the oldest.
   * @default {@link STRIPE_MOCK_LISTED_CUSTOMERS}
   */
  listedCustomers?: number;
}

/** The customers the mock lists before any is created: 5 pages of Stripe's default 10, less 3. */
export const STRIPE_MOCK_LISTED_CUSTOMERS = 47;

/** One endpoint as `stripe-contract.json` describes it. */
export interface StripeOperationSpec {
  sdkMethod: string;
  method: 'GET' | 'POST';
  /** Path template, e.g. `/v1/payment_intents/{intent}`. */
  path: string;
  /** The body's media type (POST only). */
  contentType?: string;
  auth: 'bearer';
  requiredParams: string[];
  /** At least one of these is required. */
  requiredOneOf?: string[];
  /** Every top-level parameter the operation accepts. */
  params: string[];
  integerParams: string[];
  booleanParams: string[];
  /** The fixture answered on success. */
  response: 'customer' | 'payment_intent' | 'refund';
}

/** One error answer of `stripe-contract.json`. */
export interface StripeErrorSpec {
  status: number;
  headers?: Record<string, string>;
  body: { error: Record<string, unknown> };
}

/** The content of `test/fixtures/stripe/stripe-contract.json`. */
export interface StripeContract {
  operations: Record<string, StripeOperationSpec>;
  fixtures: Record<'customer' | 'payment_intent' | 'refund', Record<string, unknown>>;
  errors: Record<string, StripeErrorSpec>;
}

/** The described contract the mock is built from. */
export const STRIPE_CONTRACT: StripeContract = JSON.parse(
  readFileSync(new URL('../../test/fixtures/stripe/stripe-contract.json', import.meta.url), 'utf8'),
) as StripeContract;

/** The magic values of the mock (see the table at the top of the file). */
export const STRIPE_MOCK_MAGIC = {
  invalidApiKey: 'sk_test_invalid_example',
  restrictedApiKey: 'rk_test_restricted_example',
  amountRateLimited: 4290,
  amountServerError: 5000,
  amountUnavailable: 5030,
  amountIdempotencyInProgress: 4090,
  declinedPaymentMethod: 'pm_card_chargeDeclined',
  insufficientFundsPaymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
  emailRateLimited: 'status-429@example.com',
  emailServerError: 'status-500@example.com',
  emailUnavailable: 'status-503@example.com',
  intentRateLimited: 'pi_status_429',
  intentServerError: 'pi_status_500',
  intentUnavailable: 'pi_status_503',
  intentConnectionReset: 'pi_connection_reset',
  intentNotJson: 'pi_not_json',
  alreadyRefundedIntent: 'pi_already_refunded',
} as const;

/** Decoded form or query parameters: strings, nested by Stripe's `a[b][0]` brackets. */
type Params = { [name: string]: string | Params };

/**
 * What the mock answers: a JSON body (a string `body` with a `content-type` header is sent as is),
 * or nothing at all (the connection is dropped).
 */
type Answer = { status: number; headers?: Record<string, string>; body: unknown } | 'drop';

/** An answer stored under an idempotency key. */
interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
}

const MAGIC_STATUS_ERRORS: Record<string, string> = {
  '429': 'rate_limit',
  '500': 'api_error_500',
  '503': 'api_error_503',
};

/**
 * Starts the Stripe mock on 127.0.0.1.
 * @param options - see {@link StripeMockOptions}
 */
export async function startStripeMock(options: StripeMockOptions = {}): Promise<VendorMock> {
  const requests: VendorMock['requests'] = [];
  const intents = new Map<string, Record<string, unknown>>();
  const customers = listedCustomers(options.listedCustomers ?? STRIPE_MOCK_LISTED_CUSTOMERS);
  const idempotency = new Map<string, StoredAnswer>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body });
      let answer: Answer;
      try {
        answer = handle(req, body, { intents, customers }, idempotency);
      } catch (error) {
        answer = violation(`The mock failed: ${(error as Error).message}`, 500);
      }
      options.log?.(
        `${req.method} ${req.url} -> ${answer === 'drop' ? 'connection dropped' : answer.status}`,
      );
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      send(req, res, answer);
    });
  });
  const { origin, close } = await listenOnLoopback(server, options.port);
  return {
    url: origin,
    requests,
    close,
  };
}

function send(req: IncomingMessage, res: ServerResponse, answer: Exclude<Answer, 'drop'>): void {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'request-id': `req_${randomId(14)}`,
    ...answer.headers,
  };
  const key = header(req, 'idempotency-key');
  if (key !== undefined) headers['idempotency-key'] = key;
  const version = header(req, 'stripe-version');
  if (version !== undefined) headers['stripe-version'] = version;
  res.writeHead(answer.status, headers);
  const raw = typeof answer.body === 'string' && answer.headers?.['content-type'] !== undefined;
  res.end(raw ? (answer.body as string) : JSON.stringify(answer.body));
}

/** Checks the request against its operation and answers it. */
function handle(
  req: IncomingMessage,
  body: string,
  stored: Pick<OperationState, 'intents' | 'customers'>,
  idempotency: Map<string, StoredAnswer>,
): Answer {
  const url = new URL(req.url ?? '/', 'http://mock.invalid');
  const method = (req.method ?? '').toUpperCase();
  const match = matchOperation(method, url.pathname);
  if (typeof match === 'string') return violation(match);
  const { name, spec, pathParams } = match;

  const authorization = header(req, 'authorization');
  if (authorization === undefined) return stripeError('missing_api_key');
  const bearer = /^Bearer ([^\s]+)$/.exec(authorization);
  if (!bearer?.[1]) {
    return violation(
      `${name} expects 'Authorization: Bearer <secret key>' (https://docs.stripe.com/api/authentication); got the scheme '${authorization.split(' ')[0]}'.`,
    );
  }
  const apiKey = bearer[1];
  if (apiKey === STRIPE_MOCK_MAGIC.invalidApiKey || !/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(apiKey)) {
    return stripeError('invalid_api_key', { maskedKey: maskKey(apiKey) });
  }
  if (apiKey === STRIPE_MOCK_MAGIC.restrictedApiKey) {
    return stripeError('insufficient_permissions', {
      maskedKey: maskKey(apiKey),
      permission: `rak_${spec.response}_write`,
    });
  }

  let params: Params;
  if (spec.method === 'POST') {
    const contentType = header(req, 'content-type') ?? '';
    if (!contentType.toLowerCase().startsWith(spec.contentType ?? 'application/x-www-form-urlencoded')) {
      return violation(
        `${name} expects a body of Content-Type ${spec.contentType}; got '${contentType || 'none'}'.`,
      );
    }
    params = decodeForm(body);
  } else {
    if (body !== '') return violation(`${name} (${spec.method}) expects no body; got ${body.length} bytes.`);
    params = decodeForm(url.search.slice(1));
  }

  const problem = checkParams(spec, params);
  if (problem) return problem;

  const idempotencyKey = spec.method === 'POST' ? header(req, 'idempotency-key') : undefined;
  const slot = idempotencyKey === undefined ? undefined : `${apiKey}\n${idempotencyKey}`;
  const fingerprint = `${method} ${url.pathname}\n${body}`;
  const replay = slot === undefined ? undefined : idempotency.get(slot);
  if (replay) {
    if (replay.fingerprint !== fingerprint) {
      return stripeError('idempotency_key_reused', { key: idempotencyKey ?? '' });
    }
    return { status: replay.status, headers: { 'idempotent-replayed': 'true' }, body: replay.body };
  }

  const answer = OPERATIONS[name]?.(params, pathParams, { ...stored, idempotencyKey }) ?? violation(name);
  if (slot !== undefined && answer !== 'drop' && (answer.status === 200 || answer.status === 402)) {
    idempotency.set(slot, { fingerprint, status: answer.status, body: answer.body });
  }
  return answer;
}

/** The operation a method and path belong to, or a message naming what does not match. */
function matchOperation(
  method: string,
  path: string,
): { name: string; spec: StripeOperationSpec; pathParams: Record<string, string> } | string {
  let pathOnly: string | undefined;
  for (const [name, spec] of Object.entries(STRIPE_CONTRACT.operations)) {
    const names: string[] = [];
    const pattern = spec.path.replace(/\{([^}]+)\}/g, (_m, param: string) => {
      names.push(param);
      return '([^/]+)';
    });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (!found) continue;
    if (spec.method !== method) {
      pathOnly = `${spec.method} ${spec.path}`;
      continue;
    }
    const pathParams = Object.fromEntries(
      names.map((param, i) => [param, decodeURIComponent(found[i + 1] ?? '')]),
    );
    return { name, spec, pathParams };
  }
  const described = Object.values(STRIPE_CONTRACT.operations)
    .map((spec) => `${spec.method} ${spec.path}`)
    .join(', ');
  return pathOnly
    ? `Unrecognized request: ${method} ${path}; the described operation on this path is ${pathOnly}.`
    : `Unrecognized request URL (${method}: ${path}). The mock implements: ${described}.`;
}

/** Stripe's own 400 for an unknown, missing or mistyped parameter, or `undefined`. */
function checkParams(spec: StripeOperationSpec, params: Params): Answer | undefined {
  for (const name of Object.keys(params)) {
    if (!spec.params.includes(name)) return stripeError('parameter_unknown', { param: name });
  }
  for (const name of spec.requiredParams) {
    if (params[name] === undefined || params[name] === '')
      return stripeError('parameter_missing', { param: name });
  }
  if (spec.requiredOneOf && !spec.requiredOneOf.some((name) => params[name] !== undefined)) {
    return stripeError('parameter_missing', { param: spec.requiredOneOf.join(' or ') });
  }
  for (const name of spec.integerParams) {
    const value = params[name];
    if (value !== undefined && (typeof value !== 'string' || !/^-?\d+$/.test(value))) {
      return stripeError('parameter_invalid_integer', { param: name, value: String(value) });
    }
  }
  for (const name of spec.booleanParams) {
    const value = params[name];
    if (value !== undefined && value !== 'true' && value !== 'false') {
      return stripeError('parameter_invalid_boolean', { param: name, value: String(value) });
    }
  }
  return undefined;
}

interface OperationState {
  intents: Map<string, Record<string, unknown>>;
  /** Every customer, newest first. */
  customers: Array<Record<string, unknown>>;
  idempotencyKey: string | undefined;
}

type OperationHandler = (params: Params, pathParams: Record<string, string>, state: OperationState) => Answer;

/** A magic status error for an amount, if the amount is magic. */
function amountMagic(amount: string | Params | undefined, state: OperationState): Answer | undefined {
  switch (Number(amount)) {
    case STRIPE_MOCK_MAGIC.amountRateLimited:
      return stripeError('rate_limit');
    case STRIPE_MOCK_MAGIC.amountServerError:
      return stripeError('api_error_500');
    case STRIPE_MOCK_MAGIC.amountUnavailable:
      return stripeError('api_error_503');
    case STRIPE_MOCK_MAGIC.amountIdempotencyInProgress:
      return stripeError('idempotency_key_in_use', { key: state.idempotencyKey ?? '(none)' });
    default:
      return undefined;
  }
}

const OPERATIONS: Record<string, OperationHandler> = {
  createCustomer(params, _path, state) {
    const email = str(params.email);
    const magic = /^status-(\d{3})@example\.com$/.exec(email ?? '')?.[1];
    const magicError = magic === undefined ? undefined : MAGIC_STATUS_ERRORS[magic];
    if (magicError) return stripeError(magicError);
    const customer = {
      ...fixture('customer'),
      id: `cus_${randomId(14)}`,
      created: now(),
      email: email ?? null,
      name: str(params.name) ?? null,
      phone: str(params.phone) ?? null,
      description: str(params.description) ?? null,
      metadata: obj(params.metadata) ?? {},
    };
    state.customers.unshift(customer);
    return ok(customer);
  },

  listCustomers(params, _path, state) {
    const email = str(params.email);
    const magic = /^status-(\d{3})@example\.com$/.exec(email ?? '')?.[1];
    const magicError = magic === undefined ? undefined : MAGIC_STATUS_ERRORS[magic];
    if (magicError) return stripeError(magicError);
    const limit = params.limit === undefined ? 10 : Number(params.limit);
    if (limit < 1 || limit > 100)
      return stripeError('parameter_invalid_integer', { param: 'limit', value: String(limit) });
    const listed = state.customers.filter((customer) => email === undefined || customer.email === email);
    const indexOf = (param: 'starting_after' | 'ending_before') => {
      const id = str(params[param]);
      if (id === undefined) return undefined;
      const at = listed.findIndex((customer) => customer.id === id);
      if (at !== -1) return at;
      const missing = stripeError('resource_missing', { id, param });
      // The contract's message names a payment_intent; Stripe names the object it looked for.
      if (missing !== 'drop') {
        (missing.body as { error: { message: string } }).error.message = `No such customer: '${id}'`;
      }
      return missing;
    };
    const after = indexOf('starting_after');
    const before = indexOf('ending_before');
    if (typeof after === 'object' || after === 'drop') return after;
    if (typeof before === 'object' || before === 'drop') return before;
    const from = before !== undefined ? Math.max(0, before - limit) : after !== undefined ? after + 1 : 0;
    const to = before !== undefined ? before : from + limit;
    const data = listed.slice(from, to);
    const hasMore = before !== undefined ? from > 0 : to < listed.length;
    return ok({ object: 'list', url: '/v1/customers', has_more: hasMore, data });
  },

  createPaymentIntent(params, _path, state) {
    const magic = amountMagic(params.amount, state);
    if (magic) return magic;
    const id = `pi_${randomId(24)}`;
    const amount = Number(params.amount);
    const paymentMethod = str(params.payment_method) ?? null;
    const confirm = params.confirm === 'true';
    const manual = params.capture_method === 'manual';
    const declined =
      confirm &&
      (paymentMethod === STRIPE_MOCK_MAGIC.declinedPaymentMethod ||
        paymentMethod === STRIPE_MOCK_MAGIC.insufficientFundsPaymentMethod);
    const status =
      !paymentMethod || declined
        ? 'requires_payment_method'
        : !confirm
          ? 'requires_confirmation'
          : manual
            ? 'requires_capture'
            : 'succeeded';
    const charged = status === 'succeeded' || status === 'requires_capture' || declined;
    const charge = charged ? `ch_${randomId(24)}` : null;
    const automatic = obj(params.automatic_payment_methods);
    const intent: Record<string, unknown> = {
      ...fixture('payment_intent'),
      id,
      client_secret: `${id}_secret_${randomId(25)}`,
      created: now(),
      amount,
      amount_capturable: status === 'requires_capture' ? amount : 0,
      amount_received: status === 'succeeded' ? amount : 0,
      currency: str(params.currency),
      customer: str(params.customer) ?? null,
      payment_method: declined ? null : paymentMethod,
      description: str(params.description) ?? null,
      receipt_email: str(params.receipt_email) ?? null,
      metadata: obj(params.metadata) ?? {},
      capture_method: str(params.capture_method) ?? 'automatic',
      automatic_payment_methods: automatic ? { enabled: automatic.enabled === 'true' } : null,
      status,
      latest_charge: charge,
      canceled_at: null,
      cancellation_reason: null,
      next_action: null,
      last_payment_error: null,
    };
    if (declined) {
      const kind =
        paymentMethod === STRIPE_MOCK_MAGIC.declinedPaymentMethod ? 'card_declined' : 'insufficient_funds';
      const error = errorBody(kind, { charge: charge ?? '', payment_intent: id });
      intent.last_payment_error = { ...error, payment_intent: undefined };
      state.intents.set(id, intent);
      // Stripe's card error carries the whole PaymentIntent, client_secret included.
      return {
        status: STRIPE_CONTRACT.errors[kind]?.status ?? 402,
        body: { error: { ...error, payment_intent: intent } },
      };
    }
    state.intents.set(id, intent);
    return ok(intent);
  },

  retrievePaymentIntent(_params, pathParams, state) {
    const id = pathParams.intent ?? '';
    if (id === STRIPE_MOCK_MAGIC.intentConnectionReset) return 'drop';
    if (id === STRIPE_MOCK_MAGIC.intentNotJson) {
      return {
        status: 502,
        headers: { 'content-type': 'text/html' },
        body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
      };
    }
    const magic = /^pi_status_(\d{3})$/.exec(id)?.[1];
    const magicError = magic === undefined ? undefined : MAGIC_STATUS_ERRORS[magic];
    if (magicError) return stripeError(magicError);
    const intent =
      state.intents.get(id) ?? (id === fixture('payment_intent').id ? fixture('payment_intent') : undefined);
    if (!intent) return stripeError('resource_missing', { id, param: 'intent' });
    return ok(intent);
  },

  createRefund(params, _path, state) {
    const magic = amountMagic(params.amount, state);
    if (magic) return magic;
    const paymentIntentId = str(params.payment_intent);
    if (paymentIntentId === STRIPE_MOCK_MAGIC.alreadyRefundedIntent) {
      return stripeError('charge_already_refunded', { charge: `ch_${randomId(24)}` });
    }
    let intent: Record<string, unknown> | undefined;
    if (paymentIntentId !== undefined) {
      intent =
        state.intents.get(paymentIntentId) ??
        (paymentIntentId === fixture('payment_intent').id ? fixture('payment_intent') : undefined);
      if (!intent) return stripeError('resource_missing', { id: paymentIntentId, param: 'payment_intent' });
    }
    const base = fixture('refund');
    const refund = {
      ...base,
      id: `re_${randomId(24)}`,
      created: now(),
      amount: params.amount !== undefined ? Number(params.amount) : (intent?.amount ?? base.amount),
      currency: intent?.currency ?? base.currency,
      payment_intent: paymentIntentId ?? null,
      charge: str(params.charge) ?? intent?.latest_charge ?? base.charge,
      reason: str(params.reason) ?? null,
      metadata: obj(params.metadata) ?? {},
      status: 'succeeded',
    };
    return ok(refund);
  },
};

function ok(body: unknown): Answer {
  return { status: 200, body };
}

/** A copy of a fixture object of the contract. */
function fixture(name: 'customer' | 'payment_intent' | 'refund'): Record<string, unknown> {
  return structuredClone(STRIPE_CONTRACT.fixtures[name]);
}

/** The body of a described error with its `{placeholders}` filled in (empty values dropped). */
function errorBody(name: string, values: Record<string, string> = {}): Record<string, unknown> {
  const spec = STRIPE_CONTRACT.errors[name];
  if (!spec) throw new Error(`no error '${name}' in stripe-contract.json`);
  const filled: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec.body.error)) {
    const text =
      typeof value === 'string' ? value.replace(/\{(\w+)\}/g, (_m, key: string) => values[key] ?? '') : value;
    if (text !== '') filled[field] = text;
  }
  return filled;
}

/** A described error answer. */
function stripeError(name: string, values: Record<string, string> = {}): Answer {
  const spec = STRIPE_CONTRACT.errors[name];
  if (!spec) throw new Error(`no error '${name}' in stripe-contract.json`);
  return {
    status: spec.status,
    ...(spec.headers ? { headers: spec.headers } : {}),
    body: { error: errorBody(name, values) },
  };
}

/** A request that does not match the described contract. */
function violation(message: string, status = 400): Answer {
  return {
    status,
    body: { error: { type: 'invalid_request_error', code: 'mock_contract_violation', message } },
  };
}

/**
 * Decodes `application/x-www-form-urlencoded` (or a query string) into nested parameters, as Stripe
 * reads them: `metadata[order]=1&items[0][price]=p` → `{metadata: {order: '1'}, items: {'0': {price: 'p'}}}`.
 */
export function decodeForm(text: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    const segments = match?.[1]
      ? [match[1], ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? '')]
      : [key];
    if (segments.some((segment) => segment === '__proto__' || segment === 'constructor')) continue;
    let node: Params = root;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) {
        node[segment] = value;
        return;
      }
      const next = node[segment];
      if (typeof next === 'object') node = next;
      else {
        const created: Params = {};
        node[segment] = created;
        node = created;
      }
    });
  }
  return root;
}

function str(value: string | Params | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function obj(value: string | Params | undefined): Params | undefined {
  return typeof value === 'object' ? value : undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `sk_test_********mple`, as Stripe shows a key in its messages. */
function maskKey(key: string): string {
  const prefix = /^(sk|rk)_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}${'*'.repeat(Math.max(4, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

/** `count` customers, newest first, made from the fixture with ids and emails by number. */
function listedCustomers(count: number): Array<Record<string, unknown>> {
  const base = fixture('customer');
  const oldest = now() - count * 60;
  return Array.from({ length: count }, (_, i) => {
    const n = count - i;
    return {
      ...structuredClone(base),
      id: `cus_mock${String(n).padStart(8, '0')}`,
      created: oldest + n * 60,
      email: `customer-${n}@example.com`,
      name: `Customer ${n}`,
    };
  });
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

// `npm exec -- tsx local/stand-ins/stripe.ts [port]`: run the mock by hand.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? process.env.STRIPE_MOCK_PORT ?? 4010);
  const mock = await startStripeMock({ port, log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(
    `Stripe mock on ${mock.url} (see the magic values at the top of local/stand-ins/stripe.ts); Ctrl-C stops it.\n`,
  );
}
