/**
 * Micro-benchmarks of redaction (`npx vitest bench --run test/bench`): the cost of scrubbing
 * registered secrets from a body. The project's benchmark of whole calls is `npm run bench`
 * (scripts/bench.ts).
 */
import { test } from 'vitest';
import { Redactor } from '../../functions/shared/redaction.js';

const redactor = new Redactor();
for (let i = 0; i < 20; i++) redactor.addSecret(`fake-secret-value-${i}-example`);
const body = JSON.stringify({
  items: Array.from({ length: 200 }, (_, i) => ({ id: i, note: `fake-secret-value-${i % 25}-example` })),
});

test('redaction', async ({ bench }) => {
  await bench('redactString: 20 secrets over a 12 kB body', () => {
    redactor.redactString(body);
  }).run();
  await bench('redact: nested object', () => {
    redactor.redact({ headers: { authorization: 'Bearer x' }, body });
  }).run();
});
