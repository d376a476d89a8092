/**
 * What goes into a connector's bundle (issue 9): each handler is bundled with the esbuild options of
 * `CONNECTOR_BUNDLING`, as `NodejsFunction` passes them, and its metafile is read. Sizes and cold
 * starts are measured by `npm run bench`, not asserted here; these tests pin the structure that
 * keeps them down: the AWS SDK from the runtime, the SQS and EventBridge clients loaded on first use,
 * zod without its locales, Twilio without its other products.
 */
import { App, Stack } from 'aws-cdk-lib';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parseConnectorConfig } from '../../functions/shared/config.js';
import { HANDLER_ENTRIES, PROJECT_ROOT } from '../../lib/connector-kinds.js';
import { CONNECTOR_BUNDLING, Connector } from '../../lib/constructs/connector.js';
import { IdempotencyTable } from '../../lib/constructs/idempotency-table.js';
import { bundledInputs, bundleOutput, connectorEsbuildOptions } from '../support/connector-esbuild.js';
import { SKIP_BUNDLING_CONTEXT } from '../support/infra-helpers.js';

type Kind = keyof typeof HANDLER_ENTRIES;
const KINDS = Object.keys(HANDLER_ENTRIES) as Kind[];

const metafiles = new Map<Kind, Promise<Metafile>>();
function metafileOf(kind: Kind): Promise<Metafile> {
  let pending = metafiles.get(kind);
  if (!pending) {
    pending = build(connectorEsbuildOptions(HANDLER_ENTRIES[kind], `bundle-${kind}/index.mjs`)).then(
      (result) => result.metafile as Metafile,
    );
    metafiles.set(kind, pending);
  }
  return pending;
}

function importsOf(metafile: Metafile) {
  return bundleOutput(metafile).imports;
}

describe('connector bundles', () => {
  it.each(KINDS)(
    '%s: takes the AWS SDK from the runtime, SQS and EventBridge on first use only',
    async (kind) => {
      // Act
      const metafile = await metafileOf(kind);

      // Assess
      expect(bundledInputs(metafile).filter((path) => path.includes('node_modules/@aws-sdk/'))).toEqual([]);
      const sdkImports = importsOf(metafile).filter((entry) => entry.path.startsWith('@aws-sdk/'));
      expect(sdkImports.every((entry) => entry.external)).toBe(true);
      for (const lazy of ['@aws-sdk/client-sqs', '@aws-sdk/client-eventbridge']) {
        const kinds = new Set(sdkImports.filter((entry) => entry.path === lazy).map((entry) => entry.kind));
        expect([...kinds]).toEqual(['dynamic-import']);
      }
    },
    60_000,
  );

  it.each(KINDS)(
    '%s: keeps zod without its locales other than English',
    async (kind) => {
      // Act
      const metafile = await metafileOf(kind);

      // Assess
      const locales = bundledInputs(metafile).filter((path) =>
        /node_modules\/zod\/.*\/locales\/(?!index)/.test(path),
      );
      expect(locales.map((path) => path.replace(/.*\/locales\//, ''))).toEqual(['en.js']);
    },
    60_000,
  );

  it('twilio: holds the Messages resource, not the entry point, other products or axios', async () => {
    // Act
    const inputs = bundledInputs(await metafileOf('twilio'));

    // Assess
    expect(inputs.some((path) => path.endsWith('twilio/lib/rest/api/v2010/account/message.js'))).toBe(true);
    expect(inputs.filter((path) => /twilio\/lib\/(index|rest\/Twilio)\.js$/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /twilio\/lib\/rest\/(?!api\/)/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /node_modules\/(axios|form-data|mime-db)\//.test(path))).toEqual([]);
  }, 60_000);
});

describe('Connector source maps', () => {
  const config = parseConnectorConfig(
    {
      name: 'maps',
      kind: 'http',
      baseUrl: 'https://api.example.com',
      auth: { type: 'none' },
      allowedMethods: ['GET'],
      allowedPathPrefixes: ['/'],
    },
    'test',
  );

  function functionEnvironment(enableSourceMaps?: boolean): Record<string, string> {
    const app = new App({ context: SKIP_BUNDLING_CONTEXT });
    const stack = new Stack(app, 'Maps');
    const table = new IdempotencyTable(stack, 'Table').table;
    const connector = new Connector(stack, 'Connector', {
      config,
      entry: `${PROJECT_ROOT}/${HANDLER_ENTRIES.http}`,
      idempotencyTable: table,
      ...(enableSourceMaps === undefined ? {} : { enableSourceMaps }),
    });
    const fn = stack.resolve((connector.function.node.defaultChild as { environment?: unknown }).environment);
    return (fn as { variables: Record<string, string> }).variables;
  }

  it('are off at run time by default, and written without their sources', () => {
    // Act
    const environment = functionEnvironment();

    // Assess
    expect(environment.NODE_OPTIONS).toBeUndefined();
    expect(CONNECTOR_BUNDLING.sourceMap).toBe(true);
    expect(CONNECTOR_BUNDLING.sourcesContent).toBe(false);
  });

  it('are enabled with enableSourceMaps', () => {
    // Act
    const environment = functionEnvironment(true);

    // Assess
    expect(environment.NODE_OPTIONS).toBe('--enable-source-maps');
  });
});
