/**
 * Serves this app's suite through the local gateway, calls `weather`'s `forecast` once and prints
 * the answer as one JSON line: `npx tsx scripts/try-local.ts <weather base URL>`, e.g. a local
 * httpbin's `http://127.0.0.1:8080/anything`. The `weather` secret comes from the file named by
 * `LOCAL_SECRETS_FILE` (`{"weather": {"apiKey": "..."}}`).
 */
import { startLocalGateway } from 'connector-suite/local';
import { weatherKind } from '../connectors/weather/kind.js';
import { suite } from '../suite.js';

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error('usage: npx tsx scripts/try-local.ts <weather base URL>');
  process.exit(2);
}
const gateway = await startLocalGateway({ suite: suite(baseUrl), kinds: [weatherKind], port: 0 });
try {
  const response = await fetch(`${gateway.url}/v1/connectors/weather/forecast`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ city: 'Lyon' }),
  });
  process.stdout.write(`${JSON.stringify({ status: response.status, body: await response.json() })}\n`);
} finally {
  await gateway.close();
}
