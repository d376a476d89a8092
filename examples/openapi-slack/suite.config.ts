/**
 * An `openapi` connector from Slack's Web API description (Swagger 2.0): twelve methods a platform
 * team uses, from the trimmed copy in test/fixtures/slack/slack_web_openapi_v2.json (see its
 * SOURCE.md). README.md next to this file says how to call it; docs/connectors/openapi.md explains
 * the kind.
 */
import { defineSuite } from '../../functions/shared/config.js';
import { fromEnvironment } from '../../functions/shared/config-env.js';

export default defineSuite({
  connectors: [
    {
      name: 'slack-openapi',
      kind: 'openapi',
      // Relative to this file. Swagger 2.0: converted to OpenAPI 3.0 when the suite is loaded.
      spec: '../../test/fixtures/slack/slack_web_openapi_v2.json',
      operations: [
        'chat_postMessage',
        'chat_update',
        'chat_delete',
        'chat_getPermalink',
        'conversations_list',
        'conversations_info',
        'conversations_history',
        'conversations_create',
        'users_info',
        'users_list',
        'users_lookupByEmail',
        'reactions_add',
      ],
      // The description's server (https://slack.com/api) unless SLACK_OPENAPI_BASE_URL is set, e.g. to
      // the mock of `npm run mock -- --spec ...` (loopback http: `npm start` only).
      baseUrl: fromEnvironment('SLACK_OPENAPI_BASE_URL'),
      // Slack reads its token from `Authorization: Bearer`; the description's own `token` parameter is
      // the credential, so it is not part of any operation's input (docs/connectors/openapi.md).
      auth: { type: 'bearer', secret: 'slack-openapi' },
      // Slack allows about one message per second per channel (https://api.slack.com/apis/rate-limits).
      rateLimit: { requestsPerSecond: 1, burst: 5 },
      timeoutMs: 5_000,
    },
  ],
});
