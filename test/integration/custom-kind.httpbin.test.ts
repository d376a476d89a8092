/**
 * A connector kind of a user's own (test/fixtures/custom-kind, the `weather` kind) served by the
 * local gateway against a real httpbin (HTTPBIN_URL), as a user starts it from their repository:
 * `startLocalGateway({ suite, kinds })` of `local/index.ts`, the suite as written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startLocalGateway } from '../../local/index.js';
import { weatherKind } from '../fixtures/custom-kind/kind.js';
import {
  type CapturedOutput,
  captureOutput,
  EXAMPLE_TOKEN,
  type TempSecrets,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const HTTPBIN_URL = process.env.HTTPBIN_URL ?? '';

/** What the `forecast` operation returns: httpbin's echo of the request, in part. */
interface ForecastEcho {
  args: Record<string, string>;
  headers: Record<string, string>;
}

describe.skipIf(!process.env.HTTPBIN_URL)('a custom connector kind through the local gateway', () => {
  let output: CapturedOutput;
  let secrets: TempSecrets;
  let gateway: LocalGateway;

  beforeAll(async () => {
    output = captureOutput();
    secrets = await writeTempSecrets({ weather: { token: EXAMPLE_TOKEN } });
    gateway = await startLocalGateway({
      suite: {
        connectors: [
          {
            name: 'weather',
            kind: 'weather',
            baseUrl: HTTPBIN_URL,
            auth: { type: 'bearer', secret: 'weather' },
            settings: { units: 'imperial' },
            retry: { maxAttempts: 1 },
          },
          // No auth: httpbin's /bearer refuses it.
          { name: 'weather-anonymous', kind: 'weather', baseUrl: HTTPBIN_URL, retry: { maxAttempts: 1 } },
        ],
      },
      kinds: [weatherKind],
      secretsFile: secrets.file,
      port: 0,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await secrets?.cleanup();
    output?.restore();
  });

  async function call<T>(connector: string, operation: string, body: unknown) {
    const response = await fetch(`${gateway.url}/v1/connectors/${connector}/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as { data?: T; meta?: Record<string, unknown>; error?: { code: string } },
    };
  }

  it("answers with the kind's settings and its auth applied", async () => {
    // Act
    const forecast = await call<ForecastEcho>('weather', 'forecast', { city: 'Lyon' });
    const whoami = await call<{ authenticated: boolean; token: string }>('weather', 'whoami', {});

    // Assess
    expect(forecast.status).toBe(200);
    expect(forecast.body.data?.args).toEqual({ city: 'Lyon', units: 'imperial' });
    // httpbin saw the bearer token; the caller sees it redacted.
    expect(forecast.body.data?.headers.Authorization).toBe('Bearer [REDACTED]');
    expect(forecast.body.meta).toMatchObject({
      connector: 'weather',
      operation: 'forecast',
      upstreamStatus: 200,
    });
    expect(whoami.status).toBe(200);
    expect(whoami.body.data).toEqual({ authenticated: true, token: '[REDACTED]' });
    expect(output.text()).not.toContain(EXAMPLE_TOKEN);
  });

  it('refuses a call without credentials as httpbin does, and bad input as the kind says', async () => {
    // Act
    const anonymous = await call('weather-anonymous', 'whoami', {});
    const invalid = await call('weather', 'forecast', { city: '' });

    // Assess
    expect(anonymous.status).toBe(502);
    expect(anonymous.body.error?.code).toBe('AUTHENTICATION_ERROR');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.code).toBe('VALIDATION_ERROR');
  });

  it('refuses to start a suite naming a kind that is not registered, naming the kinds known', async () => {
    // Act
    const start = startLocalGateway({
      suite: { connectors: [{ name: 'weather', kind: 'weather', baseUrl: HTTPBIN_URL }] },
      port: 0,
    });

    // Assess
    await expect(start).rejects.toThrow(
      "connectors[0].kind: 'weather' is not a registered connector kind; the kinds known are http, stripe, slack, github, twilio, openapi",
    );
  });
});
