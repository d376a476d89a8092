/**
 * The vendor shape of the connector kit (`defineVendor`), through a real connector handler and a
 * made-up vendor SDK: the secret checked against its schema, the SDK client cached per connector and
 * secret version, one retry after a rotation, the vendor's errors mapped and the policies' own
 * failures passed through.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { parseConnectorConfig, type VendorConnectorConfig } from '../../functions/shared/config.js';
import type {
  CredentialStore,
  GetSecretOptions,
  SecretValue,
} from '../../functions/shared/credentials/store.js';
import { ConnectorError, configurationError } from '../../functions/shared/errors.js';
import { Redactor } from '../../functions/shared/redaction.js';
import {
  type ConnectorHandler,
  defineConnector,
  defineOperation,
  defineVendor,
  type ObservedCall,
  type VendorClientTools,
} from '../../functions/shared/runtime/index.js';
import {
  apiGatewayEvent,
  captureOutput,
  connectorErrorOf,
  lambdaContext,
  networkError,
  scriptedFetch,
  type UpstreamStep,
} from '../support/fakes.js';

/** Obviously fake keys. */
const KEY = 'key_example_0001';
const ROTATED_KEY = 'key_example_rotated_0002';
const BASE_URL = 'https://api.vendor.example';

/** A vendor's error, as an SDK throws it for an error answer. */
class AcmeError extends Error {
  constructor(
    readonly status: number,
    readonly acmeCode: string,
  ) {
    super(`Acme answered ${status} (${acmeCode})`);
  }
}

/** A made-up vendor SDK: one call, the key as a bearer token, every failed fetch wrapped. */
class AcmeSdk {
  constructor(
    readonly apiKey: string,
    readonly baseUrl: string,
    readonly fetch: typeof globalThis.fetch,
  ) {}

  async getThing(id: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}/v1/things/${id}`, {
        headers: { authorization: `Bearer ${this.apiKey}` },
      });
    } catch {
      // As SDKs do: the policies' own error is lost in the SDK's wrapper.
      throw new Error('Acme connection error');
    }
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new AcmeError(response.status, String(body.error));
    return body;
  }
}

type AcmeConfig = VendorConnectorConfig<'stripe'>;

const built = vi.fn<(apiKey: string) => void>();
const mapped = vi.fn<(error: unknown, observed: ObservedCall) => void>();

/** The vendor under test: declared once, as a vendor connector does. */
const acmeVendor = defineVendor({
  name: 'Acme',
  secret: z.object({
    apiKey: z
      .string()
      .min(1)
      .regex(/^key_[a-z0-9_]+$/, 'must be an Acme key such as key_123'),
  }),
  client: ({ apiKey }, { config, fetch }: VendorClientTools<AcmeConfig>) => {
    built(apiKey);
    if (config.baseUrl.endsWith('/broken')) throw configurationError('Acme needs a base URL without a path.');
    return new AcmeSdk(apiKey, config.baseUrl, fetch);
  },
  mapError: (error, observed) => {
    mapped(error, observed);
    if (!(error instanceof AcmeError)) return undefined;
    const common = { upstreamStatus: error.status, details: { code: error.acmeCode } };
    if (error.status === 401)
      return new ConnectorError('AUTHENTICATION_ERROR', 'Acme rejected the key.', common);
    if (error.status === 429) {
      const retryAfter = Number(observed.headers?.['retry-after'] ?? 1);
      return new ConnectorError('RATE_LIMIT_EXCEEDED', 'Acme is rate limiting.', {
        ...common,
        retryAfterSeconds: retryAfter,
      });
    }
    if (error.status === 404)
      return new ConnectorError('UPSTREAM_REJECTED', 'Acme has no such thing.', common);
    return undefined;
  },
});

/** A client taken out of `vendor.call`, to use after the call is over. */
let escaped: AcmeSdk | undefined;

const acmeConnector = defineConnector<AcmeConfig>({
  kind: 'stripe',
  operations: () => ({
    getThing: defineOperation({
      description: 'Reads a thing.',
      input: z.strictObject({ id: z.string().min(1) }),
      run: (input, context) => acmeVendor.call(context, (sdk) => sdk.getThing(input.id)),
    }),
    escape: defineOperation({
      description: 'Keeps the client past the call.',
      input: z.strictObject({}),
      run: async (_input, context) => {
        escaped = await acmeVendor.call(context, async (sdk) => sdk);
        return { kept: true };
      },
    }),
  }),
});

/** A credential store like the real ones: values registered when handed out, cached until a forced read. */
class MemoryCredentialStore implements CredentialStore {
  readonly reads: Array<{ forceRefresh: boolean }> = [];
  #stored: SecretValue;
  #cached: SecretValue | undefined;

  constructor(
    value: SecretValue,
    readonly redactor: Redactor,
  ) {
    this.#stored = value;
  }

  /** A rotation: cached reads still see the old value. */
  rotate(value: SecretValue): void {
    this.#stored = value;
  }

  async getSecret(_name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    this.reads.push({ forceRefresh: options.forceRefresh ?? false });
    if (this.#cached && !options.forceRefresh) return this.#cached;
    this.redactor.addSecretValues(this.#stored);
    this.#cached = this.#stored;
    return this.#stored;
  }
}

function acmeConfig(baseUrl = BASE_URL): AcmeConfig {
  return parseConnectorConfig(
    {
      name: 'acme',
      kind: 'stripe',
      secret: 'acme',
      baseUrl,
      timeoutMs: 2_000,
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 5 },
    },
    'test',
  ) as AcmeConfig;
}

function acmeHandler(options: { config?: AcmeConfig; secret?: SecretValue; upstream: UpstreamStep[] }) {
  const redactor = new Redactor();
  const store = new MemoryCredentialStore(options.secret ?? { apiKey: KEY }, redactor);
  const upstream = scriptedFetch(...options.upstream);
  const handler = acmeConnector.createHandler({
    config: options.config ?? acmeConfig(),
    credentials: store,
    fetch: upstream.fetch,
    redactor,
  });
  return { handler, store, upstream };
}

interface Answer {
  status: number;
  raw: string;
  body: {
    data?: Record<string, unknown>;
    meta?: { attempts: number; upstreamStatus: number | null };
    error?: {
      code: string;
      message: string;
      upstreamStatus?: number;
      retryAfterSeconds?: number;
      attempts?: number;
    };
  };
}

async function invoke(handler: ConnectorHandler, operation = 'getThing', body: unknown = { id: 'thing_1' }) {
  const result = (await handler(
    apiGatewayEvent({ connector: 'acme', operation, body }),
    lambdaContext(),
  )) as APIGatewayProxyResult;
  return { status: result.statusCode, raw: result.body, body: JSON.parse(result.body) } as Answer;
}

const thing = { status: 200, body: { id: 'thing_1', name: 'Widget' } };

let output: ReturnType<typeof captureOutput>;

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  output = captureOutput();
  built.mockClear();
  mapped.mockClear();
  escaped = undefined;
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('defineVendor: the secret', () => {
  it('answers CONFIGURATION_ERROR naming the missing field, builds no client and calls no one', async () => {
    // Prepare
    const { handler, upstream } = acmeHandler({ secret: { token: KEY }, upstream: [thing] });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(answer.body.error?.message).toBe("Secret 'acme' has no non-empty string field 'apiKey'.");
    expect(answer.raw).not.toContain(KEY);
    expect(built).not.toHaveBeenCalled();
    expect(upstream.requests).toHaveLength(0);
  });

  it("answers CONFIGURATION_ERROR with the schema's message for a malformed field, never its value", async () => {
    // Prepare
    const malformed = 'not an acme key';

    // Act
    const error = await connectorErrorOf(
      Promise.resolve().then(() => acmeVendor.parseSecret({ apiKey: malformed }, 'acme')),
    );

    // Assess
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toBe("Secret 'acme': field 'apiKey' must be an Acme key such as key_123.");
    expect(error.message).not.toContain(malformed);
  });

  it('names every bad field at once', async () => {
    // Act
    const error = await connectorErrorOf(
      Promise.resolve().then(() => acmeVendor.parseSecret({ apiKey: '' }, 'acme')),
    );
    const twoFields = await connectorErrorOf(
      Promise.resolve().then(() =>
        defineVendor({
          name: 'Pair',
          secret: z.object({ user: z.string().min(1), password: z.string().min(1) }),
          client: () => ({}),
          mapError: () => undefined,
        }).parseSecret({}, 'pair'),
      ),
    );

    // Assess
    expect(error.message).toBe("Secret 'acme' has no non-empty string field 'apiKey'.");
    expect(twoFields.message).toBe(
      "Secret 'pair': no non-empty string field 'user'; no non-empty string field 'password'.",
    );
  });

  it('keeps only the fields of the schema, so extra fields of the secret change nothing', () => {
    // Act
    const parsed = acmeVendor.parseSecret({ apiKey: KEY, rotatedAt: '2026-12-01' }, 'acme');

    // Assess
    expect(parsed).toEqual({ apiKey: KEY });
  });
});

describe('defineVendor: the SDK client', () => {
  it('is built once per connector and secret, and reused by later calls', async () => {
    // Prepare
    const { handler, upstream } = acmeHandler({ upstream: [thing] });

    // Act
    const first = await invoke(handler);
    const second = await invoke(handler);

    // Assess
    expect(first.status).toBe(200);
    expect(second.body.data).toEqual({ id: 'thing_1', name: 'Widget' });
    expect(built).toHaveBeenCalledTimes(1);
    expect(upstream.requests).toHaveLength(2);
  });

  it("sends each call through its own handler's policies, even when the client is shared", async () => {
    // Prepare: two handlers of one connector config share its cached client.
    const config = acmeConfig();
    const a = acmeHandler({ config, upstream: [{ status: 200, body: { id: 'thing_1', from: 'a' } }] });
    const b = acmeHandler({ config, upstream: [{ status: 200, body: { id: 'thing_1', from: 'b' } }] });

    // Act
    const [fromA, fromB] = await Promise.all([invoke(a.handler), invoke(b.handler)]);

    // Assess
    expect(built).toHaveBeenCalledTimes(1);
    expect(fromA.body.data?.from).toBe('a');
    expect(fromB.body.data?.from).toBe('b');
    expect(a.upstream.requests).toHaveLength(1);
    expect(b.upstream.requests).toHaveLength(1);
  });

  it('is not kept when building it fails, so a fixed config is not needed to clear it', async () => {
    // Prepare
    const { handler, upstream } = acmeHandler({
      config: acmeConfig(`${BASE_URL}/broken`),
      upstream: [thing],
    });

    // Act
    const first = await invoke(handler);
    const second = await invoke(handler);

    // Assess
    expect(first.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(second.body.error?.code).toBe('CONFIGURATION_ERROR');
    expect(built).toHaveBeenCalledTimes(2);
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses to send once its call is over', async () => {
    // Prepare
    const { handler, upstream } = acmeHandler({ upstream: [thing] });
    await invoke(handler, 'escape', {});
    if (!escaped) throw new Error('the escape operation kept no client');

    // Act
    const error = await connectorErrorOf(escaped.fetch(`${BASE_URL}/v1/things/thing_1`));

    // Assess
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('defineVendor: rotation', () => {
  it('after the vendor rejects the key, reads the secret again and retries once with a new client', async () => {
    // Prepare
    const { handler, store, upstream } = acmeHandler({
      upstream: [
        (request) =>
          request.headers.get('authorization') === `Bearer ${ROTATED_KEY}`
            ? Response.json(thing.body)
            : Response.json({ error: 'invalid_key' }, { status: 401 }),
      ],
    });
    await invoke(handler);
    store.rotate({ apiKey: ROTATED_KEY });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ id: 'thing_1', name: 'Widget' });
    expect(built.mock.calls).toEqual([[KEY], [ROTATED_KEY]]);
    expect(store.reads.filter((read) => read.forceRefresh)).toHaveLength(2);
    expect(upstream.requests.map((request) => request.headers.get('authorization'))).toEqual([
      `Bearer ${KEY}`,
      `Bearer ${KEY}`,
      `Bearer ${ROTATED_KEY}`,
    ]);
    const rotation = output.lines().filter((line) => /rotated secret/.test(String(line.message)));
    expect(rotation).toHaveLength(1);
    expect(output.text()).not.toContain(ROTATED_KEY);
  });

  it('lets the rejection stand when the secret did not change', async () => {
    // Prepare
    const { handler, store, upstream } = acmeHandler({
      upstream: [{ status: 401, body: { error: 'invalid_key' } }],
    });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', upstreamStatus: 401 });
    expect(store.reads).toEqual([{ forceRefresh: false }, { forceRefresh: true }]);
    expect(upstream.requests).toHaveLength(1);
    expect(built).toHaveBeenCalledTimes(1);
  });
});

describe('defineVendor: errors', () => {
  it("maps the vendor's error with what the runtime saw of the answer, attempts counted", async () => {
    // Prepare
    const { handler, upstream } = acmeHandler({
      upstream: [{ status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': '0' } }],
    });

    // Act
    const answer = await invoke(handler);

    // Assess: the policies retried the 429 (maxAttempts 2), then the SDK's error was mapped.
    expect(answer.status).toBe(429);
    expect(answer.body.error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      upstreamStatus: 429,
      attempts: 2,
    });
    expect(upstream.requests).toHaveLength(2);
    expect(mapped).toHaveBeenCalledTimes(1);
    expect(mapped.mock.calls[0]?.[1]).toMatchObject({ upstreamStatus: 429, headers: { 'retry-after': '0' } });
  });

  it('maps a rejection to its code', async () => {
    // Prepare
    const { handler } = acmeHandler({ upstream: [{ status: 404, body: { error: 'no_such_thing' } }] });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({ code: 'UPSTREAM_REJECTED', upstreamStatus: 404, attempts: 1 });
  });

  it('passes a failure of the policies through as it is, whatever the SDK wrapped it in', async () => {
    // Prepare
    const refused = () => {
      throw networkError('ECONNREFUSED');
    };
    const { handler } = acmeHandler({ upstream: [refused] });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.body.error?.code).toBe('UPSTREAM_ERROR');
    expect(answer.body.error?.message).not.toContain('Acme connection error');
    expect(mapped).not.toHaveBeenCalled();
  });

  it('answers INTERNAL_ERROR for an error the mapping leaves alone, without its message', async () => {
    // Prepare
    const { handler } = acmeHandler({ upstream: [{ status: 500, body: { error: 'internal details' } }] });

    // Act
    const answer = await invoke(handler);

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.body.error?.code).toBe('INTERNAL_ERROR');
    expect(answer.raw).not.toContain('internal details');
    expect(mapped).toHaveBeenCalledTimes(1);
  });
});
