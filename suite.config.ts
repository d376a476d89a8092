/**
 * The connectors of this deployment: the one source of truth for `cdk deploy` and `npm start`
 * (DESIGN §6). `SUITE_CONFIG` may name another `.ts`, `.js` or `.json` file with the same shape.
 */
import { defineSuite } from './functions/shared/config.js';
import { fromEnvironment } from './functions/shared/config-env.js';

export default defineSuite({
  connectors: [
    {
      name: 'httpbin',
      kind: 'http',
      // `npm start` serves https://httpbin.org from a local echo service unless HTTPBIN_URL is set (docs/local-mode.md);
      // loopback http is accepted by `npm start` only (read through fromEnvironment, so that `cdk synth`
      // names the variable when it rejects the URL).
      baseUrl: fromEnvironment('HTTPBIN_URL') || 'https://httpbin.org',
      auth: { type: 'bearer', secret: 'httpbin' },
      allowedMethods: ['GET', 'POST'],
      allowedPathPrefixes: [
        '/anything',
        '/status',
        '/delay',
        '/bearer',
        '/uuid',
        '/headers',
        '/get',
        '/post',
        '/response-headers',
        // The sandbox's example list, to try `paginate` (docs/connectors.md#pagination); not on httpbin.org.
        '/pages',
      ],
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 },
      circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 10, windowSeconds: 60, openSeconds: 30 },
      rateLimit: { requestsPerSecond: 50, burst: 100 },
      cacheTtlSeconds: 0,
      forwardIdempotencyKey: true,
      // Receives Standard Webhooks deliveries at POST /v1/webhooks/httpbin (docs/webhooks.md).
      webhook: { scheme: 'standardWebhooks', secret: 'httpbin-webhook' },
    },
    // One connector of each vendor kind. `npm start` serves them from local stand-ins with example
    // secrets unless their base-URL variable is set or LIVE=1 (docs/local-mode.md#the-sandbox); live,
    // they read their secrets from local/secrets.json (or Secrets Manager after deploy). Each base
    // URL can point at a mock or another installation (see docs/connectors/). Each also receives its
    // vendor's signed webhooks at POST /v1/webhooks/{name}, put on the bus as `Webhook Received`
    // (docs/webhooks.md); the sandbox signs with the example secrets of local/secrets.example.json.
    {
      name: 'stripe',
      kind: 'stripe',
      secret: 'stripe',
      webhook: { secret: 'stripe-webhook' },
      ...baseUrlFrom('STRIPE_BASE_URL'),
    },
    {
      name: 'slack',
      kind: 'slack',
      secret: 'slack',
      webhook: { secret: 'slack-webhook' },
      ...baseUrlFrom('SLACK_BASE_URL'),
    },
    {
      name: 'github',
      kind: 'github',
      secret: 'github',
      webhook: { secret: 'github-webhook' },
      ...baseUrlFrom('GITHUB_BASE_URL'),
    },
    {
      name: 'twilio',
      kind: 'twilio',
      secret: 'twilio',
      webhook: { secret: 'twilio-webhook' },
      ...baseUrlFrom('TWILIO_BASE_URL'),
    },
  ],
});

/** `{baseUrl}` from an environment variable when it is set; otherwise the vendor's own API. */
function baseUrlFrom(variable: string): { baseUrl?: string } {
  const value = fromEnvironment(variable);
  return value ? { baseUrl: value } : {};
}
