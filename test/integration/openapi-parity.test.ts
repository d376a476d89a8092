/**
 * Parity of the `openapi` kind with the hand-written `twilio` and `slack` connectors (issue 14): the
 * same calls through both, served by `startLocalGateway` against one mock served from each vendor's
 * description (local/stand-ins/openapi.ts), for the operations both serve (`sendSms` /
 * `CreateMessage`; `postMessage` / `chat_postMessage`, `updateMessage` / `chat_update`). The same
 * request reaches the vendor (method, path, form fields), the same data comes back (for Twilio, through
 * the SDK's documented renaming, {@link twilioSdkView}), and the shared failures (404, 401, 429 with
 * `Retry-After`) answer the same error codes. Where they differ by design (Slack's `ok: false`), the
 * difference is asserted as documented (docs/connectors/openapi.md#proven-on-real-descriptions).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/index.js';
import {
  type DescriptionMock,
  type DescriptionMockAnswer,
  startDescriptionMock,
} from '../../local/stand-ins/openapi.js';
import {
  type CapturedOutput,
  captureOutput,
  type TempSecrets,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
const TWILIO_SPEC = path.join(FIXTURES, 'twilio/api_v2010.openapi.json');
const SLACK_SPEC = path.join(FIXTURES, 'slack/slack_web_openapi_v2.json');
const ACCOUNT = `AC${'a'.repeat(32)}`;
const AUTH_TOKEN = 'fake-auth-token-example';
const SLACK_TOKEN = 'xoxb-fake-example';

/** One attempt each, so that every call is one request to the mock; no rate limit of the suite's own. */
const POLICIES = { retry: { maxAttempts: 1 }, timeoutMs: 60_000 };

let output: CapturedOutput;
let secrets: TempSecrets;
let twilio: DescriptionMock;
let slack: DescriptionMock;
let gateway: LocalGateway;

beforeAll(async () => {
  output = captureOutput();
  [twilio, slack] = await Promise.all([
    startDescriptionMock({ spec: TWILIO_SPEC }),
    startDescriptionMock({ spec: SLACK_SPEC }),
  ]);
  secrets = await writeTempSecrets({
    twilio: { accountSid: ACCOUNT, authToken: AUTH_TOKEN },
    'twilio-openapi': { username: ACCOUNT, password: AUTH_TOKEN },
    slack: { token: SLACK_TOKEN },
    'slack-openapi': { token: SLACK_TOKEN },
  });
  gateway = await startLocalGateway({
    suite: {
      connectors: [
        { name: 'twilio', kind: 'twilio', secret: 'twilio', baseUrl: twilio.url, ...POLICIES },
        {
          name: 'twilio-openapi',
          kind: 'openapi',
          spec: TWILIO_SPEC,
          operations: ['CreateMessage'],
          auth: { type: 'basic', secret: 'twilio-openapi' },
          baseUrl: twilio.url,
          ...POLICIES,
        },
        { name: 'slack', kind: 'slack', secret: 'slack', baseUrl: slack.url, ...POLICIES },
        {
          name: 'slack-openapi',
          kind: 'openapi',
          spec: SLACK_SPEC,
          operations: ['chat_postMessage', 'chat_update'],
          auth: { type: 'bearer', secret: 'slack-openapi' },
          baseUrl: slack.url,
          ...POLICIES,
        },
      ],
    } as never,
    secretsFile: secrets.file,
    port: 0,
  });
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([twilio?.close(), slack?.close()]);
  await secrets?.cleanup();
  output?.restore();
});

interface Envelope {
  data?: Record<string, unknown> & { status?: number; body?: Record<string, unknown> };
  error?: { code: string; upstreamStatus?: number; retryAfterSeconds?: number };
}

async function call(connector: string, operation: string, input: unknown) {
  const response = await fetch(`${gateway.url}/v1/connectors/${connector}/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Envelope,
  };
}

/** What the mock received during `act`: one request, its method, path and form fields. */
async function receivedDuring(mock: DescriptionMock, act: () => Promise<unknown>) {
  const before = mock.requests.length;
  await act();
  const requests = mock.requests.slice(before);
  expect(requests).toHaveLength(1);
  const [request] = requests;
  return {
    method: request?.method,
    path: request?.path,
    fields: Object.fromEntries(new URLSearchParams(request?.body ?? '')),
    issues: request?.issues,
    answer: request?.answer,
  };
}

/** `snake_case` → `camelCase`, as the Twilio SDK names the fields of its resources. */
const camel = (name: string) => name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * A Twilio resource as the API answers it (the `openapi` kind's `data.body`) in the names and values
 * the SDK gives it (the `twilio` connector's `data`): top-level keys in camelCase, the `date_*` fields
 * (RFC 2822) as ISO 8601, integers the API sends as numbers kept (docs/connectors/twilio.md).
 */
function twilioSdkView(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([name, value]) => [
      camel(name),
      name.startsWith('date_') && typeof value === 'string' ? new Date(value).toISOString() : value,
    ]),
  );
}

/** The shared failures, answered by the mock to both connectors, and the code both must answer. */
const FAILURES: Array<
  [string, DescriptionMockAnswer, { status: number; code: string; upstreamStatus: number }]
> = [
  [
    '404',
    { status: 404, body: { code: 20404, message: 'The requested resource was not found', status: 404 } },
    { status: 422, code: 'UPSTREAM_REJECTED', upstreamStatus: 404 },
  ],
  [
    '401',
    { status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } },
    { status: 502, code: 'AUTHENTICATION_ERROR', upstreamStatus: 401 },
  ],
  [
    '429 with Retry-After',
    {
      status: 429,
      headers: { 'retry-after': '7' },
      body: { code: 20429, message: 'Too Many Requests', status: 429 },
    },
    { status: 429, code: 'RATE_LIMIT_EXCEEDED', upstreamStatus: 429 },
  ],
];

describe('twilio sendSms and openapi CreateMessage, against one mock of Twilio’s description', () => {
  const handWritten = { to: '+15005550006', from: '+15005550001', body: 'Deploy finished' };
  const described = {
    path: { AccountSid: ACCOUNT },
    body: { To: '+15005550006', From: '+15005550001', Body: 'Deploy finished' },
  };

  it('send the same request and get the same Message, through the SDK’s renaming', async () => {
    // Act
    let viaSdk: Awaited<ReturnType<typeof call>> | undefined;
    let viaDescription: Awaited<ReturnType<typeof call>> | undefined;
    const sdkRequest = await receivedDuring(twilio, async () => {
      viaSdk = await call('twilio', 'sendSms', handWritten);
    });
    const describedRequest = await receivedDuring(twilio, async () => {
      viaDescription = await call('twilio-openapi', 'CreateMessage', described);
    });

    // Assess
    expect(sdkRequest).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      issues: [],
    });
    expect(describedRequest.method).toBe(sdkRequest.method);
    expect(describedRequest.path).toBe(sdkRequest.path);
    expect(describedRequest.fields).toEqual(sdkRequest.fields);
    expect(describedRequest.fields).toEqual({
      To: '+15005550006',
      From: '+15005550001',
      Body: 'Deploy finished',
    });
    expect(viaSdk?.status).toBe(200);
    expect(viaDescription?.status).toBe(200);
    expect(viaDescription?.body.data?.status).toBe(201);
    const answered = viaDescription?.body.data?.body as Record<string, unknown>;
    expect(answered).toEqual(describedRequest.answer?.body);
    expect(viaSdk?.body.data).toMatchObject(twilioSdkView(answered));
  });

  it.each(FAILURES)('answer a %s with the same error code', async (_failure, answer, expected) => {
    // Prepare
    twilio.answerEvery(answer);

    // Act
    const viaSdk = await call('twilio', 'sendSms', handWritten);
    const viaDescription = await call('twilio-openapi', 'CreateMessage', described);
    twilio.answerEvery(undefined);

    // Assess
    for (const answered of [viaSdk, viaDescription]) {
      expect({ status: answered.status, ...answered.body.error }).toMatchObject(expected);
    }
    expect(viaDescription.body.error?.retryAfterSeconds).toBe(viaSdk.body.error?.retryAfterSeconds);
    expect(viaDescription.retryAfter).toBe(viaSdk.retryAfter);
    if (expected.status === 429) expect(viaSdk.body.error?.retryAfterSeconds).toBe(7);
  });
});

describe('slack postMessage/updateMessage and openapi chat_postMessage/chat_update, against one mock of Slack’s description', () => {
  const shared: Array<[string, string, Record<string, unknown>]> = [
    ['postMessage', 'chat_postMessage', { channel: 'C0123456789', text: 'Deploy finished' }],
    [
      'updateMessage',
      'chat_update',
      { channel: 'C0123456789', ts: '1503435956.000247', text: 'Rolled back' },
    ],
  ];

  it.each(shared)(
    '%s and %s send the same request and get the same answer',
    async (operation, operationId, input) => {
      // Act
      let viaSdk: Awaited<ReturnType<typeof call>> | undefined;
      let viaDescription: Awaited<ReturnType<typeof call>> | undefined;
      const sdkRequest = await receivedDuring(slack, async () => {
        viaSdk = await call('slack', operation, input);
      });
      const describedRequest = await receivedDuring(slack, async () => {
        viaDescription = await call('slack-openapi', operationId, { body: input });
      });

      // Assess
      expect(sdkRequest).toMatchObject({
        method: 'POST',
        path: `/api/${operationId.replace('_', '.')}`,
        issues: [],
      });
      expect(describedRequest.method).toBe(sdkRequest.method);
      expect(describedRequest.path).toBe(sdkRequest.path);
      expect(describedRequest.fields).toEqual(sdkRequest.fields);
      expect(viaSdk?.status).toBe(200);
      expect(viaDescription?.status).toBe(200);
      const answered = viaDescription?.body.data?.body as Record<string, unknown>;
      expect(answered).toEqual(describedRequest.answer?.body);
      // The hand-written connector's data is Slack's answer as is (the SDK's additions dropped).
      expect(viaSdk?.body.data).toEqual(answered);
    },
  );

  it.each(FAILURES)('answer a %s with the same error code', async (_failure, answer, expected) => {
    // Prepare
    slack.answerEvery({ ...answer, body: { ok: false, error: 'mock_failure' } } as DescriptionMockAnswer);

    // Act
    const viaSdk = await call('slack', 'postMessage', { channel: 'C0123456789', text: 'hi' });
    const viaDescription = await call('slack-openapi', 'chat_postMessage', {
      body: { channel: 'C0123456789', text: 'hi' },
    });
    slack.answerEvery(undefined);

    // Assess
    for (const answered of [viaSdk, viaDescription]) {
      expect({ status: answered.status, ...answered.body.error }).toMatchObject(expected);
    }
    expect(viaDescription.body.error?.retryAfterSeconds).toBe(viaSdk.body.error?.retryAfterSeconds);
    expect(viaDescription.retryAfter).toBe(viaSdk.retryAfter);
    if (expected.status === 429) expect(viaSdk.body.error?.retryAfterSeconds).toBe(7);
  });

  it('differ, as documented, on an HTTP 200 `ok: false`: an error for the SDK, data for the description', async () => {
    // Prepare
    slack.answerEvery({ status: 200, body: { ok: false, error: 'channel_not_found' } });
    const warnings = () =>
      output.text().split('The upstream answer does not match the documented schema.').length - 1;
    const warned = warnings();

    // Act
    const viaSdk = await call('slack', 'postMessage', { channel: 'C0123456789', text: 'hi' });
    const viaDescription = await call('slack-openapi', 'chat_postMessage', {
      body: { channel: 'C0123456789', text: 'hi' },
    });
    slack.answerEvery(undefined);

    // Assess
    expect({ status: viaSdk.status, code: viaSdk.body.error?.code }).toEqual({
      status: 422,
      code: 'UPSTREAM_REJECTED',
    });
    expect(viaDescription.status).toBe(200);
    expect(viaDescription.body.data).toMatchObject({
      status: 200,
      body: { ok: false, error: 'channel_not_found' },
    });
    // The `200` schema requires `ok: true`: the answer is logged as not matching it.
    expect(warnings()).toBe(warned + 1);
  });

  it('never logs a credential', () => {
    expect(output.text()).not.toContain(SLACK_TOKEN);
    expect(output.text()).not.toContain(AUTH_TOKEN);
  });
});
