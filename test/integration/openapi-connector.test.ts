/**
 * The `openapi` kind end to end: Twilio's Messages operations from its description, served by
 * `startLocalGateway` in front of a small Twilio mock of this file that records what it receives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/index.js';
import {
  type CapturedOutput,
  captureOutput,
  sendJson,
  startTestServer,
  type TempSecrets,
  type TestServer,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const SPEC = fileURLToPath(new URL('../fixtures/twilio/messages.openapi.json', import.meta.url));
const ACCOUNT = `AC${'a'.repeat(32)}`;
const GOOD = `SM${'b'.repeat(32)}`;
/** The mock answers this message with a body its schema refuses (`sid` a number, an unknown status). */
const DRIFTED = `SM${'c'.repeat(32)}`;
const AUTH_TOKEN = 'fake-auth-token-example';
const OPERATIONS = ['CreateMessage', 'FetchMessage', 'ListMessage'];

/** One request the mock received, its body read. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A message as Twilio's schema describes it. */
function message(sid: string) {
  return {
    sid,
    account_sid: ACCOUNT,
    status: 'queued',
    to: '+15005550006',
    from: '+15005550001',
    body: 'Hi',
  };
}

describe('the openapi kind through the local gateway', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let mock: TestServer;
  let gateway: LocalGateway;
  const received: Received[] = [];

  async function answer(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    const url = req.url ?? '';
    if (req.method === 'POST') return sendJson(res, 201, message(GOOD));
    if (url.includes(DRIFTED))
      return sendJson(res, 200, { ...message(DRIFTED), sid: 42, status: 'teleported' });
    return sendJson(res, 200, message(GOOD));
  }

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets({ twilio: { username: ACCOUNT, password: AUTH_TOKEN } });
    mock = await startTestServer(answer);
    const common = {
      kind: 'openapi',
      spec: SPEC,
      operations: OPERATIONS,
      baseUrl: mock.url,
      retry: { maxAttempts: 1 },
    };
    gateway = await startLocalGateway({
      suite: {
        connectors: [
          { name: 'sms', ...common, auth: { type: 'basic', secret: 'twilio' } },
          {
            name: 'sms-strict',
            ...common,
            auth: { type: 'basic', secret: 'twilio' },
            responseValidation: 'enforce',
          },
        ],
      } as never,
      secretsFile: secrets.file,
      port: 0,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  async function call(connector: string, operation: string, body: unknown) {
    const response = await fetch(`${gateway.url}/v1/connectors/${connector}/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        data?: { status: number; body: unknown };
        error?: { code: string; details?: { path: string; message: string }[] };
      },
    };
  }

  it('sends a valid CreateMessage as Twilio expects it and answers 200', async () => {
    // Prepare
    const before = received.length;

    // Act
    const created = await call('sms', 'CreateMessage', {
      path: { AccountSid: ACCOUNT },
      body: { To: '+15005550006', From: '+15005550001', Body: 'Hi' },
    });

    // Assess
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ status: 201, body: { sid: GOOD } });
    const sent = received.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      method: 'POST',
      url: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      body: 'To=%2B15005550006&From=%2B15005550001&Body=Hi',
    });
    expect(sent[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(output.text()).not.toContain(AUTH_TOKEN);
  });

  it('sends ListMessage with its query parameters', async () => {
    // Prepare
    const before = received.length;

    // Act
    const listed = await call('sms', 'ListMessage', {
      path: { AccountSid: ACCOUNT },
      query: { To: '+15005550006', PageSize: 20 },
    });

    // Assess
    expect(listed.status).toBe(200);
    expect(received.slice(before).map((r) => r.url)).toEqual([
      `/2010-04-01/Accounts/${ACCOUNT}/Messages.json?To=%2B15005550006&PageSize=20`,
    ]);
  });

  it('answers 400 naming each bad field, and sends nothing', async () => {
    // Prepare
    const before = received.length;

    // Act
    const invalid = await call('sms', 'CreateMessage', { path: { AccountSid: 'AC1' }, body: { Body: 'Hi' } });

    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.code).toBe('VALIDATION_ERROR');
    expect(invalid.body.error?.details?.map((d) => d.path).sort()).toEqual(['body.To', 'path.AccountSid']);
    expect(received.length).toBe(before);
  });

  it('warns of an answer that breaks its schema by default, naming paths and never values', async () => {
    // Act
    const fetched = await call('sms', 'FetchMessage', { path: { AccountSid: ACCOUNT, Sid: DRIFTED } });

    // Assess
    expect(fetched.status).toBe(200);
    expect(fetched.body.data?.body).toMatchObject({ sid: 42 });
    const warning = output.lines().find((line) => line.includes('does not match the documented schema'));
    expect(warning).toBeDefined();
    expect(warning).toContain('body.sid');
    expect(warning).toContain('body.status');
    expect(warning).not.toContain('teleported');
  });

  it('fails an answer that breaks its schema with responseValidation enforce', async () => {
    // Act
    const fetched = await call('sms-strict', 'FetchMessage', { path: { AccountSid: ACCOUNT, Sid: DRIFTED } });
    const fine = await call('sms-strict', 'FetchMessage', { path: { AccountSid: ACCOUNT, Sid: GOOD } });

    // Assess
    expect(fetched.status).toBe(502);
    expect(fetched.body.error?.code).toBe('RESPONSE_VALIDATION_ERROR');
    expect(fetched.body.error?.details?.map((d) => d.path).sort()).toEqual(['body.sid', 'body.status']);
    expect(JSON.stringify(fetched.body)).not.toContain('teleported');
    expect(fine.status).toBe(200);
  });

  it('refuses to start with an unknown operationId or a missing description', async () => {
    // Prepare
    const entry = { name: 'sms', kind: 'openapi', baseUrl: 'https://api.twilio.com' };

    // Act
    const unknown = await startLocalGateway({
      suite: { connectors: [{ ...entry, spec: SPEC, operations: ['SendMessage'] }] } as never,
      port: 0,
    }).catch((error: Error) => error);
    const missing = await startLocalGateway({
      suite: {
        connectors: [{ ...entry, spec: '/nowhere/twilio.json', operations: ['CreateMessage'] }],
      } as never,
      port: 0,
    }).catch((error: Error) => error);

    // Assess
    expect(String(unknown)).toMatch(
      /operations\[0\]: 'SendMessage' is not an operationId of .*messages\.openapi\.json/,
    );
    expect(String(missing)).toMatch(/\/nowhere\/twilio\.json:\n {2}- cannot be read: file not found/);
  });
});
