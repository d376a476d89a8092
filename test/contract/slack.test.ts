/**
 * Contract tests of the `slack` connector: the real handler and the official SDK against a mock built
 * from Slack's own API description (test/fixtures/slack), over real HTTP on 127.0.0.1.
 */
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { configurationError, type ErrorBody } from '../../functions/shared/errors.js';
import { Redactor } from '../../functions/shared/redaction.js';
import type { ConnectorHandler, SuccessBody } from '../../functions/shared/runtime/index.js';
import { type SlackConnectorConfig, slackConnector } from '../../functions/slack/connector.js';
import { mapSlackError } from '../../functions/slack/errors.js';
import {
  describedOperation,
  MISMATCH_ERROR,
  SLACK_MOCK_MAGIC,
  schemaProblems,
  startSlackMock,
  type VendorMock,
} from '../../local/stand-ins/slack.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

/** Obviously fake tokens (never of Slack's real `xoxb-<digits>-` shape). */
const TOKEN = 'xoxb-example-token-not-real';
const ROTATED_TOKEN = 'xoxb-example-rotated-not-real';
const SECRET_NAME = 'slack-test';
const CHANNEL = 'C0123456789';
const PARENT_TS = '1503435956.000247';

const postMessageOp = describedOperation('/chat.postMessage');
const updateOp = describedOperation('/chat.update');

/**
 * An in-memory credential store that behaves like the real ones: values are registered with the
 * redactor when handed out, reads are cached until a forced refresh, and a secret can be rotated.
 */
class MemoryCredentialStore implements CredentialStore {
  readonly #current = new Map<string, SecretValue>();
  readonly #cached = new Map<string, SecretValue>();
  readonly #redactor: Redactor;
  /** Reads with `forceRefresh`. */
  forcedReads = 0;

  constructor(secrets: Record<string, SecretValue>, redactor: Redactor) {
    for (const [name, value] of Object.entries(secrets)) this.#current.set(name, value);
    this.#redactor = redactor;
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    if (options.forceRefresh) this.forcedReads += 1;
    const cached = options.forceRefresh ? undefined : this.#cached.get(name);
    const value = cached ?? this.#current.get(name);
    if (value === undefined) throw configurationError(`Secret '${name}' is not in the test store.`);
    this.#redactor.addSecretValues(value);
    this.#cached.set(name, value);
    return value;
  }

  /** Replaces the stored value; cached reads keep the old one until a forced refresh. */
  rotate(name: string, value: SecretValue): void {
    this.#current.set(name, value);
  }
}

let mock: VendorMock;
let output: ReturnType<typeof captureOutput>;

beforeEach(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  output = captureOutput();
  mock = await startSlackMock();
});

afterEach(async () => {
  await mock.close();
  // No test may leave a secret value in the logs.
  expect(output.text()).not.toContain(TOKEN);
  expect(output.text()).not.toContain(ROTATED_TOKEN);
});

/** A `slack` connector config over `baseUrl`, parsed as `npm start` does (loopback http allowed). */
function slackConfig(baseUrl: string, overrides: Record<string, unknown> = {}): SlackConnectorConfig {
  const config = parseConnectorConfig(
    {
      kind: 'slack',
      name: 'slack',
      secret: SECRET_NAME,
      baseUrl,
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterSeconds: 5 },
      ...overrides,
    },
    'test',
    { allowLoopbackHttp: true },
  );
  if (config.kind !== 'slack') throw new Error('not a slack config');
  return config;
}

interface Setup {
  handler: ConnectorHandler;
  store: MemoryCredentialStore;
  redactor: Redactor;
  invoke(operation: string, body: unknown): Promise<ParsedAnswer>;
}

interface ParsedAnswer {
  status: number;
  headers: Record<string, string>;
  data?: Record<string, unknown>;
  meta?: SuccessBody['meta'];
  error?: ErrorBody['error'];
  raw: string;
}

function parse(result: APIGatewayProxyResult): ParsedAnswer {
  const body = JSON.parse(result.body) as {
    data?: Record<string, unknown>;
    meta?: SuccessBody['meta'];
  } & Partial<ErrorBody>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  return { status: result.statusCode, headers, ...body, raw: result.body };
}

/** The slack handler over the mock (or `baseUrl`), with `secret` in an in-memory store. */
function setup(
  options: { secret?: SecretValue; overrides?: Record<string, unknown>; baseUrl?: string } = {},
): Setup {
  const redactor = new Redactor();
  const store = new MemoryCredentialStore({ [SECRET_NAME]: options.secret ?? { token: TOKEN } }, redactor);
  const handler = slackConnector.createHandler({
    config: slackConfig(options.baseUrl ?? mock.url, options.overrides),
    credentials: store,
    redactor,
    allowLoopbackHttp: true,
    random: () => 0,
  });
  return {
    handler,
    store,
    redactor,
    invoke: async (operation, body) =>
      parse(await handler(apiGatewayEvent({ connector: 'slack', operation, body }), lambdaContext())),
  };
}

/** The form parameters of a request the mock received. */
function formOf(request: VendorMock['requests'][number] | undefined): URLSearchParams {
  return new URLSearchParams(request?.body ?? '');
}

/** The required formData parameters the description lists for an operation. */
function requiredParams(operation: typeof postMessageOp): string[] {
  return operation.parameters.filter((p) => p.in === 'formData' && p.required).map((p) => p.name);
}

/** Asserts a request matches the described operation: method, path, content type, Bearer token, required params. */
function expectDescribedRequest(
  request: VendorMock['requests'][number] | undefined,
  path: string,
  operation: typeof postMessageOp,
  token = TOKEN,
): void {
  expect(request?.method).toBe('POST');
  expect(request?.path).toBe(`/api${path}`);
  const contentType = String(request?.headers['content-type']).split(';')[0];
  expect(operation.consumes).toContain(contentType);
  expect(contentType).toBe('application/x-www-form-urlencoded');
  expect(request?.headers.authorization).toBe(`Bearer ${token}`);
  const form = formOf(request);
  for (const name of requiredParams(operation)) expect(form.has(name), `required ${name}`).toBe(true);
  // The token travels in the header only.
  expect(form.has('token')).toBe(false);
}

describe('slack postMessage', () => {
  it('posts text: the request matches the described chat.postMessage and the answer is a 200 envelope', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: 'Deploy finished :tada:' });

    // Assess
    expect(answer.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expectDescribedRequest(mock.requests[0], '/chat.postMessage', postMessageOp);
    expect(requiredParams(postMessageOp)).toEqual(['channel']);
    expect(Object.fromEntries(formOf(mock.requests[0]))).toEqual({
      channel: CHANNEL,
      text: 'Deploy finished :tada:',
    });
    expect(answer.data).toMatchObject({
      ok: true,
      channel: CHANNEL,
      ts: expect.stringMatching(/^\d{10}\.\d{6}$/),
      message: { text: 'Deploy finished :tada:', type: 'message' },
    });
    expect((answer.data?.message as { ts?: string } | undefined)?.ts).toBe(answer.data?.ts);
    expect(schemaProblems(postMessageOp.responses['200']?.schema ?? {}, answer.data)).toEqual([]);
    expect(answer.meta).toMatchObject({
      connector: 'slack',
      operation: 'postMessage',
      attempts: 1,
      upstreamStatus: 200,
      cached: false,
    });
  });

  it('posts blocks as a thread reply with reply_broadcast, unfurl_links and mrkdwn', async () => {
    // Prepare
    const { invoke } = setup();
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: '*Build 42* passed' } },
      { type: 'divider' },
    ];

    // Act
    const answer = await invoke('postMessage', {
      channel: CHANNEL,
      text: 'Build 42 passed',
      blocks,
      thread_ts: PARENT_TS,
      reply_broadcast: true,
      unfurl_links: false,
      mrkdwn: false,
    });

    // Assess
    expect(answer.status).toBe(200);
    expectDescribedRequest(mock.requests[0], '/chat.postMessage', postMessageOp);
    const form = formOf(mock.requests[0]);
    expect(JSON.parse(form.get('blocks') ?? 'null')).toEqual(blocks);
    expect(form.get('thread_ts')).toBe(PARENT_TS);
    expect(form.get('reply_broadcast')).toBe('true');
    expect(form.get('unfurl_links')).toBe('false');
    expect(form.get('mrkdwn')).toBe('false');
    expect(answer.data).toMatchObject({
      ok: true,
      channel: CHANNEL,
      message: { thread_ts: PARENT_TS, blocks, text: 'Build 42 passed' },
    });
    expect(schemaProblems(postMessageOp.responses['200']?.schema ?? {}, answer.data)).toEqual([]);
  });

  it('posts blocks alone (no text)', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, blocks: [{ type: 'divider' }] });

    // Assess
    expect(answer.status).toBe(200);
    expect(formOf(mock.requests[0]).has('text')).toBe(false);
    expect(answer.data).toMatchObject({ ok: true, message: { blocks: [{ type: 'divider' }] } });
  });

  it('answers a Slack ok: false (channel_not_found) as a failure: 422 UPSTREAM_REJECTED, never a success', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('postMessage', { channel: SLACK_MOCK_MAGIC.channelNotFound, text: 'hello' });

    // Assess
    expect(answer.status).toBe(422);
    expect(answer.data).toBeUndefined();
    expect(answer.error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      source: 'upstream',
      retryable: false,
      upstreamStatus: 200,
      details: { error: 'channel_not_found' },
    });
    expect(mock.requests).toHaveLength(1);
  });
});

describe('slack updateMessage', () => {
  it('updates: the request matches the described chat.update (channel and ts) and the answer is a 200 envelope', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('updateMessage', {
      channel: CHANNEL,
      ts: PARENT_TS,
      text: 'Deploy rolled back',
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expectDescribedRequest(mock.requests[0], '/chat.update', updateOp);
    expect(requiredParams(updateOp).sort()).toEqual(['channel', 'ts']);
    expect(Object.fromEntries(formOf(mock.requests[0]))).toEqual({
      channel: CHANNEL,
      ts: PARENT_TS,
      text: 'Deploy rolled back',
    });
    expect(answer.data).toEqual({
      ok: true,
      channel: CHANNEL,
      ts: PARENT_TS,
      text: 'Deploy rolled back',
      message: expect.objectContaining({ text: 'Deploy rolled back' }),
    });
    expect(schemaProblems(updateOp.responses['200']?.schema ?? {}, answer.data)).toEqual([]);
    expect(answer.meta).toMatchObject({ operation: 'updateMessage', attempts: 1, upstreamStatus: 200 });
  });

  it('sends new blocks, and an empty list to remove them', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const replaced = await invoke('updateMessage', {
      channel: CHANNEL,
      ts: PARENT_TS,
      text: 'Now with a header',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Release' } }],
    });
    const removed = await invoke('updateMessage', {
      channel: CHANNEL,
      ts: PARENT_TS,
      text: 'Plain',
      blocks: [],
    });

    // Assess
    expect(replaced.status).toBe(200);
    expect(removed.status).toBe(200);
    expect(JSON.parse(formOf(mock.requests[0]).get('blocks') ?? 'null')).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Release' } },
    ]);
    expect(formOf(mock.requests[1]).get('blocks')).toBe('[]');
  });
});

describe('Slack error codes (200 ok: false) map by their error', () => {
  const cases: Array<[operation: string, slackError: string, code: string, status: number]> = [
    ['postMessage', 'not_in_channel', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'is_archived', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'msg_too_long', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'no_text', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'invalid_blocks', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'too_many_attachments', 'UPSTREAM_REJECTED', 422],
    ['updateMessage', 'message_not_found', 'UPSTREAM_REJECTED', 422],
    ['updateMessage', 'cant_update_message', 'UPSTREAM_REJECTED', 422],
    ['updateMessage', 'edit_window_closed', 'UPSTREAM_REJECTED', 422],
    ['updateMessage', 'channel_not_found', 'UPSTREAM_REJECTED', 422],
    ['postMessage', 'not_authed', 'AUTHENTICATION_ERROR', 502],
    ['postMessage', 'account_inactive', 'AUTHENTICATION_ERROR', 502],
    ['updateMessage', 'token_revoked', 'AUTHENTICATION_ERROR', 502],
    ['postMessage', 'token_expired', 'AUTHENTICATION_ERROR', 502],
    ['postMessage', 'ratelimited', 'RATE_LIMIT_EXCEEDED', 429],
    ['updateMessage', 'rate_limited', 'RATE_LIMIT_EXCEEDED', 429],
    ['postMessage', 'internal_error', 'UPSTREAM_ERROR', 502],
    ['updateMessage', 'fatal_error', 'UPSTREAM_ERROR', 502],
    ['postMessage', 'service_unavailable', 'UPSTREAM_ERROR', 502],
    ['updateMessage', 'request_timeout', 'UPSTREAM_ERROR', 502],
  ];

  it.each(cases)('%s answered ok: false %s → %s (%i)', async (operation, slackError, code, status) => {
    // Prepare
    const { invoke, store } = setup();
    const text = `${SLACK_MOCK_MAGIC.errorTextPrefix}${slackError}`;
    const input =
      operation === 'postMessage' ? { channel: CHANNEL, text } : { channel: CHANNEL, ts: PARENT_TS, text };

    // Act
    const answer = await invoke(operation, input);

    // Assess
    expect(answer.status).toBe(status);
    expect(answer.data).toBeUndefined();
    expect(answer.error).toMatchObject({ code, upstreamStatus: 200, details: { error: slackError } });
    if (code === 'RATE_LIMIT_EXCEEDED') {
      expect(answer.error?.retryAfterSeconds).toBe(1);
      expect(answer.headers['retry-after']).toBe('1');
    }
    // A 200 is Slack's final answer: no retry; an unchanged secret after a forced refresh: no second call.
    expect(mock.requests).toHaveLength(1);
    expect(store.forcedReads).toBe(code === 'AUTHENTICATION_ERROR' ? 1 : 0);
  });
});

describe('slack credentials', () => {
  it('an invalid token answers 502 AUTHENTICATION_ERROR after one forced refresh that found the same token', async () => {
    // Prepare
    const { invoke, store } = setup({ secret: { token: SLACK_MOCK_MAGIC.invalidToken } });

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: 'hello' });

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.error).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      source: 'upstream',
      upstreamStatus: 200,
      details: { error: 'invalid_auth' },
    });
    expect(store.forcedReads).toBe(1);
    expect(mock.requests).toHaveLength(1);
    expect(answer.raw).not.toContain(SLACK_MOCK_MAGIC.invalidToken);
  });

  it('a rotated token: after invalid_auth the secret is re-read and the call retried once with the new token', async () => {
    // Prepare
    const { invoke, store } = setup({ secret: { token: SLACK_MOCK_MAGIC.invalidToken } });
    await store.getSecret(SECRET_NAME);
    store.rotate(SECRET_NAME, { token: ROTATED_TOKEN });

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: 'hello' });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({ ok: true, channel: CHANNEL });
    expect(store.forcedReads).toBe(1);
    expect(mock.requests).toHaveLength(2);
    expect(mock.requests[0]?.headers.authorization).toBe(`Bearer ${SLACK_MOCK_MAGIC.invalidToken}`);
    expectDescribedRequest(mock.requests[1], '/chat.postMessage', postMessageOp, ROTATED_TOKEN);
    expect(answer.meta?.attempts).toBe(2);
  });

  it('a secret without the token field answers 500 CONFIGURATION_ERROR naming the field, and calls no one', async () => {
    // Prepare
    const { invoke } = setup({ secret: { botToken: TOKEN } });

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: 'hello' });

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.error).toMatchObject({ code: 'CONFIGURATION_ERROR', source: 'connector' });
    expect(answer.error?.message).toContain("'token'");
    expect(answer.error?.message).toContain(SECRET_NAME);
    expect(answer.raw).not.toContain(TOKEN);
    expect(mock.requests).toHaveLength(0);
  });

  it('a token with whitespace answers 500 CONFIGURATION_ERROR without echoing it', async () => {
    // Prepare
    const { invoke } = setup({ secret: { token: `${TOKEN}\n` } });

    // Act
    const answer = await invoke('updateMessage', { channel: CHANNEL, ts: PARENT_TS, text: 'x' });

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.error?.code).toBe('CONFIGURATION_ERROR');
    expect(answer.error?.message).toContain("'token'");
    expect(answer.raw).not.toContain(TOKEN);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('slack retries: the policies retry, the SDK does not', () => {
  it('a persistent 429 answers 429 RATE_LIMIT_EXCEEDED with Retry-After after retry.maxAttempts requests', async () => {
    // Prepare
    const { invoke } = setup({
      overrides: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterSeconds: 5 } },
    });

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: SLACK_MOCK_MAGIC.rateLimitText });

    // Assess
    expect(answer.status).toBe(429);
    expect(answer.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      source: 'upstream',
      retryable: true,
      upstreamStatus: 429,
      retryAfterSeconds: SLACK_MOCK_MAGIC.retryAfterSeconds,
      attempts: 2,
    });
    expect(answer.headers['retry-after']).toBe(String(SLACK_MOCK_MAGIC.retryAfterSeconds));
    expect(mock.requests).toHaveLength(2);
  });

  it('a persistent 503 answers 502 UPSTREAM_ERROR after retry.maxAttempts requests', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('updateMessage', {
      channel: CHANNEL,
      ts: PARENT_TS,
      text: SLACK_MOCK_MAGIC.unavailableText,
    });

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 503,
      retryable: true,
      attempts: 3,
    });
    expect(mock.requests).toHaveLength(3);
    for (const request of mock.requests) expectDescribedRequest(request, '/chat.update', updateOp);
  });

  it('a 500 to a POST is not repeated (it may have been processed): one request, 502 UPSTREAM_ERROR', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: SLACK_MOCK_MAGIC.serverErrorText });

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.error).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 500, attempts: 1 });
    expect(mock.requests).toHaveLength(1);
  });

  it('a refused connection answers 502 UPSTREAM_ERROR after retry.maxAttempts attempts, none of them the SDK’s', async () => {
    // Prepare
    const closed = await startSlackMock();
    await closed.close();
    const { invoke } = setup({ baseUrl: closed.url });

    // Act
    const answer = await invoke('postMessage', { channel: CHANNEL, text: 'hello' });

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.error).toMatchObject({ code: 'UPSTREAM_ERROR', attempts: 3 });
    expect(answer.error?.upstreamStatus).toBeUndefined();
  });
});

describe('slack input validation', () => {
  const invalid: Array<[operation: string, input: Record<string, unknown>, path: string]> = [
    ['postMessage', { text: 'no channel' }, 'channel'],
    ['postMessage', { channel: CHANNEL }, 'text'],
    ['postMessage', { channel: CHANNEL, text: 'x', reply_broadcast: true }, 'reply_broadcast'],
    ['postMessage', { channel: CHANNEL, text: 'x', thread_ts: 'yesterday' }, 'thread_ts'],
    ['postMessage', { channel: CHANNEL, blocks: [{ text: 'no type' }] }, 'blocks[0].type'],
    ['postMessage', { channel: CHANNEL, text: 'x', token: 'xoxb-example' }, ''],
    ['updateMessage', { channel: CHANNEL, text: 'no ts' }, 'ts'],
    ['updateMessage', { channel: CHANNEL, ts: PARENT_TS }, 'text'],
  ];

  it.each(invalid)('%s %j answers 400 VALIDATION_ERROR and calls no one', async (operation, input, path) => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke(operation, input);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.error?.code).toBe('VALIDATION_ERROR');
    expect(answer.error?.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(mock.requests).toHaveLength(0);
  });

  it('an unknown operation answers 404 NOT_FOUND listing postMessage, updateMessage and conversationsList', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const answer = await invoke('deleteMessage', { channel: CHANNEL, ts: PARENT_TS });

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.error?.details).toEqual({
      operations: ['postMessage', 'updateMessage', 'conversationsList'],
    });
  });
});

describe('slack logs', () => {
  it('no secret value reaches a log line or an answer, at DEBUG, across success, rejection, rotation and 429', async () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    const { invoke, store } = setup({ secret: { token: SLACK_MOCK_MAGIC.invalidToken } });
    const rejected = await invoke('postMessage', { channel: CHANNEL, text: 'first' });
    store.rotate(SECRET_NAME, { token: ROTATED_TOKEN });

    // Act
    const answers = [
      rejected,
      await invoke('postMessage', { channel: CHANNEL, text: 'second' }),
      await invoke('postMessage', {
        channel: CHANNEL,
        text: `${SLACK_MOCK_MAGIC.errorTextPrefix}not_in_channel`,
      }),
      await invoke('postMessage', { channel: CHANNEL, text: 'x', thread_ts: 'bad' }),
    ];

    // Assess
    expect(answers.map((a) => a.status)).toEqual([502, 200, 422, 400]);
    const logs = output.text();
    expect(logs).toContain('upstream attempt');
    for (const secret of [SLACK_MOCK_MAGIC.invalidToken, ROTATED_TOKEN]) {
      expect(logs).not.toContain(secret);
      for (const answer of answers) expect(answer.raw).not.toContain(secret);
    }
    // The token did reach Slack, in the Authorization header only.
    expect(mock.requests.at(-2)?.headers.authorization).toBe(`Bearer ${ROTATED_TOKEN}`);
  });
});

describe('the Slack mock checks requests against the description', () => {
  const form = 'application/x-www-form-urlencoded';
  const cases: Array<
    [
      name: string,
      init: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
      message: RegExp,
    ]
  > = [
    [
      'a missing token',
      { headers: { 'content-type': form }, body: 'channel=C0123456789&text=x' },
      /Authorization: Bearer/,
    ],
    [
      'another auth scheme',
      {
        headers: { 'content-type': form, authorization: `Basic ${btoa('a:b')}` },
        body: 'channel=C0123456789&text=x',
      },
      /another scheme/,
    ],
    [
      'an undescribed content type',
      { headers: { 'content-type': 'text/plain', authorization: 'Bearer xoxb-example' }, body: 'x' },
      /text\/plain is not described/,
    ],
    [
      'a missing required channel',
      { headers: { 'content-type': form, authorization: 'Bearer xoxb-example' }, body: 'text=x' },
      /required parameter 'channel'/,
    ],
    [
      'a missing required ts (chat.update)',
      {
        path: '/chat.update',
        headers: { 'content-type': form, authorization: 'Bearer xoxb-example' },
        body: 'channel=C0123456789&text=x',
      },
      /required parameter 'ts'/,
    ],
    [
      'an undescribed parameter',
      {
        headers: { 'content-type': form, authorization: 'Bearer xoxb-example' },
        body: 'channel=C0123456789&text=x&colour=red',
      },
      /colour not described/,
    ],
    [
      'a non-boolean boolean',
      {
        headers: { 'content-type': form, authorization: 'Bearer xoxb-example' },
        body: 'channel=C0123456789&text=x&mrkdwn=yes',
      },
      /described as boolean/,
    ],
    ['GET', { method: 'GET', headers: { authorization: 'Bearer xoxb-example' } }, /described for POST only/],
    [
      'an undescribed path',
      {
        path: '/chat.delete',
        headers: { 'content-type': form, authorization: 'Bearer xoxb-example' },
        body: 'channel=C0123456789',
      },
      /No operation is described/,
    ],
  ];

  it.each(cases)('answers 400 naming %s', async (_name, init, message) => {
    // Prepare
    const url = `${mock.url}${init.path ?? '/chat.postMessage'}`;

    // Act
    const response = await fetch(url, {
      method: init.method ?? 'POST',
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
    });

    // Assess
    expect(response.status).toBe(400);
    const body = (await response.json()) as { ok: boolean; error: string; message: string };
    expect(body).toMatchObject({ ok: false, error: MISMATCH_ERROR });
    expect(body.message).toMatch(message);
  });

  it('accepts a JSON body (the description consumes application/json too)', async () => {
    // Prepare
    const body = JSON.stringify({
      channel: CHANNEL,
      text: 'json',
      blocks: [{ type: 'divider' }],
      mrkdwn: true,
    });

    // Act
    const response = await fetch(`${mock.url}/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-example' },
      body,
    });

    // Assess
    expect(response.status).toBe(200);
    const answer = await response.json();
    expect(answer).toMatchObject({ ok: true, channel: CHANNEL, message: { text: 'json' } });
    expect(schemaProblems(postMessageOp.responses['200']?.schema ?? {}, answer)).toEqual([]);
  });
});

describe('mapSlackError', () => {
  it('maps HTTP errors by status: 401/403 authentication, 400 rejected with details, 5xx upstream', () => {
    // Prepare
    const errors = [
      new WebAPIHTTPError(401, 'Unauthorized', {}, ''),
      new WebAPIHTTPError(403, 'Forbidden', {}, ''),
      new WebAPIHTTPError(400, 'Bad Request', {}, '{"ok":false,"error":"invalid_form_data","message":"bad"}'),
      new WebAPIHTTPError(502, 'Bad Gateway', {}, '<html>oops</html>'),
      new WebAPIHTTPError(429, 'Too Many Requests', { 'retry-after': '7' }, ''),
    ];

    // Act
    const mapped = errors.map((error) => mapSlackError(error));

    // Assess
    expect(mapped.map((e) => [e?.code, e?.upstreamStatus])).toEqual([
      ['AUTHENTICATION_ERROR', 401],
      ['AUTHENTICATION_ERROR', 403],
      ['UPSTREAM_REJECTED', 400],
      ['UPSTREAM_ERROR', 502],
      ['RATE_LIMIT_EXCEEDED', 429],
    ]);
    expect(mapped[2]?.details).toEqual({ error: 'invalid_form_data', message: 'bad' });
    expect(mapped[3]?.details).toBeUndefined();
    expect(mapped[4]?.retryAfterSeconds).toBe(7);
  });

  it('maps platform, rate-limit and request errors; ignores what is not Slack’s', () => {
    // Prepare
    const scope = new WebAPIPlatformError({
      ok: false,
      error: 'missing_scope',
      needed: 'chat:write',
      provided: 'channels:read',
    } as never);
    const html = new WebAPIPlatformError({ ok: false, error: '<html><body>Bad gateway</body></html>' });
    const invalidBlocks = new WebAPIPlatformError({
      ok: false,
      error: 'invalid_blocks',
      response_metadata: { messages: ['[ERROR] must provide a string [json-pointer:/blocks/0/text]'] },
    });

    // Act
    const mapped = {
      scope: mapSlackError(scope),
      html: mapSlackError(html),
      invalidBlocks: mapSlackError(invalidBlocks),
      rateLimited: mapSlackError(new WebAPIRateLimitedError(30)),
      request: mapSlackError(new WebAPIRequestError(new Error('socket hang up'))),
      other: mapSlackError(new TypeError('a bug')),
      notAnError: mapSlackError('ratelimited'),
    };

    // Assess
    expect(mapped.scope).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      upstreamStatus: 200,
      details: { error: 'missing_scope', needed: 'chat:write', provided: 'channels:read' },
    });
    expect(mapped.html).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamStatus: 200, retryable: false });
    expect(JSON.stringify(mapped.html?.toBody('r'))).not.toContain('html');
    expect(mapped.invalidBlocks?.details).toEqual({
      error: 'invalid_blocks',
      messages: ['[ERROR] must provide a string [json-pointer:/blocks/0/text]'],
    });
    expect(mapped.rateLimited).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      upstreamStatus: 429,
      retryAfterSeconds: 30,
    });
    expect(mapped.request?.code).toBe('UPSTREAM_ERROR');
    expect(mapped.other).toBeUndefined();
    expect(mapped.notAnError).toBeUndefined();
  });
});
