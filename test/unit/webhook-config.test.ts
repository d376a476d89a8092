/**
 * The `webhook` setting of connector entries (functions/shared/config.ts): its defaults, the scheme
 * each kind implies, and what the schema refuses.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigValidationError,
  parseSuiteConfig,
  type SuiteConfig,
  webhookOf,
} from '../../functions/shared/config.js';

function parse(connectors: unknown[], extra: Record<string, unknown> = {}): SuiteConfig {
  return parseSuiteConfig({ connectors, ...extra }, 'test');
}

function issuesOf(connectors: unknown[]): readonly string[] {
  try {
    parse(connectors);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('the config was accepted');
}

const ORDERS = {
  name: 'orders',
  kind: 'http',
  baseUrl: 'https://orders.example.com',
  allowedPathPrefixes: ['/v1'],
};

describe('the webhook setting', () => {
  it("implies a vendor kind's own scheme and applies the defaults", () => {
    // Act
    const suite = parse([
      { name: 'shop', kind: 'stripe', secret: 'shop', webhook: { secret: 'shop-webhook' } },
    ]);

    // Assess
    expect(webhookOf(suite.connectors[0] as SuiteConfig['connectors'][number])).toEqual({
      scheme: 'stripe',
      secret: 'shop-webhook',
      toleranceSeconds: 300,
      dedupeWindowSeconds: 259_200,
    });
  });

  it('takes the Standard Webhooks scheme on an http connector, with its own tolerance and public URL', () => {
    // Act
    const suite = parse([
      {
        ...ORDERS,
        webhook: {
          scheme: 'standardWebhooks',
          secret: 'orders-webhook',
          toleranceSeconds: 60,
          publicUrl: 'https://hooks.example.com/orders',
        },
      },
    ]);

    // Assess
    expect(webhookOf(suite.connectors[0] as SuiteConfig['connectors'][number])).toMatchObject({
      scheme: 'standardWebhooks',
      toleranceSeconds: 60,
      publicUrl: 'https://hooks.example.com/orders',
    });
  });

  it('is absent unless set', () => {
    // Act
    const suite = parse([ORDERS, { name: 'shop', kind: 'stripe', secret: 'shop' }]);

    // Assess
    expect(suite.connectors.map((c) => webhookOf(c))).toEqual([undefined, undefined]);
  });

  it.each([
    [
      'an http connector without a scheme',
      { ...ORDERS, webhook: { secret: 'w' } },
      'connectors[0].webhook.scheme',
    ],
    [
      'a vendor scheme on an http connector',
      { ...ORDERS, webhook: { scheme: 'stripe', secret: 'w' } },
      'connectors[0].webhook.scheme',
    ],
    [
      'a zero tolerance',
      { name: 's', kind: 'stripe', secret: 's', webhook: { secret: 'w', toleranceSeconds: 0 } },
      'connectors[0].webhook.toleranceSeconds',
    ],
    [
      'an http public URL',
      {
        name: 's',
        kind: 'twilio',
        secret: 's',
        webhook: { secret: 'w', publicUrl: 'http://hooks.example.com/' },
      },
      'connectors[0].webhook.publicUrl',
    ],
    [
      'an unknown field',
      { name: 's', kind: 'slack', secret: 's', webhook: { secret: 'w', signingSecret: 'x' } },
      'connectors[0].webhook',
    ],
  ])('refuses %s, naming the field', (_label, connector, field) => {
    // Act
    const issues = issuesOf([connector]);

    // Assess
    expect(issues.some((issue) => issue.startsWith(`${field}:`))).toBe(true);
  });

  it('refuses a webhook secret whose resource id another secret already has', () => {
    // Act
    const issues = issuesOf([
      { name: 'shop', kind: 'stripe', secret: 'shop_webhook', webhook: { secret: 'shop-webhook' } },
    ]);

    // Assess
    expect(issues).toEqual([
      "connectors[0].webhook.secret: 'shop-webhook' and 'shop_webhook' would share the resource id ShopWebhook; rename one",
    ]);
  });

  it('counts a webhook secret as used by its connector when it is imported', () => {
    // Act
    const suite = parse(
      [{ name: 'shop', kind: 'stripe', secret: 'shop', webhook: { secret: 'shop-webhook' } }],
      {
        secrets: { 'shop-webhook': { name: 'prod/shop-webhook' } },
      },
    );

    // Assess
    expect(suite.secrets).toEqual({ 'shop-webhook': { name: 'prod/shop-webhook' } });
  });
});
