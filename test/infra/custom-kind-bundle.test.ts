/**
 * A connector kind of a user's own bundles alone: its Lambda entry (`ConnectorKind.entry`), bundled
 * with the esbuild options of `CONNECTOR_BUNDLING` as `NodejsFunction` passes them, holds the kit
 * and the kind's code, but neither the kind registry nor any built-in connector or vendor SDK.
 */
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { handlerEntry } from '../../lib/connector-kinds.js';
import { weatherKind } from '../fixtures/custom-kind/kind.js';
import { bundledInputs, connectorEsbuildOptions } from '../support/connector-esbuild.js';

/** The files that put code into the bundle of `entry`. */
async function inputsOf(entry: string): Promise<string[]> {
  const result = await build(connectorEsbuildOptions(entry, 'bundle-custom-kind/index.mjs'));
  return bundledInputs(result.metafile as Metafile);
}

describe('bundle of a custom kind', () => {
  it('holds the kind and the kit, not the registry nor the built-in connectors', async () => {
    // Act
    const inputs = await inputsOf(handlerEntry(weatherKind));

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
