/**
 * A mock of GitHub's REST API for the three operations of the `github` connector, built from GitHub's
 * own OpenAPI description (`test/fixtures/github/api.github.com.operations.json`, extracted from
 * `@octokit/openapi` by `scripts/extract-github-spec.ts`; see SOURCE.md there). Routes, path parameters, request body schemas and
 * success examples all come from that file; nothing about the operations is hand-written here.
 *
 * Every request is checked against the described operation: method and path template, path
 * parameter types, `User-Agent` (GitHub refuses requests without one), `Authorization: token ...` or
 * `Bearer ...`, `Content-Type: application/json` and the request body schema (required fields,
 * types). A request that does not match is answered `400 {"message": "Mock contract check failed:
 * ..."}` naming what is wrong.
 *
 * A request that matches is answered with the described example, filled with the request's values
 * (owner, repo, title, body, labels, assignees, issue number; API URLs point at the mock):
 * `201` issue, `201` comment, `204` dispatch (`200` with run details when `return_run_details` is true).
 *
 * One route is not in that file (it would take a new extraction, see SOURCE.md): `GET
 * /repos/{owner}/{repo}/issues`, written from GitHub's reference
 * (https://docs.github.com/en/rest/issues/issues#list-repository-issues and
 * https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api). It lists
 * {@link GITHUB_MOCK_LISTED_ISSUES} open issues of any repository (numbers 1 up), and those created
 * since, newest first, by `page` and `per_page` (default 30, at most 100) with GitHub's `Link` header
 * (`next`, `last`, `first`, `prev`); `state` `open` (default), `closed` or `all`; the same
 * `User-Agent` and `Authorization` checks and magic repositories and token as the other routes.
 *
 * Magic values, to exercise every path by hand:
 *
 * | value | answer |
 * |---|---|
 * | token `ghp_invalidexample` | 401 `Bad credentials` |
 * | repo `rate-limited` | 403 secondary rate limit, `retry-after: 1` |
 * | repo `too-many-requests` | 429 secondary rate limit, `retry-after: 1` |
 * | repo `primary-limit` | 403 primary rate limit, `x-ratelimit-remaining: 0`, `x-ratelimit-reset` 5 s ahead |
 * | repo `forbidden` | 403 `Resource not accessible by personal access token` (a permission problem) |
 * | repo `missing` | 404 `Not Found` |
 * | repo `issues-disabled` | 410 `Issues are disabled for this repo` |
 * | text `validation-failed` | 422 `Validation Failed` with `errors` |
 * | text `server-error` | 502 `Server Error` |
 * | text `unavailable` | 503 `Service unavailable` |
 *
 * "text" is the operation's main field: `title` (create an issue), `body` (create a comment) or
 * `ref` (dispatch a workflow).
 *
 * Run it by hand: `npx tsx -e "import('./local/stand-ins/github.ts').then((m) => m.startGithubMock({ port: 4010 })).then((m) => console.log(m.url))"`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, type VendorMock } from './server.js';

export type { VendorMock };

/** Options of {@link startGithubMock}. */
export interface GithubMockOptions {
  /** @default 0, any free port */
  port?: number;
  /**
   * A path the API is served under, as GitHub Enterprise Server serves it under `/api/v3`.
   * @default '' (the root, as api.github.com)
   */
  basePath?: string;
}

/** The open issues the mock lists in every repository before any is created: 5 pages of 5, less 2. */
export const GITHUB_MOCK_LISTED_ISSUES = 23;

/** The magic values of the mock (see the module documentation). */
export const GITHUB_MOCK_MAGIC = {
  invalidToken: 'ghp_invalidexample',
  repo: {
    rateLimited: 'rate-limited',
    tooManyRequests: 'too-many-requests',
    primaryLimit: 'primary-limit',
    forbidden: 'forbidden',
    missing: 'missing',
    issuesDisabled: 'issues-disabled',
  },
  text: {
    validationFailed: 'validation-failed',
    serverError: 'server-error',
    unavailable: 'unavailable',
  },
} as const;

/** Seconds ahead of now the `primary-limit` answer's `x-ratelimit-reset` lies. */
export const PRIMARY_LIMIT_RESET_SECONDS = 5;

/** The trimmed description the mock is built from. */
export const GITHUB_DESCRIPTION_FILE = new URL(
  '../../test/fixtures/github/api.github.com.operations.json',
  import.meta.url,
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

interface ParameterObject {
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
}

interface OperationObject {
  operationId: string;
  externalDocs?: { url: string };
  parameters?: Json[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, Json>;
}

interface Description {
  paths: Record<string, Record<string, OperationObject>>;
  components: Record<string, Record<string, Json>>;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  operation: OperationObject;
  parameters: ParameterObject[];
}

/** The operation's main text field, which carries the text magic values. */
const TEXT_FIELD: Record<string, string> = {
  'issues/create': 'title',
  'issues/create-comment': 'body',
  'actions/create-workflow-dispatch': 'ref',
};

const SECONDARY_LIMIT_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.';
const SECONDARY_LIMIT_DOCS =
  'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits';

class ContractError extends Error {}

/** Loads the description and resolves `$ref`s into it. */
function loadDescription(): {
  description: Description;
  resolve: (value: Json | undefined) => Json | undefined;
} {
  const description = JSON.parse(readFileSync(GITHUB_DESCRIPTION_FILE, 'utf8')) as Description;
  const resolve = (value: Json | undefined): Json | undefined => {
    let current = value;
    for (let depth = 0; depth < 10; depth++) {
      if (!isObject(current) || typeof current.$ref !== 'string') return current;
      const [hash, section, kind, name, ...rest] = current.$ref.split('/');
      if (
        hash !== '#' ||
        section !== 'components' ||
        kind === undefined ||
        name === undefined ||
        rest.length
      ) {
        throw new Error(`unsupported $ref ${current.$ref}`);
      }
      const target = description.components[kind]?.[name];
      if (target === undefined) throw new Error(`unresolved $ref ${current.$ref}`);
      current = target;
    }
    throw new Error('$ref chain too deep');
  };
  return { description, resolve };
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks `value` against the subset of OpenAPI 3.0 schema the description uses for these operations:
 * `type`, `nullable`, `oneOf`, `enum`, `properties`, `required`, `additionalProperties`,
 * `maxProperties`, `items`.
 * @returns one line per problem, naming the field
 */
function schemaProblems(
  schemaOrRef: Json | undefined,
  value: unknown,
  at: string,
  resolve: (value: Json | undefined) => Json | undefined,
): string[] {
  const schema = resolve(schemaOrRef);
  if (!isObject(schema)) return [];
  if (value === null) return schema.nullable === true ? [] : [`${at} must not be null`];
  if (Array.isArray(schema.oneOf)) {
    const fits = schema.oneOf.some((option) => schemaProblems(option, value, at, resolve).length === 0);
    if (fits) return [];
    const types = schema.oneOf.map((option) => {
      const resolved = resolve(option);
      return isObject(resolved) ? String(resolved.type ?? 'value') : 'value';
    });
    return [`${at} must be one of: ${types.join(', ')}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value as Json)) {
    return [`${at} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`];
  }
  const type = schema.type ?? (isObject(schema.properties) ? 'object' : undefined);
  switch (type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${at} must be a string`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at} must be an integer`];
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${at} must be a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at} must be a boolean`];
    case 'array':
      if (!Array.isArray(value)) return [`${at} must be an array`];
      return value.flatMap((item, i) => schemaProblems(schema.items, item, `${at}[${i}]`, resolve));
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at} must be an object`];
      const record = value as Record<string, unknown>;
      const problems: string[] = [];
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const name of required) {
        if (typeof name === 'string' && !(name in record)) problems.push(`${at}.${name} is required`);
      }
      const properties = isObject(schema.properties) ? schema.properties : {};
      for (const [name, item] of Object.entries(record)) {
        if (name in properties)
          problems.push(...schemaProblems(properties[name], item, `${at}.${name}`, resolve));
        else if (schema.additionalProperties === false) problems.push(`${at}.${name} is not allowed`);
      }
      if (typeof schema.maxProperties === 'number' && Object.keys(record).length > schema.maxProperties) {
        problems.push(`${at} must have at most ${schema.maxProperties} properties`);
      }
      return problems;
    }
    default:
      return [];
  }
}

/** The routes of every operation in the description. */
function routesOf(description: Description, resolve: (value: Json | undefined) => Json | undefined): Route[] {
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(description.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const names: string[] = [];
      const source = template
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const name = /^\{([^}]+)\}$/.exec(part)?.[1];
          if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(name);
          return '([^/]+)';
        })
        .join('');
      const parameters = (operation.parameters ?? []).map((p) => resolve(p) as unknown as ParameterObject);
      routes.push({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${source}$`),
        names,
        operation,
        parameters,
      });
    }
  }
  return routes;
}

/** A path segment as the parameter's schema reads it: digits become a number where an integer is allowed. */
function pathValue(
  raw: string,
  schema: Schema,
  resolve: (value: Json | undefined) => Json | undefined,
): unknown {
  const options = Array.isArray(schema.oneOf) ? schema.oneOf.map((o) => resolve(o)) : [schema];
  const integerAllowed = options.some((o) => isObject(o) && o.type === 'integer');
  return integerAllowed && /^\d+$/.test(raw) ? Number(raw) : raw;
}

/**
 * Starts the GitHub mock on 127.0.0.1.
 * @param options - see {@link GithubMockOptions}
 */
export async function startGithubMock(options: GithubMockOptions = {}): Promise<VendorMock> {
  const { description, resolve } = loadDescription();
  const routes = routesOf(description, resolve);
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const requests: VendorMock['requests'] = [];
  let apiBase = '';
  let nextIssueNumber = 1347;
  let nextCommentId = 1;
  let nextRunId = 1;
  /** Per `owner/repo`: its issues, newest first. */
  const issues = new Map<string, Array<Record<string, Json>>>();

  /** The example of a described success response. */
  const exampleOf = (operation: OperationObject, status: string): Record<string, Json> => {
    const response = resolve(operation.responses[status]);
    const media =
      isObject(response) && isObject(response.content) ? response.content['application/json'] : undefined;
    const examples = isObject(media) && isObject(media.examples) ? media.examples : {};
    const example = resolve(examples.default);
    if (!isObject(example) || !isObject(example.value)) {
      throw new Error(`${operation.operationId} describes no example for ${status}`);
    }
    return structuredClone(example.value);
  };

  /** Sends a JSON answer; an error answer must fit the schema the operation describes for its status. */
  const send = (
    res: ServerResponse,
    route: Route | undefined,
    status: number,
    body: Record<string, Json> | undefined,
    headers: Record<string, string> = {},
  ) => {
    if (route && body && status >= 400 && status !== 400) {
      const described = resolve(route.operation.responses[String(status)]);
      const media =
        isObject(described) && isObject(described.content)
          ? described.content['application/json']
          : undefined;
      const schema = isObject(media) ? media.schema : undefined;
      const problems = schemaProblems(schema, body, 'response', resolve);
      if (problems.length)
        throw new Error(`mock answer for ${status} breaks the description: ${problems.join('; ')}`);
    }
    const nowSeconds = Math.floor(Date.now() / 1000);
    res.writeHead(status, {
      'x-github-request-id': `MOCK:${requests.length}`,
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(nowSeconds + 3600),
      'x-ratelimit-resource': 'core',
      ...(body ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...headers,
    });
    res.end(body ? JSON.stringify(body) : undefined);
  };

  const contractFailure = (res: ServerResponse, route: Route | undefined, problems: string[]) => {
    send(res, route, 400, {
      message: `Mock contract check failed: ${problems.join('; ')}`,
      documentation_url: route?.operation.externalDocs?.url ?? 'https://docs.github.com/rest',
      status: '400',
    });
  };

  /** Checks the request against the route's operation; throws a ContractError naming each problem. */
  const checkContract = (
    req: IncomingMessage,
    route: Route,
    params: Record<string, unknown>,
    raw: string,
  ) => {
    const problems: string[] = [];
    for (const parameter of route.parameters) {
      if (parameter.in !== 'path') continue;
      problems.push(
        ...schemaProblems(
          parameter.schema,
          params[parameter.name],
          `path parameter ${parameter.name}`,
          resolve,
        ),
      );
    }
    if (!req.headers['user-agent']) problems.push('the User-Agent header is required by GitHub');
    const authorization = req.headers.authorization ?? '';
    if (!/^(token|bearer) +\S+$/i.test(authorization)) {
      problems.push('the Authorization header must be "token <TOKEN>" or "Bearer <TOKEN>"');
    }
    let body: unknown;
    const requestBody = route.operation.requestBody;
    if (requestBody) {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const media = requestBody.content[contentType];
      if (!media) {
        problems.push(
          `the Content-Type must be ${Object.keys(requestBody.content).join(' or ')} (got ${contentType || 'none'})`,
        );
      } else if (raw === '' && requestBody.required) {
        problems.push('a request body is required');
      } else if (raw !== '') {
        try {
          body = JSON.parse(raw);
          problems.push(...schemaProblems(media.schema, body, 'body', resolve));
        } catch {
          problems.push('the body is not valid JSON (GitHub answers "Problems parsing JSON")');
        }
      }
    }
    if (problems.length) throw new ContractError(problems.join('; '));
    return (body ?? {}) as Record<string, Json>;
  };

  const fillIssue = (route: Route, owner: string, repo: string, body: Record<string, Json>) => {
    const number = nextIssueNumber++;
    const template = exampleOf(route.operation, '201');
    const labelTemplate = Array.isArray(template.labels) ? template.labels[0] : undefined;
    const userTemplate = template.user ?? null;
    const retarget = (value: Json): Json =>
      JSON.parse(
        JSON.stringify(value)
          .replaceAll('https://api.github.com', apiBase)
          .replaceAll('octocat/Hello-World', `${owner}/${repo}`)
          .replaceAll('issues/1347', `issues/${number}`),
      ) as Json;
    const userFor = (login: string): Json =>
      retarget(JSON.parse(JSON.stringify(userTemplate).replaceAll('octocat', login)) as Json);
    const labels = Array.isArray(body.labels) ? body.labels : [];
    const assignees = Array.isArray(body.assignees)
      ? body.assignees.map((login) => userFor(String(login)))
      : [];
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const issue = retarget(template) as Record<string, Json>;
    delete issue.pull_request;
    Object.assign(issue, {
      id: 1_000_000 + number,
      number,
      title: body.title ?? '',
      body: body.body ?? null,
      labels: labels.map((name, i) => ({
        ...(retarget(labelTemplate ?? {}) as Record<string, Json>),
        id: 208_045_946 + i,
        name,
        url: `${apiBase}/repos/${owner}/${repo}/labels/${encodeURIComponent(String(name))}`,
      })),
      assignee: assignees[0] ?? null,
      assignees,
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: 0,
      closed_by: null,
      state_reason: null,
      created_at: now,
      updated_at: now,
    });
    return { issue, location: `${apiBase}/repos/${owner}/${repo}/issues/${number}` };
  };

  const fillComment = (
    route: Route,
    owner: string,
    repo: string,
    issueNumber: unknown,
    body: Record<string, Json>,
  ) => {
    const id = nextCommentId++;
    const comment = JSON.parse(
      JSON.stringify(exampleOf(route.operation, '201')).replaceAll('https://api.github.com', apiBase),
    ) as Record<string, Json>;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    Object.assign(comment, {
      id,
      node_id: Buffer.from(`IssueComment${id}`).toString('base64'),
      url: `${apiBase}/repos/${owner}/${repo}/issues/comments/${id}`,
      html_url: `https://github.com/${owner}/${repo}/issues/${String(issueNumber)}#issuecomment-${id}`,
      issue_url: `${apiBase}/repos/${owner}/${repo}/issues/${String(issueNumber)}`,
      body: body.body ?? '',
      created_at: now,
      updated_at: now,
    });
    return { comment, location: String(comment.url) };
  };

  /** The magic error answer the request asks for, if any. */
  const magicAnswer = (
    route: Route,
    token: string,
    repo: unknown,
    body: Record<string, Json>,
  ): { status: number; body: Record<string, Json>; headers?: Record<string, string> } | undefined => {
    const docs = route.operation.externalDocs?.url ?? 'https://docs.github.com/rest';
    const basic = (status: number, message: string, documentation_url = docs) => ({
      status,
      body: { message, documentation_url, status: String(status) },
    });
    if (token === GITHUB_MOCK_MAGIC.invalidToken)
      return basic(401, 'Bad credentials', 'https://docs.github.com/rest');
    switch (repo) {
      case GITHUB_MOCK_MAGIC.repo.rateLimited:
        return {
          ...basic(403, SECONDARY_LIMIT_MESSAGE, SECONDARY_LIMIT_DOCS),
          headers: { 'retry-after': '1' },
        };
      case GITHUB_MOCK_MAGIC.repo.tooManyRequests:
        return {
          ...basic(429, SECONDARY_LIMIT_MESSAGE, SECONDARY_LIMIT_DOCS),
          headers: { 'retry-after': '1' },
        };
      case GITHUB_MOCK_MAGIC.repo.primaryLimit: {
        const reset = Math.floor(Date.now() / 1000) + PRIMARY_LIMIT_RESET_SECONDS;
        return {
          ...basic(
            403,
            'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit',
          ),
          headers: {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(reset),
          },
        };
      }
      case GITHUB_MOCK_MAGIC.repo.forbidden:
        return basic(403, 'Resource not accessible by personal access token');
      case GITHUB_MOCK_MAGIC.repo.missing:
        return basic(404, 'Not Found');
      case GITHUB_MOCK_MAGIC.repo.issuesDisabled:
        return basic(410, 'Issues are disabled for this repo');
    }
    const field = TEXT_FIELD[route.operation.operationId];
    const text = field === undefined ? undefined : body[field];
    switch (text) {
      case GITHUB_MOCK_MAGIC.text.validationFailed:
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [
              { resource: 'Issue', code: 'custom', field: field ?? '', message: `${field} is invalid` },
            ],
            documentation_url: docs,
            status: '422',
          },
        };
      case GITHUB_MOCK_MAGIC.text.serverError:
        return basic(502, 'Server Error');
      case GITHUB_MOCK_MAGIC.text.unavailable:
        return {
          status: 503,
          body: { code: 'unavailable', message: 'Service unavailable', documentation_url: docs },
        };
    }
    return undefined;
  };

  /** The issues of a repository, newest first: {@link GITHUB_MOCK_LISTED_ISSUES} listed ones at first. */
  const issuesOf = (createRoute: Route, owner: string, repo: string): Array<Record<string, Json>> => {
    const key = `${owner}/${repo}`;
    let list = issues.get(key);
    if (!list) {
      const created = nextIssueNumber;
      nextIssueNumber = 1;
      list = [];
      for (let n = 1; n <= GITHUB_MOCK_LISTED_ISSUES; n++) {
        list.unshift(fillIssue(createRoute, owner, repo, { title: `Issue ${n}` }).issue);
      }
      nextIssueNumber = created;
      issues.set(key, list);
    }
    return list;
  };

  /** `GET /repos/{owner}/{repo}/issues`: a page of the repository's issues, with GitHub's `Link`. */
  const listIssues = (req: IncomingMessage, res: ServerResponse, url: URL, owner: string, repo: string) => {
    const createRoute = routes.find((r) => r.operation.operationId === 'issues/create');
    if (!createRoute) throw new Error('the description has no issues/create');
    const problems: string[] = [];
    if (!req.headers['user-agent']) problems.push('a User-Agent header is required');
    if (!/^(?:token|bearer) \S+$/i.test(req.headers.authorization ?? '')) {
      problems.push('the Authorization header must be "token <TOKEN>" or "Bearer <TOKEN>"');
    }
    const number = (name: string, fallback: number, max: number) => {
      const value = url.searchParams.get(name);
      if (value === null) return fallback;
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
        problems.push(`${name} must be an integer from 1 to ${max}`);
      }
      return Number(value);
    };
    const perPage = number('per_page', 30, 100);
    const page = number('page', 1, Number.MAX_SAFE_INTEGER);
    const state = url.searchParams.get('state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state)) problems.push('state must be open, closed or all');
    if (problems.length) {
      contractFailure(res, undefined, problems);
      return;
    }
    const token = (req.headers.authorization ?? '').replace(/^\S+ +/, '');
    const magic = magicAnswer(createRoute, token, repo, {});
    if (magic) {
      send(res, undefined, magic.status, magic.body, magic.headers);
      return;
    }
    const listed = issuesOf(createRoute, owner, repo).filter(
      (issue) => state === 'all' || issue.state === state,
    );
    const lastPage = Math.max(1, Math.ceil(listed.length / perPage));
    const link = (n: number) => {
      const target = new URL(`${apiBase}/repos/${owner}/${repo}/issues`);
      for (const [name, value] of url.searchParams) if (name !== 'page') target.searchParams.set(name, value);
      target.searchParams.set('page', String(n));
      return `<${target.href}>`;
    };
    const links = [
      ...(page < lastPage ? [`${link(page + 1)}; rel="next"`, `${link(lastPage)}; rel="last"`] : []),
      ...(page > 1 ? [`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`] : []),
    ];
    const body = listed.slice((page - 1) * perPage, page * perPage);
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-request-id': 'MOCK:LIST',
      ...(links.length ? { link: links.join(', ') } : {}),
    });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    if (basePath && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
      contractFailure(res, undefined, [`${url.pathname} is outside the API base path ${basePath}`]);
      return;
    }
    const path = url.pathname.slice(basePath.length);
    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues$/.exec(path);
    if (list && method === 'GET') {
      listIssues(req, res, url, decodeURIComponent(list[1] ?? ''), decodeURIComponent(list[2] ?? ''));
      return;
    }
    const onPath = routes.filter((r) => r.pattern.test(path));
    const route = onPath.find((r) => r.method === method);
    if (!route) {
      const served = routes.map((r) => `${r.method} ${r.template}`).join(', ');
      contractFailure(res, undefined, [
        onPath.length
          ? `the description has no ${method} on ${onPath[0]?.template}`
          : `no operation of the description matches ${method} ${path} (served: ${served})`,
      ]);
      return;
    }
    const match = route.pattern.exec(path);
    const params: Record<string, unknown> = {};
    route.names.forEach((name, i) => {
      const parameter = route.parameters.find((p) => p.name === name);
      const value = decodeURIComponent(match?.[i + 1] ?? '');
      params[name] = parameter ? pathValue(value, parameter.schema, resolve) : value;
    });
    let body: Record<string, Json>;
    try {
      body = checkContract(req, route, params, raw);
    } catch (error) {
      if (!(error instanceof ContractError)) throw error;
      contractFailure(res, route, [error.message]);
      return;
    }
    const token = (req.headers.authorization ?? '').replace(/^\S+ +/, '');
    const magic = magicAnswer(route, token, params.repo, body);
    if (magic) {
      send(res, route, magic.status, magic.body, magic.headers);
      return;
    }
    const owner = String(params.owner);
    const repo = String(params.repo);
    switch (route.operation.operationId) {
      case 'issues/create': {
        const { issue, location } = fillIssue(route, owner, repo, body);
        issuesOf(route, owner, repo).unshift(issue);
        send(res, route, 201, issue, { location });
        return;
      }
      case 'issues/create-comment': {
        const { comment, location } = fillComment(route, owner, repo, params.issue_number, body);
        send(res, route, 201, comment, { location });
        return;
      }
      case 'actions/create-workflow-dispatch': {
        if (body.return_run_details !== true) {
          send(res, route, 204, undefined);
          return;
        }
        const id = nextRunId++;
        const details = exampleOf(route.operation, '200');
        Object.assign(details, {
          workflow_run_id: id,
          run_url: `${apiBase}/repos/${owner}/${repo}/actions/runs/${id}`,
          html_url: `https://github.com/${owner}/${repo}/actions/runs/${id}`,
        });
        send(res, route, 200, details);
        return;
      }
      default:
        contractFailure(res, route, [`the mock cannot answer ${route.operation.operationId}`]);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: { ...(req.headers as IncomingHttpHeaders) },
        body: raw,
      });
      try {
        handle(req, res, raw);
      } catch (error) {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ message: `GitHub mock failure: ${(error as Error).message}` }));
        }
      }
    });
  });
  const { origin, close } = await listenOnLoopback(server, options.port);
  apiBase = `${origin}${basePath}`;
  return {
    url: apiBase,
    requests,
    close,
  };
}
