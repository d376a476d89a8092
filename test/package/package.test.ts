/**
 * The package as a user gets it: `npm pack` (which builds `dist/` through `prepack`) gives the
 * tarball, the example consumer (`examples/consumer-app`, a CDK app of its own) is copied into a
 * temporary directory, the tarball is installed there with npm, and the app is synthesized by the
 * cdk CLI it installed (`cdk synth`, cdk.json's "app" run by tsx, esbuild bundling on: it costs about
 * a second for the one function, and proves that the installed `dist/functions/**\/handler.js` bundles).
 *
 * The install prefers npm's cache (`--prefer-offline`), which holds what this repository's
 * `package-lock.json` names once `npm ci` has run; the registry is asked only for what the cache
 * lacks (a registry document npm keeps in another form, a package added since). The example's
 * install starts from this repository's lock file (npm keeps the entries the example needs and
 * drops the rest), so the versions are the ones the repository is tested with, and peer
 * dependencies are not re-resolved (`--legacy-peer-deps`: the example names `aws-cdk-lib` and
 * `constructs` itself, as the package's peer dependencies ask).
 *
 * The entry points' declarations are type-checked from the app too, by this repository's tsc.
 *
 * One pack, install and synth for the whole file (`beforeAll`), the slow part: about 40 s on an
 * idle 2-core machine, two to three minutes on one busy with other work (the install writes some
 * 180 packages, aws-cdk-lib among them). Every child process runs on this test's Node (24), and is
 * bounded only against a hang.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, resourcesOfType } from '../support/infra-template.js';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = path.join(PROJECT_ROOT, 'examples/consumer-app');
const PACKAGE_JSON = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, { types: string; default: string } | string>;
};
/** tsc's CLI (TypeScript 7), what `node_modules/.bin/tsc` runs; started with this Node. */
const TSC_CLI = path.join(
  path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin/tsc',
);
/** A module of the consumer app that uses each entry point's types. */
const ENTRY_POINTS_PROBE = `import { App, Stack } from 'aws-cdk-lib';
import { ConnectorSuite, type ConnectorSuiteProps } from 'connector-suite/cdk';
import { startLocalGateway } from 'connector-suite/local';
import { defineConnector, defineOperation } from 'connector-suite/runtime';

const props: ConnectorSuiteProps = { suite: { connectors: [] }, stage: 'dev' };
export const suite: ConnectorSuite = new ConnectorSuite(new Stack(new App(), 'Probe'), 'Connectors', props);
export const start: (...args: Parameters<typeof startLocalGateway>) => Promise<unknown> = startLocalGateway;
export const kit: [typeof defineConnector, typeof defineOperation] = [defineConnector, defineOperation];
`;
/** The stack the example's app defines. */
const STACK_NAME = 'ConsumerApp';

/** The bound of one child process, in ms, after which it is killed: only a hung one reaches it. */
const STEP_TIMEOUT_MS = 300_000;
/** The bound of the hook: build and pack, install, synth, each of which may reach its bound. */
const SETUP_TIMEOUT_MS = 3 * STEP_TIMEOUT_MS + 30_000;

/**
 * npm's CLI script: the one running this test (`npm test`, `npx vitest`), else the `npm` on PATH.
 * It is started with this test's Node, whatever `node` the shell has.
 */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && /npm-cli\.c?js$/.test(fromNpm)) return fromNpm;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (/npm-cli\.c?js$/.test(real)) return real;
    const beside = path.join(path.dirname(real), '../lib/node_modules/npm/bin/npm-cli.js');
    if (existsSync(beside)) return beside;
  }
  throw new Error('npm not found: run the tests through npm (npm test, npx vitest)');
}

/** A finished child process. */
interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of a user's shell: no test-runner or CDK variables, and this Node first on PATH
 * (so that cdk.json's `npx tsx` runs on it too).
 */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('VITEST') || name.startsWith('CDK_') || name === 'NODE_ENV' || name === 'TEST') {
      delete env[name];
    }
  }
  env.PATH = [path.dirname(process.execPath), env.PATH].join(path.delimiter);
  env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  return env;
}

/** Runs this Node with `args` in `cwd`; rejects when it cannot start, resolves with how it ended. */
function run(args: readonly string[], cwd: string): Promise<Run> {
  return runWith(args, cwd, {});
}

/** {@link run} with more environment variables. */
function runWith(args: readonly string[], cwd: string, env: Readonly<Record<string, string>>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...userEnvironment(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a step that must succeed; its output is in the error when it does not. */
async function step(name: string, args: readonly string[], cwd: string): Promise<Run> {
  const result = await run(args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${name} ended with ${result.code}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** Every file under `dir`, relative to it, with `/` separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

let work: string;
let app: string;
let installed: string;
let synth: Run;
let template: CfnTemplate;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'connector-suite-package-'));
  const npm = npmCli();
  const packed = await step('npm pack', [npm, 'pack', '--pack-destination', work], PROJECT_ROOT);
  const tarball = path.join(work, packed.stdout.trim().split('\n').at(-1) ?? '');

  app = path.join(work, 'consumer-app');
  cpSync(EXAMPLE, app, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|cdk\.out|package-lock\.json)$/.test(source),
  });
  cpSync(path.join(PROJECT_ROOT, 'package-lock.json'), path.join(app, 'package-lock.json'));
  await step(
    'npm install',
    [npm, 'install', '--prefer-offline', '--no-audit', '--no-fund', '--legacy-peer-deps', tarball],
    app,
  );
  installed = path.join(app, 'node_modules', PACKAGE_JSON.name);

  const cdkCli = path.join(app, 'node_modules/aws-cdk/bin/cdk');
  synth = await step('cdk synth', [cdkCli, 'synth', '--quiet', '--no-notices'], app);
  template = JSON.parse(
    readFileSync(path.join(app, 'cdk.out', `${STACK_NAME}.template.json`), 'utf8'),
  ) as CfnTemplate;
}, SETUP_TIMEOUT_MS);

// The app's node_modules holds about 180 packages (aws-cdk-lib among them): removing it takes seconds.
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
}, STEP_TIMEOUT_MS);

describe('the packed tarball', () => {
  it('is named after the package and version and holds the built modules, not the sources', () => {
    expect(existsSync(path.join(work, `${PACKAGE_JSON.name}-${PACKAGE_JSON.version}.tgz`))).toBe(true);
    const files = filesUnder(installed);
    expect(files).toContain('package.json');
    expect(files).toContain('dist/functions/http/handler.js');
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => !file.startsWith('dist/')).sort()).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json']),
    );
    expect(files.some((file) => file.startsWith('test/') || file.startsWith('examples/'))).toBe(false);
  });

  it('has the JavaScript and the declarations of every entry point', () => {
    const entries = Object.entries(PACKAGE_JSON.exports).filter(([name]) => name !== './package.json');
    expect(entries.map(([name]) => name).sort()).toEqual(['./cdk', './local', './runtime']);
    for (const [, target] of entries) {
      if (typeof target === 'string') throw new Error(`export ${target} has no types`);
      expect(existsSync(path.join(installed, target.types)), target.types).toBe(true);
      expect(existsSync(path.join(installed, target.default)), target.default).toBe(true);
    }
  });

  it('is installed as a copy inside the app, not a link, so its handlers are under the app root', () => {
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(realpathSync(installed).startsWith(realpathSync(app) + path.sep)).toBe(true);
  });
});

describe('the installed entry points', () => {
  it('load in the consumer app: the construct, the connector kit and the local gateway', async () => {
    const script = [
      "const cdk = await import('connector-suite/cdk');",
      "const runtime = await import('connector-suite/runtime');",
      "const local = await import('connector-suite/local');",
      'console.log(JSON.stringify({ ConnectorSuite: typeof cdk.ConnectorSuite,',
      '  defineConnector: typeof runtime.defineConnector, defineOperation: typeof runtime.defineOperation,',
      '  startLocalGateway: typeof local.startLocalGateway }));',
    ].join('\n');
    const result = await step('import', ['--input-type=module', '-e', script], app);
    expect(JSON.parse(result.stdout)).toEqual({
      ConnectorSuite: 'function',
      defineConnector: 'function',
      defineOperation: 'function',
      startLocalGateway: 'function',
    });
  }, 60_000);
});

describe('the installed declarations', () => {
  it('type-check in the consumer app, each entry point used and no library check skipped', async () => {
    writeFileSync(path.join(app, 'entry-points.ts'), ENTRY_POINTS_PROBE);
    writeFileSync(
      path.join(app, 'tsconfig.entry-points.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          types: ['node'],
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['entry-points.ts'],
      }),
    );
    const result = await run([TSC_CLI, '-p', 'tsconfig.entry-points.json'], app);
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});

describe('cdk synth of the example consumer', () => {
  it('ends without an error or a stack trace', () => {
    expect(synth.code).toBe(0);
    expect(synth.stderr).not.toMatch(/^ {4}at /m);
  });

  it("holds each connector's function, bundled from the installed package", () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.Runtime === 'nodejs24.x',
    );
    expect(functions.map(([, fn]) => fn.Properties.Description).sort()).toEqual([
      'Connector billing-api (http)',
      'Connector status (openapi)',
      'Connector weather (weather)',
    ]);
    const [, billing] = functions[0] ?? [];
    expect(billing?.Properties.Handler).toBe('index.handler');
    const assets = readdirSync(path.join(app, 'cdk.out')).filter((name) => name.startsWith('asset.'));
    expect(assets.some((asset) => existsSync(path.join(app, 'cdk.out', asset, 'index.mjs')))).toBe(true);
  });

  it('bundles the openapi connector from an entry generated in the app, its description named by digest', () => {
    const [, status] =
      resourcesOfType(template, 'AWS::Lambda::Function').find(
        ([, fn]) => fn.Properties.Description === 'Connector status (openapi)',
      ) ?? [];
    const environment = status?.Properties.Environment as { Variables?: Record<string, string> } | undefined;
    const variables = environment?.Variables ?? {};
    const digest = String(JSON.parse(variables.CONNECTOR_CONFIG ?? '{}').spec).replace(/^bundled:/, '');
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    expect(
      existsSync(
        path.join(app, 'node_modules/.cache/connector-suite/openapi', `status-${digest}`, 'validators.mjs'),
      ),
    ).toBe(true);
  });

  it('holds the REST API with a route per connector, and the idempotency table', () => {
    expect(resourcesOfType(template, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    const pathParts = resourcesOfType(template, 'AWS::ApiGateway::Resource').map(
      ([, resource]) => resource.Properties.PathPart,
    );
    expect(pathParts).toContain('billing-api');
    expect(pathParts).toContain('weather');
    expect(pathParts).toContain('status');
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    expect(tables[0]?.[1].Properties.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
  });

  it('holds the dashboard and the alarms of the suite', () => {
    expect(resourcesOfType(template, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(
      ([, alarm]) => alarm.Properties.AlarmDescription as string,
    );
    for (const connector of ['billing-api', 'status', 'weather']) {
      expect(
        alarms.filter((description) => description.startsWith(`Connector ${connector}:`)).length,
      ).toBeGreaterThan(1);
    }
  });
});

describe.skipIf(!process.env.HTTPBIN_URL)("the example's own kind through the local gateway", () => {
  it(
    'answers a call with its settings and its API key applied, the key redacted from the answer',
    async () => {
      // Prepare: the weather secret in a file of the app, as a user keeps it (out of version control).
      const secretsFile = path.join(app, 'secrets.local.json');
      writeFileSync(secretsFile, JSON.stringify({ weather: { apiKey: 'fake-weather-key-example' } }));
      const tsxCli = path.join(app, 'node_modules/tsx/dist/cli.mjs');

      // Act
      const result = await runWith(
        [tsxCli, 'scripts/try-local.ts', `${process.env.HTTPBIN_URL}/anything`],
        app,
        { LOCAL_SECRETS_FILE: secretsFile },
      );

      // Assess
      expect(result.code, result.stderr).toBe(0);
      const line = result.stdout.trim().split('\n').at(-1) ?? '{}';
      const answer = JSON.parse(line) as {
        status: number;
        body: { data?: { args: Record<string, string>; headers: Record<string, string> } };
      };
      expect(answer.status).toBe(200);
      expect(answer.body.data?.args).toMatchObject({ city: 'Lyon', units: 'metric' });
      expect(answer.body.data?.headers['X-Api-Key']).toBe('[REDACTED]');
      expect(result.stdout).not.toContain('fake-weather-key-example');
    },
    STEP_TIMEOUT_MS,
  );
});
