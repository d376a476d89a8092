/**
 * The generic extraction of a description's operations (scripts/extract-spec.ts), on OpenAPI 3.x
 * and Swagger 2.0: it keeps the named operations, the path's own fields, the entries they reference
 * (transitively) and the security schemes their requirements name, sorted, and names what is
 * missing. The committed Twilio and Slack fixtures are their own extraction, and equal the
 * extraction of the vendors' files when `../shared/vendor-specs/` (or `VENDOR_SPECS_DIR`) exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractDescription, type Json } from '../../scripts/extract-spec.js';

type JsonObject = { [key: string]: Json };
const ROOT = path.resolve(import.meta.dirname, '../..');
const VENDOR_SPECS = process.env.VENDOR_SPECS_DIR ?? path.resolve(ROOT, '../shared/vendor-specs');

/** The committed fixtures, the vendor file each was extracted from, and its operations. */
const FIXTURES = [
  { fixture: 'test/fixtures/twilio/api_v2010.openapi.json', source: 'twilio_api_v2010.json' },
  { fixture: 'test/fixtures/slack/slack_web_openapi_v2.json', source: 'slack_web_openapi_v2.json' },
];

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as JsonObject;

/** Every operationId of a description, in order. */
function operationIdsOf(spec: JsonObject): string[] {
  const ids: string[] = [];
  for (const item of Object.values(spec.paths as Record<string, Record<string, { operationId?: string }>>)) {
    for (const operation of Object.values(item)) {
      if (typeof operation?.operationId === 'string') ids.push(operation.operationId);
    }
  }
  return ids;
}

function openapi3(): JsonObject {
  return {
    openapi: '3.0.1',
    info: { title: 'example', version: '1' },
    servers: [{ url: 'https://api.example.test' }],
    tags: [{ name: 'things' }],
    paths: {
      '/things/{id}': {
        description: 'A thing',
        parameters: [{ $ref: '#/components/parameters/id' }],
        get: { operationId: 'FetchThing', responses: { 200: { $ref: '#/components/responses/thing' } } },
        delete: { operationId: 'DeleteThing', responses: {} },
      },
      '/other': { post: { operationId: 'CreateOther', security: [{ key: [] }], responses: {} } },
    },
    components: {
      parameters: { id: { name: 'id', in: 'path', schema: { $ref: '#/components/schemas/id' } } },
      responses: {
        thing: { content: { 'application/json': { schema: { $ref: '#/components/schemas/thing' } } } },
      },
      schemas: {
        thing: { type: 'object', properties: { id: { $ref: '#/components/schemas/id' } } },
        id: { type: 'string' },
        orphan: { type: 'integer' },
      },
      securitySchemes: { basic: { type: 'http', scheme: 'basic' }, key: { type: 'apiKey', in: 'header' } },
    },
    security: [{ basic: [] }],
  };
}

describe('extractDescription', () => {
  it('keeps an OpenAPI 3 operation, its path fields and what it reaches, sorted', () => {
    // Prepare
    const spec = openapi3();

    // Act
    const trimmed = extractDescription(spec, ['FetchThing']);

    // Assess
    expect(Object.keys(trimmed)).toEqual(['openapi', 'info', 'servers', 'security', 'paths', 'components']);
    expect(trimmed.paths).toEqual({
      '/things/{id}': {
        description: 'A thing',
        parameters: [{ $ref: '#/components/parameters/id' }],
        get: { operationId: 'FetchThing', responses: { 200: { $ref: '#/components/responses/thing' } } },
      },
    });
    const components = spec.components as Record<string, JsonObject>;
    expect(trimmed.components).toEqual({
      parameters: { id: components.parameters?.id },
      responses: { thing: components.responses?.thing },
      schemas: { id: components.schemas?.id, thing: components.schemas?.thing },
      // the top-level requirement names `basic`; `key` is named by no kept operation
      securitySchemes: { basic: components.securitySchemes?.basic },
    });
    expect(Object.keys((trimmed.components as JsonObject).schemas as JsonObject)).toEqual(['id', 'thing']);
  });

  it('keeps a Swagger 2.0 operation with its definitions and security definitions', () => {
    // Prepare
    const spec: JsonObject = {
      swagger: '2.0',
      info: { title: 'example', version: '1' },
      host: 'api.example.test',
      basePath: '/api',
      schemes: ['https'],
      paths: {
        '/chat.post': {
          post: {
            operationId: 'chat_post',
            parameters: [{ name: 'token', in: 'header', required: true, type: 'string' }],
            responses: { 200: { schema: { $ref: '#/definitions/ok' } } },
            security: [{ auth: ['chat:write'] }],
          },
        },
        '/users.list': { get: { operationId: 'users_list', responses: {} } },
      },
      definitions: {
        ok: { type: 'object', properties: { ts: { $ref: '#/definitions/ts' } } },
        ts: {},
        no: {},
      },
      securityDefinitions: { auth: { type: 'oauth2' }, other: { type: 'basic' } },
    };

    // Act
    const trimmed = extractDescription(spec, ['chat_post']);

    // Assess
    expect(Object.keys(trimmed.paths as JsonObject)).toEqual(['/chat.post']);
    expect(trimmed.definitions).toEqual({ ok: (spec.definitions as JsonObject).ok, ts: {} });
    expect(trimmed.securityDefinitions).toEqual({ auth: { type: 'oauth2' } });
    expect(trimmed).toMatchObject({ swagger: '2.0', host: 'api.example.test', basePath: '/api' });
  });

  it('names the operationIds the description lacks and a $ref that points nowhere', () => {
    // Prepare
    const spec = openapi3();
    ((spec.components as Record<string, JsonObject>).schemas as JsonObject).id = {
      $ref: '#/components/schemas/gone',
    };

    // Act + Assess
    expect(() => extractDescription(openapi3(), ['FetchThing', 'Nope', 'Nada'])).toThrow(
      'no operation Nope, Nada in the description',
    );
    expect(() => extractDescription(spec, ['FetchThing'])).toThrow(
      'unresolved $ref #/components/schemas/gone',
    );
  });
});

describe('the committed fixtures', () => {
  for (const { fixture, source } of FIXTURES) {
    it(`${fixture} is its own extraction: every $ref resolves, nothing unreferenced is kept`, () => {
      // Prepare
      const spec = read(path.join(ROOT, fixture));

      // Act
      const again = extractDescription(spec, operationIdsOf(spec));

      // Assess
      expect(operationIdsOf(spec).length).toBeGreaterThanOrEqual(12);
      expect(again).toEqual(spec);
    });

    it.skipIf(!existsSync(path.join(VENDOR_SPECS, source)))(
      `${fixture} equals the extraction of ${source}`,
      () => {
        // Prepare
        const spec = read(path.join(ROOT, fixture));

        // Act
        const extracted = extractDescription(read(path.join(VENDOR_SPECS, source)), operationIdsOf(spec));

        // Assess
        expect(extracted).toEqual(spec);
      },
    );
  }
});
