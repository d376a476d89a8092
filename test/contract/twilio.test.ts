/**
 * Contract tests of the `twilio` connector: the real handler, the official `twilio` SDK and the
 * connector's policies against the Twilio mock, which checks every request against Twilio's own
 * description of `CreateMessage` (test/fixtures/twilio/create-message.openapi.json).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConnectorConfig, parseConnectorConfig } from '../../functions/shared/config.js';
import {
  acceptSecret,
  type CredentialStore,
  type GetSecretOptions,
  type SecretValue,
} from '../../functions/shared/credentials/store.js';
import { ConnectorError, configurationError } from '../../functions/shared/errors.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { rewriteTwilioUrl, twilioConnector } from '../../functions/twilio/connector.js';
import { mapTwilioError, TWILIO_ERROR_RULES } from '../../functions/twilio/errors.js';
import { startTwilioMock, TWILIO_MAGIC, type VendorMock } from '../../local/stand-ins/twilio.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

/** Twilio's own placeholder Account SID (its documentation's examples use it): obviously fake. */
const ACCOUNT_SID = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const AUTH_TOKEN = 'fake-auth-token-for-contract-tests';
const ROTATED_AUTH_TOKEN = 'fake-rotated-auth-token-for-tests';
const SECRET_NAME = 'twilio-contract';
const CONNECTOR = 'twilio-sms';
const MAX_ATTEMPTS = 3;
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const TO = '+14155552345';
const FROM = TWILIO_MAGIC.from.valid;
const SERVICE_SID = 'MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

/**
 * Secrets in memory, registered with the redactor as the real stores do; `afterRefresh` is what a
 * forced refresh reads (a rotated secret).
 */
class MemoryCredentialStore implements CredentialStore {
  readonly reads: GetSecretOptions[] = [];
  #secret: Record<string, string>;
  readonly #afterRefresh: Record<string, string> | undefined;
  readonly #redactor: Redactor;

  constructor(redactor: Redactor, secret: Record<string, string>, afterRefresh?: Record<string, string>) {
    this.#redactor = redactor;
    this.#secret = secret;
    this.#afterRefresh = afterRefresh;
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    this.reads.push({ ...options });
    if (name !== SECRET_NAME) throw configurationError(`Secret '${name}' is not in the memory store.`);
    if (options.forceRefresh && this.#afterRefresh) this.#secret = this.#afterRefresh;
    this.#redactor.addSecretValues(this.#secret);
    return acceptSecret(name, 'memory', this.#secret, this.#redactor);
  }
}

interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    source: string;
    retryable: boolean;
    upstreamStatus?: number;
    retryAfterSeconds?: number;
    attempts?: number;
    details?: unknown;
  };
}

interface SuccessEnvelope {
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
}

let mock: VendorMock;

beforeAll(async () => {
  mock = await startTwilioMock();
});

afterAll(async () => {
  await mock?.close();
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  mock.requests.length = 0;
});

/** A `twilio` connector config over the mock; `overrides` replace top-level fields. */
function twilioConfig(overrides: Record<string, unknown> = {}): ConnectorConfig {
  return parseConnectorConfig(
    {
      kind: 'twilio',
      name: CONNECTOR,
      secret: SECRET_NAME,
      baseUrl: mock.url,
      timeoutMs: 2_000,
      retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterSeconds: 5 },
      ...overrides,
    },
    'test',
    { allowLoopbackHttp: true },
  );
}

interface SetupOptions {
  secret?: Record<string, string>;
  rotatedSecret?: Record<string, string>;
  config?: Record<string, unknown>;
}

/** The connector's handler over the mock, secrets in memory, output captured. */
function setup(options: SetupOptions = {}) {
  const output = captureOutput();
  const redactor = new Redactor();
  const store = new MemoryCredentialStore(
    redactor,
    options.secret ?? { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN },
    options.rotatedSecret,
  );
  const handler = twilioConnector.createHandler({
    config: twilioConfig(options.config),
    credentials: store,
    powertools: createPowertools({ serviceName: 'twilio-contract', redactor }),
    redactor,
    allowLoopbackHttp: true,
  });
  const invoke = async (body: unknown) => {
    const result = await handler(
      apiGatewayEvent({ connector: CONNECTOR, operation: 'sendSms', body }),
      lambdaContext(),
    );
    return {
      status: result.statusCode,
      headers: result.headers ?? {},
      body: JSON.parse(result.body) as unknown,
    };
  };
  return { invoke, store, output };
}

function errorOf(body: unknown): ErrorEnvelope['error'] {
  return (body as ErrorEnvelope).error;
}

function formOf(index = 0): URLSearchParams {
  return new URLSearchParams(mock.requests[index]?.body ?? '');
}

function basic(accountSid: string, authToken: string): string {
  return `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
}

describe('sendSms: the request matches CreateMessage', () => {
  it('POSTs a form to the Messages path of the credentials account, with Basic auth, and answers 200 with the Message', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'Hello from the contract test' });

    // Assess
    expect(mock.requests).toHaveLength(1);
    const [request] = mock.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(MESSAGES_PATH);
    expect(request?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request?.headers.authorization).toBe(basic(ACCOUNT_SID, AUTH_TOKEN));
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(Object.fromEntries(formOf())).toEqual({
      To: TO,
      From: FROM,
      Body: 'Hello from the contract test',
    });
    expect(result.status).toBe(200);
    const { data, meta } = result.body as SuccessEnvelope;
    expect(data).toMatchObject({
      accountSid: ACCOUNT_SID,
      status: 'queued',
      to: TO,
      from: FROM,
      body: 'Hello from the contract test',
      direction: 'outbound-api',
      numMedia: '0',
      errorCode: null,
      errorMessage: null,
      dateSent: null,
      apiVersion: '2010-04-01',
    });
    expect(data.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(data.dateCreated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(data.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${String(data.sid)}.json`);
    expect(meta).toMatchObject({
      connector: CONNECTOR,
      operation: 'sendSms',
      attempts: 1,
      cached: false,
      idempotentReplay: false,
      upstreamStatus: 201,
    });
  });

  it('sends MessagingServiceSid instead of From, and media URLs as repeated MediaUrl fields with a StatusCallback', async () => {
    // Prepare
    const { invoke } = setup();
    const mediaUrl = ['https://example.com/cat.png', 'https://example.com/dog.png'];

    // Act
    const result = await invoke({
      to: TO,
      messagingServiceSid: SERVICE_SID,
      mediaUrl,
      statusCallback: 'https://example.com/twilio/status',
      validityPeriod: 600,
    });

    // Assess
    const form = formOf();
    expect(form.get('MessagingServiceSid')).toBe(SERVICE_SID);
    expect(form.has('From')).toBe(false);
    expect(form.getAll('MediaUrl')).toEqual(mediaUrl);
    expect(form.get('StatusCallback')).toBe('https://example.com/twilio/status');
    expect(form.get('ValidityPeriod')).toBe('600');
    expect(result.status).toBe(200);
    const { data } = result.body as SuccessEnvelope;
    expect(data).toMatchObject({
      status: 'accepted',
      from: null,
      messagingServiceSid: SERVICE_SID,
      numMedia: '2',
    });
    expect(data.sid).toMatch(/^MM[0-9a-f]{32}$/);
  });

  it('refuses an input without a sender or a body with 400 VALIDATION_ERROR and sends nothing', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, sender: FROM });

    // Assess
    expect(result.status).toBe(400);
    const error = errorOf(result.body);
    expect(error.code).toBe('VALIDATION_ERROR');
    const paths = (error.details as Array<{ path: string }>).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['from', 'body']));
    expect(JSON.stringify(error.details)).toContain('sender');
    expect(mock.requests).toHaveLength(0);
  });
});

describe('sendSms: Twilio error answers', () => {
  it.each([
    { name: "invalid 'To'", input: { to: TWILIO_MAGIC.to.invalid }, twilioCode: 21211 },
    { name: "unreachable 'To'", input: { to: TWILIO_MAGIC.to.unreachable }, twilioCode: 21612 },
    {
      name: 'region not enabled',
      input: { to: TWILIO_MAGIC.to.noInternationalPermission },
      twilioCode: 21408,
    },
    { name: 'unsubscribed recipient', input: { to: TWILIO_MAGIC.to.unsubscribed }, twilioCode: 21610 },
    { name: "'To' not a mobile number", input: { to: TWILIO_MAGIC.to.notMobile }, twilioCode: 21614 },
    { name: "invalid 'From'", input: { from: TWILIO_MAGIC.from.invalid }, twilioCode: 21212 },
    { name: "'From' not owned", input: { from: TWILIO_MAGIC.from.notOwned }, twilioCode: 21606 },
    {
      name: 'resource not found',
      input: { body: TWILIO_MAGIC.body.notFound },
      twilioCode: 20404,
      status: 404,
    },
  ])('maps $name (Twilio $twilioCode) to 422 UPSTREAM_REJECTED with the code and its link', async (row) => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'hello', ...row.input });

    // Assess
    expect(mock.requests).toHaveLength(1);
    expect(result.status).toBe(422);
    const error = errorOf(result.body);
    expect(error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      source: 'upstream',
      retryable: false,
      upstreamStatus: row.status ?? 400,
      attempts: 1,
    });
    expect(error.details).toEqual({
      code: row.twilioCode,
      message: expect.any(String),
      moreInfo: `https://www.twilio.com/docs/errors/${row.twilioCode}`,
      status: row.status ?? 400,
    });
    expect(error.message).toContain(`Twilio error ${row.twilioCode}`);
  });

  it("marks a full 'From' queue (21611) as UPSTREAM_REJECTED the caller may retry later", async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: TWILIO_MAGIC.from.queueFull, body: 'hello' });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result.body)).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      retryable: true,
      upstreamStatus: 400,
      details: { code: 21611 },
    });
  });

  it('maps an RFC 9457 problem-details answer (TwilioServiceException) the same way', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.problemDetails });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result.body)).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 400,
      details: {
        code: 21211,
        message: `The 'To' number ${TO} is not a valid phone number.`,
        moreInfo: 'https://www.twilio.com/docs/api/errors/21211',
        status: 400,
      },
    });
  });

  it('answers 502 UPSTREAM_ERROR when a 2xx answer is not JSON', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.malformedResponse });

    // Assess
    expect(result.status).toBe(502);
    expect(errorOf(result.body)).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 201,
      retryable: false,
    });
  });
});

describe('sendSms: credentials', () => {
  it('maps 401 (Twilio 20003) to 502 AUTHENTICATION_ERROR after one forced secret refresh that changed nothing', async () => {
    // Prepare
    const { invoke, store } = setup({
      secret: { accountSid: ACCOUNT_SID, authToken: TWILIO_MAGIC.invalidAuthToken },
    });

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'hello' });

    // Assess
    expect(result.status).toBe(502);
    expect(errorOf(result.body)).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      source: 'upstream',
      retryable: false,
      upstreamStatus: 401,
      details: { code: 20003, moreInfo: 'https://www.twilio.com/docs/errors/20003', status: 401 },
    });
    expect(store.reads.map((read) => read.forceRefresh === true)).toEqual([false, true]);
    expect(mock.requests).toHaveLength(1);
  });

  it('retries once with a rotated Auth Token read by the forced refresh', async () => {
    // Prepare
    const { invoke, store } = setup({
      secret: { accountSid: ACCOUNT_SID, authToken: TWILIO_MAGIC.invalidAuthToken },
      rotatedSecret: { accountSid: ACCOUNT_SID, authToken: ROTATED_AUTH_TOKEN },
    });

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'hello' });

    // Assess
    expect(result.status).toBe(200);
    expect(store.reads.map((read) => read.forceRefresh === true)).toEqual([false, true]);
    expect(mock.requests.map((request) => request.headers.authorization)).toEqual([
      basic(ACCOUNT_SID, TWILIO_MAGIC.invalidAuthToken),
      basic(ACCOUNT_SID, ROTATED_AUTH_TOKEN),
    ]);
    expect((result.body as SuccessEnvelope).meta).toMatchObject({ attempts: 2, upstreamStatus: 201 });
  });

  it.each<{ missing: string; secret: Record<string, string> }>([
    { missing: 'authToken', secret: { accountSid: ACCOUNT_SID } },
    { missing: 'accountSid', secret: { authToken: AUTH_TOKEN } },
  ])('answers 500 CONFIGURATION_ERROR naming the missing $missing field, and sends nothing', async (row) => {
    // Prepare
    const { invoke } = setup({ secret: row.secret });

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'hello' });

    // Assess
    expect(result.status).toBe(500);
    const error = errorOf(result.body);
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain(`'${row.missing}'`);
    expect(error.message).toContain(SECRET_NAME);
    expect(mock.requests).toHaveLength(0);
  });

  it('answers 500 CONFIGURATION_ERROR for an accountSid that is no Account SID, without echoing it', async () => {
    // Prepare
    const badSid = 'not-an-account-sid-value';
    const { invoke } = setup({ secret: { accountSid: badSid, authToken: AUTH_TOKEN } });

    // Act
    const result = await invoke({ to: TO, from: FROM, body: 'hello' });

    // Assess
    expect(result.status).toBe(500);
    const error = errorOf(result.body);
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain("'accountSid'");
    expect(JSON.stringify(result.body)).not.toContain(badSid);
    expect(mock.requests).toHaveLength(0);
  });

  it('never writes a secret value or the Basic credential to the logs', async () => {
    // Prepare
    const { invoke, output } = setup({
      secret: { accountSid: ACCOUNT_SID, authToken: TWILIO_MAGIC.invalidAuthToken },
      rotatedSecret: { accountSid: ACCOUNT_SID, authToken: ROTATED_AUTH_TOKEN },
    });

    // Act
    const answers = [
      await invoke({ to: TO, from: FROM, body: 'hello' }),
      await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.serverError }),
      await invoke({ to: TWILIO_MAGIC.to.invalid, from: FROM, body: 'hello' }),
    ];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 502, 422]);
    const text = output.text();
    expect(output.lines().length).toBeGreaterThan(0);
    for (const secret of [
      TWILIO_MAGIC.invalidAuthToken,
      ROTATED_AUTH_TOKEN,
      basic(ACCOUNT_SID, ROTATED_AUTH_TOKEN).slice('Basic '.length),
      basic(ACCOUNT_SID, TWILIO_MAGIC.invalidAuthToken).slice('Basic '.length),
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.stringify(answers)).not.toContain(ROTATED_AUTH_TOKEN);
  });
});

describe('sendSms: retries belong to the policies, not the SDK', () => {
  it('answers 429 RATE_LIMIT_EXCEEDED with Retry-After after retry.maxAttempts requests', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.rateLimit });

    // Assess
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
    expect(result.status).toBe(429);
    expect(result.headers['retry-after']).toBe('1');
    expect(errorOf(result.body)).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      retryable: true,
      upstreamStatus: 429,
      retryAfterSeconds: 1,
      attempts: MAX_ATTEMPTS,
      details: { code: 20429, status: 429 },
    });
  });

  it.each([{ maxAttempts: 1 }, { maxAttempts: 2 }])(
    'sends exactly $maxAttempts request(s) for a persistent 429 when retry.maxAttempts is $maxAttempts',
    async ({ maxAttempts }) => {
      // Prepare
      const { invoke } = setup({
        config: { retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterSeconds: 5 } },
      });

      // Act
      const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.rateLimit });

      // Assess
      expect(result.status).toBe(429);
      expect(mock.requests).toHaveLength(maxAttempts);
    },
  );

  it('answers 502 UPSTREAM_ERROR after retry.maxAttempts requests for a persistent 503', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.unavailable });

    // Assess
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
    expect(result.status).toBe(502);
    expect(errorOf(result.body)).toMatchObject({
      code: 'UPSTREAM_ERROR',
      retryable: true,
      upstreamStatus: 503,
      attempts: MAX_ATTEMPTS,
      details: { code: 20503, status: 503 },
    });
  });

  it('does not repeat a POST that failed with 500 (it may have been processed): one request, 502 UPSTREAM_ERROR', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const result = await invoke({ to: TO, from: FROM, body: TWILIO_MAGIC.body.serverError });

    // Assess
    expect(mock.requests).toHaveLength(1);
    expect(result.status).toBe(502);
    expect(errorOf(result.body)).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 500,
      details: { code: 20500, status: 500 },
    });
  });
});

describe('the Twilio mock checks requests against the description', () => {
  const form = new URLSearchParams({ To: TO, From: FROM, Body: 'hello' }).toString();

  it.each([
    {
      name: 'a JSON body',
      path: MESSAGES_PATH,
      headers: { 'content-type': 'application/json', authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
      body: JSON.stringify({ To: TO, From: FROM, Body: 'hello' }),
      names: 'Content-Type must be application/x-www-form-urlencoded',
    },
    {
      name: 'no Authorization',
      path: MESSAGES_PATH,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      names: "security scheme accountSid_authToken needs 'Authorization: Basic",
    },
    {
      name: 'a Basic user that is not the path account',
      path: MESSAGES_PATH,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', AUTH_TOKEN),
      },
      body: form,
      names: 'the Basic user name must be the Account SID of the path',
    },
    {
      name: 'a malformed Account SID',
      path: '/2010-04-01/Accounts/ACzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/Messages.json',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('ACzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', AUTH_TOKEN),
      },
      body: form,
      names: "path parameter AccountSid 'ACzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' does not match",
    },
    {
      name: 'an undescribed path',
      path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
      },
      body: form,
      names: 'no described operation has the path',
    },
    {
      name: 'a field against its schema',
      path: MESSAGES_PATH,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
      },
      body: `${form}&ValidityPeriod=soon`,
      names: "field ValidityPeriod 'soon' must be an integer",
    },
  ])('answers 400 naming the problem for $name', async (row) => {
    // Prepare
    const url = `${mock.url}${row.path}`;

    // Act
    const response = await fetch(url, { method: 'POST', headers: row.headers, body: row.body });

    // Assess
    expect(response.status).toBe(400);
    const body = (await response.json()) as { message: string; status: number };
    expect(body.status).toBe(400);
    expect(body.message).toContain(row.names);
  });

  it("answers Twilio's own 21604 for a missing 'To'", async () => {
    // Prepare
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
    };

    // Act
    const response = await fetch(`${mock.url}${MESSAGES_PATH}`, {
      method: 'POST',
      headers,
      body: 'From=%2B15005550006&Body=hi',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 21604, status: 400 });
  });
});

describe('SDK wiring and error mapping', () => {
  it.each([
    {
      uri: `https://api.twilio.com${MESSAGES_PATH}`,
      baseUrl: 'https://twilio-proxy.example.com/twilio/',
      expected: `https://twilio-proxy.example.com/twilio${MESSAGES_PATH}`,
    },
    {
      uri: `https://api.sydney.au1.twilio.com${MESSAGES_PATH}?PageSize=20`,
      baseUrl: 'http://127.0.0.1:4010',
      expected: `http://127.0.0.1:4010${MESSAGES_PATH}?PageSize=20`,
    },
  ])('moves $uri onto the base URL $baseUrl', (row) => {
    // Prepare
    const { uri, baseUrl } = row;

    // Act
    const url = rewriteTwilioUrl(uri, baseUrl);

    // Assess
    expect(url.href).toBe(row.expected);
  });

  it('refuses a URL that is not a Twilio API host', () => {
    // Prepare
    const uri = 'https://tls-test.example.com/';

    // Act
    const act = () => rewriteTwilioUrl(uri, 'https://api.twilio.com');

    // Assess
    expect(act).toThrow(ConnectorError);
  });

  it.each([
    { status: 403, code: 20008, expected: 'AUTHENTICATION_ERROR' },
    { status: 429, code: 99999, expected: 'RATE_LIMIT_EXCEEDED' },
    { status: 408, code: undefined, expected: 'UPSTREAM_ERROR' },
    { status: 502, code: undefined, expected: 'UPSTREAM_ERROR' },
    { status: 409, code: 12345, expected: 'UPSTREAM_REJECTED' },
    { status: 400, code: 20005, expected: 'AUTHENTICATION_ERROR' },
  ])('maps an unlisted or listed code by rule, else by status: $status/$code → $expected', (row) => {
    // Prepare
    const error = Object.assign(new Error('Twilio said no'), {
      status: row.status,
      code: row.code,
      moreInfo: undefined,
    });

    // Act
    const mapped = mapTwilioError(error);

    // Assess
    expect(mapped?.code).toBe(row.expected);
    expect(mapped?.upstreamStatus).toBe(row.status);
  });

  it('leaves errors that are not Twilio answers unmapped, and documents every rule', () => {
    // Prepare
    const notTwilio = [new TypeError('boom'), 'text', { status: 400 }];

    // Act
    const mapped = notTwilio.map((error) => mapTwilioError(error));

    // Assess
    expect(mapped).toEqual([undefined, undefined, undefined]);
    for (const [code, rule] of TWILIO_ERROR_RULES) {
      expect(rule.docUrl).toBe(`https://www.twilio.com/docs/api/errors/${code}`);
    }
  });
});
