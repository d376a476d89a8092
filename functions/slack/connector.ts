/**
 * The `slack` connector kind: Slack's Web API through the official SDK, `@slack/web-api`.
 *
 * Operations:
 * - `postMessage`: `chat.postMessage` (https://api.slack.com/methods/chat.postMessage): text and/or
 *   Block Kit blocks, optionally as a thread reply (`thread_ts`, `reply_broadcast`);
 * - `updateMessage`: `chat.update` (https://api.slack.com/methods/chat.update).
 *
 * Secret (the connector's `secret`): `{"token": "xoxb-..."}`, a bot (or user) token with
 * `chat:write`. A Slack answer `{"ok": false, "error": ...}` is a failure, mapped by
 * {@link mapSlackError}; it is never returned as a success.
 *
 * The SDK is wired to the suite's policies: every request goes through the policy fetch (timeout,
 * deadline, retries with `Retry-After`, breaker, rate limit, redacted logs, traces); the SDK's own
 * retries are off (`retryConfig: {retries: 0}`, `rejectRateLimitedCalls: true`); it calls
 * `config.baseUrl` (default `https://slack.com/api`), and its logger is kept quiet.
 */
import {
  type ChatPostMessageArguments,
  type ChatUpdateArguments,
  type ConversationsListArguments,
  type ConversationsListResponse,
  type Logger as SlackLogger,
  LogLevel as SlackLogLevel,
  type WebAPICallResult,
  WebClient,
} from '@slack/web-api';
import * as z from 'zod';
import type { VendorConnectorConfig } from '../shared/config.js';
import {
  defineConnector,
  defineOperation,
  defineVendor,
  type OperationContext,
  type VendorClientTools,
  type VendorLogger,
} from '../shared/runtime/index.js';
import {
  collectPages,
  type FetchedPage,
  pageLimitsShape,
  paginatedOutputShape,
  sdkPageReader,
} from '../shared/runtime/pagination.js';
import { mapSlackError } from './errors.js';

/** A validated `slack` connector entry. */
export type SlackConnectorConfig = VendorConnectorConfig<'slack'>;

/** The field of the connector's secret that holds the Slack token. */
export const SLACK_SECRET_FIELD = 'token';

/** A Slack message timestamp, `^\d{10}\.\d{6}$` (the description's `defs_ts`), e.g. `1503435956.000247`. */
const messageTs = z
  .string()
  .regex(/^\d{10}\.\d{6}$/, 'must be a Slack message timestamp such as 1503435956.000247');

/** A channel ID (`C…`, `G…`, `D…`) or, for chat.postMessage, a channel name such as `#general`. */
const channel = z.string().min(1).max(255);

/** One Block Kit block: at least its `type` (https://api.slack.com/reference/block-kit/blocks). */
const block = z.looseObject({ type: z.string().min(1).max(255) });

/**
 * Message text: plain text or Slack `mrkdwn`. Slack truncates beyond 40,000 characters
 * (https://api.slack.com/methods/chat.postMessage#truncating).
 */
const text = z.string().min(1).max(40_000);

/** Slack allows 50 blocks in a message (https://api.slack.com/reference/block-kit/blocks). */
const MAX_BLOCKS = 50;

/**
 * Input of `postMessage`, with the SDK's (and Slack's) parameter names:
 * - `channel`: channel ID (`C0123456789`) or name (`#general`); required;
 * - `text`: the message, or with `blocks` the notification fallback; `text`, `blocks` or both;
 * - `blocks`: Block Kit blocks, 1 to 50, each with a `type`;
 * - `thread_ts`: the parent message's `ts`, to reply in its thread;
 * - `reply_broadcast`: with `thread_ts`, also show the reply in the channel; @default false
 * - `unfurl_links`: unfurl text-based links; @default false (Slack's default)
 * - `mrkdwn`: `false` turns off Slack markup in `text`; @default true (Slack's default)
 */
export const postMessageInput = z
  .strictObject({
    channel,
    text: text.optional(),
    blocks: z.array(block).min(1).max(MAX_BLOCKS).optional(),
    thread_ts: messageTs.optional(),
    reply_broadcast: z.boolean().optional(),
    unfurl_links: z.boolean().optional(),
    mrkdwn: z.boolean().optional(),
  })
  .refine((input) => input.text !== undefined || input.blocks !== undefined, {
    message: 'give text, blocks or both',
    path: ['text'],
  })
  .refine((input) => input.reply_broadcast === undefined || input.thread_ts !== undefined, {
    message: 'reply_broadcast needs thread_ts',
    path: ['reply_broadcast'],
  });

/**
 * Input of `updateMessage` (`chat.update`):
 * - `channel`: the ID of the channel holding the message; required;
 * - `ts`: the message's timestamp; required;
 * - `text`: the new text; `text`, `blocks` or both;
 * - `blocks`: the new blocks (0 to 50; `[]` removes the message's blocks, leaving them out keeps them).
 */
export const updateMessageInput = z
  .strictObject({
    channel,
    ts: messageTs,
    text: text.optional(),
    blocks: z.array(block).max(MAX_BLOCKS).optional(),
  })
  .refine((input) => input.text !== undefined || input.blocks !== undefined, {
    message: 'give text, blocks or both',
    path: ['text'],
  });

/** Slack's message object (`objs_message`): the fields callers rely on, the rest passed through. */
export const slackMessage = z.looseObject({
  ts: z.string().optional(),
  text: z.string().optional(),
  type: z.string().optional(),
  thread_ts: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().nullable().optional(),
  blocks: z.array(z.looseObject({ type: z.string() })).optional(),
});

/** Output of `postMessage`: Slack's answer `{ok: true, channel, ts, message}`. */
export const postMessageOutput = z.looseObject({
  ok: z.literal(true),
  /** The channel ID the message went to (also when it was addressed by name). */
  channel: z.string(),
  /** The new message's timestamp: its ID within the channel, and the `thread_ts` of replies to it. */
  ts: z.string(),
  message: slackMessage,
});

/** Output of `updateMessage`: Slack's answer `{ok: true, channel, ts, text, message}`. */
export const updateMessageOutput = z.looseObject({
  ok: z.literal(true),
  channel: z.string(),
  ts: z.string(),
  text: z.string().optional(),
  message: slackMessage,
});

/** A Slack logger that keeps the SDK quiet: warnings and errors go to the connector's (redacting) logger at DEBUG. */
function quietLogger(logger: VendorLogger): SlackLogger {
  let level = SlackLogLevel.WARN;
  const forward =
    (severity: string) =>
    (...message: unknown[]) =>
      logger.debug('@slack/web-api', { severity, sdkMessage: message.map(String).join(' ') });
  return {
    debug: () => {},
    info: () => {},
    warn: forward('warn'),
    error: forward('error'),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * A `WebClient` for one connector and token: the policy fetch, retries off, rate limits rejected
 * (our client has already waited and retried), `config.baseUrl` (with the trailing slash the SDK
 * expects), no absolute URLs, a quiet logger.
 */
export function slackClient(token: string, tools: VendorClientTools<SlackConnectorConfig>): WebClient {
  return new WebClient(token, {
    slackApiUrl: `${tools.config.baseUrl.replace(/\/+$/, '')}/`,
    fetch: tools.fetch,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    allowAbsoluteUrls: false,
    logger: quietLogger(tools.logger),
  });
}

/**
 * Slack as a vendor of the kit: the secret `{"token": "xoxb-..."}` (a token with whitespace or
 * control characters is `CONFIGURATION_ERROR` naming the field, never the value), a
 * {@link slackClient}, errors mapped by {@link mapSlackError}. After an `AUTHENTICATION_ERROR`
 * (`invalid_auth`, `token_revoked`, ...) the secret is read again and, when the token changed, the
 * call is made once more with the new token.
 */
export const slackVendor = defineVendor({
  name: 'Slack',
  secret: z.object({
    [SLACK_SECRET_FIELD]: z
      .string()
      .min(1)
      .regex(/^[\x21-\x7e]+$/, 'must be a Slack token (visible ASCII, no whitespace)'),
  }),
  client: ({ token }, tools: VendorClientTools<SlackConnectorConfig>) => slackClient(token, tools),
  mapError: mapSlackError,
});

/**
 * Slack's answer as the caller gets it: the SDK's `response_metadata` additions (OAuth scopes from
 * headers, an empty object) dropped, Slack's own `warnings` and `messages` kept.
 */
function vendorObject(result: WebAPICallResult): Record<string, unknown> {
  const { response_metadata: metadata, ...rest } = result as WebAPICallResult & Record<string, unknown>;
  const kept = {
    ...(metadata?.warnings?.length ? { warnings: metadata.warnings } : {}),
    ...(metadata?.messages?.length ? { messages: metadata.messages } : {}),
  };
  return Object.keys(kept).length > 0 ? { ...rest, response_metadata: kept } : rest;
}

/**
 * Input of `conversationsList`: the arguments of `conversations.list` a caller filters with, its
 * page size `limit`, and the limits of the walk (`maxPages`, `maxItems`, `start`: see
 * docs/connectors.md#pagination).
 * @see https://api.slack.com/methods/conversations.list
 */
export const conversationsListInput = z
  .strictObject({
    /** Comma-separated: `public_channel`, `private_channel`, `mpim`, `im`. @default public_channel (Slack's) */
    types: z
      .string()
      .regex(
        /^(?:public_channel|private_channel|mpim|im)(?:,(?:public_channel|private_channel|mpim|im))*$/,
        'must be a comma-separated list of public_channel, private_channel, mpim, im',
      )
      .optional(),
    /** Leave archived channels out. @default false (Slack's) */
    exclude_archived: z.boolean().optional(),
    /** The workspace to list, for an org-level token. */
    team_id: z
      .string()
      .regex(/^T[A-Z0-9]{2,}$/, 'must be a Slack team ID such as T0123456789')
      .optional(),
    /** Channels per page, 1 to 1000 (Slack recommends at most 200). @default 200 */
    limit: z.int().min(1).max(1_000).default(200),
    ...pageLimitsShape,
  })
  .superRefine((input, ctx) => {
    if (input.start?.from !== undefined && typeof input.start.from !== 'string') {
      ctx.addIssue({ code: 'custom', message: "must be Slack's cursor (a string)", path: ['start', 'from'] });
    }
  });

/** Output of `conversationsList`: the channels of every page and the walk's answer (`next.from`: Slack's cursor). */
export const conversationsListOutput = z.object({
  ...paginatedOutputShape,
  items: z.array(z.looseObject({ id: z.string() })),
});

/**
 * Lists conversations page after page through the WebClient's own pagination,
 * `client.paginate('conversations.list', ...)`, which sends back Slack's cursor
 * (`response_metadata.next_cursor`, empty on the last page) as `cursor`: one page per pull, each
 * pull in its own `slackVendor.call` (so each page goes through the connector's policies and keeps
 * the rotation retry), and a page pulled only within `maxPages`, `maxItems` and the deadline
 * ({@link collectPages} decides between pages; `paginate`'s own `shouldStop` form is not used, as
 * it decides after a page, not before). The resume point is the cursor of the page not yet
 * returned; a resumed walk opens `paginate` at that `cursor`.
 * @see https://api.slack.com/docs/pagination
 * @see https://github.com/slackapi/node-slack-sdk/blob/main/packages/web-api/src/WebClient.ts (`paginate`)
 */
function conversationsList(
  input: z.output<typeof conversationsListInput>,
  context: OperationContext<SlackConnectorConfig>,
) {
  const { maxPages, maxItems, start, ...params } = input;
  const readPage = sdkPageReader<WebClient, string>((client, cursor) =>
    conversationPages(client, { ...params, ...(cursor === undefined ? {} : { cursor }) }),
  );
  return collectPages<string>({
    start,
    keyOf: String,
    fromOf: (cursor) => cursor,
    fetchPage: (cursor) => slackVendor.call(context, (client) => readPage(client, cursor)),
    maxPages,
    maxItems,
    deadlineAtMs: context.deadlineAtMs,
    minPageMs: context.config.timeoutMs,
  });
}

/** The pages of `client.paginate('conversations.list', ...)`, as {@link collectPages} reads them. */
async function* conversationPages(
  client: WebClient,
  options: ConversationsListArguments,
): AsyncGenerator<FetchedPage<string>> {
  // `paginate` takes `limit` out of the options it is given, and writes the cursor into them: a copy.
  for await (const result of client.paginate('conversations.list', { ...options })) {
    const page = result as ConversationsListResponse;
    const next = page.response_metadata?.next_cursor;
    yield { items: page.channels ?? [], next: next ? next : undefined };
  }
}

/** The `slack` connector kind. */
export const slackConnector = defineConnector<SlackConnectorConfig>({
  kind: 'slack',
  operations: () => ({
    postMessage: defineOperation({
      description:
        'Posts a message (text and/or Block Kit blocks, optionally a thread reply) to a Slack channel with chat.postMessage.',
      input: postMessageInput,
      output: postMessageOutput,
      async run(input, context) {
        const result = await slackVendor.call(context, (client) =>
          client.chat.postMessage(input as ChatPostMessageArguments),
        );
        return vendorObject(result) as z.output<typeof postMessageOutput>;
      },
    }),
    updateMessage: defineOperation({
      description: 'Updates the text and/or blocks of a Slack message with chat.update.',
      input: updateMessageInput,
      output: updateMessageOutput,
      async run(input, context) {
        const result = await slackVendor.call(context, (client) =>
          client.chat.update(input as ChatUpdateArguments),
        );
        return vendorObject(result) as z.output<typeof updateMessageOutput>;
      },
    }),
    conversationsList: defineOperation({
      description:
        'Lists channels and other conversations, page after page within maxPages, maxItems and the deadline, with conversations.list.',
      input: conversationsListInput,
      output: conversationsListOutput,
      run: (input, context) =>
        conversationsList(input, context) as Promise<z.output<typeof conversationsListOutput>>,
    }),
  }),
});
