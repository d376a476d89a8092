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
 * `npm run mock -- --spec FILE [--port N]` starts a mock of any API from its description (OpenAPI 3.x
 * or Swagger 2.0), for `openapi` connectors: `local/stand-ins/openapi.ts`.
 *
 * The mocks are registered in `local/stand-ins/registry.ts`; each mock's file
 * (`local/stand-ins/VENDOR.ts`) lists the magic input values that make it answer each described
 * error. Ctrl-C stops it.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { startDescriptionMock } from '../local/stand-ins/openapi.js';
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
 * `local/stand-ins/registry.ts`, or `--spec FILE [--port N]`, the mock of a description,
 * `startDescriptionMock`), keeps it running until `until` resolves, then stops it.
 * @param until - given the running mock; the mock stops once it resolves. @default SIGINT or SIGTERM
 * @returns the exit code: 0 once stopped, 2 for a usage error (unknown vendor, port not in 0..65535,
 *   both a vendor and `--spec`, a description that cannot be read)
 */
export async function main(
  argv: readonly string[],
  until: (mock: VendorMock) => Promise<void> = untilSignalled,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '4010' },
      spec: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const vendor = positionals[0];
  const port = Number(values.port);
  const spec = values.spec;
  if (
    values.help ||
    (spec === undefined ? !vendor || !isMockedVendorKind(vendor) : vendor !== undefined || spec === '') ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65_535
  ) {
    console.error(`Usage: npm run mock -- ${MOCKED_VENDOR_KINDS.join('|')} [--port N]`);
    console.error('       npm run mock -- --spec FILE [--port N]   (a mock served from an API description)');
    return 2;
  }
  let mock: VendorMock;
  if (spec !== undefined) {
    try {
      const described = await startDescriptionMock({ spec, port });
      console.error(
        `mock of ${spec} (${described.operationIds.length} operations) listening on ${described.url} (Ctrl-C stops it)`,
      );
      mock = described;
    } catch (error) {
      console.error(`mock: ${spec}: ${(error as Error).message}`);
      return 2;
    }
  } else {
    mock = await VENDOR_MOCKS[vendor as keyof typeof VENDOR_MOCKS]({ port });
    console.error(`${vendor} mock listening on ${mock.url} (Ctrl-C stops it)`);
  }
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
