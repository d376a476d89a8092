import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { JsonObject } from '../../scripts/spec-diff/diff.js';
import { toOpenApi3 } from '../../scripts/spec-diff/load.js';
import {
  diffOperations,
  type Finding,
  type LoadSuiteConfig,
  main,
  parseOptions,
  UsageError,
} from '../../scripts/spec-diff.js';

const FIXTURES = path.resolve('test/fixtures');
const TWILIO = path.join(FIXTURES, 'twilio/messages.openapi.json');
const LIST_MESSAGES = 'GET /2010-04-01/Accounts/{AccountSid}/Messages.json';
const dir = mkdtempSync(path.join(tmpdir(), 'spec-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `value` as JSON to a fresh file of the temporary directory; its path. */
function write(name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

type Obj = Record<string, unknown>;
const UPDATE_BODY = ['paths', '/pets/{petId}', 'put', 'requestBody', 'content', 'application/json', 'schema'];
const MESSAGE_PROPERTIES = ['components', 'schemas', 'api.v2010.account.message', 'properties'];

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `keys` of `root`, to edit in place. */
function at(root: unknown, ...keys: (string | number)[]): Obj {
  const node = keys.reduce<unknown>((n, key) => (n as Obj)[key], root);
  if (typeof node !== 'object' || node === null) throw new Error(`no object at ${keys.join('/')}`);
  return node as Obj;
}

/** The array at `keys` of `root`, to edit in place. */
function list(root: unknown, ...keys: (string | number)[]): unknown[] {
  return at(root, ...keys) as unknown as unknown[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A description file of test/fixtures, JSON or YAML (`.yaml`, `.yml`). */
function readJson(file: string): JsonObject {
  const text = readFileSync(file, 'utf8');
  return (/\.ya?ml$/.test(file) ? parseYaml(text) : JSON.parse(text)) as JsonObject;
}

/** Captures what `main` writes to stdout and stderr (restored after each test by `restoreMocks`). */
function captureStreams(): { stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  const spy = (stream: NodeJS.WriteStream, sink: string[]) =>
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => {
      sink.push(String(chunk));
      return true;
    }) as typeof stream.write);
  spy(process.stdout, out);
  spy(process.stderr, err);
  return { stdout: () => out.join(''), stderr: () => err.join('') };
}

/** A small OpenAPI 3.0 description; `edit` changes a deep copy of it. */
function pets(edit: (d: Obj) => void = () => {}): JsonObject {
  const d = {
    openapi: '3.0.3',
    info: { title: 'Pets', version: '1' },
    paths: {
      '/pets/{petId}': {
        parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getPet',
          parameters: [
            { name: 'fields', in: 'query', schema: { type: 'string' } },
            { name: 'X-Trace', in: 'header', schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: 'the pet',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } },
            },
            '404': { description: 'no such pet' },
          },
        },
        put: {
          operationId: 'updatePet',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name'],
                  properties: { name: { type: 'string' }, tag: { type: 'string' }, age: { type: 'integer' } },
                },
              },
            },
          },
          responses: { '204': { description: 'updated' } },
        },
      },
      '/pets': {
        get: {
          operationId: 'listPets',
          responses: {
            '200': {
              description: 'pets',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { pets: { type: 'array', items: { $ref: '#/components/schemas/Pet' } } },
                  },
                },
              },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Pet: {
          type: 'object',
          required: ['id'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['available', 'sold'] },
            // A cycle: a pet's parent is a pet.
            parent: { $ref: '#/components/schemas/Pet' },
          },
        },
      },
    },
  };
  const copy = structuredClone(d);
  edit(copy);
  return copy as unknown as JsonObject;
}

function breaking(findings: Finding[]): string[] {
  return findings.filter((f) => f.breaking).map((f) => `${f.operationId}: ${f.location}: ${f.change}`);
}

describe('diffOperations', () => {
  it('finds nothing between a description and itself', () => {
    expect(diffOperations(pets(), pets())).toEqual([]);
  });

  it('reports a removed operation as breaking', () => {
    const after = pets((d) => delete at(d, 'paths', '/pets').get);
    expect(breaking(diffOperations(pets(), after))).toEqual(['listPets: GET /pets: operation removed']);
  });

  it('reports a removed path, query or header parameter, and a renamed one as removed plus added', () => {
    const after = pets((d) => {
      at(d, 'paths', '/pets/{petId}').parameters = [];
      at(d, 'paths', '/pets/{petId}', 'get').parameters = [
        { name: 'field', in: 'query', schema: { type: 'string' } },
      ];
    });
    const findings = diffOperations(pets(), after, ['getPet']);
    expect(breaking(findings)).toEqual([
      'getPet: GET /pets/{petId} → path parameter petId: parameter removed (or renamed)',
      'getPet: GET /pets/{petId} → query parameter fields: parameter removed (or renamed to field)',
      'getPet: GET /pets/{petId} → header parameter X-Trace: parameter removed (or renamed)',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({ location: 'GET /pets/{petId} → query parameter field', breaking: false }),
    );
  });

  it('matches header parameters case-insensitively', () => {
    const after = pets((d) => {
      at(d, 'paths', '/pets/{petId}', 'get', 'parameters', 1).name = 'x-trace';
    });
    expect(diffOperations(pets(), after)).toEqual([]);
  });

  it('reports a parameter that became required, and a new required one', () => {
    const after = pets((d) => {
      at(d, 'paths', '/pets/{petId}', 'get', 'parameters', 0).required = true;
      list(d, 'paths', '/pets/{petId}', 'get', 'parameters').push({
        name: 'v',
        in: 'query',
        required: true,
        schema: { type: 'string' },
      });
    });
    expect(breaking(diffOperations(pets(), after, ['getPet']))).toEqual([
      'getPet: GET /pets/{petId} → query parameter fields: parameter became required',
      'getPet: GET /pets/{petId} → query parameter v: required parameter added',
    ]);
  });

  it('reports a changed parameter type', () => {
    const after = pets((d) => {
      at(d, 'paths', '/pets/{petId}', 'parameters', 0, 'schema').type = 'integer';
    });
    expect(breaking(diffOperations(pets(), after, ['getPet']))).toEqual([
      'getPet: GET /pets/{petId} → path parameter petId: type changed from string to integer',
    ]);
  });

  it('accepts a request type that widens, but not a response type that does', () => {
    const after = pets((d) => {
      at(d, ...UPDATE_BODY, 'properties', 'age').type = 'number';
      at(d, 'components', 'schemas', 'Pet', 'properties', 'id').type = ['string', 'integer'];
    });
    const findings = diffOperations(pets(), after, ['updatePet', 'getPet']);
    expect(breaking(findings)).toEqual([
      'getPet: GET /pets/{petId} → response 200 → body.id: type changed from string to string|integer',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({ location: 'PUT /pets/{petId} → request body → body.age', breaking: false }),
    );
  });

  it('reports a removed request-body property and one that became required; not an optional addition', () => {
    const after = pets((d) => {
      const body = at(d, ...UPDATE_BODY);
      delete at(body, 'properties').tag;
      list(body, 'required').push('age');
      at(body, 'properties').color = { type: 'string' };
    });
    const findings = diffOperations(pets(), after, ['updatePet']);
    expect(breaking(findings)).toEqual([
      'updatePet: PUT /pets/{petId} → request body → body.tag: property removed',
      'updatePet: PUT /pets/{petId} → request body → body.age: property became required',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({
        location: 'PUT /pets/{petId} → request body → body.color',
        change: 'property added',
        breaking: false,
      }),
    );
  });

  it('reports a removed 2xx response status, not a removed error status', () => {
    const after = pets((d) => {
      const responses = at(d, 'paths', '/pets/{petId}', 'put', 'responses');
      delete responses['204'];
      responses['200'] = { description: 'updated' };
      delete at(d, 'paths', '/pets/{petId}', 'get', 'responses')['404'];
    });
    const findings = diffOperations(pets(), after);
    expect(breaking(findings)).toEqual([
      'updatePet: PUT /pets/{petId} → response 204: response status removed',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({ change: 'response status added', breaking: false }),
    );
  });

  it('reports a removed response property inside a $ref, with its schema, once per operation', () => {
    const after = pets((d) => delete at(d, 'components', 'schemas', 'Pet', 'properties').status);
    const findings = diffOperations(pets(), after);
    expect(findings).toEqual([
      {
        operationId: 'getPet',
        location: 'GET /pets/{petId} → response 200 → body.status',
        change: 'property removed',
        breaking: true,
        schema: '#/components/schemas/Pet',
      },
      {
        operationId: 'listPets',
        location: 'GET /pets → response 200 → body.pets[].status',
        change: 'property removed',
        breaking: true,
        schema: '#/components/schemas/Pet',
      },
    ]);
  });

  it('reports a removed enum value as breaking and an added one as not', () => {
    const after = pets((d) => {
      at(d, 'components', 'schemas', 'Pet', 'properties', 'status').enum = ['available', 'pending'];
    });
    const findings = diffOperations(pets(), after, ['getPet']);
    expect(breaking(findings)).toEqual([
      'getPet: GET /pets/{petId} → response 200 → body.status: enum value "sold" removed',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({ change: 'enum value "pending" added', breaking: false }),
    );
  });

  it('follows a $ref that changed target, and stops on cycles', () => {
    const after = pets((d) => {
      const schemas = at(d, 'components', 'schemas');
      schemas.Animal = structuredClone(schemas.Pet);
      at(schemas, 'Animal', 'properties', 'id').type = 'integer';
      at(
        d,
        'paths',
        '/pets/{petId}',
        'get',
        'responses',
        '200',
        'content',
        'application/json',
        'schema',
      ).$ref = '#/components/schemas/Animal';
    });
    expect(breaking(diffOperations(pets(), after, ['getPet']))).toEqual([
      'getPet: GET /pets/{petId} → response 200 → body.id: type changed from string to integer',
    ]);
  });

  it('reports a removed response property in a Swagger 2.0 description, converted', async () => {
    const swagger = (edit: (d: Obj) => void = () => {}) => {
      const d: Obj = {
        swagger: '2.0',
        info: { title: 'Chat', version: '1' },
        host: 'chat.example.com',
        paths: {
          '/chat.post': {
            post: {
              operationId: 'chat_post',
              parameters: [{ name: 'channel', in: 'formData', type: 'string', required: true }],
              consumes: ['application/x-www-form-urlencoded'],
              produces: ['application/json'],
              responses: {
                '200': {
                  description: 'ok',
                  schema: { type: 'object', properties: { ok: { type: 'boolean' }, ts: { type: 'string' } } },
                },
              },
            },
          },
        },
      };
      edit(d);
      return d;
    };
    const before = await toOpenApi3(swagger(), 'old.json');
    const after = await toOpenApi3(
      swagger(
        (d) => delete at(d, 'paths', '/chat.post', 'post', 'responses', '200', 'schema', 'properties').ts,
      ),
      'new.json',
    );
    expect(breaking(diffOperations(before, after))).toEqual([
      'chat_post: POST /chat.post → response 200 → body.ts: property removed',
    ]);
  });

  /** `pets()` with documented headers on getPet's 200, and a 429 whose body is an `Error`. */
  const withHeaders = (edit: (d: Obj) => void = () => {}) =>
    pets((d) => {
      const responses = at(d, 'paths', '/pets/{petId}', 'get', 'responses');
      at(responses, '200').headers = {
        'X-RateLimit-Remaining': { required: true, schema: { type: 'integer' } },
        ETag: { schema: { type: 'string' } },
      };
      responses['429'] = {
        description: 'slow down',
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
      at(d, 'components', 'schemas').Error = {
        type: 'object',
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      };
      edit(d);
    });

  it('reports a removed 2xx response header as breaking, and one no longer required, whatever its case', () => {
    const after = withHeaders((d) => {
      const headers = at(d, 'paths', '/pets/{petId}', 'get', 'responses', '200', 'headers');
      delete headers['X-RateLimit-Remaining'];
      headers.etag = headers.ETag;
      delete headers.ETag;
      headers['X-RateLimit-Reset'] = { schema: { type: 'integer' } };
    });
    const findings = diffOperations(withHeaders(), after, ['getPet']);
    expect(breaking(findings)).toEqual([
      'getPet: GET /pets/{petId} → response 200 → header X-RateLimit-Remaining: response header removed',
    ]);
    expect(findings).toContainEqual(
      expect.objectContaining({
        location: 'GET /pets/{petId} → response 200 → header X-RateLimit-Reset',
        change: 'response header added',
        breaking: false,
      }),
    );
    const optional = withHeaders((d) => {
      const header = at(
        d,
        'paths',
        '/pets/{petId}',
        'get',
        'responses',
        '200',
        'headers',
        'X-RateLimit-Remaining',
      );
      header.required = false;
      header.schema = { type: 'string' };
    });
    expect(breaking(diffOperations(withHeaders(), optional, ['getPet']))).toEqual([
      'getPet: GET /pets/{petId} → response 200 → header X-RateLimit-Remaining: response header no longer required (may be absent)',
      'getPet: GET /pets/{petId} → response 200 → header X-RateLimit-Remaining: type changed from integer to string',
    ]);
  });

  it('reports changes to an error response as notable, not breaking', () => {
    const after = withHeaders((d) => {
      delete at(d, 'paths', '/pets/{petId}', 'get', 'responses', '429').headers;
      const error = at(d, 'components', 'schemas', 'Error', 'properties');
      delete error.code;
      at(error, 'message').type = 'object';
      delete at(d, 'paths', '/pets/{petId}', 'get', 'responses')['404'];
    });
    const findings = diffOperations(withHeaders(), after, ['getPet']);
    expect(breaking(findings)).toEqual([]);
    expect(
      findings
        .filter((f) => f.notable)
        .map((f) => `${f.location}: ${f.change}${f.schema ? ` (${f.schema})` : ''}`),
    ).toEqual([
      'GET /pets/{petId} → response 404: response status removed',
      'GET /pets/{petId} → response 429 → header Retry-After: response header removed',
      'GET /pets/{petId} → response 429 → body.code: property removed (#/components/schemas/Error)',
      'GET /pets/{petId} → response 429 → body.message: type changed from string to object (#/components/schemas/Error)',
    ]);
    expect(findings.every((f) => !(f.breaking && f.notable))).toBe(true);
  });

  it('compares a schema shared by a 2xx and an error response in each, at its severity', () => {
    const shared = (edit: (d: Obj) => void = () => {}) =>
      withHeaders((d) => {
        at(d, 'paths', '/pets/{petId}', 'get', 'responses', '429', 'content', 'application/json').schema = {
          $ref: '#/components/schemas/Pet',
        };
        edit(d);
      });
    const after = shared((d) => delete at(d, 'components', 'schemas', 'Pet', 'properties').status);
    const findings = diffOperations(shared(), after, ['getPet']).map(
      (f) => `${f.breaking ? 'BREAKING' : f.notable ? 'NOTABLE' : 'ok'} ${f.location}`,
    );
    expect(findings).toEqual([
      'BREAKING GET /pets/{petId} → response 200 → body.status',
      'NOTABLE GET /pets/{petId} → response 429 → body.status',
    ]);
  });

  it('looks only at the operations it is given', () => {
    const after = pets((d) => delete at(d, 'paths', '/pets').get);
    expect(diffOperations(pets(), after, ['getPet', 'updatePet'])).toEqual([]);
  });
});

describe('npm run spec:diff (main)', () => {
  const twilio = readJson(TWILIO);
  const withoutSid = structuredClone(twilio);
  delete at(withoutSid, ...MESSAGE_PROPERTIES).sid;
  const mutated = write('twilio-without-sid.json', withoutSid);

  it('exits 0 for the vendored Twilio description against itself', async () => {
    const streams = captureStreams();
    await expect(main([TWILIO, TWILIO, '--operations', 'ListMessage,CreateMessage'])).resolves.toBe(0);
    expect(streams.stdout()).toBe('');
    expect(streams.stderr()).toContain('0 breaking change(s)');
  });

  it('exits 1 naming a used response field the new version removes', async () => {
    const streams = captureStreams();
    await expect(main([TWILIO, mutated, '--operations', 'ListMessage'])).resolves.toBe(1);
    expect(streams.stdout()).toBe(
      `BREAKING ListMessage: ${LIST_MESSAGES} → response 200 → body.messages[].sid: property removed ` +
        '(in #/components/schemas/api.v2010.account.message)\n',
    );
  });

  it('reads YAML descriptions, OpenAPI 3.x and Swagger 2.0, as the JSON ones', async () => {
    // Twilio's description as YAML, against its JSON copy less a used field.
    const yamlTwilio = write('twilio.yaml', toYaml(twilio));
    let streams = captureStreams();
    await expect(main([yamlTwilio, mutated, '--operations', 'ListMessage'])).resolves.toBe(1);
    expect(streams.stdout()).toContain(
      `${LIST_MESSAGES} → response 200 → body.messages[].sid: property removed`,
    );
    vi.restoreAllMocks();
    // Swagger 2.0 written by hand in YAML (`swagger: "2.0"` quoted, as the specification asks).
    const chat = (ts: string) =>
      [
        'swagger: "2.0"',
        'info: {title: Chat, version: "1"}',
        'host: chat.example.com',
        'paths:',
        '  /chat.post:',
        '    post:',
        '      operationId: chat_post',
        '      produces: [application/json]',
        '      responses:',
        '        200:',
        '          description: ok',
        '          schema:',
        '            type: object',
        `            properties: {ok: {type: boolean}${ts}}`,
        '',
      ].join('\n');
    streams = captureStreams();
    await expect(
      main([write('chat-old.yml', chat(', ts: {type: string}')), write('chat-new.yml', chat(''))]),
    ).resolves.toBe(1);
    expect(streams.stdout()).toBe(
      'BREAKING chat_post: POST /chat.post → response 200 → body.ts: property removed\n',
    );
  });

  it('lists notable changes to error responses without --verbose, and exits 0 on them', async () => {
    const withoutErrorCode = structuredClone(twilio);
    // Twilio documents no error bodies: give ListMessage's a 429 with Retry-After, then drop it.
    const responses = at(
      withoutErrorCode,
      'paths',
      '/2010-04-01/Accounts/{AccountSid}/Messages.json',
      'get',
      'responses',
    );
    responses['429'] = {
      description: 'slow down',
      headers: { 'Retry-After': { schema: { type: 'integer' } } },
    };
    const before = write('twilio-429.json', withoutErrorCode);
    delete at(responses, '429').headers;
    const after = write('twilio-429-no-retry-after.json', withoutErrorCode);
    const streams = captureStreams();
    await expect(main([before, after, '--operations', 'ListMessage'])).resolves.toBe(0);
    expect(streams.stdout()).toBe(
      `NOTABLE  ListMessage: ${LIST_MESSAGES} → response 429 → header Retry-After: response header removed\n`,
    );
    expect(streams.stderr()).toBe(
      'spec:diff: 0 breaking change(s), 1 notable, 0 other(s), in 1 operation(s)\n',
    );
  });

  it('lists additions with --verbose only, and exits 0 on them', async () => {
    let streams = captureStreams();
    await expect(main([mutated, TWILIO, '--operations', 'ListMessage'])).resolves.toBe(0);
    expect(streams.stdout()).toBe('');
    vi.restoreAllMocks();
    streams = captureStreams();
    await expect(main([mutated, TWILIO, '--operations', 'ListMessage', '--verbose'])).resolves.toBe(0);
    expect(streams.stdout()).toContain(
      `ok       ListMessage: ${LIST_MESSAGES} → response 200 → body.messages[].sid: property added`,
    );
  });

  it.each([
    [
      'a missing file',
      () => [path.join(dir, 'missing.json'), TWILIO],
      /cannot read .*missing\.json \(ENOENT\)/,
    ],
    [
      'a file that is neither JSON nor YAML',
      () => [write('not.json', '{ nope'), TWILIO],
      /not\.json is not JSON or YAML: /,
    ],
    [
      'a YAML file that is not YAML',
      () => [write('bad.yaml', 'openapi: 3.0.0\npaths: {\n'), TWILIO],
      /bad\.yaml is not JSON or YAML: .*line 3/,
    ],
    [
      'a YAML description without paths',
      () => [write('api.yaml', 'openapi: 3.0.0\n'), TWILIO],
      /api\.yaml is not an API description: no "paths" object/,
    ],
    [
      'JSON that is no description',
      () => [TWILIO, write('other.json', { name: 'x' })],
      /is not an API description/,
    ],
    [
      'Swagger 2.0 without paths',
      () => [TWILIO, write('swagger.json', { swagger: '2.0' })],
      /no "paths" object/,
    ],
    [
      'an operation OLD does not have',
      () => [TWILIO, TWILIO, '--operations', 'listMessage'],
      /has no operation listMessage/,
    ],
    ['one file', () => [TWILIO], /expected two files/],
    ['an unknown option', () => [TWILIO, TWILIO, '--nope'], /Unknown option '--nope'/],
    ['--config without --connector', () => [TWILIO, TWILIO, '--config', 'suite.config.ts'], /go together/],
  ])('exits 2 on bad input: %s, with one line and no stack', async (_name, args, message) => {
    const streams = captureStreams();
    await expect(main(args())).resolves.toBe(2);
    expect(streams.stderr()).toMatch(message);
    expect(streams.stderr().trim().split('\n')).toHaveLength(1);
    expect(streams.stderr()).not.toMatch(/\n\s+at /);
  });

  it('exits 2 when the --config connector has no operations list, or is not there', async () => {
    const suite = write('suite.json', {
      connectors: [
        {
          name: 'demo',
          kind: 'http',
          baseUrl: 'https://api.example.com',
          auth: { type: 'none' },
          allowedPathPrefixes: ['/x'],
        },
      ],
    });
    let streams = captureStreams();
    await expect(main([TWILIO, TWILIO, '--config', suite, '--connector', 'demo'])).resolves.toBe(2);
    expect(streams.stderr()).toMatch(/connector demo of .* has no operations list/);
    vi.restoreAllMocks();
    streams = captureStreams();
    await expect(main([TWILIO, TWILIO, '--config', suite, '--connector', 'other'])).resolves.toBe(2);
    expect(streams.stderr()).toMatch(/has no connector named other/);
  });

  it('checks the operations of the --config connector', async () => {
    // The openapi kind's entry, as loadSuiteConfig would return it once the kind validates it.
    const loadSuiteConfig = vi.fn(async () => ({
      connectors: [{ name: 'twilio-api', kind: 'openapi', operations: ['ListMessage'] }],
    })) as unknown as LoadSuiteConfig;
    const streams = captureStreams();
    const argv = [TWILIO, mutated, '--config', 'suite.config.ts', '--connector', 'twilio-api'];
    await expect(main(argv, { loadSuiteConfig })).resolves.toBe(1);
    expect(loadSuiteConfig).toHaveBeenCalledWith('suite.config.ts');
    expect(streams.stdout()).toMatch(/^BREAKING ListMessage: .*body\.messages\[\]\.sid: property removed/);
    expect(streams.stdout()).not.toContain('CreateMessage');
    expect(streams.stderr()).toContain('in 1 operation(s)');
  });

  it('parses --operations as a comma-separated list', () => {
    expect(parseOptions(['a.json', 'b.json', '--operations', 'x, y,,z'])).toEqual({
      oldFile: 'a.json',
      newFile: 'b.json',
      operationIds: ['x', 'y', 'z'],
      verbose: false,
    });
    expect(() => parseOptions(['a.json', 'b.json', '--operations', ','])).toThrow(UsageError);
  });
});

/** Every vendored API description of test/fixtures (OpenAPI 3.x or Swagger 2.0, as JSON or YAML). */
function vendoredDescriptions(): string[] {
  return readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(json|ya?ml)$/.test(file))
    .map((file) => path.join(FIXTURES, file))
    .filter((file) => {
      const value = readJson(file);
      return typeof value.openapi === 'string' || value.swagger === '2.0';
    })
    .sort();
}

/**
 * Edits `document` in place to break it: removes the first property of the first documented 2xx
 * response body that has one (the kind of field a connector reads), or else (a description whose
 * responses have no properties) its first operation. What the finding must say.
 */
function breakDescription(document: JsonObject): RegExp {
  const resolve = (value: unknown): Obj | undefined => {
    let node = value;
    for (let hops = 0; isObj(node) && typeof node.$ref === 'string' && hops < 32; hops++) {
      node = node.$ref
        .slice(2)
        .split('/')
        .reduce<unknown>(
          (n, key) => (isObj(n) ? n[key.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined),
          document,
        );
    }
    return isObj(node) ? node : undefined;
  };
  for (const item of Object.values(at(document, 'paths'))) {
    for (const operation of Object.values(resolve(item) ?? {})) {
      const responses = isObj(operation) ? resolve(operation.responses) : undefined;
      for (const [status, raw] of Object.entries(responses ?? {})) {
        if (!/^2/.test(status)) continue;
        const response = resolve(raw);
        const schemas =
          response?.schema !== undefined
            ? [response.schema]
            : Object.values(resolve(response?.content) ?? {}).map((c) => (isObj(c) ? c.schema : undefined));
        for (const schema of schemas.map(resolve)) {
          const properties = resolve(schema?.properties);
          const name = Object.keys(properties ?? {})[0];
          if (properties && name) {
            delete properties[name];
            return new RegExp(`^BREAKING .*\\.${escapeRegExp(name)}: property removed`, 'm');
          }
        }
      }
    }
  }
  for (const item of Object.values(at(document, 'paths'))) {
    const methods = resolve(item) ?? {};
    const method = Object.keys(methods).find((key) =>
      /^(get|put|post|delete|options|head|patch|trace)$/.test(key),
    );
    if (method) {
      delete methods[method];
      return /^BREAKING .*: operation removed$/m;
    }
  }
  throw new Error('a description without operations');
}

describe('spec:diff on the vendored descriptions (CI)', () => {
  const descriptions = vendoredDescriptions();

  it('finds the vendored GitHub, Slack and Twilio descriptions', () => {
    const relative = descriptions.map((file) => path.relative(FIXTURES, file));
    for (const vendor of ['github/', 'slack/', 'twilio/'])
      expect(relative.some((f) => f.startsWith(vendor))).toBe(true);
  });

  it.each(descriptions.map((file) => [path.relative(FIXTURES, file), file]))(
    '%s: exits 0 against itself and 1 against a copy without a response field',
    async (name, file) => {
      let streams = captureStreams();
      await expect(main([file, file])).resolves.toBe(0);
      expect(streams.stdout()).toBe('');
      vi.restoreAllMocks();
      const copy = readJson(file);
      const finding = breakDescription(copy);
      const mutated = write(`mutated-${name.replaceAll('/', '-')}`, copy);
      streams = captureStreams();
      await expect(main([file, mutated])).resolves.toBe(1);
      expect(streams.stdout()).toMatch(finding);
    },
  );

  it('npm run spec:diff exits 1 on a breaking change, through the real script', async () => {
    const { execFile } = await import('node:child_process');
    const copy = readJson(TWILIO);
    delete at(copy, ...MESSAGE_PROPERTIES).sid;
    const mutated = write('twilio-npm.json', copy);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'npm',
        ['run', '--silent', 'spec:diff', '--', TWILIO, mutated, '--operations', 'ListMessage'],
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `${LIST_MESSAGES} → response 200 → body.messages[].sid: property removed`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // npm and tsx start slowly on a loaded machine: wait for the process, with room for that.
  }, 60_000);
});
