/**
 * Helpers of the infrastructure tests (test/infra): the suite's CDK app built in-process the way
 * bin/app.ts builds it (esbuild bundling skipped), its template, the cdk-nag validation report, and the
 * two-connector fixture.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { vi } from 'vitest';
import { parseSuiteConfig, type SuiteConfig } from '../../functions/shared/config.js';
import { ConnectorSuiteStack, type ConnectorSuiteStackProps } from '../../lib/connector-suite-stack.js';
import { parseStage, type Stage } from '../../lib/stage.js';
import type { CfnTemplate } from './infra-template.js';

/**
 * The bound of a hook that makes a test process's first synthesis, in ms. That one loads most of
 * aws-cdk-lib (and cdk-nag's rules when the packs run): 3 to 6 s on an idle 2-core machine, against
 * well under a second for each synthesis after it. Tests read what a hook synthesized (or
 * synthesize at most one more variant each), so only hooks carry that cost; the bound is generous so
 * that a machine busy with other work only makes them slower.
 */
export const FIRST_SYNTH_TIMEOUT_MS = 120_000;

/** The project root (holding cdk.json and bin/app.ts). */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** A suite of two http connectors with different secrets and API throttling set (docs/design.md §6 shape). */
export const TWO_CONNECTORS_FIXTURE = path.join(PROJECT_ROOT, 'test/infra/fixtures/two-http-connectors.json');

/** Context that makes `NodejsFunction` skip esbuild: no stack is bundled. */
export const SKIP_BUNDLING_CONTEXT: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/** The feature flags of cdk.json, which the cdk CLI passes to the app on every synth. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** A fresh copy of the two-connector fixture, as parsed JSON (defaults not applied). */
export function twoConnectorsConfig(): { connectors: Array<Record<string, unknown>> } & Record<
  string,
  unknown
> {
  return JSON.parse(readFileSync(TWO_CONNECTORS_FIXTURE, 'utf8'));
}

/** A minimal valid http connector entry, with `overrides` applied. */
export function httpConnector(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    kind: 'http',
    baseUrl: `https://${name}.example.com`,
    allowedPathPrefixes: ['/v1'],
    auth: { type: 'bearer', secret: name },
    ...overrides,
  };
}

/**
 * The default export of suite.config.ts as `cdk synth` sees it on a machine without a local httpbin:
 * `HTTPBIN_URL` unset (an `http://` loopback URL is for `npm start` only and fails synth), the
 * module imported afresh so the variable is read again.
 */
export async function loadDefaultSuiteInput(): Promise<unknown> {
  vi.stubEnv('HTTPBIN_URL', '');
  vi.resetModules();
  const module = await import('../../suite.config.js');
  return module.default;
}

let outdirBase: string | undefined;

/** The suites every stack test runs on: the default `suite.config.ts` and the two-connector fixture. */
export const SUITES_UNDER_TEST = [
  { label: 'the default suite.config.ts', load: loadDefaultSuiteInput },
  { label: 'the two-connector fixture', load: async (): Promise<unknown> => twoConnectorsConfig() },
] as const;

/** A new, empty cloud assembly directory; {@link removeOutdirs} deletes them all. */
export function newOutdir(): string {
  outdirBase ??= mkdtempSync(path.join(tmpdir(), 'connector-suite-infra-'));
  return mkdtempSync(path.join(outdirBase, 'cdk.out-'));
}

/** Deletes every directory {@link newOutdir} made (call it in `afterAll`). */
export function removeOutdirs(): void {
  if (outdirBase) rmSync(outdirBase, { recursive: true, force: true });
  outdirBase = undefined;
}

/** Options of {@link buildSuiteApp}. */
export interface SuiteAppOptions {
  /** The `stage` context value; @default 'dev' */
  readonly stage?: Stage;
  /** More context, over cdk.json's flags and {@link SKIP_BUNDLING_CONTEXT}. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** More props of the stack (e.g. `observability: false`). */
  readonly stackProps?: Partial<ConnectorSuiteStackProps>;
}

/** An app built by {@link buildSuiteApp}. */
export interface SuiteApp {
  readonly app: App;
  readonly stack: ConnectorSuiteStack;
  /** The validated suite (defaults applied). */
  readonly suite: SuiteConfig;
  /** The app's cloud assembly directory. */
  readonly outdir: string;
}

/**
 * Builds the app as bin/app.ts does, from a suite config value (validated with `parseSuiteConfig`):
 * the `stage` context, one `ConnectorSuite-{stage}` stack; bundling skipped. No nag checks: see
 * {@link synthWithNag}.
 * @throws ConfigValidationError naming the bad field, as `cdk synth` reports it
 */
export function buildSuiteApp(config: unknown, options: SuiteAppOptions = {}): SuiteApp {
  const outdir = newOutdir();
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON_CONTEXT,
      ...SKIP_BUNDLING_CONTEXT,
      stage: options.stage ?? 'dev',
      ...options.context,
    },
  });
  const stage = parseStage(app.node.tryGetContext('stage'));
  const suite = parseSuiteConfig(config, 'test suite config');
  const stack = new ConnectorSuiteStack(app, `ConnectorSuite-${stage}`, {
    ...options.stackProps,
    suite,
    stage,
    description: `Connector Suite (${stage}): connectors to third-party APIs`,
  });
  return { app, stack, suite, outdir };
}

/** A synthesized suite stack. */
export interface SynthesizedSuite extends SuiteApp {
  readonly template: Template;
  /** The template as JSON; read it, never change it (results are shared between tests). */
  readonly json: CfnTemplate;
}

const synthesized = new Map<string, SynthesizedSuite>();

/**
 * The synthesized stack of a suite config for a stage, bundling skipped. Memoized on the config's
 * JSON and the stage, so tests may each synthesize the same config cheaply.
 * @throws ConfigValidationError naming the bad field
 */
export function synthSuite(config: unknown, options: { readonly stage?: Stage } = {}): SynthesizedSuite {
  const key = JSON.stringify([config, options.stage ?? 'dev']);
  const known = synthesized.get(key);
  if (known) return known;
  const built = buildSuiteApp(config, options);
  const template = Template.fromStack(built.stack);
  const result = { ...built, template, json: template.toJSON() as CfnTemplate };
  synthesized.set(key, result);
  return result;
}

/** Registers the checks bin/app.ts runs on every synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}

/** The cloud assembly's `validation-report.json` (aws-cdk-lib 2.276 policy validation). */
export interface ValidationReport {
  readonly title: string;
  readonly pluginReports: ReadonlyArray<{
    readonly pluginName: string;
    readonly conclusion: 'success' | 'failure';
    readonly violations: ReadonlyArray<{
      readonly ruleName: string;
      readonly description: string;
      readonly severity?: string;
      readonly violatingConstructs: ReadonlyArray<{ readonly constructPath: string }>;
    }>;
  }>;
}

/** One unacknowledged finding of a validation plugin. */
export interface NagFinding {
  /** `AwsSolutions`, `Serverless`, or another plugin. */
  readonly plugin: string;
  /** The rule id with its finding, e.g. `AwsSolutions-IAM5[Action::s3:*]`. */
  readonly rule: string;
  readonly severity: string | undefined;
  readonly constructPaths: readonly string[];
}

/** Reads the validation report of a cloud assembly directory. */
export function readValidationReport(outdir: string): ValidationReport {
  return JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

/** Every violation of every plugin in a report: what synthesis left unacknowledged. */
export function findingsOf(report: ValidationReport): NagFinding[] {
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((violation) => ({
      plugin: plugin.pluginName,
      rule: violation.ruleName,
      severity: violation.severity,
      constructPaths: violation.violatingConstructs.map((c) => c.constructPath),
    })),
  );
}

/** What {@link synthWithNag} returns. */
export interface NagRun {
  readonly report: ValidationReport;
  readonly findings: readonly NagFinding[];
  /** What `app.synth()` threw (it throws when a plugin reports a violation), if anything. */
  readonly synthError: Error | undefined;
  readonly stack: ConnectorSuiteStack;
}

/**
 * Builds the app as bin/app.ts does, lets `modify` change the stack, registers the AWS Solutions and
 * Serverless checks, synthesizes, and reads the validation report CDK writes into the cloud assembly.
 */
export function synthWithNag(
  config: unknown,
  options: SuiteAppOptions & { readonly modify?: (stack: ConnectorSuiteStack) => void } = {},
): NagRun {
  const { app, stack, outdir } = buildSuiteApp(config, options);
  options.modify?.(stack);
  addNagChecks(app);
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  let report: ValidationReport;
  try {
    report = readValidationReport(outdir);
  } catch (error) {
    // No report at all: synthesis failed before validation; that failure is the news.
    throw synthError ?? error;
  }
  return { report, findings: findingsOf(report), synthError, stack };
}
