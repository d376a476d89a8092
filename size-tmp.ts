import { statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { writeOpenApiLambdaEntry } from './functions/openapi/lambda-entry.js';
import { loadSuiteConfig } from './functions/shared/config-file.js';
import { connectorEsbuildOptions } from './test/support/connector-esbuild.js';
for (const file of process.argv.slice(2)) {
  const suite = await loadSuiteConfig(file);
  for (const c of suite.connectors) {
    if (c.kind !== 'openapi') continue;
    const t0 = performance.now();
    const g = writeOpenApiLambdaEntry(c as never, { projectRoot: process.cwd() });
    const t1 = performance.now();
    const out = `/tmp/size-${c.name}/index.mjs`;
    await build({ ...connectorEsbuildOptions(g.entry, out, true), sourcemap: false });
    const dir = path.dirname(g.entry);
    console.log(c.name, (c as {operations: string[]}).operations.length, 'ops; descr', statSync(g.entry).size, 'validators', statSync(path.join(dir,'validators.mjs')).size, 'bundle', statSync(out).size, 'gen ms', Math.round(t1-t0));
  }
}
