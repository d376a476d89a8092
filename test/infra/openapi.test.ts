/**
 * An `openapi` connector in the stack: the example suite (three Twilio operations, about 9 KB of
 * trimmed description) synthesizes with no unacknowledged cdk-nag finding; its function's entry is
 * generated at synth time (the description and the standalone validators in the bundle, see
 * test/infra/openapi-bundle.test.ts), so `CONNECTOR_CONFIG` names the description by digest and
 * stays far below Lambda's 4 KB environment limit.
 * One synthesis (bundling skipped) shared by the tests that read it.
 */
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveOpenApiSpecs } from '../../functions/openapi/description.js';
import { GENERATED_ENTRIES_DIRECTORY } from '../../functions/openapi/lambda-entry.js';
import { MAX_CONNECTOR_CONFIG_BYTES } from '../../lib/constructs/connector.js';
import { type NagRun, PROJECT_ROOT, synthWithNag } from '../support/infra-helpers.js';

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
