/**
 * Issue 12, deliverable 3: the vendor list operations (Stripe `listCustomers`, GitHub `listIssues`,
 * Slack `conversationsList`) through the real handlers and the official SDKs against the local
 * stand-ins, each of which lists 5 pages (Stripe `has_more`/`starting_after`, GitHub `Link`, Slack
 * `response_metadata.next_cursor`). Every page is one upstream call through the connector's
 * policies: the stand-ins count the calls, and a page failing once is retried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { githubConnector } from '../../functions/github/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { Redactor } from '../../functions/shared/redaction.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { slackConnector } from '../../functions/slack/connector.js';
import { stripeConnector } from '../../functions/stripe/connector.js';
import { GITHUB_MOCK_LISTED_ISSUES, startGithubMock } from '../../local/stand-ins/github.js';
import type { VendorMock } from '../../local/stand-ins/server.js';
import { SLACK_MOCK_LISTED_CHANNELS, startSlackMock } from '../../local/stand-ins/slack.js';
import { STRIPE_MOCK_LISTED_CUSTOMERS, startStripeMock } from '../../local/stand-ins/stripe.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

/** Obviously fake credentials. */
const SECRETS = {
  stripe: { apiKey: 'sk_test_connector_suite_example_0001' },
  github: { token: 'ghp_exampleexampleexample' },
  slack: { token: 'xoxb-fake-example' },
};

interface Paged {
  items: Array<Record<string, unknown>>;
  pages: number;
  complete: boolean;
  stoppedBy?: string;
  next?: { from?: string | number; skip?: number };
}

type Kind = 'stripe' | 'github' | 'slack';
const DEFINITIONS = { stripe: stripeConnector, github: githubConnector, slack: slackConnector };

let mocks: Record<Kind, VendorMock>;
/** Upstream requests the last handler sent (the one answered 503 included). */
let upstreamCalls = 0;

beforeAll(async () => {
  const [stripe, github, slack] = await Promise.all([startStripeMock(), startGithubMock(), startSlackMock()]);
  mocks = { stripe, github, slack };
});

afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  captureOutput();
  for (const mock of Object.values(mocks)) mock.requests.length = 0;
  return () => vi.unstubAllEnvs();
});

/**
 * A handler of `kind` against its stand-in; `failOnce` makes that upstream request (1-based) answer
 * 503 once instead of reaching the stand-in.
 */
function handlerFor(kind: Kind, failOnce?: number): ConnectorHandler {
  const config = parseConnectorConfig(
    {
      name: kind,
      kind,
      secret: kind,
      baseUrl: mocks[kind].url,
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    },
    'test',
    { allowLoopbackHttp: true },
  );
  const credentials: CredentialStore = { getSecret: async () => SECRETS[kind] };
  upstreamCalls = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    upstreamCalls += 1;
    if (upstreamCalls === failOnce) return new Response('unavailable', { status: 503 });
    return globalThis.fetch(input, init);
  };
  const definition = DEFINITIONS[kind] as unknown as {
    createHandler(deps: Record<string, unknown>): ConnectorHandler;
  };
  return definition.createHandler({
    config,
    credentials,
    redactor: new Redactor(),
    allowLoopbackHttp: true,
    fetch,
  });
}

async function list(kind: Kind, operation: string, body: Record<string, unknown>, failOnce?: number) {
  const result = await handlerFor(kind, failOnce)(
    apiGatewayEvent({ connector: kind, operation, body }),
    lambdaContext(),
  );
  const parsed = JSON.parse(result.body) as { data: Paged; error?: unknown };
  expect(result.statusCode, result.body).toBe(200);
  return parsed.data;
}

/** What a list operation needs to list 5 pages of its stand-in, and how items are told apart. */
const CASES = [
  {
    kind: 'stripe' as const,
    operation: 'listCustomers',
    body: { limit: 10 },
    total: STRIPE_MOCK_LISTED_CUSTOMERS,
    badFrom: 12,
    idOf: (item: Record<string, unknown>) => item.id,
  },
  {
    kind: 'github' as const,
    operation: 'listIssues',
    body: { owner: 'octo-org', repo: 'hello-world', per_page: 5 },
    total: GITHUB_MOCK_LISTED_ISSUES,
    badFrom: 'next',
    idOf: (item: Record<string, unknown>) => item.number,
  },
  {
    kind: 'slack' as const,
    operation: 'conversationsList',
    body: { limit: 5 },
    total: SLACK_MOCK_LISTED_CHANNELS,
    badFrom: 5,
    idOf: (item: Record<string, unknown>) => item.id,
  },
];

describe.each(CASES)('$kind $operation', ({ kind, operation, body, total, badFrom, idOf }) => {
  it('reads the 5-page list whole within maxPages, one upstream call per page', async () => {
    // Act
    const data = await list(kind, operation, { ...body, maxPages: 5 });

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.stoppedBy).toBeUndefined();
    expect(data.items).toHaveLength(total);
    expect(new Set(data.items.map(idOf)).size).toBe(total);
    expect(mocks[kind].requests).toHaveLength(5);
  });

  it('stops at maxPages and resumes from next with exactly the rest', async () => {
    // Act
    const first = await list(kind, operation, { ...body, maxPages: 2 });
    const rest = await list(kind, operation, { ...body, start: first.next });
    const whole = await list(kind, operation, body);

    // Assess
    expect(first).toMatchObject({ pages: 2, complete: false, stoppedBy: 'maxPages' });
    expect(first.next?.from).toBeDefined();
    expect(rest.complete).toBe(true);
    expect([...first.items, ...rest.items].map(idOf)).toEqual(whole.items.map(idOf));
  });

  it('stops at maxItems inside a page and resumes with exactly the rest', async () => {
    // Act
    const first = await list(kind, operation, { ...body, maxItems: 7 });
    const rest = await list(kind, operation, { ...body, start: first.next });
    const whole = await list(kind, operation, body);

    // Assess
    expect(first).toMatchObject({ complete: false, stoppedBy: 'maxItems' });
    expect(first.items).toHaveLength(7);
    expect([...first.items, ...rest.items].map(idOf)).toEqual(whole.items.map(idOf));
  });

  it('refuses a start.from of the wrong kind with VALIDATION_ERROR, calling nothing', async () => {
    // Act
    const result = await handlerFor(kind)(
      apiGatewayEvent({ connector: kind, operation, body: { ...body, start: { from: badFrom } } }),
      lambdaContext(),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [expect.objectContaining({ path: 'start.from' })],
    });
    expect(mocks[kind].requests).toHaveLength(0);
  });

  it('retries a page that fails once, through the connector policies', async () => {
    // Act: the third upstream request (page 3) answers 503 once.
    const data = await list(kind, operation, body, 3);

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(total);
    expect(upstreamCalls).toBe(6);
    expect(mocks[kind].requests).toHaveLength(5);
  });
});
