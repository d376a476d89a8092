/**
 * An `openapi` connector in the stack: the example suite (Twilio's Messages operations) synthesizes
 * with no unacknowledged cdk-nag finding, and its function's `CONNECTOR_CONFIG` carries the trimmed
 * description, not the description file's path. One synthesis (bundling skipped) shared by the tests.
 */
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveOpenApiSpecs } from '../../functions/openapi/description.js';
import { type NagRun, PROJECT_ROOT, synthWithNag } from '../support/infra-helpers.js';

const EXAMPLE = path.join(PROJECT_ROOT, 'examples/openapi-twilio/suite.config.json');

describe('an openapi connector in the stack', () => {
  let run: NagRun;
  let template: Template;

  beforeAll(async () => {
    const { readFile } = await import('node:fs/promises');
    const written: unknown = JSON.parse(await readFile(EXAMPLE, 'utf8'));
    run = synthWithNag(await resolveOpenApiSpecs(written, path.dirname(EXAMPLE)));
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
    expect(Object.keys(config.spec.operations)).toEqual(['CreateMessage', 'FetchMessage', 'ListMessage']);
    expect(variables.CONNECTOR_CONFIG).not.toContain('"description"');
  });
});
