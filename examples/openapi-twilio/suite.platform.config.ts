/**
 * An `openapi` connector from Twilio's 2010-04-01 API description (OpenAPI 3.0.1) with twelve
 * operations a platform team uses (Messages, Calls, the Account and its balance, phone numbers), from
 * the trimmed copy in test/fixtures/twilio/api_v2010.openapi.json (see test/fixtures/twilio/SOURCE.md).
 * `suite.config.json` next to this file is the three-operation suite of the five-minute guide;
 * README.md says how to call either; docs/connectors/openapi.md explains the kind.
 */
import { defineSuite } from '../../functions/shared/config.js';
import { fromEnvironment } from '../../functions/shared/config-env.js';

export default defineSuite({
  connectors: [
    {
      name: 'twilio-openapi',
      kind: 'openapi',
      // Relative to this file.
      spec: '../../test/fixtures/twilio/api_v2010.openapi.json',
      operations: [
        'CreateMessage',
        'ListMessage',
        'FetchMessage',
        'UpdateMessage',
        'DeleteMessage',
        'CreateCall',
        'ListCall',
        'FetchCall',
        'UpdateCall',
        'FetchAccount',
        'FetchBalance',
        'ListIncomingPhoneNumber',
      ],
      // The description's server (https://api.twilio.com) unless TWILIO_OPENAPI_BASE_URL is set, e.g.
      // to the mock of `npm run mock -- --spec ...` (loopback http: `npm start` only).
      baseUrl: fromEnvironment('TWILIO_OPENAPI_BASE_URL'),
      // HTTP basic with the Account SID and Auth Token, as the description's `accountSid_authToken` says.
      auth: { type: 'basic', secret: 'twilio-openapi' },
      timeoutMs: 5_000,
    },
  ],
});
