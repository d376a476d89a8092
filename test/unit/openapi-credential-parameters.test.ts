/**
 * Credential parameters (docs/connectors/openapi.md#credential-parameters): a parameter the
 * description declares for the credential is left out of the operation's input when the description
 * is read (functions/openapi/description.ts), so the caller can neither be asked for it nor set it;
 * the connector's `auth` sends the credential. Slack's real description (`token`, a required header on
 * POST methods, a query parameter on GETs) and small descriptions written here.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { operationValidators } from '../../functions/openapi/compile.js';
import {
  credentialParameterOf,
  loadDescription,
  trimDescription,
} from '../../functions/openapi/description.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

/** A description with one operation whose parameters are `parameters`, secured by `security`. */
function describedWith(parameters: unknown[], security: unknown[], schemes: Record<string, unknown>) {
  return {
    openapi: '3.0.3',
    info: { title: 'example', version: '1' },
    paths: { '/things': { get: { operationId: 'ListThings', parameters, security, responses: {} } } },
    components: { securitySchemes: schemes },
  };
}

const header = (name: string, required = false) => ({
  name,
  in: 'header',
  required,
  schema: { type: 'string' },
});
const query = (name: string) => ({ name, in: 'query', schema: { type: 'string' } });

describe("Slack's token parameter", () => {
  it('is left out of chat.postMessage (a required header) and conversations.list (a query parameter)', async () => {
    // Act
    const slack = await loadDescription(
      'slack/slack_web_openapi_v2.json',
      ['chat_postMessage', 'conversations_list'],
      FIXTURES,
    );
    const post = slack.operations.chat_postMessage;
    const list = slack.operations.conversations_list;

    // Assess
    expect(post?.parameters.map((p) => p.name)).toEqual([]);
    expect(list?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:exclude_archived',
      'query:types',
      'query:limit',
      'query:cursor',
    ]);
    const postInput = operationValidators(post as never, slack.dialect).input;
    expect(postInput({ body: { channel: 'C0123456789', text: 'Hi' } })).toEqual([]);
    expect(postInput({ headers: { token: 'xoxb-fake-example' }, body: { channel: 'C1' } })).toEqual([
      { path: ['headers'], message: 'is not defined by the description' },
    ]);
    const listInput = operationValidators(list as never, slack.dialect).input;
    expect(listInput({ query: { token: 'xoxb-fake-example', limit: 10 } })).toEqual([
      { path: ['query', 'token'], message: 'is not defined by the description' },
    ]);
  });
});

describe('credentialParameterOf', () => {
  it("takes an apiKey scheme's header (any case) or query parameter", () => {
    // Prepare
    const document = describedWith([], [{ key: [] }], {
      key: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      q: { type: 'apiKey', in: 'query', name: 'api_key' },
      c: { type: 'apiKey', in: 'cookie', name: 'session' },
    });

    // Act
    const isCredential = credentialParameterOf(document, {});

    // Assess
    expect(isCredential('header', 'x-api-key')).toBe(true);
    expect(isCredential('query', 'api_key')).toBe(true);
    expect(isCredential('query', 'X-API-Key')).toBe(false);
    // the connector never sends cookies: a required one stays a config error (docs' Limits)
    expect(isCredential('cookie', 'session')).toBe(false);
    expect(isCredential('header', 'Authorization')).toBe(true);
    // no oauth2 or bearer requirement: a `token` parameter is the caller's
    expect(isCredential('query', 'token')).toBe(false);
  });

  it('takes token and access_token where the operation requires an oauth2 or bearer scheme', () => {
    // Prepare
    const schemes = {
      oauth: { type: 'oauth2', flows: {} },
      bearer: { type: 'http', scheme: 'Bearer' },
      basic: { type: 'http', scheme: 'basic' },
    };
    const withOauth = describedWith([], [], schemes);

    // Act
    const byOauth = credentialParameterOf(withOauth, { security: [{ oauth: [] }] });
    const byBearer = credentialParameterOf({ ...withOauth, security: [{ bearer: [] }] }, {});
    const byBasic = credentialParameterOf(withOauth, { security: [{ basic: [] }] });

    // Assess
    expect(byOauth('header', 'token')).toBe(true);
    expect(byOauth('query', 'access_token')).toBe(true);
    expect(byOauth('path', 'token')).toBe(false);
    expect(byBearer('query', 'token')).toBe(true);
    expect(byBasic('query', 'token')).toBe(false);
  });
});

describe('trimDescription', () => {
  it('leaves the credential parameters out, required or not, and keeps the others', () => {
    // Prepare
    const document = describedWith(
      [header('Authorization', true), header('X-API-Key', true), header('X-Request-Id'), query('token')],
      [{ key: [] }],
      { key: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    );

    // Act
    const trimmed = trimDescription(document, ['ListThings'], 'example.json');

    // Assess
    expect(trimmed.operations.ListThings?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'header:X-Request-Id',
      'query:token',
    ]);
  });
});
