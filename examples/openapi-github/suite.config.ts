/**
 * An `openapi` connector from GitHub's REST API description (OpenAPI 3.0.3): thirteen operations a
 * platform team uses, from the trimmed copy in test/fixtures/github/api.github.com.openapi.json (see
 * test/fixtures/github/SOURCE.md). README.md next to this file says how to call it;
 * docs/connectors/openapi.md explains the kind.
 */
import { defineSuite } from '../../functions/shared/config.js';
import { fromEnvironment } from '../../functions/shared/config-env.js';

export default defineSuite({
  connectors: [
    {
      name: 'github-openapi',
      kind: 'openapi',
      // Relative to this file.
      spec: '../../test/fixtures/github/api.github.com.openapi.json',
      operations: [
        'issues/get',
        'issues/list-for-repo',
        'issues/create',
        'issues/update',
        'issues/create-comment',
        'issues/list-labels-for-repo',
        'pulls/get',
        'pulls/list',
        'pulls/create',
        'repos/get',
        'repos/list-releases',
        'actions/create-workflow-dispatch',
        'users/get-authenticated',
      ],
      // The description's server (https://api.github.com) unless GITHUB_OPENAPI_BASE_URL is set, e.g.
      // to the mock of `npm run mock -- --spec ...` (loopback http: `npm start` only).
      baseUrl: fromEnvironment('GITHUB_OPENAPI_BASE_URL'),
      // GitHub's description declares no security scheme; its docs take `Authorization: Bearer <token>`
      // (https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api).
      auth: { type: 'bearer', secret: 'github-openapi' },
      timeoutMs: 5_000,
    },
  ],
});
