/**
 * `npm run mock -- VENDOR [--port N]`: starts the mock of a vendor (stripe, slack, github, twilio)
 * that the contract tests use, built from the vendor's own API description in `test/fixtures/`, so
 * that a connector can be tried by hand under `npm start`:
 *
 * ```sh
 * npm run mock -- stripe --port 4010 &
 * STRIPE_BASE_URL=http://127.0.0.1:4010 npm start
 * ```
 *
 * Each mock's file (`test/support/mocks/VENDOR.ts`) lists the magic input values that make it
 * answer each described error. Ctrl-C stops it.
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** The vendors with a mock, and the function that starts it. */
export const MOCKS = {
  stripe: { module: '../test/support/mocks/stripe.js', start: 'startStripeMock' },
  slack: { module: '../test/support/mocks/slack.js', start: 'startSlackMock' },
  github: { module: '../test/support/mocks/github.js', start: 'startGithubMock' },
  twilio: { module: '../test/support/mocks/twilio.js', start: 'startTwilioMock' },
} as const;

type Vendor = keyof typeof MOCKS;

interface RunningMock {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the mock named in `argv`.
 * @returns the exit code: 0 once stopped, 2 for a usage error
 */
export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string', default: '4010' }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const vendor = positionals[0];
  const port = Number(values.port);
  if (values.help || !vendor || !(vendor in MOCKS) || !Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`Usage: npm run mock -- ${Object.keys(MOCKS).join('|')} [--port N]`);
    return 2;
  }
  const { module, start } = MOCKS[vendor as Vendor];
  const loaded = (await import(module)) as Record<
    string,
    (options: { port: number }) => Promise<RunningMock>
  >;
  const startMock = loaded[start];
  if (!startMock) throw new Error(`${module} does not export ${start}`);
  const mock = await startMock({ port });
  console.error(`${vendor} mock listening on ${mock.url} (Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await mock.close();
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === (await import('node:url')).pathToFileURL(entry).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    },
  );
}
