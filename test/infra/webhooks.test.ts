/**
 * The webhook route in the stack (lib/constructs/connector-webhooks.ts): `POST /v1/webhooks/{connector}`
 * without authorization (the connector routes keep theirs), its function, a role that may put
 * events on the suite's bus only and read the webhook secrets only, and no unacknowledged cdk-nag
 * finding. One synthesized template is shared by the tests that read it, one nag run by the nag test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  FIRST_SYNTH_TIMEOUT_MS,
  httpConnector,
  removeOutdirs,
  synthSuite,
  synthWithNag,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';
import {
  actionsOf,
  apiMethods,
  environmentOf,
  literalStrings,
  resourcesOf,
  resourcesOfType,
  roleOf,
  statementsOfRole,
} from '../support/infra-template.js';

afterAll(removeOutdirs);

/** The two-connector fixture plus a Stripe connector and an http connector that receive webhooks. */
function webhookSuite(): Record<string, unknown> {
  const config = twoConnectorsConfig();
  return {
    ...config,
    connectors: [
      ...config.connectors,
      { name: 'shop', kind: 'stripe', secret: 'shop', webhook: { secret: 'shop-webhook' } },
      httpConnector('orders', {
        webhook: { scheme: 'standardWebhooks', secret: 'orders-webhook', toleranceSeconds: 120 },
      }),
    ],
  };
}

const WEBHOOK_PATH = '/v1/webhooks/{connector}';

/** The template of {@link webhookSuite}, synthesized once for every test of this file. */
let shared: ReturnType<typeof synthSuite> | undefined;
function template() {
  shared ??= synthSuite(webhookSuite());
  return shared;
}

/** The webhook function, as `[logicalId, resource]`. */
function webhookFunction() {
  const { json } = template();
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(
    ([, fn]) => environmentOf(fn).WEBHOOK_ROUTES !== undefined,
  );
  expect(found).toHaveLength(1);
  return found[0] as (typeof found)[number];
}

describe('the webhook route', () => {
  it(
    'is POST /v1/webhooks/{connector}, the only method without authorization',
    () => {
      // Prepare
      const { json } = template();

      // Act
      const methods = apiMethods(json);
      const webhook = methods.filter((m) => m.path === WEBHOOK_PATH);
      const others = methods.filter((m) => m.path !== WEBHOOK_PATH && m.httpMethod !== 'OPTIONS');

      // Assess
      expect(webhook.map((m) => m.httpMethod)).toEqual(['POST']);
      expect(webhook[0]?.properties.AuthorizationType).toBe('NONE');
      expect(webhook[0]?.properties.ApiKeyRequired).not.toBe(true);
      expect(others.length).toBeGreaterThan(0);
      for (const method of others) expect(method.properties.AuthorizationType).toBe('AWS_IAM');
    },
    FIRST_SYNTH_TIMEOUT_MS,
  );

  it('routes to one function that knows both connectors and their secrets', () => {
    // Prepare
    const [, fn] = webhookFunction();

    // Act
    const environment = environmentOf(fn);
    const routes = JSON.parse(String(environment.WEBHOOK_ROUTES)) as Array<{
      connector: string;
      webhook: { scheme: string; secret: string; toleranceSeconds: number };
    }>;

    // Assess
    expect(routes).toEqual([
      {
        connector: 'shop',
        webhook: expect.objectContaining({ scheme: 'stripe', secret: 'shop-webhook', toleranceSeconds: 300 }),
      },
      {
        connector: 'orders',
        webhook: expect.objectContaining({
          scheme: 'standardWebhooks',
          secret: 'orders-webhook',
          toleranceSeconds: 120,
        }),
      },
    ]);
    expect(environment).toHaveProperty('IDEMPOTENCY_TABLE_NAME');
    expect(environment).toHaveProperty('EVENT_BUS_NAME');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('may PutEvents on the suite bus only, and read the webhook secrets only', () => {
    // Prepare
    const { json } = template();
    const [, fn] = webhookFunction();

    // Act
    const statements = statementsOfRole(json, roleOf(fn));
    const putEvents = statements.filter((s) => actionsOf(s).includes('events:PutEvents'));
    const secrets = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    const [busId] = resourcesOfType(json, 'AWS::Events::EventBus').map(([id]) => id);

    // Assess
    expect(putEvents).toHaveLength(1);
    expect(actionsOf(putEvents[0] as (typeof putEvents)[number])).toEqual(['events:PutEvents']);
    expect(resourcesOf(putEvents[0] as (typeof putEvents)[number])).toEqual([
      { 'Fn::GetAtt': [busId, 'Arn'] },
    ]);
    expect(secrets).toHaveLength(1);
    const secretRefs = JSON.stringify(resourcesOf(secrets[0] as (typeof secrets)[number]));
    expect(secretRefs).toMatch(/ShopWebhook/);
    expect(secretRefs).toMatch(/OrdersWebhook/);
    // Not the connectors' own credentials.
    expect(secretRefs).not.toMatch(/SecretShop[^W]/);
    expect(literalStrings(statements.map((s) => s.Action))).not.toContain('events:*');
  });

  it('outputs the URL to give the vendor and the name of the signing secrets, per connector', () => {
    // Prepare
    const { json } = template();

    // Act
    const outputs = Object.keys(json.Outputs ?? {}).filter((name) => name.includes('Webhook'));
    const url = JSON.stringify(
      Object.entries(json.Outputs ?? {}).find(([name]) => name.endsWith('ShopWebhookUrl'))?.[1].Value,
    );

    // Assess
    expect(outputs.map((name) => name.replace(/^.*?(Shop|Orders)/, '$1')).sort()).toEqual([
      'OrdersWebhookSigningSecret',
      'OrdersWebhookUrl',
      'ShopWebhookSigningSecret',
      'ShopWebhookUrl',
    ]);
    expect(url).toContain('v1/webhooks/shop');
  });
});

describe('the webhook secrets', () => {
  it("are created holding '{}' and described as webhook signing secrets", () => {
    // Prepare
    const { json } = template();

    // Act
    const secrets = resourcesOfType(json, 'AWS::SecretsManager::Secret').filter(([id]) => /Webhook/.test(id));

    // Assess
    expect(secrets).toHaveLength(2);
    for (const [, secret] of secrets) {
      expect(secret.Properties.SecretString).toBe('{}');
      expect(String(secret.Properties.Description)).toContain('webhook signing secrets');
    }
  });
});

describe('the webhook route on the dashboard', () => {
  it('has an alarm on its Lambda errors and a Webhooks section on the dashboard', () => {
    // Prepare
    const { json } = template();
    const [functionId] = webhookFunction();

    // Act
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      JSON.stringify(alarm.Properties.Dimensions ?? []).includes(functionId),
    );
    const dashboards = resourcesOfType(json, 'AWS::CloudWatch::Dashboard').map(([, d]) =>
      JSON.stringify(d.Properties.DashboardBody),
    );

    // Assess
    expect(alarms.map(([, alarm]) => alarm.Properties.MetricName)).toEqual(['Errors']);
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]).toContain('## Webhooks');
    expect(dashboards[0]).toContain('WebhooksRefused');
  });
});

describe('a suite without webhooks', () => {
  it('has no webhook route and no webhook function', () => {
    // Prepare
    const { json } = synthSuite(twoConnectorsConfig());

    // Act
    const paths = apiMethods(json).map((m) => m.path);
    const functions = resourcesOfType(json, 'AWS::Lambda::Function').filter(
      ([, fn]) => environmentOf(fn).WEBHOOK_ROUTES !== undefined,
    );

    // Assess
    expect(paths).not.toContain(WEBHOOK_PATH);
    expect(functions).toHaveLength(0);
  });
});

describe('cdk-nag', () => {
  it(
    'leaves no unacknowledged finding on a suite with webhooks',
    () => {
      // Act
      const run = synthWithNag(webhookSuite());

      // Assess
      expect(run.findings).toEqual([]);
      expect(run.synthError).toBeUndefined();
    },
    FIRST_SYNTH_TIMEOUT_MS,
  );
});
