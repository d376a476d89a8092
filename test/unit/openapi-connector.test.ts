import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { operationValidators } from '../../functions/openapi/compile.js';
import { buildRequest, operationInputSchema } from '../../functions/openapi/connector.js';
import {
  closestOperationIds,
  loadDescription,
  type OpenApiDescription,
  resolveOpenApiSpecs,
} from '../../functions/openapi/description.js';
import { ConfigValidationError, parseSuiteConfig } from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Twilio's Messages operations (test/fixtures/twilio/SOURCE-messages.md). */
const TWILIO = 'twilio/messages.openapi.json';
const ACCOUNT = `AC${'a'.repeat(32)}`;
const MESSAGE = `SM${'b'.repeat(32)}`;

let twilio: OpenApiDescription;

beforeAll(async () => {
  twilio = await loadDescription(TWILIO, ['CreateMessage', 'FetchMessage', 'ListMessage'], FIXTURES);
});

/** The parsed input of `operationId`, or the `path: message` lines of its issues. */
function check(operationId: string, input: unknown) {
  const operation = twilio.operations[operationId];
  if (!operation) throw new Error(`no ${operationId}`);
  const schema = operationInputSchema(operation, operationValidators(operation, twilio.dialect));
  const parsed = schema.safeParse(input);
  return parsed.success
    ? { input: parsed.data, issues: [] }
    : { input: undefined, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
}

describe('loadDescription', () => {
  it('keeps the allowed operations of Twilio, $refs inlined, with the server as base URL', () => {
    // Assess
    expect(twilio.dialect).toBe('3.0');
    expect(twilio.baseUrl).toBe('https://api.twilio.com');
    expect(Object.keys(twilio.operations)).toEqual(['CreateMessage', 'FetchMessage', 'ListMessage']);
    expect(twilio.operations.CreateMessage).toMatchObject({
      method: 'POST',
      path: '/2010-04-01/Accounts/{AccountSid}/Messages.json',
      // Twilio does not mark the body required; its fields (To) are.
      requestBody: { mediaType: 'application/x-www-form-urlencoded', required: false },
    });
    expect(JSON.stringify(twilio)).not.toContain('$ref');
    // A property called `description` is a field, not documentation: kept.
    expect(twilio.operations.FetchMessage?.responses['200']).toHaveProperty('properties.body');
  });

  it('refuses an unknown operationId, naming it and the close ones', async () => {
    // Act
    const loading = loadDescription(TWILIO, ['CreateMesage'], FIXTURES);

    // Assess
    await expect(loading).rejects.toThrow(ConfigValidationError);
    await expect(loading).rejects.toThrow(
      /operations\[0\]: 'CreateMesage' is not an operationId of .*messages\.openapi\.json \(did you mean 'CreateMessage'/,
    );
  });

  it('refuses a missing description file', async () => {
    // Act
    const loading = loadDescription('twilio/nowhere.json', ['CreateMessage'], FIXTURES);

    // Assess
    await expect(loading).rejects.toThrow(/nowhere\.json:\n {2}- cannot be read: file not found/);
  });

  it('suggests close operationIds, closest first', () => {
    // Assess
    expect(closestOperationIds('fetchmesage', ['FetchMedia', 'FetchMessage', 'ListCall'])[0]).toBe(
      'FetchMessage',
    );
    expect(closestOperationIds('Message', ['FetchMessage', 'ListCall'])).toEqual(['FetchMessage']);
  });
});

describe('the openapi config entry', () => {
  it('is read from the suite, spec relative to it, baseUrl from the description', async () => {
    // Prepare
    const written = {
      connectors: [
        {
          name: 'sms',
          kind: 'openapi',
          spec: TWILIO,
          operations: ['FetchMessage'],
          auth: { type: 'basic', secret: 'twilio' },
        },
      ],
    };

    // Act
    const suite = parseSuiteConfig(await resolveOpenApiSpecs(written, FIXTURES), 'suite.json');

    // Assess
    const entry = suite.connectors[0];
    expect(entry).toMatchObject({
      kind: 'openapi',
      baseUrl: 'https://api.twilio.com',
      responseValidation: 'warn',
    });
    expect(entry?.kind === 'openapi' && typeof entry.spec === 'object').toBe(true);
  });

  it('refuses a spec path not yet read and an empty operations list', () => {
    // Act
    const parsing = () =>
      parseSuiteConfig(
        {
          connectors: [
            { name: 'sms', kind: 'openapi', spec: TWILIO, operations: [], baseUrl: 'https://x.example' },
          ],
        },
        'suite.json',
      );

    // Assess
    expect(parsing).toThrow(/connectors\[0\]\.operations: must list at least one operationId/);
    expect(parsing).toThrow(/connectors\[0\]\.spec: is a description file not yet read/);
  });

  it("takes an apiKey's header from the description's securitySchemes", async () => {
    // Prepare
    const description: OpenApiDescription = { ...twilio, apiKey: { in: 'header', name: 'X-Vendor-Key' } };
    const written = {
      connectors: [
        {
          name: 'v',
          kind: 'openapi',
          spec: TWILIO,
          operations: ['FetchMessage'],
          auth: { type: 'apiKey', secret: 'v' },
        },
      ],
    };
    const resolved = (await resolveOpenApiSpecs(written, FIXTURES)) as {
      connectors: Record<string, unknown>[];
    };
    const { withDescription } = await import('../../functions/openapi/description.js');

    // Act
    const entry = withDescription(written.connectors[0] as Record<string, unknown>, description);

    // Assess
    expect(entry.auth).toEqual({ type: 'apiKey', secret: 'v', in: 'header', name: 'X-Vendor-Key' });
    // Twilio's own description has no apiKey scheme (HTTP basic): left as written, and refused.
    expect(resolved.connectors[0]?.auth).toEqual({ type: 'apiKey', secret: 'v' });
  });
});

describe('input validation', () => {
  it('accepts a valid CreateMessage', () => {
    // Act
    const { issues } = check('CreateMessage', {
      path: { AccountSid: ACCOUNT },
      body: { To: '+15005550006', From: '+15005550001', Body: 'Hello' },
    });

    // Assess
    expect(issues).toEqual([]);
  });

  it('names each bad field in the description terms', () => {
    // Act
    const { issues } = check('CreateMessage', {
      path: { AccountSid: 'AC123' },
      body: { Body: 7, StatusCallback: 'not a uri' },
    });

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        'path.AccountSid: must NOT have fewer than 34 characters',
        'body.To: is required',
        'body.Body: must be string',
        'body.StatusCallback: must match format "uri"',
      ]),
    );
  });

  it('refuses fields the description does not define, and a body where there is none', () => {
    // Act
    const { issues } = check('FetchMessage', {
      path: { AccountSid: ACCOUNT, Sid: MESSAGE, Extra: 'x' },
      query: { PageSize: 2 },
      body: {},
    });

    // Assess
    expect(issues.sort()).toEqual([
      'body: is not defined by the description',
      'path.Extra: is not defined by the description',
      'query: is not defined by the description',
    ]);
  });

  it('refuses a missing path and a dot segment', () => {
    // Assess
    expect(check('FetchMessage', {}).issues).toEqual(['path: is required']);
    expect(check('FetchMessage', { path: { AccountSid: ACCOUNT, Sid: '..' } }).issues).toContain(
      'path.Sid: must not be empty, . or ..',
    );
  });
});

describe('buildRequest', () => {
  it('sends CreateMessage as a form body on the filled path', () => {
    // Prepare
    const { input } = check('CreateMessage', {
      path: { AccountSid: ACCOUNT },
      body: {
        To: '+15005550006',
        From: '+15005550001',
        Body: 'Hi & bye',
        MediaUrl: ['https://a.example/1.png', 'https://a.example/2.png'],
      },
    });

    // Act
    const request = buildRequest(twilio.operations.CreateMessage as never, input as never, 'key-1');

    // Assess
    expect(request).toEqual({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'To=%2B15005550006&From=%2B15005550001&Body=Hi+%26+bye&MediaUrl=https%3A%2F%2Fa.example%2F1.png&MediaUrl=https%3A%2F%2Fa.example%2F2.png',
    });
  });

  it('percent-encodes path values and sends the declared query parameters', () => {
    // Prepare
    const { input, issues } = check('ListMessage', {
      path: { AccountSid: ACCOUNT },
      query: { To: '+15005550006', PageSize: 20 },
    });

    // Act
    const request = buildRequest(twilio.operations.ListMessage as never, input as never, undefined);

    // Assess
    expect(issues).toEqual([]);
    expect(request).toEqual({
      method: 'GET',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      query: { To: '+15005550006', PageSize: '20' },
    });
    expect(
      buildRequest(
        twilio.operations.FetchMessage as never,
        { path: { AccountSid: 'a/b c', Sid: 'x?y' } },
        undefined,
      ).path,
    ).toBe('/2010-04-01/Accounts/a%2Fb%20c/Messages/x%3Fy.json');
  });

  it("puts the caller's Idempotency-Key in a declared idempotency-key header, never the caller's own value", () => {
    // Prepare
    const operation = {
      method: 'POST' as const,
      path: '/v1/charges',
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header' as const,
          required: false,
          schema: { type: 'string' },
          explode: true,
        },
      ],
      responses: {},
    };

    // Act
    const request = buildRequest(operation, { headers: { 'Idempotency-Key': 'caller-set' } }, 'key-1');

    // Assess
    expect(request.headers).toEqual({ 'Idempotency-Key': 'key-1' });
    // Named, so that the client retries a POST carrying it as one carrying Idempotency-Key.
    expect(request.idempotencyKeyHeader).toBe('Idempotency-Key');
    expect(operationValidators(operation, '3.0').input({ headers: { 'Idempotency-Key': 'x' } })).toEqual([
      { path: ['headers'], message: 'is not defined by the description' },
    ]);
  });
});

describe('response validation', () => {
  it('reads format uri as uri-reference in an answer, not in an input', () => {
    // Prepare: Twilio's answers link to themselves by path where the description says uri.
    const link = { type: 'object', properties: { uri: { type: 'string', format: 'uri' } } };
    const operation = {
      method: 'POST' as const,
      path: '/links',
      parameters: [],
      requestBody: { required: true, mediaType: 'application/json' as const, schema: link },
      responses: { '200': link },
    };
    const validators = operationValidators(operation, '3.0');

    // Act
    const answer = validators.response(200, { uri: '/2010-04-01/Accounts/AC1/Messages.json?Page=1' });
    const input = validators.input({ body: { uri: '/relative' } });

    // Assess
    expect(answer).toEqual([]);
    expect(input.map((issue) => issue.path.join('.'))).toEqual(['body.uri']);
  });

  it('checks the body against the schema of its status, naming paths only', () => {
    // Prepare
    const validators = operationValidators(twilio.operations.FetchMessage as never, twilio.dialect);

    // Act
    const issues = validators.response(200, { sid: 42, status: 'secret-looking-value', num_media: '0' });

    // Assess
    expect(issues).toHaveLength(2);
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: ['body', 'sid'], message: 'must be string' },
        { path: ['body', 'status'], message: 'must be equal to one of the allowed values' },
      ]),
    );
    expect(JSON.stringify(issues)).not.toContain('secret-looking-value');
    expect(validators.response(200, { sid: MESSAGE })).toEqual([]);
    expect(validators.response(204, 'anything')).toEqual([]);
  });
});

describe('loadSuiteConfig with an openapi entry', () => {
  it('reads the example suite, its spec relative to the suite file', async () => {
    // Act
    const suite = await loadSuiteConfig(
      fileURLToPath(new URL('../../examples/openapi-twilio/suite.config.json', import.meta.url)),
    );

    // Assess
    const entry = suite.connectors[0];
    expect(entry).toMatchObject({
      kind: 'openapi',
      name: 'twilio-openapi',
      baseUrl: 'https://api.twilio.com',
    });
    expect(
      entry?.kind === 'openapi' && typeof entry.spec === 'object' && Object.keys(entry.spec.operations),
    ).toEqual(['CreateMessage', 'FetchMessage', 'ListMessage']);
  });
});

describe('trimDescription', () => {
  it("reads OpenAPI 3.0's boolean exclusiveMinimum as JSON Schema's number", async () => {
    // Prepare
    const { trimDescription } = await import('../../functions/openapi/description.js');
    const document = {
      openapi: '3.0.3',
      paths: {
        '/items': {
          get: {
            operationId: 'listItems',
            parameters: [
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 0, exclusiveMinimum: true } },
              { name: 'session', in: 'cookie', schema: { type: 'string' } },
            ],
            responses: { '200': { description: 'ok' } },
          },
        },
      },
    };

    // Act
    const description = trimDescription(document, ['listItems'], 'items.json');
    const operation = description.operations.listItems;
    const validators = operationValidators(operation as never, description.dialect);

    // Assess
    expect(operation?.parameters).toEqual([
      {
        name: 'limit',
        in: 'query',
        required: false,
        schema: { type: 'integer', exclusiveMinimum: 0 },
        explode: true,
      },
    ]);
    expect(validators.input({ query: { limit: 0 } })).toEqual([
      { path: ['query', 'limit'], message: 'must be > 0' },
    ]);
    expect(validators.input({ query: { limit: 1 } })).toEqual([]);
  });

  it('refuses an operation it cannot serve, naming why', async () => {
    // Prepare
    const { trimDescription } = await import('../../functions/openapi/description.js');
    const document = {
      openapi: '3.1.0',
      paths: {
        '/files': {
          post: {
            operationId: 'upload',
            requestBody: { content: { 'multipart/form-data': { schema: { type: 'object' } } } },
            responses: {},
          },
        },
      },
    };

    // Act
    const trimming = () => trimDescription(document, ['upload'], 'files.json');

    // Assess
    expect(trimming).toThrow(
      "operations[0]: 'upload' cannot be served: its request body is multipart/form-data; supported: application/json, application/x-www-form-urlencoded",
    );
  });
});

describe("the apiKey credential's parameter", () => {
  it('may not be set by the caller, in any spelling, even when the description declares it', () => {
    // Prepare
    const operation = {
      method: 'GET' as const,
      path: '/items',
      parameters: [
        { name: 'api_key', in: 'query' as const, required: false, schema: { type: 'string' }, explode: true },
      ],
      responses: {},
    };
    const auth = { type: 'apiKey' as const, in: 'query' as const, name: 'API_KEY', secret: 'vendor' };
    const schema = operationInputSchema(operation, operationValidators(operation, '3.0'), auth);

    // Act
    const parsed = schema.safeParse({ query: { api_key: 'tok-example' } });

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['query.api_key', "must not set API_KEY, the connector's credential, in any spelling"],
    ]);
  });
});

describe('a Swagger 2.0 description', () => {
  it("is converted: Slack's chat.postMessage, its base URL from host and basePath, a form body", async () => {
    // Act
    const slack = await loadDescription(
      'slack/slack_web_openapi_v2.chat.json',
      ['chat_postMessage'],
      FIXTURES,
    );
    const operation = slack.operations.chat_postMessage;
    const validators = operationValidators(operation as never, slack.dialect);

    // Assess
    expect(slack).toMatchObject({ dialect: '3.0', baseUrl: 'https://slack.com/api' });
    expect(operation).toMatchObject({
      method: 'POST',
      path: '/chat.postMessage',
      requestBody: { mediaType: 'application/x-www-form-urlencoded' },
    });
    // Its `token` header parameter is the credential: `auth` fills it (openapi-credential-parameters.test.ts).
    expect(validators.input({ body: { text: 'Hi' } })).toEqual([
      { path: ['body', 'channel'], message: 'is required' },
    ]);
    // Its answers declare `nullable` without `type` in places: compiled all the same.
    expect(validators.response(200, { ok: true, channel: 'C1', ts: '1.2', message: {} })).toEqual(
      expect.any(Array),
    );
  });
});
