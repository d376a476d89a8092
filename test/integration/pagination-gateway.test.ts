/**
 * Issue 12, deliverable 3, as a user tries it under `npm start`: through the local gateway, the
 * `http` connector's `request` with `paginate` reads the sandbox's example list (the echo stand-in's
 * `/pages/link`) over 5 pages whole within `maxPages`, and Stripe's `listCustomers` reads the Stripe
 * stand-in's 5 pages of customers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/gateway.js';
import { ECHO_LIST_TOTAL, startEchoStandIn } from '../../local/stand-ins/echo.js';
import type { VendorMock } from '../../local/stand-ins/server.js';
import { STRIPE_MOCK_LISTED_CUSTOMERS, startStripeMock } from '../../local/stand-ins/stripe.js';
import {
  type CapturedOutput,
  captureOutput,
  EXAMPLE_TOKEN,
  suiteConfig,
  type TempSecrets,
  writeTempSecrets,
} from '../support/integration-helpers.js';

/** The success envelope of a paginated answer. */
interface Envelope<T> {
  data?: T;
  error?: { code: string; message: string };
}

interface Paged {
  status?: number;
  items: Array<{ id: number | string }>;
  pages: number;
  complete: boolean;
  stoppedBy?: string;
  next?: { from?: string | number; skip?: number };
}

let output: CapturedOutput;
let echo: VendorMock;
let stripe: VendorMock;
let secrets: TempSecrets;
let gateway: LocalGateway;

beforeAll(async () => {
  output = captureOutput();
  [echo, stripe] = await Promise.all([startEchoStandIn(), startStripeMock()]);
  secrets = await writeTempSecrets({
    lists: { token: EXAMPLE_TOKEN },
    stripe: { apiKey: 'sk_test_example_0001' },
  });
  const config = suiteConfig({
    connectors: [
      {
        name: 'lists',
        kind: 'http',
        baseUrl: echo.url,
        auth: { type: 'bearer', secret: 'lists' },
        allowedPathPrefixes: ['/pages'],
        timeoutMs: 20_000,
      },
      { name: 'stripe', kind: 'stripe', secret: 'stripe', baseUrl: stripe.url, timeoutMs: 20_000 },
    ],
  });
  gateway = await startLocalGateway({ config, credentials: secrets.store, port: 0 });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([echo?.close(), stripe?.close()]);
  await secrets?.cleanup();
  output?.restore();
});

/** What `curl -X POST $URL/v1/connectors/{connector}/{operation} -d '{...}'` does. */
async function call(
  connector: string,
  operation: string,
  body: unknown,
): Promise<{ status: number; body: Envelope<Paged> }> {
  const response = await fetch(`${gateway.url}/v1/connectors/${connector}/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Envelope<Paged> };
}

describe('pagination through the local gateway', () => {
  it('request with paginate reads a 5-page Link list whole within maxPages', async () => {
    // Act
    const { status, body } = await call('lists', 'request', {
      method: 'GET',
      path: '/pages/link',
      paginate: { style: 'link', itemsPath: 'items', sizeParam: 'per_page', pageSize: 5, maxPages: 5 },
    });

    // Assess
    expect(status).toBe(200);
    expect(body.data).toMatchObject({ status: 200, pages: 5, complete: true });
    expect(body.data?.items.map((item) => item.id)).toEqual(
      Array.from({ length: ECHO_LIST_TOTAL }, (_, i) => i + 1),
    );
    expect(echo.requests.filter((request) => request.path.startsWith('/pages/link'))).toHaveLength(5);
    expect(JSON.stringify(body)).not.toContain(EXAMPLE_TOKEN);
  });

  it('Stripe listCustomers reads the stand-in 5 pages whole, and a maxPages stop resumes', async () => {
    // Act
    const whole = await call('stripe', 'listCustomers', { limit: 10, maxPages: 5 });
    const first = await call('stripe', 'listCustomers', { limit: 10, maxPages: 2 });
    const rest = await call('stripe', 'listCustomers', { limit: 10, start: first.body.data?.next });

    // Assess
    expect(whole.status).toBe(200);
    expect(whole.body.data).toMatchObject({ pages: 5, complete: true });
    expect(whole.body.data?.items).toHaveLength(STRIPE_MOCK_LISTED_CUSTOMERS);
    expect(first.body.data).toMatchObject({ pages: 2, complete: false, stoppedBy: 'maxPages' });
    expect(
      [...(first.body.data?.items ?? []), ...(rest.body.data?.items ?? [])].map((item) => item.id),
    ).toEqual(whole.body.data?.items.map((item) => item.id));
  });
});
