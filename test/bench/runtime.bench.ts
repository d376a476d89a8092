/**
 * `npm run bench`: what the runtime adds to each call, measured without a network (a fake fetch),
 * so changes to the policies' glue show up as numbers rather than as timed test assertions.
 */
import { test } from 'vitest';
import { httpConnector } from '../../functions/http/connector.js';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import type { CredentialStore } from '../../functions/shared/credentials/store.js';
import { createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';

// EMF lines would drown the table; the metrics code still runs, only its output is off.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const redactor = new Redactor();
for (let i = 0; i < 20; i++) redactor.addSecret(`fake-secret-value-${i}-example`);
const body = JSON.stringify({
  items: Array.from({ length: 200 }, (_, i) => ({ id: i, note: `fake-secret-value-${i % 25}-example` })),
});

const credentials: CredentialStore = { getSecret: async () => ({ token: 'tok-example' }) };
const config = parseConnectorConfig(
  {
    name: 'bench',
    kind: 'http',
    baseUrl: 'https://api.example.com',
    auth: { type: 'bearer', secret: 'bench' },
    allowedPathPrefixes: ['/items'],
    rateLimit: { requestsPerSecond: 1e9, burst: 1e9 },
  },
  'bench',
);
const powertools = createPowertools({ serviceName: 'bench', redactor });
powertools.logger.setLogLevel('SILENT');
const handler = httpConnector.createHandler({
  config,
  credentials,
  redactor,
  powertools,
  fetch: async () =>
    new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } }),
});
const event = {
  body: JSON.stringify({ method: 'GET', path: '/items/1', query: { limit: 10 } }),
  headers: {},
  pathParameters: { connector: 'bench', operation: 'request' },
  requestContext: { requestId: 'bench-request' },
} as unknown as Parameters<typeof handler>[0];
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 29_000 } as unknown as Parameters<
  typeof handler
>[1];

test('redaction', async ({ bench }) => {
  await bench('redactString: 20 secrets over a 12 kB body', () => {
    redactor.redactString(body);
  }).run();
  await bench('redact: nested object', () => {
    redactor.redact({ headers: { authorization: 'Bearer x' }, body });
  }).run();
});

test('handler', async ({ bench }) => {
  await bench('one GET through every policy (fake upstream)', async () => {
    await handler(event, context);
  }).run();
});
