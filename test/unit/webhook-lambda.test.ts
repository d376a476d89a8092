/**
 * The webhook function's AWS wiring (functions/webhooks/lambda.ts): its environment and the
 * EventBridge publisher, whose refused entry must fail the delivery (503) rather than lose it.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { WEBHOOK_EVENT_SOURCE, WEBHOOK_RECEIVED, type WebhookEvent } from '../../functions/webhooks/core.js';
import { EventBridgeWebhookPublisher, readWebhookEnvironment } from '../../functions/webhooks/lambda.js';

const ROUTES = [
  {
    connector: 'shop',
    webhook: {
      scheme: 'stripe',
      secret: 'shop-webhook',
      toleranceSeconds: 300,
      dedupeWindowSeconds: 259_200,
    },
  },
];

const EVENT: WebhookEvent = {
  detailType: WEBHOOK_RECEIVED,
  source: WEBHOOK_EVENT_SOURCE,
  detail: {
    connector: 'shop',
    vendor: 'stripe',
    eventType: 'customer.created',
    eventId: 'evt_1',
    payload: { id: 'evt_1' },
    receivedAt: '2026-01-02T03:04:05.000Z',
  },
};

function fakeClient(answer: unknown) {
  const sent: unknown[] = [];
  const client = {
    async send(command: { input: unknown }) {
      sent.push(command.input);
      return answer;
    },
  } as unknown as EventBridgeClient;
  return { client, sent };
}

describe('readWebhookEnvironment', () => {
  it('reads the routes, secret ids, table and bus', () => {
    // Prepare
    const env = {
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      WEBHOOK_SECRET_IDS: JSON.stringify({
        'shop-webhook': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-webhook-AbCdEf',
      }),
      IDEMPOTENCY_TABLE_NAME: 'table',
      EVENT_BUS_NAME: 'bus',
    };

    // Act
    const read = readWebhookEnvironment(env);

    // Assess
    expect(read).toMatchObject({
      routes: ROUTES,
      idempotencyTableName: 'table',
      eventBusName: 'bus',
      secretMaxAgeSeconds: 300,
    });
    expect(read.secretIds['shop-webhook']).toContain('shop-webhook');
  });

  it.each([
    ['WEBHOOK_ROUTES', { WEBHOOK_ROUTES: '[{"connector":1}]' }],
    ['WEBHOOK_ROUTES', { WEBHOOK_ROUTES: 'not json' }],
    ['EVENT_BUS_NAME', { EVENT_BUS_NAME: '' }],
  ])('throws CONFIGURATION_ERROR naming %s', (variable, broken) => {
    // Prepare
    const env = {
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      WEBHOOK_SECRET_IDS: '{}',
      IDEMPOTENCY_TABLE_NAME: 'table',
      EVENT_BUS_NAME: 'bus',
      ...broken,
    };

    // Act
    let thrown: unknown;
    try {
      readWebhookEnvironment(env);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as ConnectorError).code).toBe('CONFIGURATION_ERROR');
    expect((thrown as ConnectorError).message).toContain(variable);
  });
});

describe('EventBridgeWebhookPublisher', () => {
  it('puts one Webhook Received entry on the bus', async () => {
    // Prepare
    const { client, sent } = fakeClient({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    await new EventBridgeWebhookPublisher(client, 'suite-bus').publish(EVENT);

    // Assess
    expect(sent).toEqual([
      {
        Entries: [
          {
            EventBusName: 'suite-bus',
            Source: 'connector-suite.webhooks',
            DetailType: 'Webhook Received',
            Detail: JSON.stringify(EVENT.detail),
          },
        ],
      },
    ]);
  });

  it('throws when PutEvents refuses the entry', async () => {
    // Prepare
    const { client } = fakeClient({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });

    // Act
    const publishing = new EventBridgeWebhookPublisher(client, 'suite-bus').publish(EVENT);

    // Assess
    await expect(publishing).rejects.toThrow(/InternalFailure/);
  });
});
