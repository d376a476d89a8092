/**
 * The mock served from a description (local/stand-ins/openapi.ts), on a small description written
 * here: it answers the documented example (or a schema sample when the example does not match its
 * schema), checks requests and credentials, counts what it receives, and answers what a test queues,
 * including an answer that violates the documented schema.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DescriptionMock,
  repair,
  startDescriptionMock,
  violating,
} from '../../local/stand-ins/openapi.js';

const THING = {
  type: 'object',
  required: ['id', 'count'],
  properties: {
    id: { type: 'string' },
    count: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
  },
};

const DESCRIPTION = {
  openapi: '3.0.3',
  info: { title: 'things', version: '1' },
  servers: [{ url: 'https://api.example.test/v2' }],
  security: [{ bearer: [] }],
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  paths: {
    '/things': {
      get: {
        operationId: 'ListThings',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } },
          // the credential, declared as a parameter: not asked for
          { name: 'token', in: 'query', required: true, schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: 'ok',
            // an example its own schema refuses: the mock answers a sample of the schema instead
            content: {
              'application/json': { schema: { type: 'array', items: THING }, example: [{ id: 1 }] },
            },
          },
        },
      },
      post: {
        operationId: 'CreateThing',
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: THING } },
        },
        responses: {
          201: {
            description: 'created',
            content: { 'application/json': { schema: THING, example: { id: 'th_1', count: 2 } } },
          },
        },
      },
    },
    '/open': { get: { operationId: 'Open', security: [], responses: { 204: { description: 'none' } } } },
  },
};

const BEARER = { authorization: 'Bearer tok-example' };
const FORM = { ...BEARER, 'content-type': 'application/x-www-form-urlencoded' };

describe('startDescriptionMock', () => {
  let dir: string;
  let mock: DescriptionMock;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'description-mock-'));
    const spec = path.join(dir, 'things.openapi.json');
    await writeFile(spec, JSON.stringify(DESCRIPTION));
    mock = await startDescriptionMock({ spec });
  });

  afterAll(async () => {
    await mock?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function call(method: string, where: string, headers: Record<string, string>, body?: string) {
    const response = await fetch(`${mock.url}${where}`, { method, headers, ...(body ? { body } : {}) });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
  }

  it('serves every operation under the path of the description server', () => {
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2$/);
    expect(mock.operationIds).toEqual(['ListThings', 'CreateThing', 'Open']);
  });

  it('answers the documented example, reading a form body as the types its schema declares', async () => {
    // Act
    const created = await call('POST', '/things', FORM, 'id=th_1&count=2&tags=a&tags=b');

    // Assess
    expect(created).toMatchObject({ status: 201, body: { id: 'th_1', count: 2 } });
    expect(mock.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/v2/things',
      operationId: 'CreateThing',
      issues: [],
    });
  });

  it('answers a sample of the schema when the example does not match it; the credential parameter is not asked for', async () => {
    // Act
    const listed = await call('GET', '/things?limit=5', BEARER);

    // Assess
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual(expect.any(Array));
    for (const item of listed.body as { id: unknown; count: unknown }[]) {
      expect(item).toMatchObject({ id: expect.any(String), count: expect.any(Number) });
    }
  });

  it('refuses a request the description refuses with 400, naming each field, and records it', async () => {
    // Prepare
    const before = mock.requests.length;

    // Act
    const badQuery = await call('GET', '/things?limit=500&colour=red', BEARER);
    const badBody = await call('POST', '/things', FORM, 'count=many');

    // Assess
    expect(badQuery.status).toBe(400);
    expect(badBody.status).toBe(400);
    const [first, second] = mock.requests.slice(before);
    expect(first?.issues.join('; ')).toMatch(/query\.limit: must be <= 100/);
    expect(first?.issues.join('; ')).toMatch(/query: must NOT have additional properties/);
    expect(second?.issues.join('; ')).toMatch(/body\.id: must have required property 'id'/);
    expect(second?.issues.join('; ')).toMatch(/body\.count: must be integer/);
  });

  it('answers 401 without the credential the description secures an operation with, and 404 off the description', async () => {
    // Act
    const anonymous = await call('GET', '/things', {});
    const open = await call('GET', '/open', {});
    const nowhere = await call('GET', '/elsewhere', BEARER);

    // Assess
    expect(anonymous.status).toBe(401);
    expect(mock.requests.at(-3)?.issues).toEqual(['credential: missing']);
    expect(open.status).toBe(204);
    expect(nowhere.status).toBe(404);
    expect(mock.requests.at(-1)?.operationId).toBeUndefined();
  });

  it('answers what a test queues, in order, to requests that pass the checks', async () => {
    // Prepare
    mock.answerNext({ status: 429, headers: { 'retry-after': '1' }, body: { message: 'slow down' } });
    mock.answerNext({ violateSchema: true });

    // Act
    const invalid = await call('POST', '/things', FORM, 'count=1'); // fails the checks: the queue waits
    const limited = await call('POST', '/things', FORM, 'id=th_2&count=1');
    const violated = await call('POST', '/things', FORM, 'id=th_3&count=1');
    const usual = await call('POST', '/things', FORM, 'id=th_4&count=1');

    // Assess
    expect(invalid.status).toBe(400);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toEqual({ message: 'slow down' });
    expect(violated).toMatchObject({ status: 201, body: { id: 42, count: 2 } });
    expect(usual).toMatchObject({ status: 201, body: { id: 'th_1' } });
  });

  it('answers every request with a standing answer until it is cleared', async () => {
    // Prepare
    mock.answerEvery({ status: 503, body: { message: 'down' } });

    // Act
    const first = await call('POST', '/things', FORM, 'id=th_5&count=1');
    const second = await call('GET', '/things', BEARER);
    mock.answerEvery(undefined);
    const after = await call('POST', '/things', FORM, 'id=th_6&count=1');

    // Assess
    expect([first.status, second.status, after.status]).toEqual([503, 503, 201]);
    expect(mock.requests.at(-1)?.answer).toEqual({ status: 201, body: { id: 'th_1', count: 2 } });
  });
});

describe('startDescriptionMock with a YAML description', () => {
  it('reads it as the JSON one', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'description-mock-yaml-'));
    const spec = path.join(dir, 'things.openapi.yaml');
    await writeFile(spec, (await import('yaml')).stringify(DESCRIPTION));

    // Act
    const mock = await startDescriptionMock({ spec });
    try {
      const response = await fetch(`${mock.url}/things`, {
        method: 'POST',
        headers: FORM,
        body: 'id=a&count=1',
      });

      // Assess
      expect(mock.operationIds).toEqual(['ListThings', 'CreateThing', 'Open']);
      expect(response.status).toBe(201);
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('violating', () => {
  it('gives the first typed property a value of another type, or the whole body another shape', () => {
    expect(violating({ id: 'a', n: 1 }, THING)).toEqual({ id: 42, n: 1 });
    expect(violating({ n: 1 }, { type: 'object', properties: { n: { type: 'integer' } } })).toEqual({
      n: 'not-of-the-documented-type',
    });
    expect(violating([], { type: 'array' })).toEqual({ not: 'an array' });
    expect(violating('x', {})).toEqual(['not', 'an', 'object']);
  });
});

describe('repair', () => {
  const errorsOf = (body: unknown) => {
    const errors: Array<{ instancePath: string; keyword: string; params: unknown }> = [];
    const value = body as { id?: unknown; extra?: unknown; nested?: { bad?: unknown } };
    if (typeof value.id !== 'string') errors.push({ instancePath: '', keyword: 'required', params: {} });
    if ('extra' in value) {
      errors.push({
        instancePath: '',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'extra' },
      });
    }
    if (value.nested && 'bad' in value.nested)
      errors.push({ instancePath: '/nested/bad', keyword: 'format', params: {} });
    return errors;
  };

  it('leaves out the fields the schema refuses, and never changes the example it is given', () => {
    // Prepare
    const example = { id: 'a', extra: 1, nested: { bad: 'x', good: 'y' } };

    // Act
    const repaired = repair(example, errorsOf);

    // Assess
    expect(repaired).toEqual({ id: 'a', nested: { good: 'y' } });
    expect(example).toEqual({ id: 'a', extra: 1, nested: { bad: 'x', good: 'y' } });
  });

  it('gives up when a required field is missing', () => {
    expect(repair({ extra: 1 }, errorsOf)).toBeUndefined();
  });
});
