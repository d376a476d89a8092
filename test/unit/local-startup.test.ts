/**
 * What `npm start` says at startup: the `PORT` and argument checks, the secrets check with each
 * secret's expected shape, and the startup block.
 */
import { describe, expect, it } from 'vitest';
import { githubVendor } from '../../functions/github/connector.js';
import { parseSuiteConfig, type SuiteConfig } from '../../functions/shared/config.js';
import type { CredentialStore, SecretValue } from '../../functions/shared/credentials/store.js';
import { configurationError } from '../../functions/shared/errors.js';
import { slackVendor } from '../../functions/slack/connector.js';
import { stripeVendor } from '../../functions/stripe/connector.js';
import { twilioVendor } from '../../functions/twilio/connector.js';
import {
  checkSecrets,
  DEFAULT_PORT,
  parsePort,
  parseStartArguments,
  StartupError,
  startupBlock,
  VENDOR_SECRET_SHAPES,
} from '../../local/startup.js';

/** An obviously fake secret value, that no output may show. */
const FAKE_TOKEN = 'tok-example';

/** A credential store over an object, answering as the local file store does for a missing secret. */
function storeOf(secrets: Record<string, SecretValue>): CredentialStore {
  return {
    async getSecret(name) {
      const value = secrets[name];
      if (value === undefined) throw configurationError(`Secret '${name}' not found in the test store.`);
      return value;
    },
  };
}

/** The default suite's shape: one bearer http connector and the four vendors. */
function suite(): SuiteConfig {
  return parseSuiteConfig(
    {
      connectors: [
        {
          name: 'httpbin',
          kind: 'http',
          baseUrl: 'http://127.0.0.1:8099',
          auth: { type: 'bearer', secret: 'httpbin' },
          allowedPathPrefixes: ['/anything'],
        },
        { name: 'open', kind: 'http', baseUrl: 'https://open.example.com', allowedPathPrefixes: ['/'] },
        { name: 'stripe', kind: 'stripe', secret: 'stripe' },
        { name: 'slack', kind: 'slack', secret: 'slack' },
        { name: 'github', kind: 'github', secret: 'github' },
        { name: 'twilio', kind: 'twilio', secret: 'twilio' },
      ],
    },
    'suite.json',
    { allowLoopbackHttp: true },
  );
}

describe('parsePort', () => {
  it.each([
    [undefined, DEFAULT_PORT],
    ['', DEFAULT_PORT],
    ['0', 0],
    ['3000', 3000],
    [' 8080 ', 8080],
    ['65535', 65_535],
  ])('reads %j as %i', (value, expected) => {
    expect(parsePort(value)).toBe(expected);
  });

  it.each(['abc', '3000x', '-1', '65536', '1.5', '0x10', '1e3'])('names PORT and the value %j', (value) => {
    expect(() => parsePort(value)).toThrow(StartupError);
    expect(() => parsePort(value)).toThrow(
      `PORT must be an integer from 0 to 65535 (0 picks a free port), not "${value}".`,
    );
  });
});

describe('parseStartArguments', () => {
  it('reads --help and -h, and nothing as no help', () => {
    expect(parseStartArguments(['--help'])).toEqual({ help: true, reset: false });
    expect(parseStartArguments(['-h'])).toEqual({ help: true, reset: false });
    expect(parseStartArguments([])).toEqual({ help: false, reset: false });
    expect(parseStartArguments(['--reset'])).toEqual({ help: false, reset: true });
  });

  it('names an unknown option', () => {
    expect(() => parseStartArguments(['--prot=3000'])).toThrow("Unknown option '--prot=3000'");
  });
});

describe('VENDOR_SECRET_SHAPES', () => {
  it.each([
    ['stripe', stripeVendor],
    ['slack', slackVendor],
    ['github', githubVendor],
    ['twilio', twilioVendor],
  ] as const)('lists exactly the fields the %s vendor schema requires', (kind, vendor) => {
    // Act
    let message = '';
    try {
      vendor.parseSecret({}, 'probe');
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    const required = [...message.matchAll(/field '([^']+)'/g)].map((m) => m[1]);
    expect(required.sort()).toEqual(Object.keys(VENDOR_SECRET_SHAPES[kind]).sort());
  });
});

describe('checkSecrets', () => {
  it('lists each connector whose secret is missing or lacks a field, with the shape, in order', async () => {
    // Prepare
    const store = storeOf({
      httpbin: { token: FAKE_TOKEN },
      stripe: { apiKey: FAKE_TOKEN },
      twilio: { accountSid: 'AC-example', authToken: ' ' },
    });

    // Act
    const problems = await checkSecrets(suite(), store);

    // Assess
    expect(problems).toEqual([
      {
        connector: 'slack',
        secret: 'slack',
        reason: "Secret 'slack' not found in the test store.",
        expected: '{"token": "xoxb-..."}',
      },
      {
        connector: 'github',
        secret: 'github',
        reason: "Secret 'github' not found in the test store.",
        expected: '{"token": "..."}',
      },
      {
        connector: 'twilio',
        secret: 'twilio',
        reason: "Secret 'twilio' has no non-empty string field 'authToken'.",
        expected: '{"accountSid": "AC...", "authToken": "..."}',
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain(FAKE_TOKEN);
  });

  it('gives the fields of each http auth type', async () => {
    // Prepare
    const config = parseSuiteConfig(
      {
        connectors: ['apiKey', 'basic', 'oauth2ClientCredentials'].map((type, i) => ({
          name: `c${i}`,
          kind: 'http',
          baseUrl: 'https://api.example.com',
          allowedPathPrefixes: ['/'],
          auth:
            type === 'apiKey'
              ? { type, in: 'header', name: 'X-Api-Key', secret: `s${i}` }
              : type === 'basic'
                ? { type, secret: `s${i}` }
                : { type, tokenUrl: 'https://auth.example.com/token', secret: `s${i}` },
        })),
      },
      'suite.json',
    );

    // Act
    const problems = await checkSecrets(config, storeOf({}));

    // Assess
    expect(problems.map((p) => p.expected)).toEqual([
      '{"apiKey": "..."}',
      '{"username": "...", "password": "..."}',
      '{"clientId": "...", "clientSecret": "..."}',
    ]);
  });

  it("lists a webhook's signing secret that is missing or has no signingSecret, after the connector's own", async () => {
    // Prepare
    const config = parseSuiteConfig(
      {
        connectors: [
          { name: 'shop', kind: 'stripe', secret: 'shop', webhook: { secret: 'shop-webhook' } },
          { name: 'code', kind: 'github', secret: 'code', webhook: { secret: 'code-webhook' } },
        ],
      },
      'suite.json',
    );
    const store = storeOf({
      shop: { apiKey: FAKE_TOKEN },
      code: { token: FAKE_TOKEN },
      'code-webhook': { previousSigningSecret: FAKE_TOKEN },
    });

    // Act
    const problems = await checkSecrets(config, store);

    // Assess
    expect(problems).toEqual([
      {
        connector: 'shop',
        secret: 'shop-webhook',
        reason: "Secret 'shop-webhook' not found in the test store.",
        expected: '{"signingSecret": "..."}',
      },
      {
        connector: 'code',
        secret: 'code-webhook',
        reason: "Secret 'code-webhook' has no non-empty string field 'signingSecret'.",
        expected: '{"signingSecret": "..."}',
      },
    ]);
  });

  it('is empty when every secret is there', async () => {
    const store = storeOf({
      httpbin: { token: FAKE_TOKEN },
      stripe: { apiKey: FAKE_TOKEN },
      slack: { token: FAKE_TOKEN },
      github: { token: FAKE_TOKEN },
      twilio: { accountSid: 'AC-example', authToken: FAKE_TOKEN },
    });
    expect(await checkSecrets(suite(), store)).toEqual([]);
  });
});

describe('startupBlock', () => {
  const url = 'http://127.0.0.1:3000';

  it('starts with the URL, then each connector route, kind and base URL, and the asynchronous routes', () => {
    // Act
    const block = startupBlock({ url, config: suite() });
    const lines = block.split('\n');

    // Assess
    expect(lines[0]).toBe(`Connector Suite local gateway listening on ${url}`);
    expect(lines).toContain(
      `  httpbin  POST ${url}/v1/connectors/httpbin/{operation}  (http, http://127.0.0.1:8099)`,
    );
    expect(lines).toContain(
      `  stripe   POST ${url}/v1/connectors/stripe/{operation}  (stripe, https://api.stripe.com)`,
    );
    expect(lines).toContain(`  publish       POST ${url}/v1/events`);
    expect(lines).toContain(`  redrive       POST ${url}/v1/dead-letters/redrive[?connector=NAME]`);
    expect(block).not.toContain('AWS endpoints');
    expect(block).not.toContain('Missing secrets');
    expect(block).not.toMatch(/^\{/m);
  });

  it('lists the webhook routes of the connectors that have one, and none otherwise', () => {
    // Prepare
    const config = suite();
    const withWebhook = {
      ...config,
      connectors: config.connectors.map((c) =>
        c.kind === 'stripe'
          ? {
              ...c,
              webhook: { secret: 'stripe-webhook', toleranceSeconds: 300, dedupeWindowSeconds: 259_200 },
            }
          : c,
      ),
    } as SuiteConfig;

    // Act
    const lines = startupBlock({ url, config: withWebhook }).split('\n');
    const without = startupBlock({ url, config });

    // Assess
    expect(lines).toContain('Webhooks (docs/webhooks.md):');
    expect(lines).toContain(`  stripe    POST ${url}/v1/webhooks/stripe  (stripe)`);
    expect(lines).toContain(`  received  GET  ${url}/v1/webhooks[?connector=NAME]`);
    expect(without).not.toContain('/v1/webhooks');
  });

  it('prints an aws --endpoint-url example for each endpoint present, and nothing for one absent', () => {
    // Act
    const block = startupBlock({
      url,
      config: suite(),
      endpoints: { eventBridge: `${url}/aws/events`, dynamoDB: 'http://127.0.0.1:8000' },
    });

    // Assess
    expect(block).toContain('AWS endpoints:');
    expect(block).toContain(
      `aws events put-events --endpoint-url ${url}/aws/events --entries file://entries.json`,
    );
    expect(block).toContain('aws dynamodb list-tables --endpoint-url http://127.0.0.1:8000');
    expect(block).not.toContain('aws sqs');
  });

  it('names the secrets file and each missing secret with the entry to add', () => {
    // Act
    const block = startupBlock({
      url,
      config: suite(),
      secrets: { file: '/repo/local/secrets.example.json', example: true },
      secretProblems: [
        {
          connector: 'stripe',
          secret: 'stripe',
          reason: "Secret 'stripe' not found.",
          expected: '{"apiKey": "sk_test_..."}',
        },
      ],
    });

    // Assess
    expect(block).toContain('Secrets: /repo/local/secrets.example.json (the committed example;');
    expect(block).toContain(
      '  stripe  Secret \'stripe\' not found.\n          add: "stripe": {"apiKey": "sk_test_..."}',
    );
  });
});
