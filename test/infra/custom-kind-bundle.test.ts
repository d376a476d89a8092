/**
 * A connector kind of a user's own bundles alone: its Lambda entry (`ConnectorKind.entry`), bundled
 * with the esbuild options of `CONNECTOR_BUNDLING` as `NodejsFunction` passes them, holds the kit
 * and the kind's code, but neither the kind registry nor any built-in connector or vendor SDK.
 */
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { handlerEntry, PROJECT_ROOT } from '../../lib/connector-kinds.js';
import { CONNECTOR_BUNDLING } from '../../lib/constructs/connector.js';
import { weatherKind } from '../fixtures/custom-kind/kind.js';

/** The files that put code into the bundle of `entry`. */
async function bundledInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: CONNECTOR_BUNDLING.target,
    format: 'esm',
    minify: CONNECTOR_BUNDLING.minify,
    mainFields: [...CONNECTOR_BUNDLING.mainFields],
    external: [...CONNECTOR_BUNDLING.externalModules],
    banner: { js: CONNECTOR_BUNDLING.banner },
    outfile: 'bundle-custom-kind/index.mjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.entries((result.metafile as Metafile).outputs).find(([file]) =>
    file.endsWith('.mjs'),
  )?.[1];
  if (!output) throw new Error('esbuild wrote no index.mjs');
  return Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([file]) => file);
}

describe('bundle of a custom kind', () => {
  it('holds the kind and the kit, not the registry nor the built-in connectors', async () => {
    // Act
    const inputs = await bundledInputs(handlerEntry(weatherKind));

    // Assess
    expect(inputs).toEqual(
      expect.arrayContaining([
        'test/fixtures/custom-kind/connector.ts',
        'functions/shared/runtime/index.ts',
        'functions/shared/config.ts',
      ]),
    );
    const unwanted = inputs.filter((file) =>
      /functions\/builtin-kinds|functions\/(http|stripe|slack|github|twilio)\/|node_modules\/(stripe|twilio|@octokit|@slack)\//.test(
        file,
      ),
    );
    expect(unwanted).toEqual([]);
  });
});
