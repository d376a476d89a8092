/**
 * The `github` connector kind: GitHub's REST API through the official SDK, `@octokit/rest`, with the
 * suite's policies injected.
 *
 * Operations: `createIssue` (`POST /repos/{owner}/{repo}/issues`), `createComment`
 * (`POST /repos/{owner}/{repo}/issues/{issue_number}/comments`), `dispatchWorkflow`
 * (`POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches`) and `listIssues`
 * (`GET /repos/{owner}/{repo}/issues`, page after page). Input names are Octokit's (and GitHub's)
 * parameter names.
 *
 * Secret: `{"token": "..."}`, a personal access token, a GitHub App installation token or an
 * Actions `GITHUB_TOKEN`. Octokit sends it as `Authorization: token ...` (`bearer ...` for a JWT).
 *
 * Wiring: Octokit is built once per connector and token ({@link githubVendor}) with
 * `baseUrl: config.baseUrl` (github.com, GitHub Enterprise's `https://HOST/api/v3`, or a mock),
 * `request.fetch` the policy fetch (every request goes through the connector's timeout, deadline,
 * retries, breaker, rate limit, logs and traces), no retry or throttling plugin (`@octokit/rest` 22
 * ships neither; `request.retries: 0` keeps it so should one be added), and its own logging routed
 * to the connector's logger.
 *
 * @see https://docs.github.com/en/rest/issues/issues#create-an-issue
 * @see https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
 * @see https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
 * @see https://docs.github.com/en/rest/issues/issues#list-repository-issues
 */
import { Octokit } from '@octokit/rest';
import LinkHeader from 'http-link-header';
import * as z from 'zod';
import type { VendorConnectorConfig } from '../shared/config.js';
import {
  defineConnector,
  defineOperation,
  defineVendor,
  type OperationContext,
  type Vendor,
  type VendorClientTools,
} from '../shared/runtime/index.js';
import {
  collectPages,
  type FetchedPage,
  pageLimitsShape,
  paginatedOutputShape,
  sdkPageReader,
} from '../shared/runtime/pagination.js';
import { mapGithubError } from './errors.js';

/** A validated `github` connector entry. */
export type GithubConnectorConfig = VendorConnectorConfig<'github'>;

/**
 * The REST API version every request asks for (`X-GitHub-Api-Version`), so that GitHub's dated
 * breaking changes (e.g. workflow dispatch answering 200 instead of 204 from 2026-03-10) reach the
 * connector only when this constant changes.
 * @see https://docs.github.com/en/rest/about-the-rest-api/api-versions
 */
export const GITHUB_API_VERSION = '2022-11-28';

/** The `User-Agent` GitHub requires on every request; Octokit appends its own. */
export const GITHUB_USER_AGENT = 'connector-suite';

/** The secret field holding the token. */
export const GITHUB_TOKEN_FIELD = 'token';

const API_VERSION_HEADER = { 'x-github-api-version': GITHUB_API_VERSION } as const;

/**
 * An account (user or organization) login: GitHub allows letters, digits and single hyphens;
 * underscores and dots are accepted as well for GitHub Enterprise's synced (LDAP/SAML) logins.
 */
const owner = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be a GitHub user or organization login');
/** A repository name, without `.git`: letters, digits, `.`, `-`, `_`, at most 100. */
const repo = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be a repository name (letters, digits, ., -, _)')
  .refine((name) => name !== '.' && name !== '..', 'must be a repository name, not . or ..');
const login = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be a GitHub login');

/** Input of `createIssue`; the fields of `octokit.rest.issues.create`. */
export const createIssueInput = z.strictObject({
  /** The account owning the repository. */
  owner,
  /** The repository. */
  repo,
  /** The issue's title. */
  title: z.string().min(1),
  /** The issue's Markdown body. */
  body: z.string().optional(),
  /** Label names (silently dropped by GitHub unless the token has push access). */
  labels: z.array(z.string().min(1)).optional(),
  /** Logins to assign (silently dropped by GitHub unless the token has push access). */
  assignees: z.array(login).optional(),
});

/** Input of `createComment`; the fields of `octokit.rest.issues.createComment`. */
export const createCommentInput = z.strictObject({
  owner,
  repo,
  /** The issue or pull request number. */
  issue_number: z.int().min(1),
  /** The comment's Markdown body. */
  body: z.string().min(1),
});

/** Input of `dispatchWorkflow`; the fields of `octokit.rest.actions.createWorkflowDispatch`. */
export const dispatchWorkflowInput = z.strictObject({
  owner,
  repo,
  /** The workflow's id, or its file name (`ci.yml`). */
  workflow_id: z.union([
    z.int().min(1),
    z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be a workflow id or file name such as ci.yml'),
  ]),
  /** The branch or tag to run the workflow on. */
  ref: z.string().min(1),
  /** The workflow's `workflow_dispatch` inputs, at most 25. */
  inputs: z
    .record(z.string().min(1), z.unknown())
    .refine((inputs) => Object.keys(inputs).length <= 25, 'must have at most 25 inputs (a GitHub limit)')
    .optional(),
  /** Ask GitHub for the run's id and URLs (answered with 200 instead of 204). @default false */
  return_run_details: z.boolean().optional(),
});

/** What a caller relies on of a GitHub user (`simple-user`); the rest passes through. */
const user = z.looseObject({ login: z.string(), id: z.number() });

/** Output of `createIssue`: GitHub's `issue` object; the fields listed are checked, the rest passes through. */
export const issueOutput = z.looseObject({
  id: z.number(),
  node_id: z.string(),
  number: z.int(),
  title: z.string(),
  state: z.string(),
  url: z.string(),
  html_url: z.string(),
  body: z.string().nullish(),
  user: user.nullable(),
  labels: z.array(z.union([z.string(), z.looseObject({ name: z.string().optional() })])),
  assignees: z.array(user).nullish(),
  created_at: z.string(),
});

/**
 * Input of `listIssues`: the fields of `octokit.rest.issues.listForRepo` a caller filters with, its
 * page size `per_page`, and the limits of the walk (`maxPages`, `maxItems`, `start`: see
 * docs/connectors.md#pagination). GitHub lists pull requests among issues (they carry `pull_request`).
 */
export const listIssuesInput = z
  .strictObject({
    owner,
    repo,
    /** `open`, `closed` or `all`. @default open (GitHub's) */
    state: z.enum(['open', 'closed', 'all']).optional(),
    /** Comma-separated label names the issues must all have. */
    labels: z.string().min(1).max(1024).optional(),
    /** `created`, `updated` or `comments`. @default created (GitHub's) */
    sort: z.enum(['created', 'updated', 'comments']).optional(),
    /** `asc` or `desc`. @default desc (GitHub's) */
    direction: z.enum(['asc', 'desc']).optional(),
    /** Issues per page, 1 to 100. @default 100 */
    per_page: z.int().min(1).max(100).default(100),
    ...pageLimitsShape,
  })
  .superRefine((input, ctx) => {
    const from = input.start?.from;
    if (from !== undefined && !(typeof from === 'number' && from >= 1)) {
      ctx.addIssue({ code: 'custom', message: 'must be a page number (1 or more)', path: ['start', 'from'] });
    }
  });

/** Output of `listIssues`: the issues of every page and the walk's answer (`next.from`: a page number). */
export const listIssuesOutput = z.object({ ...paginatedOutputShape, items: z.array(issueOutput) });

/** Output of `createComment`: GitHub's `issue-comment` object. */
export const commentOutput = z.looseObject({
  id: z.number(),
  node_id: z.string(),
  url: z.string(),
  html_url: z.string(),
  issue_url: z.string(),
  body: z.string().optional(),
  user: user.nullable(),
  created_at: z.string(),
});

/**
 * Output of `dispatchWorkflow`: GitHub answers 204 with no body, so the output says what was
 * dispatched; with `return_run_details: true` GitHub answers 200 and the run's id and URLs are added.
 */
export const dispatchOutput = z.strictObject({
  /** Always `true`: GitHub accepted the dispatch (the run starts asynchronously). */
  dispatched: z.literal(true),
  owner: z.string(),
  repo: z.string(),
  workflow_id: z.union([z.number(), z.string()]),
  ref: z.string(),
  /** The run's id (with `return_run_details`). */
  workflow_run_id: z.number().optional(),
  /** The run's API URL (with `return_run_details`). */
  run_url: z.string().optional(),
  /** The run's web page (with `return_run_details`). */
  html_url: z.string().optional(),
});

/**
 * An Octokit for one connector and token: pointed at `config.baseUrl`, sending through the policy
 * fetch, with no SDK retries and its logging on the connector's logger (debug and info lines, which
 * would repeat the policy client's own, are dropped).
 */
export function createOctokit(token: string, tools: VendorClientTools<GithubConnectorConfig>): Octokit {
  const { logger } = tools;
  return new Octokit({
    auth: token,
    baseUrl: tools.config.baseUrl.replace(/\/+$/, ''),
    userAgent: GITHUB_USER_AGENT,
    request: { fetch: tools.fetch, retries: 0 },
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => logger.warn('octokit', { octokit: message }),
      error: (message: string) => logger.debug('octokit', { octokit: message }),
    },
  });
}

/**
 * GitHub as a vendor of the kit: the secret `{"token": "..."}` (missing, empty, or not one line of
 * visible ASCII is `CONFIGURATION_ERROR` naming the field, never the value), an Octokit from
 * {@link createOctokit}, errors mapped by {@link mapGithubError}. After an `AUTHENTICATION_ERROR`
 * the secret is read again with `forceRefresh`; if the token changed (a rotation), the call is made
 * once more with the new one, otherwise the error stands.
 */
export const githubVendor: Vendor<GithubConnectorConfig, { [GITHUB_TOKEN_FIELD]: string }, Octokit> =
  defineVendor({
    name: 'GitHub',
    secret: z.object({
      [GITHUB_TOKEN_FIELD]: z
        .string()
        .min(1)
        .regex(/^[\x21-\x7e]+$/, 'must be one line of visible ASCII characters (no spaces or line breaks)'),
    }),
    client: ({ token }, tools: VendorClientTools<GithubConnectorConfig>) => createOctokit(token, tools),
    mapError: (error) => mapGithubError(error),
  });

/** The `Link` header's `rel="next"` URL, as it stands; `undefined` on the last page. */
function nextLinkOf(link: string | undefined): string | undefined {
  return link ? LinkHeader.parse(link).rel('next')[0]?.uri : undefined;
}

/**
 * The `page` of the `Link` header's `rel="next"` URL, as `octokit.paginate` follows it; `undefined`
 * on the last page.
 * @see https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
 */
function nextPageOf(link: string | undefined): number | undefined {
  const uri = nextLinkOf(link);
  if (uri === undefined) return undefined;
  const page = Number(new URL(uri, 'https://api.github.com').searchParams.get('page'));
  return Number.isInteger(page) && page >= 1 ? page : undefined;
}

/**
 * Lists a repository's issues page after page through Octokit's own pagination,
 * `octokit.paginate.iterator(octokit.rest.issues.listForRepo, ...)`, which follows the `Link`
 * header's next page: one page per pull, each pull in its own `githubVendor.call` (so each page goes
 * through the connector's policies and keeps the rotation retry), and a page pulled only within
 * `maxPages`, `maxItems` and the deadline ({@link collectPages} decides between pages; the
 * iterator is never pulled past them). The resume point is the page number of the `Link` header's
 * next URL, the one the iterator follows; a resumed walk opens the iterator at that `page`.
 * @see https://github.com/octokit/plugin-paginate-rest.js#octokitpaginateiterator
 */
function listIssues(
  input: z.output<typeof listIssuesInput>,
  context: OperationContext<GithubConnectorConfig>,
) {
  const { maxPages, maxItems, start, ...params } = input;
  const readPage = sdkPageReader<Octokit, number>((octokit, page) =>
    issuePages(octokit, { ...params, page: page ?? 1 }, context.config.baseUrl),
  );
  return collectPages<number>({
    start,
    keyOf: Number,
    fromOf: (page) => page ?? 1,
    fetchPage: (page) => githubVendor.call(context, (octokit) => readPage(octokit, page)),
    maxPages,
    maxItems,
    deadlineAtMs: context.deadlineAtMs,
    minPageMs: context.config.timeoutMs,
  });
}

/**
 * The pages of `octokit.paginate.iterator` over `issues.listForRepo`, as {@link collectPages} reads
 * them. The iterator follows the `Link` header's next URL as it is; when that URL is not on
 * `baseUrl`'s origin (GitHub's own links seen through a proxy), the policy fetch would refuse it, so
 * the iterator is opened anew at that page number on `baseUrl`, as a walk resumed there would be.
 */
async function* issuePages(
  octokit: Octokit,
  params: Omit<z.output<typeof listIssuesInput>, 'maxPages' | 'maxItems' | 'start'> & { page: number },
  baseUrl: string,
): AsyncGenerator<FetchedPage<number>> {
  const origin = new URL(baseUrl).origin;
  let page: number | undefined = params.page;
  while (page !== undefined) {
    const pages = octokit.paginate.iterator(octokit.rest.issues.listForRepo, {
      ...params,
      page,
      headers: API_VERSION_HEADER,
    });
    page = undefined;
    for await (const response of pages) {
      const next = nextPageOf(response.headers.link);
      yield { items: response.data, next };
      if (next !== undefined && new URL(nextLinkOf(response.headers.link) ?? '', baseUrl).origin !== origin) {
        page = next;
        break;
      }
    }
  }
}

/** The `github` connector kind. */
export const githubConnector = defineConnector<GithubConnectorConfig>({
  kind: 'github',
  operations: () => ({
    createIssue: defineOperation({
      description: 'Creates an issue in a repository (POST /repos/{owner}/{repo}/issues).',
      input: createIssueInput,
      output: issueOutput,
      run: (input, context) =>
        githubVendor.call(context, async (octokit) => {
          const { data } = await octokit.rest.issues.create({ ...input, headers: API_VERSION_HEADER });
          return data as z.infer<typeof issueOutput>;
        }),
    }),
    createComment: defineOperation({
      description:
        'Comments on an issue or pull request (POST /repos/{owner}/{repo}/issues/{issue_number}/comments).',
      input: createCommentInput,
      output: commentOutput,
      run: (input, context) =>
        githubVendor.call(context, async (octokit) => {
          const { data } = await octokit.rest.issues.createComment({ ...input, headers: API_VERSION_HEADER });
          return data as z.infer<typeof commentOutput>;
        }),
    }),
    dispatchWorkflow: defineOperation({
      description:
        'Starts a GitHub Actions workflow that has a workflow_dispatch trigger (POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches).',
      input: dispatchWorkflowInput,
      output: dispatchOutput,
      run: (input, context) =>
        githubVendor.call(context, async (octokit) => {
          const response = await octokit.rest.actions.createWorkflowDispatch({
            ...input,
            headers: API_VERSION_HEADER,
          });
          const run =
            typeof response.data === 'object' && response.data !== null
              ? (response.data as { workflow_run_id?: number; run_url?: string; html_url?: string })
              : {};
          return {
            dispatched: true as const,
            owner: input.owner,
            repo: input.repo,
            workflow_id: input.workflow_id,
            ref: input.ref,
            ...(run.workflow_run_id === undefined ? {} : { workflow_run_id: run.workflow_run_id }),
            ...(run.run_url === undefined ? {} : { run_url: run.run_url }),
            ...(run.html_url === undefined ? {} : { html_url: run.html_url }),
          };
        }),
    }),
    listIssues: defineOperation({
      description:
        "Lists a repository's issues (and pull requests), page after page within maxPages, maxItems and the deadline (GET /repos/{owner}/{repo}/issues).",
      input: listIssuesInput,
      output: listIssuesOutput,
      run: (input, context) => listIssues(input, context) as Promise<z.infer<typeof listIssuesOutput>>,
    }),
  }),
});
