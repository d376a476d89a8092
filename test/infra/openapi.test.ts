/**
 * An `openapi` connector in the stack. A connector of one small operation (Twilio's
 * `DeleteMessage`) synthesizes with no unacknowledged cdk-nag finding, and its function's
 * `CONNECTOR_CONFIG` carries the trimmed description, not the description file's path. The example
 * suite (three Twilio operations, about 9 KB of trimmed description) is refused at synth, naming
 * Lambda's 4 KB environment limit, until the description moves into the bundle (issue 14).
 * One synthesis (bundling skipped) shared by the tests that read it.
 */
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveOpenApiSpecs } from '../../functions/openapi/description.js';
import { ConfigValidationError } from '../../functions/shared/config.js';
import { MAX_CONNECTOR_CONFIG_BYTES } from '../../lib/constructs/connector.js';
import { buildSuiteApp, type NagRun, PROJECT_ROOT, synthWithNag } from '../support/infra-helpers.js';

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
    run = synthWithNag(await exampleSuite(['DeleteMessage']));
    template = Template.fromStack(run.stack);
  });

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(run.findings).toEqual([]);
    expect(run.synthError).toBeUndefined();
  });

  it("gives its function the trimmed description in CONNECTOR_CONFIG, never the file's path", () => {
    // Act
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'twilio-openapi' } } },
    });
    const variables = Object.values(functions)[0]?.Properties.Environment.Variables as Record<string, string>;
    const config = JSON.parse(variables.CONNECTOR_CONFIG ?? '{}');

    // Assess
    expect(Object.keys(functions)).toHaveLength(1);
    expect(config).toMatchObject({ kind: 'openapi', baseUrl: 'https://api.twilio.com' });
    expect(Object.keys(config.spec.operations)).toEqual(['DeleteMessage']);
    expect(variables.CONNECTOR_CONFIG).not.toContain('"description"');
    expect(Buffer.byteLength(variables.CONNECTOR_CONFIG ?? '')).toBeLessThanOrEqual(
      MAX_CONNECTOR_CONFIG_BYTES,
    );
  });

  it("refuses the example's three operations at synth, naming Lambda's 4 KB environment limit", async () => {
    // Prepare
    const suite = await exampleSuite();

    // Act
    const build = () => buildSuiteApp(suite);

    // Assess
    expect(build).toThrow(ConfigValidationError);
    expect(build).toThrow(/twilio-openapi.*CONNECTOR_CONFIG.*4 KB.*allow fewer operations/s);
  });
});
