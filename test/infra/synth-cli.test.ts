/**
 * The CDK app as `cdk synth` runs it. The default config goes through the cdk CLI itself
 * (`cdk synth --quiet`, which runs cdk.json's "app" and then reads the cloud assembly), with bundling
 * on, so the real esbuild bundle is checked (and the asynchronous path's resources of every
 * connector), and so is what the CLI prints (no feature flag left unconfigured). The other runs start
 * bin/app.ts in a child process (tsx, as cdk.json's "app"), given its output directory in CDK_OUTDIR
 * and its context (cdk.json's flags, `-c` values) in CDK_CONTEXT_JSON, as the cdk CLI passes them,
 * and skip bundling.
 *
 * Each run starts Node, tsx and aws-cdk-lib afresh (3 to 10 s on an idle 2-core machine, more with
 * bundling), so there are as few as prove something the in-process tests (stack.test.ts) cannot:
 * one per way the CLI ends. They run one after another: on two cores, runs side by side only make
 * each one slower.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSuiteConfig } from '../../functions/shared/config.js';
import { HANDLER_ENTRIES } from '../../lib/connector-kinds.js';
import {
  CDK_JSON_CONTEXT,
  findingsOf,
  httpConnector,
  loadDefaultSuiteInput,
  newOutdir,
  PROJECT_ROOT,
  readValidationReport,
  removeOutdirs,
  SKIP_BUNDLING_CONTEXT,
  TWO_CONNECTORS_FIXTURE,
} from '../support/infra-helpers.js';
import {
  apiMethods,
  type CfnTemplate,
  connectorFunction,
  connectorMapping,
  connectorQueues,
  connectorRules,
  environmentOf,
  queuePolicyStatements,
  refTarget,
  resourcesOfType,
} from '../support/infra-template.js';

afterAll(removeOutdirs);

/** tsx's CLI, what `node_modules/.bin/tsx` runs; started with this Node (24), not whatever `node` is on PATH. */
const TSX_CLI = path.join(
  path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
  'dist/cli.mjs',
);
/**
 * The bound of one run of the app, in ms, after which it is killed: only a hung run reaches it. A
 * run takes seconds on an idle machine; five at once on a loaded 2-core machine took 80 s each.
 */
const RUN_TIMEOUT_MS = 300_000;
/** The bound of a test making one run: the run's, and time to read what it wrote. */
const TEST_TIMEOUT_MS = RUN_TIMEOUT_MS + 10_000;
/** The cdk CLI's entry point, what `npx cdk` runs; started with this Node, as TSX_CLI. */
const CDK_CLI = path.join(
  path.dirname(createRequire(import.meta.url).resolve('aws-cdk/package.json')),
  'bin/cdk',
);
const STACK_TRACE_LINE = /^ {4}at /m;

/** A finished run of the app. */
interface AppRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The cloud assembly directory: CDK_OUTDIR, or the CLI's `--output`. */
  readonly outdir: string;
}

/** Options of {@link runApp}. */
interface RunOptions {
  /** Environment changes; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `-c key=value` context, over cdk.json's. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** The environment of a user's shell, with `changes` made (`undefined` removes a variable). */
function userEnvironment(changes: RunOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // What a user's shell has: no test-runner variables, no config of an earlier run.
  for (const name of Object.keys(env)) {
    if (name.startsWith('VITEST') || name.startsWith('CDK_') || name === 'NODE_ENV' || name === 'TEST') {
      delete env[name];
    }
  }
  delete env.SUITE_CONFIG;
  delete env.HTTPBIN_URL;
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `tsx bin/app.ts` as the cdk CLI does for `cdk synth`, bundling skipped, in a fresh output directory. */
function runApp(options: RunOptions = {}): Promise<AppRun> {
  const outdir = newOutdir();
  const env = userEnvironment(options.env);
  env.CDK_OUTDIR = outdir;
  env.CDK_CONTEXT_JSON = JSON.stringify({
    ...CDK_JSON_CONTEXT,
    ...SKIP_BUNDLING_CONTEXT,
    ...options.context,
  });
  return runProcess([TSX_CLI, 'bin/app.ts'], env, outdir);
}

/**
 * Runs `cdk synth --quiet` with the cdk CLI, as a user does (`npx cdk synth`): cdk.json's flags and
 * "app", bundling on, into a fresh output directory. Without the CLI's notices (fetched from the
 * network) and its telemetry; its version check is off already, stdout not being a terminal.
 */
function runCdkSynth(): Promise<AppRun> {
  const outdir = newOutdir();
  const env = userEnvironment({ CDK_DISABLE_CLI_TELEMETRY: 'true' });
  return runProcess([CDK_CLI, 'synth', '--quiet', '--no-notices', '--output', outdir], env, outdir);
}

/** Runs this Node with `args` in the project root, killed after {@link RUN_TIMEOUT_MS}. */
function runProcess(args: readonly string[], env: NodeJS.ProcessEnv, outdir: string): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env,
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
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, outdir });
    });
  });
}

/** The synthesized template of a stack in a run's output directory. */
function templateIn(run: AppRun, stackName: string): CfnTemplate {
  return JSON.parse(readFileSync(path.join(run.outdir, `${stackName}.template.json`), 'utf8')) as CfnTemplate;
}

/** The connector functions of a template (the Node.js 24 ones). */
/** The connectors' functions: every nodejs24.x function but the webhook route's. */
function connectorFunctions(template: CfnTemplate) {
  return resourcesOfType(template, 'AWS::Lambda::Function').filter(
    ([, fn]) => fn.Properties.Runtime === 'nodejs24.x' && environmentOf(fn).WEBHOOK_ROUTES === undefined,
  );
}

describe('npx cdk synth (the cdk CLI) of the default suite.config.ts, bundling on', () => {
  let run: AppRun;
  let connectorNames: string[];
  let kindOf: Map<string, keyof typeof HANDLER_ENTRIES>;

  beforeAll(async () => {
    const { connectors } = parseSuiteConfig(await loadDefaultSuiteInput(), 'suite.config.ts');
    connectorNames = connectors.map((c) => c.name);
    kindOf = new Map(connectors.map((c) => [c.name, c.kind]));
    run = await runCdkSynth();
  }, TEST_TIMEOUT_MS);

  it('exits 0 with no stack trace and zero unacknowledged nag findings', () => {
    // Prepare
    const output = run.stdout + run.stderr;

    // Act
    const findings = findingsOf(readValidationReport(run.outdir));

    // Assess
    expect(run.code, output).toBe(0);
    expect(output).not.toMatch(STACK_TRACE_LINE);
    expect(findings).toEqual([]);
  });

  it('warns of no feature flag left unconfigured: cdk.json sets every flag a new app gets', () => {
    // Prepare: the CLI warns "N feature flags are not configured" when one of the flags the cloud
    // assembly reports is unset in cdk.json and behaves unset unlike its recommended value.
    const output = run.stdout + run.stderr;

    // Act
    const warnings = output.split('\n').filter((line) => /feature flags?/i.test(line));

    // Assess
    expect(run.code, output).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('writes the webhook route without IAM auth, and the one function behind it (issue 12)', () => {
    // Act
    const template = templateIn(run, 'ConnectorSuite-dev');

    // Assess
    const webhooks = resourcesOfType(template, 'AWS::Lambda::Function').filter(
      ([, fn]) => environmentOf(fn).WEBHOOK_ROUTES !== undefined,
    );
    expect(webhooks).toHaveLength(1);
    const route = apiMethods(template).filter((m) => m.path === '/v1/webhooks/{connector}');
    expect(route.map((m) => `${m.httpMethod} ${m.properties.AuthorizationType}`)).toEqual(['POST NONE']);
  });

  it('writes the ConnectorSuite-dev template with each connector function: nodejs24.x, arm64, tracing Active', () => {
    // Prepare
    const stackName = 'ConnectorSuite-dev';

    // Act
    const template = templateIn(run, stackName);

    // Assess
    expect(connectorFunctions(template)).toHaveLength(connectorNames.length);
    for (const name of connectorNames) {
      expect(connectorFunction(template, name)[1].Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
    }
  });

  it('writes for each connector its inbox, dead-letter queue, rule, queue policies, mapping with partial batch responses, and alarm', () => {
    // Prepare
    const template = templateIn(run, 'ConnectorSuite-dev');

    // Act
    const found = connectorNames.map((name) => {
      const [, mapping] = connectorMapping(template, name);
      const { inboxId, deadLetterQueueId } = connectorQueues(template, name);
      return {
        name,
        mapping: mapping.Properties.FunctionResponseTypes,
        rules: connectorRules(template, name).length,
        inboxPolicies: queuePolicyStatements(template, inboxId).length > 0,
        deadLetterPolicies: queuePolicyStatements(template, deadLetterQueueId).length > 0,
        alarms: resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
          JSON.stringify(alarm.Properties.Dimensions ?? []).includes(deadLetterQueueId),
        ).length,
      };
    });

    // Assess
    expect(resourcesOfType(template, 'AWS::Events::EventBus')).toHaveLength(1);
    expect(found).toEqual(
      connectorNames.map((name) => ({
        name,
        mapping: ['ReportBatchItemFailures'],
        rules: 1,
        inboxPolicies: true,
        deadLetterPolicies: true,
        alarms: 1,
      })),
    );
  });

  it('bundles each function as ESM with the createRequire banner and a source map of our sources', () => {
    // Prepare
    const template = templateIn(run, 'ConnectorSuite-dev');
    const assets = JSON.parse(
      readFileSync(path.join(run.outdir, 'ConnectorSuite-dev.assets.json'), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };

    // Act
    const bundles = connectorNames.map((name) => {
      const code = connectorFunction(template, name)[1].Properties.Code as { S3Key: string };
      const hash = code.S3Key.replace(/\.zip$/, '');
      return {
        hash,
        source: assets.files[hash]?.source,
        handler: HANDLER_ENTRIES[kindOf.get(name) ?? 'http'],
      };
    });

    // Assess
    for (const { hash, source, handler } of bundles) {
      expect(source).toEqual({ path: `asset.${hash}`, packaging: 'zip' });
      const directory = path.join(run.outdir, `asset.${hash}`);
      expect(readdirSync(directory).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const firstLine = readFileSync(path.join(directory, 'index.mjs'), 'utf8').split('\n', 1)[0];
      expect(firstLine).toContain('createRequire');
      const map = JSON.parse(readFileSync(path.join(directory, 'index.mjs.map'), 'utf8')) as {
        version: number;
        sources: string[];
      };
      expect(map.version).toBe(3);
      expect(map.sources.some((source) => source.endsWith(handler))).toBe(true);
    }
  });
});

describe('cdk synth of other configs and stages, bundling skipped', () => {
  it(
    'SUITE_CONFIG naming a JSON config, -c stage=prod: the ConnectorSuite-prod stack of its two connectors, zero nag findings',
    async () => {
      // Prepare
      const env = { SUITE_CONFIG: TWO_CONNECTORS_FIXTURE };
      const context = { stage: 'prod' };

      // Act
      const run = await runApp({ context, env });

      // Assess
      expect(run.code, run.stderr).toBe(0);
      expect(existsSync(path.join(run.outdir, 'ConnectorSuite-dev.template.json'))).toBe(false);
      const template = templateIn(run, 'ConnectorSuite-prod');
      const functions = connectorFunctions(template);
      expect(
        functions
          .map(
            ([, fn]) =>
              (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
                .POWERTOOLS_SERVICE_NAME,
          )
          .sort(),
      ).toEqual(['crm', 'payments']);
      expect(resourcesOfType(template, 'AWS::SecretsManager::Secret')).toHaveLength(2);
      const [stage] = resourcesOfType(template, 'AWS::ApiGateway::Stage');
      expect(stage?.[1].Properties.StageName).toBe('prod');
      const [table] = resourcesOfType(template, 'AWS::DynamoDB::Table');
      expect(table?.[1].DeletionPolicy).toBe('Retain');
      expect(findingsOf(readValidationReport(run.outdir))).toEqual([]);
      expect(refTarget(template.Outputs?.PaymentsFunctionName?.Value)).toBe(
        connectorFunction(template, 'payments')[0],
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('cdk synth of a bad config or stage: exit code 1, one message naming the field, no stack trace', () => {
  let configDir: string;

  /** Writes a suite config JSON file and returns its path. */
  function configFile(name: string, value: unknown): string {
    const file = path.join(configDir, name);
    writeFileSync(file, JSON.stringify(value, null, 2));
    return file;
  }

  beforeAll(() => {
    configDir = newOutdir();
  });

  it(
    'SUITE_CONFIG with an unknown kind and an http baseUrl names both fields in one message',
    async () => {
      // Prepare: which problem names which field is the in-process tests' (stack.test.ts); this
      // run proves the CLI reports them all, as one message.
      const suiteConfig = configFile('bad.json', {
        connectors: [
          httpConnector('vendor', { kind: 'soap' }),
          httpConnector('other', { baseUrl: 'http://api.example.com' }),
        ],
      });

      // Act
      const run = await runApp({ env: { SUITE_CONFIG: suiteConfig } });

      // Assess
      const output = run.stdout + run.stderr;
      expect(run.code, output).toBe(1);
      expect(run.stderr).toContain(`Invalid configuration in ${suiteConfig}:`);
      expect(run.stderr).toContain('  - connectors[0].kind: ');
      expect(run.stderr).toContain('  - connectors[1].baseUrl: ');
      expect(output).not.toMatch(STACK_TRACE_LINE);
      expect(readdirSync(run.outdir).filter((f) => f.endsWith('.template.json'))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "-c stage=qa names the 'stage' context value and the stages allowed",
    async () => {
      // Prepare
      const context = { stage: 'qa' };

      // Act
      const run = await runApp({ context });

      // Assess
      const output = run.stdout + run.stderr;
      expect(run.code, output).toBe(1);
      expect(run.stderr.trim()).toBe(
        `Context value 'stage' must be one of dev, prod (got "qa"); use -c stage=dev`,
      );
      expect(output).not.toMatch(STACK_TRACE_LINE);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'SUITE_CONFIG naming a missing file says so, naming the file',
    async () => {
      // Prepare
      const missing = path.join(configDir, 'no-such-suite.json');

      // Act
      const run = await runApp({ env: { SUITE_CONFIG: missing } });

      // Assess
      const output = run.stdout + run.stderr;
      expect(run.code, output).toBe(1);
      expect(run.stderr).toContain(`Invalid configuration in ${missing}:`);
      expect(run.stderr).toContain('cannot be read: file not found');
      expect(output).not.toMatch(STACK_TRACE_LINE);
    },
    TEST_TIMEOUT_MS,
  );
});
