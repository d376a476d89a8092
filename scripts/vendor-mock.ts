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
 * The mocks are registered in `local/stand-ins/registry.ts`; each mock's file
 * (`local/stand-ins/VENDOR.ts`) lists the magic input values that make it answer each described
 * error. Ctrl-C stops it.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import {
  isMockedVendorKind,
  MOCKED_VENDOR_KINDS,
  VENDOR_MOCKS,
  type VendorMock,
} from '../local/stand-ins/registry.js';

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, or `kill`). */
function untilSignalled(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/**
 * Starts the mock named in `argv` (`VENDOR [--port N]`, a kind of `VENDOR_MOCKS` in
 * `local/stand-ins/registry.ts`), keeps it running until `until` resolves, then stops it.
 * @param until - given the running mock; the mock stops once it resolves. @default SIGINT or SIGTERM
 * @returns the exit code: 0 once stopped, 2 for a usage error (unknown vendor, port not in 0..65535)
 */
export async function main(
  argv: readonly string[],
  until: (mock: VendorMock) => Promise<void> = untilSignalled,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string', default: '4010' }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const vendor = positionals[0];
  const port = Number(values.port);
  if (
    values.help ||
    !vendor ||
    !isMockedVendorKind(vendor) ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65_535
  ) {
    console.error(`Usage: npm run mock -- ${MOCKED_VENDOR_KINDS.join('|')} [--port N]`);
    return 2;
  }
  const mock = await VENDOR_MOCKS[vendor]({ port });
  console.error(`${vendor} mock listening on ${mock.url} (Ctrl-C stops it)`);
  try {
    await until(mock);
  } finally {
    await mock.close();
  }
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
