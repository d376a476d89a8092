/**
 * An `openapi` connector in the stack: the example suite (three Twilio operations, about 9 KB of
 * trimmed description) synthesizes with no unacknowledged cdk-nag finding; its function's entry is
 * generated at synth time (the description and the standalone validators in the bundle, see
 * test/infra/openapi-bundle.test.ts), so `CONNECTOR_CONFIG` names the description by digest and
 * stays far below Lambda's 4 KB environment limit. The vendors' examples (Twilio, Slack and GitHub,
 * ten operations or more each, proven under `npm start` by test/integration/openapi-vendors.test.ts)
 * synthesize together, nag clean.
 * One synthesis (bundling skipped) per describe, shared by the tests that read it.
 */
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveOpenApiSpecs } from '../../functions/openapi/description.js';
import { GENERATED_ENTRIES_DIRECTORY } from '../../functions/openapi/lambda-entry.js';
import { MAX_CONNECTOR_CONFIG_BYTES } from '../../lib/constructs/connector.js';
import { FIRST_SYNTH_TIMEOUT_MS, type NagRun, PROJECT_ROOT, synthWithNag } from '../support/infra-helpers.js';

const EXAMPLE = path.join(PROJECT_ROOT, 'examples/openapi-twilio/suite.config.json');

/** The example suite as written, with its `operations` replaced when given. */
async function exampleSuite(operations?: string[]): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  const written = JSON.parse(await readFile(EXAMPLE, 'utf8')) as {
    connectors: Array<Record<string, unknown>>;
  };
  if (operations) for (const connector of written.connectors) connector.operations = operations;
  return resolveOpenApiSpecs(written, path.dirname(EXAMPLE));
}

describe('an openapi connector in the stack', () => {
  let run: NagRun;
  let template: Template;

  beforeAll(async () => {
    run = synthWithNag(await exampleSuite());
    template = Template.fromStack(run.stack);
  });

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(run.findings).toEqual([]);
    expect(run.synthError).toBeUndefined();
  });

  it("names the bundled description by digest in CONNECTOR_CONFIG, never the file's path or its schemas", () => {
    // Act
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'twilio-openapi' } } },
    });
    const variables = Object.values(functions)[0]?.Properties.Environment.Variables as Record<string, string>;
    const config = JSON.parse(variables.CONNECTOR_CONFIG ?? '{}');

    // Assess
    expect(Object.keys(functions)).toHaveLength(1);
    expect(config).toMatchObject({
      kind: 'openapi',
      baseUrl: 'https://api.twilio.com',
      operations: ['CreateMessage', 'FetchMessage', 'ListMessage'],
    });
    expect(config.spec).toMatch(/^bundled:[0-9a-f]{16}$/);
    expect(variables.CONNECTOR_CONFIG).not.toContain('messages.openapi.json');
    expect(Buffer.byteLength(variables.CONNECTOR_CONFIG ?? '')).toBeLessThanOrEqual(
      MAX_CONNECTOR_CONFIG_BYTES,
    );
  });

  it('generates its entry under the project root, for esbuild to bundle', async () => {
    // Prepare
    const { existsSync } = await import('node:fs');
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'twilio-openapi' } } },
    });
    const variables = Object.values(functions)[0]?.Properties.Environment.Variables as Record<string, string>;
    const digest = String(JSON.parse(variables.CONNECTOR_CONFIG ?? '{}').spec).slice('bundled:'.length);

    // Act
    const entry = path.join(
      PROJECT_ROOT,
      GENERATED_ENTRIES_DIRECTORY,
      `twilio-openapi-${digest}`,
      'index.mjs',
    );

    // Assess
    expect(existsSync(entry)).toBe(true);
  });
});

/** The examples proven under `npm start` (test/integration/openapi-vendors.test.ts), each ≥ 10 operations. */
const VENDOR_EXAMPLES = [
  'examples/openapi-twilio/suite.platform.config.ts',
  'examples/openapi-slack/suite.config.ts',
  'examples/openapi-github/suite.config.ts',
];

describe("the vendors' openapi examples in one stack", () => {
  let run: NagRun;
  let template: Template;
  let connectors: { name: string; operations: string[] }[];

  beforeAll(async () => {
    const { loadSuiteConfig } = await import('../../functions/shared/config-file.js');
    const suites = await Promise.all(
      VENDOR_EXAMPLES.map((file) => loadSuiteConfig(path.join(PROJECT_ROOT, file))),
    );
    const all = suites.flatMap((suite) => suite.connectors);
    connectors = all as never;
    run = synthWithNag({ connectors: all });
    template = Template.fromStack(run.stack);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('synthesizes Twilio, Slack and GitHub with at least ten operations each, nag clean', () => {
    expect(connectors.map((c) => c.name)).toEqual(['twilio-openapi', 'slack-openapi', 'github-openapi']);
    for (const connector of connectors) expect(connector.operations.length).toBeGreaterThanOrEqual(10);
    expect(run.findings).toEqual([]);
    expect(run.synthError).toBeUndefined();
  });

  it('gives each a function whose CONNECTOR_CONFIG names its description by digest', () => {
    for (const connector of connectors) {
      const functions = template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: connector.name } } },
      });
      const variables = Object.values(functions)[0]?.Properties.Environment.Variables as Record<
        string,
        string
      >;
      expect(JSON.parse(variables.CONNECTOR_CONFIG ?? '{}').spec).toMatch(/^bundled:[0-9a-f]{16}$/);
      expect(Buffer.byteLength(variables.CONNECTOR_CONFIG ?? '')).toBeLessThanOrEqual(
        MAX_CONNECTOR_CONFIG_BYTES,
      );
    }
  });
});
