/**
 * The limits of the `openapi` kind (docs/connectors/openapi.md, "Limits"): descriptions in YAML, and
 * what happens when an allowed operation uses a feature the kind does not support. Each feature is
 * shown on a small description written here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { operationValidators } from '../../functions/openapi/compile.js';
import { buildRequest, operationInputSchema } from '../../functions/openapi/connector.js';
import {
  loadDescription,
  type OpenApiDescription,
  type OpenApiOperation,
  trimDescription,
} from '../../functions/openapi/description.js';
import { ConfigValidationError } from '../../functions/shared/config.js';
import { loadSuiteConfig } from '../../functions/shared/config-file.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'openapi-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a fresh file of the temporary directory; its name there. */
function write(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as unknown;

describe('a YAML description', () => {
  it('is read as its JSON twin: OpenAPI 3.0 (Twilio), .yaml', async () => {
    // Prepare
    const ids = ['CreateMessage', 'FetchMessage'];
    const file = write('twilio.yaml', toYaml(fixture('twilio/messages.openapi.json')));

    // Act
    const fromYaml = await loadDescription(file, ids, dir);
    const fromJson = await loadDescription('twilio/messages.openapi.json', ids, FIXTURES);

    // Assess
    expect({ ...fromYaml, source: '' }).toEqual({ ...fromJson, source: '' });
    expect(fromYaml.source).toBe(path.join(dir, 'twilio.yaml'));
  });

  it('is read as its JSON twin: Swagger 2.0 (Slack), .yml, converted', async () => {
    // Prepare
    const file = write('slack.yml', toYaml(fixture('slack/slack_web_openapi_v2.chat.json')));

    // Act
    const fromYaml = await loadDescription(file, ['chat_postMessage'], dir);
    const fromJson = await loadDescription(
      'slack/slack_web_openapi_v2.chat.json',
      ['chat_postMessage'],
      FIXTURES,
    );

    // Assess
    expect(fromYaml.baseUrl).toBe('https://slack.com/api');
    expect(fromYaml.operations).toEqual(fromJson.operations);
  });

  it('is named by a suite file, as loadSuiteConfig reads it for cdk synth and npm start', async () => {
    // Prepare
    write('items.yaml', readFileSync(path.join(FIXTURES, 'openapi/items.openapi.yaml'), 'utf8'));
    const suiteFile = path.join(
      dir,
      write(
        'suite.json',
        JSON.stringify({
          connectors: [
            {
              name: 'items',
              kind: 'openapi',
              spec: 'items.yaml',
              operations: ['getItem'],
              auth: { type: 'apiKey', secret: 'items' },
            },
          ],
        }),
      ),
    );

    // Act
    const suite = await loadSuiteConfig(suiteFile);

    // Assess
    expect(suite.connectors[0]).toMatchObject({
      kind: 'openapi',
      baseUrl: 'https://items.example.com/v1',
      auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      spec: { source: path.join(dir, 'items.yaml'), operations: { getItem: { method: 'GET' } } },
    });
  });

  it('that is not YAML is a config error naming the line, never a stack trace', async () => {
    // Prepare
    const file = write('broken.yaml', 'openapi: 3.0.3\npaths:\n  /a: {get: \n');

    // Act
    const loading = loadDescription(file, ['a'], dir);

    // Assess
    await expect(loading).rejects.toThrow(ConfigValidationError);
    await expect(loading).rejects.toThrow(/broken\.yaml:\n {2}- cannot be read: not JSON or YAML: .*line/);
  });
});

type Json = Record<string, unknown>;

/** A one-path OpenAPI 3.0 description whose operations are `operations` (by method). */
function describing(operations: Json, extra: Json = {}): Json {
  return {
    openapi: '3.0.3',
    info: { title: 'Limits', version: '1' },
    servers: [{ url: 'https://api.example.com/v1' }],
    paths: { '/items/{id}': operations },
    ...extra,
  };
}

const ID = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const OK = { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } };

/** `trimDescription` of `document` for `ids`, or the lines of its config error. */
function trimmed(document: Json, ids: string[]) {
  try {
    return { description: trimDescription(document, ids, 'limits.json'), issues: [] };
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    return { description: undefined, issues: error.issues };
  }
}

/** The `path: message` lines of the input issues of `operationId` of `description`. */
function inputIssues(description: OpenApiDescription, operationId: string, input: unknown): string[] {
  const operation = description.operations[operationId] as OpenApiOperation;
  const schema = operationInputSchema(operation, operationValidators(operation, description.dialect));
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const WAY_OUT = 'allow another operation, or call this one with the http connector';

describe('an allowed operation using a feature the kind does not support', () => {
  it.each([
    [
      'a multipart/form-data request body',
      {
        post: {
          operationId: 'op',
          parameters: [ID],
          requestBody: { content: { 'multipart/form-data': { schema: { type: 'object' } } } },
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its request body is multipart/form-data; supported: application/json, application/x-www-form-urlencoded",
    ],
    [
      'an XML-only request body',
      {
        put: {
          operationId: 'op',
          parameters: [ID],
          requestBody: { content: { 'application/xml': { schema: { type: 'object' } } } },
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its request body is application/xml; supported",
    ],
    [
      'an octet-stream request body',
      {
        put: {
          operationId: 'op',
          parameters: [ID],
          requestBody: { content: { 'application/octet-stream': {} } },
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its request body is application/octet-stream; supported",
    ],
    [
      'a required cookie parameter',
      {
        get: {
          operationId: 'op',
          parameters: [ID, { name: 'session', in: 'cookie', required: true, schema: { type: 'string' } }],
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its required cookie parameter 'session' is not supported (only path, query and header parameters are sent)",
    ],
    [
      'a parameter described with content',
      {
        get: {
          operationId: 'op',
          parameters: [
            ID,
            { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } },
          ],
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its parameter 'filter' is described with content, not schema (not supported)",
    ],
    [
      'a path parameter of style matrix',
      { get: { operationId: 'op', parameters: [{ ...ID, style: 'matrix' }], responses: OK } },
      "operations[0]: 'op' cannot be served: its path parameter 'id' has style matrix (only simple is supported)",
    ],
    [
      'a required deepObject query parameter that is an object',
      {
        get: {
          operationId: 'op',
          parameters: [
            ID,
            {
              name: 'filter',
              in: 'query',
              required: true,
              style: 'deepObject',
              schema: { type: 'object', properties: { status: { type: 'string' } } },
            },
          ],
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its query parameter 'filter' is object in style deepObject, which the connector cannot send (it sends scalars there)",
    ],
    [
      'a path parameter that is an array, even without required: true',
      {
        get: {
          operationId: 'op',
          parameters: [{ name: 'id', in: 'path', schema: { type: 'array', items: { type: 'string' } } }],
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its path parameter 'id' is array in style simple, which the connector cannot send (it sends scalars there)",
    ],
    [
      'a required header parameter that is an array',
      {
        get: {
          operationId: 'op',
          parameters: [
            ID,
            {
              name: 'X-Tags',
              in: 'header',
              required: true,
              schema: { type: 'array', items: { type: 'string' } },
            },
          ],
          responses: OK,
        },
      },
      "operations[0]: 'op' cannot be served: its header parameter 'X-Tags' is array in style simple, which the connector cannot send (it sends scalars there)",
    ],
  ])(
    '%s: a config error naming the operation, the feature and the way out',
    (_feature, operations, message) => {
      // Act
      const { issues } = trimmed(describing(operations), ['op']);

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(message);
      expect(issues[0]).toMatch(new RegExp(`; ${WAY_OUT}$`));
    },
  );

  it('a $ref to another file: a config error naming the reference and the ways out', () => {
    // Prepare
    const document = describing({
      get: {
        operationId: 'op',
        parameters: [ID],
        responses: {
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: 'schemas.yaml#/Item' } } },
          },
        },
      },
    });

    // Act
    const { issues } = trimmed(document, ['op']);

    // Assess
    expect(issues).toEqual([
      `operations[0]: 'op': $ref 'schemas.yaml#/Item' is not local (only #/... is supported); bundle the description into one file, or ${WAY_OUT}`,
    ]);
  });

  it('lists every operation that cannot be served, one line each', () => {
    // Prepare
    const document = describing({
      get: { operationId: 'a', parameters: [{ ...ID, style: 'label' }], responses: OK },
      post: {
        operationId: 'b',
        parameters: [ID],
        requestBody: { content: { 'text/plain': {} } },
        responses: OK,
      },
    });

    // Act
    const { issues } = trimmed(document, ['a', 'b']);

    // Assess
    expect(issues.map((line) => line.split(' cannot be served')[0])).toEqual([
      "operations[0]: 'a'",
      "operations[1]: 'b'",
    ]);
  });
});

describe('an operation the allow-list does not name', () => {
  it('never fails the load, whatever it uses', async () => {
    // Prepare: every unsupported feature, in operations that are not allowed, and a YAML file.
    const document = describing({
      get: { operationId: 'getItem', parameters: [ID], responses: OK },
      post: {
        operationId: 'upload',
        parameters: [ID],
        requestBody: { content: { 'multipart/form-data': {} } },
        responses: OK,
      },
      put: {
        operationId: 'replace',
        parameters: [{ ...ID, style: 'matrix' }],
        responses: { '200': { $ref: 'other.yaml#/ok' } },
      },
      delete: {
        operationId: 'remove',
        parameters: [ID, { name: 's', in: 'cookie', required: true }],
        responses: OK,
      },
    });
    const file = write('unused-features.yaml', toYaml(document));

    // Act
    const description = await loadDescription(file, ['getItem'], dir);

    // Assess
    expect(Object.keys(description.operations)).toEqual(['getItem']);
    expect(description.baseUrl).toBe('https://api.example.com/v1');
  });
});

describe('a documented degradation', () => {
  it('an optional cookie parameter is never sent, and the caller cannot set it', () => {
    // Prepare
    const { description } = trimmed(
      describing({
        get: {
          operationId: 'op',
          parameters: [ID, { name: 'session', in: 'cookie', schema: { type: 'string' } }],
          responses: OK,
        },
      }),
      ['op'],
    );

    // Assess
    expect(description?.operations.op?.parameters.map((p) => p.name)).toEqual(['id']);
    expect(
      inputIssues(description as OpenApiDescription, 'op', { path: { id: 'a' }, query: { session: 'x' } }),
    ).toEqual(['query: is not defined by the description']);
  });

  it('a deepObject query parameter takes its scalar values; an object is refused, nothing sent', () => {
    // Prepare: Stripe's `created`, an object of bounds or a timestamp.
    const created = {
      name: 'created',
      in: 'query',
      style: 'deepObject',
      explode: true,
      schema: { anyOf: [{ type: 'object', properties: { gt: { type: 'integer' } } }, { type: 'integer' }] },
    };
    const { description } = trimmed(
      describing({ get: { operationId: 'op', parameters: [ID, created], responses: OK } }),
      ['op'],
    );
    const operation = description?.operations.op as OpenApiOperation;

    // Act
    const refused = inputIssues(description as OpenApiDescription, 'op', {
      path: { id: 'a' },
      query: { created: { gt: 1 } },
    });
    const accepted = inputIssues(description as OpenApiDescription, 'op', {
      path: { id: 'a' },
      query: { created: 1700000000 },
    });

    // Assess
    expect(refused).toEqual(['query.created: must be string,number,integer,boolean,null']);
    expect(accepted).toEqual([]);
    expect(
      buildRequest(operation, { path: { id: 'a' }, query: { created: 1700000000 } }, undefined).query,
    ).toEqual({
      created: '1700000000',
    });
  });

  it.each([
    ['form (the default): lists of scalars, not objects', {}, [['a', 'b'], []], [{ a: 1 }, [{ a: 1 }]]],
    ['form, not exploded: no empty list (it would leave as tags=)', { explode: false }, [['a', 'b']], [[]]],
    ['form, required: no empty list (it would not leave at all)', { required: true }, [['a'], 'a'], [[]]],
    [
      'pipeDelimited, exploded: lists of scalars',
      { style: 'pipeDelimited', explode: true },
      [['a', 'b']],
      [{ a: 1 }],
    ],
    [
      'pipeDelimited, not exploded: scalars only (a,b would be sent for a|b)',
      { style: 'pipeDelimited' },
      ['a'],
      [['a', 'b']],
    ],
    [
      'spaceDelimited, not exploded: scalars only',
      { style: 'spaceDelimited', explode: false },
      ['a'],
      [['a', 'b']],
    ],
  ])('a query parameter of style %s', (_style, style, accepted, refused) => {
    // Prepare
    const parameter = { name: 'tags', in: 'query', ...style };
    const { description } = trimmed(
      describing({ get: { operationId: 'op', parameters: [ID, parameter], responses: OK } }),
      ['op'],
    );
    const issuesOf = (tags: unknown) =>
      inputIssues(description as OpenApiDescription, 'op', { path: { id: 'a' }, query: { tags } });

    // Assess
    for (const tags of accepted) expect(issuesOf(tags), JSON.stringify(tags)).toEqual([]);
    for (const tags of refused) expect(issuesOf(tags), JSON.stringify(tags)).toHaveLength(1);
  });

  it('a path or header parameter takes scalars only; a schema that says so is kept as written', () => {
    // Prepare
    const { description } = trimmed(
      describing({
        get: {
          operationId: 'op',
          parameters: [
            { name: 'id', in: 'path', required: true },
            { name: 'X-Trace', in: 'header', schema: { type: 'string' } },
          ],
          responses: OK,
        },
      }),
      ['op'],
    );
    const issuesOf = (input: unknown) => inputIssues(description as OpenApiDescription, 'op', input);

    // Assess
    expect(description?.operations.op?.parameters[1]?.schema).toEqual({ type: 'string' });
    expect(issuesOf({ path: { id: ['a', 'b'] } })).toEqual([
      'path.id: must be string,number,integer,boolean,null',
    ]);
    expect(issuesOf({ path: { id: 42 }, headers: { 'X-Trace': 't-1' } })).toEqual([]);
  });

  it('a recursive schema is inlined once: below the repetition anything is accepted', () => {
    // Prepare: a comment whose replies are comments.
    const document = describing(
      {
        post: {
          operationId: 'op',
          parameters: [ID],
          requestBody: {
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Comment' } } },
          },
          responses: OK,
        },
      },
      {
        components: {
          schemas: {
            Comment: {
              type: 'object',
              required: ['text'],
              properties: {
                text: { type: 'string' },
                replies: { type: 'array', items: { $ref: '#/components/schemas/Comment' } },
              },
            },
          },
        },
      },
    );
    const { description } = trimmed(document, ['op']);
    const issuesOf = (body: unknown) =>
      inputIssues(description as OpenApiDescription, 'op', { path: { id: 'a' }, body });

    // Assess
    expect(issuesOf({ text: 'hi', replies: [{ anything: true }] })).toEqual([]);
    expect(issuesOf({ replies: [] })).toEqual(['body.text: is required']);
  });

  it('callbacks, links and webhooks are ignored', () => {
    // Prepare
    const document = describing(
      {
        post: {
          operationId: 'op',
          parameters: [ID],
          callbacks: {
            done: { '{$request.body#/url}': { post: { responses: { '200': { description: 'ok' } } } } },
          },
          responses: { '200': { ...OK['200'], links: { self: { operationId: 'op' } } } },
        },
      },
      { openapi: '3.1.0', webhooks: { item: { post: { responses: { '200': { description: 'ok' } } } } } },
    );

    // Act
    const { description, issues } = trimmed(document, ['op']);

    // Assess
    expect(issues).toEqual([]);
    expect(description?.dialect).toBe('3.1');
    expect(JSON.stringify(description)).not.toMatch(/callbacks|links|webhooks/);
  });

  it("servers with variables: the variables' defaults; without a default, no base URL (set baseUrl)", () => {
    // Prepare
    const withDefaults = describing(
      { get: { operationId: 'op', parameters: [ID], responses: OK } },
      {
        servers: [
          {
            url: 'https://{region}.api.example.com/{version}/',
            variables: { region: { default: 'eu', enum: ['eu', 'us'] }, version: { default: 'v2' } },
          },
        ],
      },
    );
    const withoutDefault = {
      ...withDefaults,
      servers: [{ url: 'https://{tenant}.example.com', variables: { tenant: {} } }],
    };

    // Assess
    expect(trimmed(withDefaults, ['op']).description?.baseUrl).toBe('https://eu.api.example.com/v2');
    expect(trimmed(withoutDefault, ['op']).description?.baseUrl).toBeUndefined();
  });

  it('security schemes other than apiKey in a header or query (oauth2, openIdConnect, a cookie) are not read', () => {
    // Prepare
    const document = describing(
      { get: { operationId: 'op', parameters: [ID], security: [{ oauth: ['read'] }], responses: OK } },
      {
        components: {
          securitySchemes: {
            oauth: {
              type: 'oauth2',
              flows: {
                authorizationCode: {
                  authorizationUrl: 'https://a.example/o',
                  tokenUrl: 'https://a.example/t',
                  scopes: {},
                },
              },
            },
            oidc: {
              type: 'openIdConnect',
              openIdConnectUrl: 'https://a.example/.well-known/openid-configuration',
            },
            session: { type: 'apiKey', in: 'cookie', name: 'sid' },
          },
        },
      },
    );

    // Act
    const { description, issues } = trimmed(document, ['op']);

    // Assess: loads; no apiKey location to take, so an apiKey auth must say where its key goes.
    expect(issues).toEqual([]);
    expect(description?.apiKey).toBeUndefined();
  });

  it('an answer documented other than as JSON (XML, text) is not checked', () => {
    // Prepare
    const { description } = trimmed(
      describing({
        get: {
          operationId: 'op',
          parameters: [ID],
          responses: {
            '200': { description: 'ok', content: { 'application/xml': { schema: { type: 'object' } } } },
            '201': { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } },
            '202': {
              description: 'ok',
              content: { 'application/problem+json': { schema: { type: 'object' } } },
            },
          },
        },
      }),
      ['op'],
    );
    const operation = description?.operations.op as OpenApiOperation;
    const validators = operationValidators(operation, '3.0');

    // Assess
    expect(operation.responses).toEqual({ '200': null, '201': null, '202': { type: 'object' } });
    expect(validators.response(200, '<item/>')).toEqual([]);
    expect(validators.response(201, 'text')).toEqual([]);
    expect(validators.response(202, 'text')).toEqual([{ path: ['body'], message: 'must be object' }]);
  });
});
