/**
 * `CONNECTOR_BUNDLING` as the esbuild options `NodejsFunction`'s command line gives, for the tests
 * that bundle a connector's entry themselves and read what esbuild put in it.
 */
import type { BuildOptions, Metafile } from 'esbuild';
import { PROJECT_ROOT } from '../../lib/connector-kinds.js';
import { CONNECTOR_BUNDLING } from '../../lib/constructs/connector.js';

/**
 * The esbuild options of a connector's bundle.
 * @param entry - the Lambda entry, absolute
 * @param outfile - the bundle's `index.mjs`, relative to the project root or absolute
 * @param write - write it (to run it) or keep it in memory (to read its metafile only); @default false
 */
export function connectorEsbuildOptions(entry: string, outfile: string, write = false): BuildOptions {
  return {
    entryPoints: [entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: CONNECTOR_BUNDLING.target,
    format: 'esm',
    minify: CONNECTOR_BUNDLING.minify,
    sourcemap: CONNECTOR_BUNDLING.sourceMap,
    sourcesContent: CONNECTOR_BUNDLING.sourcesContent,
    mainFields: [...CONNECTOR_BUNDLING.mainFields],
    external: [...CONNECTOR_BUNDLING.externalModules],
    banner: { js: CONNECTOR_BUNDLING.banner },
    outfile,
    write,
    metafile: true,
    logLevel: 'silent',
  };
}

/** The output `index.mjs` of a bundle's metafile. */
export function bundleOutput(metafile: Metafile): Metafile['outputs'][string] {
  const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
  if (!output) throw new Error('esbuild wrote no index.mjs');
  return output;
}

/** The files that put code into a bundle (esbuild also lists those tree-shaking dropped). */
export function bundledInputs(metafile: Metafile): string[] {
  return Object.entries(bundleOutput(metafile).inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([file]) => file);
}
