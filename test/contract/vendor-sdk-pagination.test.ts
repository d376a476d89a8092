/**
 * Issue 12, deliverable 3: the vendor list operations walk through the SDKs' own pagination helpers
 * (Stripe's auto-pagination over `customers.list`, `octokit.paginate.iterator`, Slack's
 * `client.paginate`), one helper per walk, each page one pull of it through the connector's
 * policies; and a page the vendor rejects for a rotated secret is fetched once more, with the new
 * secret, from where the walk stands: no item twice, none missing.
 * The real handlers and SDKs run against the local stand-ins, which list 5 pages each.
 */
import { WebClient } from '@slack/web-api';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { githubConnector } from '../../functions/github/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore, SecretValue } from '../../functions/shared/credentials/store.js';
import { Redactor } from '../../functions/shared/redaction.js';
import type { ConnectorHandler } from '../../functions/shared/runtime/index.js';
import { slackConnector } from '../../functions/slack/connector.js';
import { stripeConnector } from '../../functions/stripe/connector.js';
import {
  GITHUB_MOCK_LISTED_ISSUES,
  GITHUB_MOCK_MAGIC,
  startGithubMock,
} from '../../local/stand-ins/github.js';
import type { VendorMock } from '../../local/stand-ins/server.js';
import { SLACK_MOCK_LISTED_CHANNELS, SLACK_MOCK_MAGIC, startSlackMock } from '../../local/stand-ins/slack.js';
import {
  STRIPE_MOCK_LISTED_CUSTOMERS,
  STRIPE_MOCK_MAGIC,
  startStripeMock,
} from '../../local/stand-ins/stripe.js';
import { apiGatewayEvent, captureOutput, lambdaContext } from '../support/fakes.js';

type Kind = 'stripe' | 'github' | 'slack';

/** Obviously fake credentials: the first secret, the rotated one, and the field holding them. */
const CREDENTIALS = {
  stripe: {
    field: 'apiKey',
    first: 'sk_test_connector_suite_example_0001',
    rotated: 'sk_test_connector_suite_rotated_0002',
    rejected: STRIPE_MOCK_MAGIC.invalidApiKey,
  },
  github: {
    field: 'token',
    first: 'ghp_exampleexampleexample',
    rotated: 'ghp_rotatedrotatedrotated',
    rejected: GITHUB_MOCK_MAGIC.invalidToken,
  },
  slack: {
    field: 'token',
    first: 'xoxb-fake-example',
    rotated: 'xoxb-fake-rotated',
    rejected: SLACK_MOCK_MAGIC.invalidToken,
  },
} as const;

const DEFINITIONS = { stripe: stripeConnector, github: githubConnector, slack: slackConnector };

/** A query parameter added to GitHub's `Link` next URLs: only a client following them sends it. */
const LINK_MARKER = 'followed';

let mocks: Record<Kind, VendorMock>;

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
  return () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  };
});

interface HandlerOptions {
  /** The upstream request (1-based) sent with the stand-in's rejected credential. */
  rejectOnce?: number;
  /** The origin GitHub's `Link` next URLs are moved to (as behind a proxy). */
  linkOrigin?: string;
}

/**
 * A handler of `kind` against its stand-in. `rejectOnce` sends that upstream request (1-based) with
 * the stand-in's rejected credential, so that the vendor answers it with its own 401 (Slack:
 * `invalid_auth`); the secret then reads as rotated once refreshed. GitHub's `Link` next URLs are
 * marked with {@link LINK_MARKER}.
 */
function handlerFor(kind: Kind, { rejectOnce, linkOrigin }: HandlerOptions = {}): ConnectorHandler {
  const credential = CREDENTIALS[kind];
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
  let secret: SecretValue = { [credential.field]: credential.first };
  const credentials: CredentialStore = {
    getSecret: async (_name, options) => {
      if (options?.forceRefresh) secret = { [credential.field]: credential.rotated };
      return secret;
    },
  };
  let calls = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls += 1;
    const request = new Request(input, init);
    if (calls === rejectOnce) {
      const authorization = request.headers.get('authorization') ?? '';
      request.headers.set('authorization', authorization.replace(credential.first, credential.rejected));
    }
    const response = await globalThis.fetch(request);
    const link = response.headers.get('link');
    if (kind !== 'github' || link === null) return response;
    const headers = new Headers(response.headers);
    headers.set(
      'link',
      link.replace(/<([^>]+)>; rel="next"/, (_all, uri: string) => {
        const next = new URL(uri);
        next.searchParams.set(LINK_MARKER, 'link');
        if (linkOrigin !== undefined) {
          const elsewhere = new URL(linkOrigin);
          next.protocol = elsewhere.protocol;
          next.host = elsewhere.host;
        }
        return `<${next.href}>; rel="next"`;
      }),
    );
    return new Response(await response.text(), { status: response.status, headers });
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

interface Paged {
  items: Array<Record<string, unknown>>;
  pages: number;
  complete: boolean;
}

async function list(
  kind: Kind,
  operation: string,
  body: Record<string, unknown>,
  options: HandlerOptions = {},
) {
  const result = await handlerFor(kind, options)(
    apiGatewayEvent({ connector: kind, operation, body }),
    lambdaContext(),
  );
  expect(result.statusCode, result.body).toBe(200);
  return (JSON.parse(result.body) as { data: Paged }).data;
}

/** Counts the openings of Stripe's auto-pagination (`customers.list`, shared by every client). */
function spyOnStripeList() {
  const resource = Object.getPrototypeOf(new Stripe('sk_test_spy_example').customers) as {
    list: (...args: unknown[]) => unknown;
  };
  return vi.spyOn(resource, 'list');
}

/** The query parameters of the stand-in's requests, in order. */
function queries(kind: Kind): URLSearchParams[] {
  return mocks[kind].requests.map((request) => new URL(request.path, 'http://stand-in').searchParams);
}

/** The credential each stand-in request carried. */
function credentialsSent(kind: Kind): string[] {
  const { first, rotated } = CREDENTIALS[kind];
  return mocks[kind].requests.map((request) => {
    const authorization = String(request.headers.authorization ?? '');
    return authorization.includes(rotated) ? 'rotated' : authorization.includes(first) ? 'first' : 'other';
  });
}

describe('vendor list operations walk through the SDKs’ own pagination', () => {
  it('Stripe listCustomers: one auto-paging list per walk, one request per page, resumed by starting_after', async () => {
    // Arrange
    const opened = spyOnStripeList();

    // Act
    const data = await list('stripe', 'listCustomers', { limit: 10, maxPages: 5 });

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(STRIPE_MOCK_LISTED_CUSTOMERS);
    expect(opened).toHaveBeenCalledTimes(1);
    const sent = queries('stripe');
    expect(sent).toHaveLength(5);
    expect(sent[0]?.get('starting_after')).toBeNull();
    // Each later request is the SDK's: starting_after the last customer of the page before it.
    for (let page = 1; page < 5; page += 1) {
      expect(sent[page]?.get('starting_after')).toBe(data.items[page * 10 - 1]?.id);
    }
  });

  it('GitHub listIssues: the requests after the first are the Link next URLs octokit.paginate.iterator follows', async () => {
    // Act
    const data = await list('github', 'listIssues', {
      owner: 'octo-org',
      repo: 'hello-world',
      per_page: 5,
      maxPages: 5,
    });

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(GITHUB_MOCK_LISTED_ISSUES);
    const sent = queries('github');
    expect(sent).toHaveLength(5);
    expect(sent[0]?.get(LINK_MARKER)).toBeNull();
    expect(sent.slice(1).map((query) => query.get(LINK_MARKER))).toEqual(['link', 'link', 'link', 'link']);
    expect(sent.map((query) => query.get('page'))).toEqual(['1', '2', '3', '4', '5']);
  });

  it('GitHub listIssues: a Link next URL on another origin reopens the iterator at that page on baseUrl', async () => {
    // Act: the stand-in's next links are moved to GitHub's own origin, as a proxy would show them.
    const data = await list(
      'github',
      'listIssues',
      { owner: 'octo-org', repo: 'hello-world', per_page: 5, maxPages: 5 },
      { linkOrigin: 'https://api.github.com' },
    );

    // Assess: every page was asked of the stand-in, by its number, none of another origin.
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(GITHUB_MOCK_LISTED_ISSUES);
    const sent = queries('github');
    expect(sent.map((query) => query.get('page'))).toEqual(['1', '2', '3', '4', '5']);
    expect(sent.map((query) => query.get(LINK_MARKER))).toEqual([null, null, null, null, null]);
  });

  it('Slack conversationsList: one client.paginate per walk, one conversations.list request per page', async () => {
    // Arrange
    const paginate = vi.spyOn(WebClient.prototype, 'paginate');

    // Act
    const data = await list('slack', 'conversationsList', { limit: 5, maxPages: 5 });

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(SLACK_MOCK_LISTED_CHANNELS);
    expect(paginate).toHaveBeenCalledTimes(1);
    expect(paginate.mock.calls[0]?.[0]).toBe('conversations.list');
    expect(mocks.slack.requests).toHaveLength(5);
  });

  it('Stripe listCustomers: a full last page after the first reads as complete, and no pull follows it', async () => {
    // Arrange: resume after the 7th customer, leaving 40: two full pages of 20, the second the last.
    const head = await list('stripe', 'listCustomers', { limit: 7, maxPages: 1 });
    const start = (head as Paged & { next?: unknown }).next;
    mocks.stripe.requests.length = 0;

    // Act
    const data = await list('stripe', 'listCustomers', { limit: 20, maxPages: 2, start });

    // Assess
    expect(STRIPE_MOCK_LISTED_CUSTOMERS - 7).toBe(40);
    expect(data).toMatchObject({ pages: 2, complete: true });
    expect(data.items).toHaveLength(40);
    expect(mocks.stripe.requests).toHaveLength(2);
  });
});

describe.each([
  {
    kind: 'stripe' as const,
    operation: 'listCustomers',
    body: { limit: 10 },
    total: STRIPE_MOCK_LISTED_CUSTOMERS,
  },
  {
    kind: 'github' as const,
    operation: 'listIssues',
    body: { owner: 'octo-org', repo: 'hello-world', per_page: 5 },
    total: GITHUB_MOCK_LISTED_ISSUES,
  },
  {
    kind: 'slack' as const,
    operation: 'conversationsList',
    body: { limit: 5 },
    total: SLACK_MOCK_LISTED_CHANNELS,
  },
])('$kind $operation and a secret rotated mid-walk', ({ kind, operation, body, total }) => {
  it('fetches the rejected page again with the rotated secret, no item twice, none missing', async () => {
    // Arrange
    const stripeOpened = spyOnStripeList();
    const slackOpened = vi.spyOn(WebClient.prototype, 'paginate');

    // Act: the third request (page 3) is rejected as the old secret would be after a rotation.
    const data = await list(kind, operation, { ...body, maxPages: 5 }, { rejectOnce: 3 });

    // Assess
    expect(data).toMatchObject({ pages: 5, complete: true });
    expect(data.items).toHaveLength(total);
    const ids = data.items.map((item) => item.id);
    expect(new Set(ids).size).toBe(total);
    expect(credentialsSent(kind)).toEqual(['first', 'first', 'other', 'rotated', 'rotated', 'rotated']);
    // The helper was opened again, at page 3, with the new client.
    if (kind === 'stripe') expect(stripeOpened).toHaveBeenCalledTimes(2);
    if (kind === 'slack') expect(slackOpened).toHaveBeenCalledTimes(2);
    if (kind === 'github') expect(queries('github')[3]?.get('page')).toBe('3');
  });
});
