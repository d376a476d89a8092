/**
 * Contract tests of the `github` connector: the real handler and the real Octokit against a mock built
 * from GitHub's own OpenAPI description (local/stand-ins/github.ts). The mock refuses, with a 400
 * naming the problem, any request that does not match the described operation, so every success
 * here is also a check of the outgoing request.
 */
import { Octokit } from '@octokit/rest';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GITHUB_API_VERSION, githubConnector } from '../../functions/github/connector.js';
import { GITHUB_DEFAULT_RATE_LIMIT_WAIT_SECONDS, mapGithubError } from '../../functions/github/errors.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { configurationError } from '../../functions/shared/errors.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  GITHUB_MOCK_MAGIC,
  PRIMARY_LIMIT_RESET_SECONDS,
  startGithubMock,
  type VendorMock,
} from '../../local/stand-ins/github.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

/** Obviously fake tokens, in GitHub's personal access token format. */
const TOKEN = 'ghp_exampleFAKEtoken0000000000000000000';
const ROTATED_TOKEN = 'ghp_exampleROTATEDtoken000000000000000';
const MAX_ATTEMPTS = 3;

/**
 * An in-memory credential store that registers what it hands out with its redactor, as the real
 * stores do. `versions` of a secret play a rotation: each forced refresh moves to the next one.
 */
class MemoryCredentialStore implements CredentialStore {
  readonly reads: GetSecretOptions[] = [];
  readonly #redactor: Redactor;
  readonly #secrets: Record<string, readonly SecretValue[]>;

  constructor(redactor: Redactor, secrets: Record<string, readonly SecretValue[]>) {
    this.#redactor = redactor;
    this.#secrets = secrets;
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    this.reads.push(options);
    const versions = this.#secrets[name] ?? [];
    const refreshes = this.reads.filter((read) => read.forceRefresh).length;
    const value = versions[Math.min(refreshes, versions.length - 1)];
    if (value === undefined) throw configurationError(`Secret '${name}' is not in the in-memory store.`);
    this.#redactor.addSecretValues(value);
    return value;
  }
}

interface Envelope {
  data?: Record<string, unknown>;
  meta?: { attempts: number; upstreamStatus: number | null; connector: string; operation: string };
  error?: {
    code: string;
    message: string;
    source: string;
    retryable: boolean;
    upstreamStatus?: number;
    retryAfterSeconds?: number;
    attempts?: number;
    details?: Record<string, unknown>;
  };
}

function parse(result: APIGatewayProxyResult) {
  return {
    status: result.statusCode,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    ),
    body: JSON.parse(result.body) as Envelope,
  };
}

let mock: VendorMock;

beforeAll(async () => {
  mock = await startGithubMock();
});

afterAll(async () => {
  await mock?.close();
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  mock.requests.length = 0;
});

/** The `github` connector's handler against `baseUrl` (the mock), with secrets from memory. */
function githubHandler(
  options: { secret?: readonly SecretValue[]; baseUrl?: string; config?: Record<string, unknown> } = {},
) {
  const output = captureOutput();
  const redactor = new Redactor();
  const store = new MemoryCredentialStore(redactor, { github: options.secret ?? [{ token: TOKEN }] });
  const config = parseConnectorConfig(
    {
      kind: 'github',
      name: 'github',
      secret: 'github',
      baseUrl: options.baseUrl ?? mock.url,
      timeoutMs: 2_000,
      retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterSeconds: 2 },
      ...options.config,
    },
    'test',
    { allowLoopbackHttp: true },
  );
  const handler = githubConnector.createHandler({
    config,
    credentials: store,
    powertools: createPowertools({ serviceName: 'github-contract', redactor }),
    redactor,
    allowLoopbackHttp: true,
  });
  const invoke = async (operation: string, body: unknown) =>
    parse(await handler(apiGatewayEvent({ connector: 'github', operation, body }), lambdaContext()));
  return { invoke, store, output };
}

const issueInput = (overrides: Record<string, unknown> = {}) => ({
  owner: 'octo-org',
  repo: 'hello-world',
  title: 'Found a bug',
  body: "I'm having a problem with this.",
  labels: ['bug'],
  assignees: ['octocat'],
  ...overrides,
});
const commentInput = (overrides: Record<string, unknown> = {}) => ({
  owner: 'octo-org',
  repo: 'hello-world',
  issue_number: 1347,
  body: 'Me too',
  ...overrides,
});
const dispatchInput = (overrides: Record<string, unknown> = {}) => ({
  owner: 'octo-org',
  repo: 'hello-world',
  workflow_id: 'ci.yml',
  ref: 'main',
  inputs: { environment: 'staging' },
  ...overrides,
});

/** The one request the mock received, with its JSON body parsed. */
function onlyRequest() {
  expect(mock.requests).toHaveLength(1);
  const [request] = mock.requests;
  if (!request) throw new Error('no request reached the mock');
  return { ...request, json: JSON.parse(request.body) as Record<string, unknown> };
}

function expectGithubHeaders(headers: Record<string, string | string[] | undefined>, token = TOKEN) {
  expect(headers.authorization).toBe(`token ${token}`);
  expect(headers['content-type']).toMatch(/^application\/json\b/);
  expect(headers['user-agent']).toMatch(/^connector-suite octokit-rest\.js\//);
  expect(headers['x-github-api-version']).toBe(GITHUB_API_VERSION);
  expect(headers.accept).toBe('application/vnd.github.v3+json');
}

describe('github connector: operations against the described contract', () => {
  it('createIssue sends POST /repos/{owner}/{repo}/issues and answers 200 with the issue', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createIssue', issueInput());

    // Assess
    const request = onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/repos/octo-org/hello-world/issues');
    expectGithubHeaders(request.headers);
    expect(request.json).toEqual({
      title: 'Found a bug',
      body: "I'm having a problem with this.",
      labels: ['bug'],
      assignees: ['octocat'],
    });
    expect(result.status).toBe(200);
    expect(result.body.data).toMatchObject({
      number: expect.any(Number),
      title: 'Found a bug',
      state: 'open',
      html_url: expect.stringMatching(/^https:\/\/github\.com\/octo-org\/hello-world\/issues\/\d+$/),
      labels: [expect.objectContaining({ name: 'bug' })],
      assignees: [expect.objectContaining({ login: 'octocat' })],
      user: expect.objectContaining({ login: 'octocat' }),
    });
    expect(result.body.meta).toMatchObject({
      connector: 'github',
      operation: 'createIssue',
      attempts: 1,
      upstreamStatus: 201,
    });
  });

  it('createComment sends POST /repos/{owner}/{repo}/issues/{issue_number}/comments and answers 200 with the comment', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createComment', commentInput());

    // Assess
    const request = onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/repos/octo-org/hello-world/issues/1347/comments');
    expectGithubHeaders(request.headers);
    expect(request.json).toEqual({ body: 'Me too' });
    expect(result.status).toBe(200);
    expect(result.body.data).toMatchObject({
      id: expect.any(Number),
      body: 'Me too',
      html_url: expect.stringMatching(
        /^https:\/\/github\.com\/octo-org\/hello-world\/issues\/1347#issuecomment-\d+$/,
      ),
      issue_url: `${mock.url}/repos/octo-org/hello-world/issues/1347`,
    });
    expect(result.body.meta).toMatchObject({ attempts: 1, upstreamStatus: 201 });
  });

  it('dispatchWorkflow sends POST .../actions/workflows/{workflow_id}/dispatches; GitHub answers 204, the output says what was dispatched', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('dispatchWorkflow', dispatchInput());

    // Assess
    const request = onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/repos/octo-org/hello-world/actions/workflows/ci.yml/dispatches');
    expectGithubHeaders(request.headers);
    expect(request.json).toEqual({ ref: 'main', inputs: { environment: 'staging' } });
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({
      dispatched: true,
      owner: 'octo-org',
      repo: 'hello-world',
      workflow_id: 'ci.yml',
      ref: 'main',
    });
    expect(result.body.meta).toMatchObject({ attempts: 1, upstreamStatus: 204 });
  });

  it('dispatchWorkflow with return_run_details answers the run id and URLs (GitHub answers 200)', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke(
      'dispatchWorkflow',
      dispatchInput({ workflow_id: 161335, return_run_details: true }),
    );

    // Assess
    const request = onlyRequest();
    expect(request.path).toBe('/repos/octo-org/hello-world/actions/workflows/161335/dispatches');
    expect(request.json).toMatchObject({ ref: 'main', return_run_details: true });
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({
      dispatched: true,
      owner: 'octo-org',
      repo: 'hello-world',
      workflow_id: 161335,
      ref: 'main',
      workflow_run_id: expect.any(Number),
      run_url: expect.stringMatching(/\/repos\/octo-org\/hello-world\/actions\/runs\/\d+$/),
      html_url: expect.stringMatching(/^https:\/\/github\.com\/octo-org\/hello-world\/actions\/runs\/\d+$/),
    });
    expect(result.body.meta).toMatchObject({ upstreamStatus: 200 });
  });

  it('follows a base URL with a path, as GitHub Enterprise Server serves /api/v3', async () => {
    // Prepare
    const enterprise = await startGithubMock({ basePath: '/api/v3' });
    const { invoke } = githubHandler({ baseUrl: enterprise.url });

    // Act
    const result = await invoke('createIssue', issueInput());
    await enterprise.close();

    // Assess
    expect(result.status).toBe(200);
    expect(enterprise.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v3/repos/octo-org/hello-world/issues',
    ]);
    expect(mock.requests).toHaveLength(0);
  });

  it('an input that breaks the operation schema answers 400 VALIDATION_ERROR and calls nothing', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createIssue', { owner: 'octo-org', repo: '../etc', labels: 'bug' });

    // Assess
    expect(result.status).toBe(400);
    expect(result.body.error?.code).toBe('VALIDATION_ERROR');
    const issues = (result.body.error?.details ?? []) as unknown as Array<{ path: string }>;
    expect(issues.map((issue) => issue.path).sort()).toEqual(['labels', 'repo', 'title']);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('github connector: GitHub errors mapped to the contract', () => {
  it.each([
    {
      name: '404 Not Found → 422 UPSTREAM_REJECTED',
      operation: 'createIssue',
      input: issueInput({ repo: GITHUB_MOCK_MAGIC.repo.missing }),
      status: 422,
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 404,
      details: { message: 'Not Found', documentation_url: expect.stringContaining('docs.github.com') },
    },
    {
      name: '404 on a workflow dispatch → 422 UPSTREAM_REJECTED',
      operation: 'dispatchWorkflow',
      input: dispatchInput({ repo: GITHUB_MOCK_MAGIC.repo.missing }),
      status: 422,
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 404,
      details: { message: 'Not Found' },
    },
    {
      name: '410 Gone (issues disabled) → 422 UPSTREAM_REJECTED',
      operation: 'createComment',
      input: commentInput({ repo: GITHUB_MOCK_MAGIC.repo.issuesDisabled }),
      status: 422,
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 410,
      details: { message: 'Issues are disabled for this repo' },
    },
    {
      name: '422 Validation Failed → 422 UPSTREAM_REJECTED with the field errors',
      operation: 'createIssue',
      input: issueInput({ title: GITHUB_MOCK_MAGIC.text.validationFailed }),
      status: 422,
      code: 'UPSTREAM_REJECTED',
      upstreamStatus: 422,
      details: {
        message: 'Validation Failed',
        errors: [expect.objectContaining({ resource: 'Issue', field: 'title', code: 'custom' })],
      },
    },
    {
      name: '403 without rate-limit headers (a missing permission) → 502 AUTHENTICATION_ERROR',
      operation: 'createComment',
      input: commentInput({ repo: GITHUB_MOCK_MAGIC.repo.forbidden }),
      status: 502,
      code: 'AUTHENTICATION_ERROR',
      upstreamStatus: 403,
      details: { message: 'Resource not accessible by personal access token' },
    },
    {
      name: '502 on a POST without an idempotency key → 502 UPSTREAM_ERROR, not retried',
      operation: 'dispatchWorkflow',
      input: dispatchInput({ ref: GITHUB_MOCK_MAGIC.text.serverError }),
      status: 502,
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 502,
      details: { message: 'Server Error' },
    },
  ])('$name', async ({ operation, input, status, code, upstreamStatus, details }) => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke(operation, input);

    // Assess
    expect(result.status).toBe(status);
    expect(result.body.error).toMatchObject({ code, upstreamStatus, attempts: 1, details });
    expect(mock.requests).toHaveLength(1);
  });

  it('401 Bad credentials → 502 AUTHENTICATION_ERROR after one forced secret refresh that found no new token', async () => {
    // Prepare
    const { invoke, store } = githubHandler({ secret: [{ token: GITHUB_MOCK_MAGIC.invalidToken }] });

    // Act
    const result = await invoke('createIssue', issueInput());

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'AUTHENTICATION_ERROR',
      source: 'upstream',
      upstreamStatus: 401,
      details: { message: 'Bad credentials' },
    });
    expect(store.reads.map((read) => read.forceRefresh)).toEqual([false, true]);
    expect(store.reads.every((read) => read.signal instanceof AbortSignal)).toBe(true);
    expect(mock.requests).toHaveLength(1);
  });

  it('401 then a rotated token in the secret: retried once with the new token and succeeds', async () => {
    // Prepare
    const { invoke } = githubHandler({
      secret: [{ token: GITHUB_MOCK_MAGIC.invalidToken }, { token: ROTATED_TOKEN }],
    });

    // Act
    const result = await invoke('createComment', commentInput());

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.meta).toMatchObject({ attempts: 2, upstreamStatus: 201 });
    expect(mock.requests.map((r) => r.headers.authorization)).toEqual([
      `token ${GITHUB_MOCK_MAGIC.invalidToken}`,
      `token ${ROTATED_TOKEN}`,
    ]);
  });

  it('403 secondary rate limit with retry-after → 429 RATE_LIMIT_EXCEEDED with that wait', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createIssue', issueInput({ repo: GITHUB_MOCK_MAGIC.repo.rateLimited }));

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      source: 'upstream',
      retryable: true,
      upstreamStatus: 403,
      retryAfterSeconds: 1,
      details: { message: expect.stringContaining('secondary rate limit') },
    });
    expect(result.headers['retry-after']).toBe('1');
    // The policy client treats a 403 with retry-after as a rate limit: retried, honouring the wait.
    expect(result.body.error?.attempts).toBe(MAX_ATTEMPTS);
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it('403 primary rate limit (x-ratelimit-remaining: 0) → 429 RATE_LIMIT_EXCEEDED until x-ratelimit-reset, not retried past maxRetryAfterSeconds', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createComment', commentInput({ repo: GITHUB_MOCK_MAGIC.repo.primaryLimit }));

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      upstreamStatus: 403,
      details: { rateLimit: expect.objectContaining({ remaining: 0, limit: 5000 }) },
    });
    const wait = result.body.error?.retryAfterSeconds ?? 0;
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(PRIMARY_LIMIT_RESET_SECONDS);
    expect(result.headers['retry-after']).toBe(String(wait));
    // The reset lies further ahead than retry.maxRetryAfterSeconds (2): the caller gets the wait at once.
    expect(mock.requests).toHaveLength(1);
  });

  it('429 persisting through the retries: retry.maxAttempts requests, then 429 RATE_LIMIT_EXCEEDED', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createIssue', issueInput({ repo: GITHUB_MOCK_MAGIC.repo.tooManyRequests }));

    // Assess
    expect(result.status).toBe(429);
    expect(result.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      upstreamStatus: 429,
      retryAfterSeconds: 1,
      attempts: MAX_ATTEMPTS,
    });
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it('503 persisting through the retries: exactly retry.maxAttempts requests (no SDK retries), then 502 UPSTREAM_ERROR', async () => {
    // Prepare
    const { invoke } = githubHandler();

    // Act
    const result = await invoke('createComment', commentInput({ body: GITHUB_MOCK_MAGIC.text.unavailable }));

    // Assess
    expect(result.status).toBe(502);
    expect(result.body.error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstreamStatus: 503,
      attempts: MAX_ATTEMPTS,
      details: { message: 'Service unavailable' },
    });
    expect(mock.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it('a secret without a token answers 500 CONFIGURATION_ERROR naming the field, and calls nothing', async () => {
    // Prepare
    const { invoke } = githubHandler({ secret: [{ apiKey: 'ghp_exampleWRONGfield0000000000000000' }] });

    // Act
    const result = await invoke('createIssue', issueInput());

    // Assess
    expect(result.status).toBe(500);
    expect(result.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(result.body.error?.message).toContain("'token'");
    expect(result.body.error?.message).not.toContain('ghp_example');
    expect(mock.requests).toHaveLength(0);
  });

  it('no token appears in any log line, whatever the outcome', async () => {
    // Prepare
    const { invoke, output } = githubHandler({
      secret: [{ token: GITHUB_MOCK_MAGIC.invalidToken }, { token: ROTATED_TOKEN }],
    });

    // Act
    await invoke('createIssue', issueInput());
    await invoke('createIssue', issueInput({ repo: GITHUB_MOCK_MAGIC.repo.missing }));
    await invoke('createComment', commentInput({ repo: GITHUB_MOCK_MAGIC.repo.rateLimited }));
    await invoke('dispatchWorkflow', dispatchInput({ ref: GITHUB_MOCK_MAGIC.text.serverError }));

    // Assess
    const text = output.text();
    expect(output.lines().some((line) => line.message === 'upstream attempt')).toBe(true);
    expect(text).not.toContain(ROTATED_TOKEN);
    expect(text).not.toContain(GITHUB_MOCK_MAGIC.invalidToken);
    expect(text).not.toMatch(/token ghp_/i);
  });
});

describe('the GitHub mock enforces the described contract', () => {
  it('answers 400 naming each problem of a request that breaks the description', async () => {
    // Prepare
    const url = `${mock.url}/repos/octo-org/hello-world/issues`;

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: 'Basic ZXhhbXBsZQ==' },
      body: JSON.stringify({ labels: 'bug' }),
    });
    const typed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ghp_exampleFAKE' },
      body: JSON.stringify({ labels: 'bug' }),
    });

    // Assess
    expect(response.status).toBe(400);
    const { message } = (await response.json()) as { message: string };
    expect(message).toContain('Authorization');
    expect(message).toContain('Content-Type must be application/json');
    expect(typed.status).toBe(400);
    const typedBody = (await typed.json()) as { message: string };
    expect(typedBody.message).toContain('body.title is required');
    expect(typedBody.message).toContain('body.labels must be an array');
  });
});

/** The error Octokit itself throws for a scripted answer. */
async function octokitError(
  status: number,
  headers: Record<string, string>,
  body: unknown,
): Promise<unknown> {
  const octokit = new Octokit({
    auth: TOKEN,
    request: {
      fetch: async () =>
        new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/json', ...headers },
        }),
    },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  try {
    await octokit.rest.issues.create({ owner: 'octo-org', repo: 'hello-world', title: 'x' });
  } catch (error) {
    return error;
  }
  throw new Error('Octokit did not throw');
}

describe('mapGithubError on the RequestError Octokit throws', () => {
  const nowMs = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('retry-after wins over x-ratelimit-reset', async () => {
    // Prepare
    const error = await octokitError(
      429,
      { 'retry-after': '30', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowMs / 1000 + 600) },
      { message: 'You have exceeded a secondary rate limit.' },
    );

    // Act
    const mapped = mapGithubError(error, nowMs);

    // Assess
    expect(mapped).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryAfterSeconds: 30, upstreamStatus: 429 });
  });

  it('x-ratelimit-remaining: 0 waits until x-ratelimit-reset (at least 1 s, even when the reset has passed)', async () => {
    // Prepare
    const ahead = await octokitError(
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowMs / 1000 + 600) },
      { message: 'API rate limit exceeded' },
    );
    const passed = await octokitError(
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowMs / 1000 - 5) },
      { message: 'API rate limit exceeded' },
    );

    // Act
    const mappedAhead = mapGithubError(ahead, nowMs);
    const mappedPassed = mapGithubError(passed, nowMs);

    // Assess
    expect(mappedAhead).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryAfterSeconds: 600 });
    expect(mappedPassed).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryAfterSeconds: 1 });
  });

  it('a 429, or a 403 naming a secondary rate limit, without headers waits GitHub’s minute', async () => {
    // Prepare
    const tooMany = await octokitError(429, {}, { message: 'Too Many Requests' });
    const secondary = await octokitError(403, {}, { message: 'You have exceeded a secondary rate limit.' });

    // Act
    const mapped = [mapGithubError(tooMany, nowMs), mapGithubError(secondary, nowMs)];

    // Assess
    for (const error of mapped) {
      expect(error).toMatchObject({
        code: 'RATE_LIMIT_EXCEEDED',
        retryAfterSeconds: GITHUB_DEFAULT_RATE_LIMIT_WAIT_SECONDS,
      });
    }
  });

  it('leaves anything that is not a GitHub answer unmapped', () => {
    // Prepare
    const errors = [new Error('boom'), new TypeError('fetch failed'), 'text', undefined];

    // Act
    const mapped = errors.map((error) => mapGithubError(error, nowMs));

    // Assess
    expect(mapped).toEqual([undefined, undefined, undefined, undefined]);
  });
});
