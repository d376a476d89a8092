/**
 * Compiling an `openapi` connector's validators (functions/openapi/compile.ts): a subschema the
 * allowed operations repeat is compiled once and referenced from each place, with the same checks
 * and the same field paths; only the answers that can be checked get a validator (success
 * statuses and `default`, none with `responseValidation: "off"`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkedStatuses,
  compileOperations,
  shareSubschemas,
  standaloneValidatorsCode,
} from '../../functions/openapi/compile.js';
import type { OpenApiDescription, OpenApiOperation } from '../../functions/openapi/types.js';
import { validatorsOf } from '../../functions/openapi/validators.js';

/** A user as a vendor describes it: long enough to be shared when repeated. */
const USER = {
  type: 'object',
  required: ['login', 'id'],
  properties: {
    login: { type: 'string', minLength: 1 },
    id: { type: 'integer' },
    avatar_url: { type: 'string', format: 'uri' },
    html_url: { type: 'string', format: 'uri' },
    site_admin: { type: 'boolean' },
  },
};

/** An issue: its author and its assignee are the same user schema, inlined twice. */
const ISSUE = {
  type: 'object',
  required: ['number', 'user'],
  properties: { number: { type: 'integer' }, user: USER, assignee: { anyOf: [USER, { type: 'null' }] } },
};

const getIssue: OpenApiOperation = {
  method: 'GET',
  path: '/issues/{number}',
  parameters: [{ name: 'number', in: 'path', required: true, schema: { type: 'integer' }, explode: false }],
  responses: { '200': ISSUE, '404': USER, default: null },
};
const getUser: OpenApiOperation = {
  method: 'GET',
  path: '/users/{login}',
  parameters: [{ name: 'login', in: 'path', required: true, schema: { type: 'string' }, explode: false }],
  responses: { '200': USER, '2XX': USER, DEFAULT: USER, '500': ISSUE },
};

describe('shareSubschemas', () => {
  it('compiles a repeated subschema once, referenced from each place, a root too; small ones stay inline', () => {
    // Act
    const { roots, shared } = shareSubschemas([ISSUE, USER]);

    // Assess
    expect(shared).toEqual([{ $id: 'urn:shared:s0', ...USER }]);
    expect(roots[0]).toMatchObject({
      properties: {
        number: { type: 'integer' },
        user: { $ref: 'urn:shared:s0' },
        assignee: { anyOf: [{ $ref: 'urn:shared:s0' }, { type: 'null' }] },
      },
    });
    // A root met elsewhere is a reference too.
    expect(roots[1]).toEqual({ $ref: 'urn:shared:s0' });
  });
});

describe('compileOperations', () => {
  it('compiles a repeated subschema that carries an $id of its own', () => {
    // Prepare: a 3.1 description may give a schema an $id; inlined twice, it is shared under ours.
    const tagged = { ...USER, $id: 'https://example.test/user' };
    const operation: OpenApiOperation = {
      ...getUser,
      responses: { '200': { type: 'object', properties: { author: tagged, editor: tagged } } },
    };

    // Act
    const [compiled] = compileOperations([operation], '3.1');
    const issues = validatorsOf(operation, compiled as never).response(200, { author: { login: 'a' } });

    // Assess
    expect(issues.map((issue) => issue.path.join('.'))).toEqual(['body.author.id']);
  });

  it('checks a shared subschema as before, naming the field where it is used', () => {
    // Prepare
    const [issue] = compileOperations([getIssue, getUser], '3.0');
    const validators = validatorsOf(getIssue, issue as never);

    // Act
    const valid = validators.response(200, { number: 1, user: { login: 'octo', id: 1 }, assignee: null });
    const invalid = validators.response(200, { number: 1, user: { login: '', id: 'one' } });

    // Assess
    expect(valid).toEqual([]);
    expect(invalid.map((issue) => issue.path.join('.'))).toEqual(['body.user.login', 'body.user.id']);
  });

  it('compiles the validators of success answers and default only', () => {
    expect(checkedStatuses(getIssue)).toEqual(['200']);
    expect(checkedStatuses(getUser)).toEqual(['200', '2XX', 'DEFAULT']);
    expect(checkedStatuses(getUser, false)).toEqual([]);
    const [, user] = compileOperations([getIssue, getUser], '3.0');
    expect(Object.keys(user?.responses ?? {})).toEqual(['200', '2XX', 'DEFAULT']);
  });
});

describe('standaloneValidatorsCode', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-compile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const description: OpenApiDescription = {
    source: 'issues.json',
    dialect: '3.0',
    operations: { getIssue, getUser },
  };

  it('exports the input and the checked answers of each operation, the shared user once', () => {
    // Act
    const code = standaloneValidatorsCode(description, ['getIssue', 'getUser'], dir);

    // Assess
    const exported = [...code.matchAll(/export const (\w+)/g)].map((m) => m[1]);
    expect(exported).toEqual(['v0_input', 'v0_r200', 'v1_input', 'v1_r200', 'v1_r2XX', 'v1_rDEFAULT']);
    // The user's `login` check is written once, not once per place the user appears.
    expect(code.split('"#/properties/login/minLength"').length - 1).toBe(1);
  });

  it('exports no response validator with responseValidation off', () => {
    const code = standaloneValidatorsCode(description, ['getIssue', 'getUser'], dir, false);
    expect([...code.matchAll(/export const (\w+)/g)].map((m) => m[1])).toEqual(['v0_input', 'v1_input']);
  });
});

describe('writeOpenApiLambdaEntry', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-entry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the description by the same digest from any checkout, another with answers unchecked', async () => {
    // Prepare
    const { writeOpenApiLambdaEntry } = await import('../../functions/openapi/lambda-entry.js');
    const config = (source: string, responseValidation = 'warn') =>
      ({
        name: 'issues',
        kind: 'openapi',
        operations: ['getIssue'],
        responseValidation,
        spec: { source, dialect: '3.0', operations: { getIssue } },
      }) as never;

    // Act
    const here = writeOpenApiLambdaEntry(config('/checkout-a/specs/issues.json'), { projectRoot: dir });
    const there = writeOpenApiLambdaEntry(config('/runner/work/b/specs/issues.json'), { projectRoot: dir });
    const unchecked = writeOpenApiLambdaEntry(config('/checkout-a/specs/issues.json', 'off'), {
      projectRoot: dir,
    });

    // Assess
    expect(there.digest).toBe(here.digest);
    expect(unchecked.digest).not.toBe(here.digest);
    expect(here.config.spec).toBe(`bundled:${here.digest}`);
  });
});
