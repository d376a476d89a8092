/**
 * The limits of the `openapi` kind (docs/connectors/openapi.md, "Limits"): descriptions in YAML, and
 * what happens when an allowed operation uses a feature the kind does not support. Each feature is
 * shown on a small description written here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { loadDescription } from '../../functions/openapi/description.js';
import { ConfigValidationError } from '../../functions/shared/config.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'openapi-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a fresh file of the temporary directory; its name there. */
function write(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as unknown;

describe('a YAML description', () => {
  it('is read as its JSON twin: OpenAPI 3.0 (Twilio), .yaml', async () => {
    // Prepare
    const ids = ['CreateMessage', 'FetchMessage'];
    const file = write('twilio.yaml', toYaml(fixture('twilio/messages.openapi.json')));

    // Act
    const fromYaml = await loadDescription(file, ids, dir);
    const fromJson = await loadDescription('twilio/messages.openapi.json', ids, FIXTURES);

    // Assess
    expect({ ...fromYaml, source: '' }).toEqual({ ...fromJson, source: '' });
    expect(fromYaml.source).toBe(path.join(dir, 'twilio.yaml'));
  });

  it('is read as its JSON twin: Swagger 2.0 (Slack), .yml, converted', async () => {
    // Prepare
    const file = write('slack.yml', toYaml(fixture('slack/slack_web_openapi_v2.chat.json')));

    // Act
    const fromYaml = await loadDescription(file, ['chat_postMessage'], dir);
    const fromJson = await loadDescription(
      'slack/slack_web_openapi_v2.chat.json',
      ['chat_postMessage'],
      FIXTURES,
    );

    // Assess
    expect(fromYaml.baseUrl).toBe('https://slack.com/api');
    expect(fromYaml.operations).toEqual(fromJson.operations);
  });

  it('that is not YAML is a config error naming the line, never a stack trace', async () => {
    // Prepare
    const file = write('broken.yaml', 'openapi: 3.0.3\npaths:\n  /a: {get: \n');

    // Act
    const loading = loadDescription(file, ['a'], dir);

    // Assess
    await expect(loading).rejects.toThrow(ConfigValidationError);
    await expect(loading).rejects.toThrow(/broken\.yaml:\n {2}- cannot be read: not JSON or YAML: .*line/);
  });
});
