/**
 * No project module imports itself back through others: the import graph of the project's own
 * files (functions/, lib/, local/, bin/, scripts/) has no cycle.
 *
 * The graph is esbuild's (`metafile.inputs[file].imports`), built over every source file of those
 * folders as an entry point, with packages external. esbuild drops type-only imports, which the
 * type checker still follows and which tie modules together as much as value imports do, so each
 * project file is handed to esbuild with one side-effect `import '…'` per `import … from` /
 * `export … from` statement appended: every edge, value or type, is in the graph.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Folders whose every `.ts` file is an entry point (recursively). */
const SOURCE_FOLDERS = ['functions', 'lib', 'local', 'bin', 'scripts'];

/** Every `.ts` file under `folder` (relative to the root), declaration files left out. */
function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/**
 * The module specifiers of a file's static `import … from` and `export … from` statements, type-only
 * ones included. Statements start a line (Biome formats them so); comments and strings do not.
 */
function staticSpecifiers(source: string): string[] {
  // The clause between the keyword and `from` holds names, braces, commas and `*` only, so an
  // `export interface` whose comment says "from '…'" is not taken for a re-export.
  const statement = /^(?:import|export)\s[\w$\s{},*]*?\bfrom\s*(['"])([^'"\n]+)\1/gm;
  return [...source.matchAll(statement)].map((match) => match[2] as string);
}

/** Hands each project file to esbuild with its type-only imports made visible (see the header). */
const keepTypeImports: Plugin = {
  name: 'keep-type-imports',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const edges = staticSpecifiers(source).map((specifier) => `import ${JSON.stringify(specifier)};`);
      return { contents: `${source}\n${edges.join('\n')}\n`, loader: 'ts' };
    });
  },
};

/** The project's import graph: each file (relative to the root) to the project files it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: SOURCE_FOLDERS.flatMap(sourceFiles),
    bundle: true,
    metafile: true,
    write: false,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outdir: 'out',
    logLevel: 'silent',
    plugins: [keepTypeImports],
  });
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const imports = input.imports.filter((edge) => !edge.external).map((edge) => edge.path);
    graph.set(file, [...new Set(imports)]);
  }
  return graph;
}

/** Modules that import one another back, and one cycle through them. */
interface Knot {
  /** A path that starts and ends at the knot's first module in sort order. */
  cycle: string[];
  /** Every module of the knot, sorted. */
  modules: string[];
}

/**
 * The knots of a graph: its strongly connected components of more than one module (or a module that
 * imports itself), found with Tarjan's algorithm.
 */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): Knot[] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    lowLink.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(node, Math.min(lowLink.get(node) as number, lowLink.get(next) as number));
      } else if (onStack.has(next)) {
        lowLink.set(node, Math.min(lowLink.get(node) as number, index.get(next) as number));
      }
    }
    if (lowLink.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.includes(node)) components.push(component);
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => ({ cycle: cyclePath(graph, component), modules: component.sort() }));
}

/** One cycle through a strongly connected component, by breadth-first search back to its start. */
function cyclePath(graph: ReadonlyMap<string, readonly string[]>, component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const cycle = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) {
          cycle.splice(1, 0, at);
        }
        return [...cycle, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...component, start];
}

describe('import cycles', () => {
  it('finds a cycle through several modules, and none in a tree', () => {
    const graph = new Map([
      ['a.ts', ['b.ts', 'd.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    expect(findCycles(graph).map((knot) => knot.cycle)).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
      ['e.ts', 'e.ts'],
    ]);
    expect(
      findCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('sees type-only imports and re-exports, not imports quoted in comments', () => {
    const source = [
      "import type { A } from './a.js';",
      "import { type B, c } from './b.js';",
      "export type { D } from './d.js';",
      "export * from './e.js';",
      'import {',
      '  F,',
      "} from './f.js';",
      " * import { G } from './g.js';",
      "// import { H } from './h.js';",
      'export interface Options {',
      "  /** The value read from 'process.env'. */",
      '  value: string;',
      '}',
      "export const i = await import('./i.js');",
    ].join('\n');
    expect(staticSpecifiers(source)).toEqual(['./a.js', './b.js', './d.js', './e.js', './f.js']);
  });

  it('the project imports no module back through others', async () => {
    const graph = await importGraph();
    expect(graph.has('functions/shared/runtime/index.ts')).toBe(true);
    const cycles = findCycles(graph).map(({ cycle, modules }) => {
      const others = modules.filter((file) => !cycle.includes(file));
      return others.length === 0
        ? cycle.join(' → ')
        : `${cycle.join(' → ')} (also tied in: ${others.join(', ')})`;
    });
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });
});
