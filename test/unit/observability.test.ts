/**
 * Traces and metrics of outbound calls: one X-Ray subsegment per call, annotated with connector,
 * operation, status and attempts, whose recorded URL carries no query values (and so no query-borne
 * API key); EMF metrics for latency, calls by outcome, retries and circuit-open rejections.
 */
import {
  getNamespace,
  Segment,
  type Subsegment,
  setSegment,
  type Segment as XraySegment,
} from 'aws-xray-sdk-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpClient } from '../../functions/shared/http/client.js';
import { type ConnectorMetrics, createPowertools } from '../../functions/shared/powertools.js';
import { Redactor } from '../../functions/shared/redaction.js';
import { captureOutput } from '../support/fakes.js';

interface RecordedSubsegment {
  name: string;
  subsegments?: RecordedSubsegment[];
  annotations: Record<string, unknown>;
  namespace?: string;
  http?: { request?: { method?: string; url?: string }; response?: { status?: number } };
  error?: boolean;
  fault?: boolean;
}

function clientWith(responses: Response[], minimumCalls = 100) {
  const redactor = new Redactor();
  const powertools = createPowertools({ serviceName: 'tracing-test', redactor });
  powertools.logger.setLogLevel('SILENT');
  const fetch = vi.fn(async () => responses.shift() ?? new Response(null, { status: 500 }));
  const client = new HttpClient({
    connector: 'example',
    baseUrl: 'https://api.example.com',
    timeoutMs: 5_000,
    retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterSeconds: 20 },
    circuitBreaker: { failureRateThreshold: 0.5, minimumCalls, windowSeconds: 60, openSeconds: 30 },
    rateLimit: { requestsPerSecond: 100, burst: 100 },
    cacheTtlSeconds: 0,
    forwardIdempotencyKey: false,
    auth: {
      authorize: async ({ url }) => {
        url.searchParams.set('api_key', 'fake-api-key-example');
      },
    },
    powertools,
    redactor,
    fetch,
  });
  return { client, powertools, fetch };
}

/** Runs `act` inside an X-Ray context whose current segment is a fresh facade segment. */
async function traced(act: (segment: XraySegment) => Promise<unknown>): Promise<RecordedSubsegment[]> {
  const segment = new Segment('facade');
  await getNamespace().runPromise(async () => {
    setSegment(segment);
    await act(segment).catch(() => undefined);
  });
  return ((segment.subsegments ?? []) as Subsegment[]).map(
    (s) => JSON.parse(JSON.stringify(s)) as RecordedSubsegment,
  );
}

describe('X-Ray subsegments of outbound calls', () => {
  beforeEach(() => {
    // Tracing is on only inside Lambda; this makes the Tracer believe it is there.
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');
    vi.stubEnv('AWS_XRAY_CONTEXT_MISSING', 'IGNORE_ERROR');
    vi.stubEnv('AWS_XRAY_DAEMON_ADDRESS', '127.0.0.1:2000');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('records one annotated subsegment for a call that needed two attempts', async () => {
    // Prepare
    const { client, fetch } = clientWith([
      new Response('busy', { status: 503 }),
      new Response('{}', { status: 200 }),
    ]);

    // Act
    const subsegments = await traced(() =>
      client.request(
        { operation: 'listItems', method: 'GET', path: '/items', query: { cursor: 'c-123' } },
        { requestId: 'req-1', deadlineAtMs: Date.now() + 10_000 },
      ),
    );

    // Assess
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(subsegments).toHaveLength(1);
    const [subsegment] = subsegments;
    expect(subsegment?.name).toBe('## example.listItems');
    expect(subsegment?.annotations).toMatchObject({
      connector: 'example',
      operation: 'listItems',
      status: 200,
      attempts: 2,
      outcome: 'success',
    });
    expect(subsegment?.namespace).toBe('remote');
    expect(subsegment?.http?.request).toEqual({
      method: 'GET',
      url: 'https://api.example.com/items?cursor=',
    });
    // Inside it, one subsegment per HTTP attempt.
    expect(subsegment?.subsegments?.map((s) => [s.name, s.annotations, s.error === true])).toEqual([
      ['attempt 1', { attempt: 1, status: 503 }, true],
      ['attempt 2', { attempt: 2, status: 200 }, false],
    ]);
  });

  it('flags a failed call and never records the query-borne API key', async () => {
    // Prepare
    const { client } = clientWith([new Response('nope', { status: 404 })]);

    // Act
    const subsegments = await traced(() =>
      client.request(
        { operation: 'getItem', method: 'GET', path: '/items/1' },
        { requestId: 'req-2', deadlineAtMs: Date.now() + 10_000 },
      ),
    );

    // Assess
    expect(subsegments).toHaveLength(1);
    expect(subsegments[0]?.annotations).toMatchObject({
      status: 404,
      attempts: 1,
      outcome: 'UPSTREAM_REJECTED',
    });
    expect(subsegments[0]?.error || subsegments[0]?.fault).toBe(true);
    expect(JSON.stringify(subsegments)).not.toContain('fake-api-key-example');
  });
});

/** The EMF documents printed, as `{metric name: value}` with their dimensions. */
function emfDocuments(lines: Array<Record<string, unknown>>) {
  return lines.filter((line) => '_aws' in line);
}

describe('EMF metrics of outbound calls', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('emits latency per attempt, one retry and the call by outcome', async () => {
    // Prepare
    const output = captureOutput();
    const { client, powertools } = clientWith([
      new Response('busy', { status: 503 }),
      new Response('{}', { status: 200 }),
    ]);

    // Act
    await client.request(
      { operation: 'listItems', method: 'GET', path: '/items' },
      { requestId: 'req-3', deadlineAtMs: Date.now() + 10_000 },
    );
    powertools.metrics.publishStoredMetrics();

    // Assess
    const documents = emfDocuments(output.lines());
    const calls = documents.find((d) => 'UpstreamCalls' in d);
    expect(calls).toMatchObject({ UpstreamCalls: 1, connector: 'example', outcome: 'success' });
    const stored = documents.find((d) => 'UpstreamLatency' in d);
    expect(stored?.UpstreamLatency).toHaveLength(2);
    expect(stored?.UpstreamRetries).toBe(1);
  });

  it('prints the calls of one invocation as one document per outcome, one value per call (issue 9)', async () => {
    // Prepare
    const output = captureOutput();
    const { client, powertools } = clientWith(
      [
        new Response('{}', { status: 200 }),
        new Response('no', { status: 404 }),
        new Response('{}', { status: 200 }),
        new Response('{}', { status: 200 }),
      ],
      100,
    );
    const call = () =>
      client.request(
        { operation: 'listItems', method: 'GET', path: '/items' },
        { requestId: 'req-5', deadlineAtMs: Date.now() + 10_000 },
      );

    // Act
    for (let i = 0; i < 4; i++) await call().catch(() => undefined);
    const beforePublish = emfDocuments(output.lines());
    powertools.metrics.publishStoredMetrics();

    // Assess
    expect(beforePublish).toEqual([]);
    const calls = emfDocuments(output.lines()).filter((d) => 'UpstreamCalls' in d);
    expect(calls).toHaveLength(2);
    expect(calls.find((d) => d.outcome === 'success')).toMatchObject({
      UpstreamCalls: [1, 1, 1],
      connector: 'example',
      service: 'tracing-test',
      _aws: {
        CloudWatchMetrics: [
          {
            Dimensions: [['service', 'connector', 'outcome']],
            Metrics: [{ Name: 'UpstreamCalls', Unit: 'Count' }],
          },
        ],
      },
    });
    expect(calls.find((d) => d.outcome === 'UPSTREAM_REJECTED')).toMatchObject({ UpstreamCalls: 1 });
  });

  it('publishes call counts alone without the no-metrics warning, and nothing twice', async () => {
    // Prepare
    const output = captureOutput();
    const { powertools } = clientWith([]);
    const metrics = powertools.metrics as ConnectorMetrics;
    metrics.addDimensionedCount('UpstreamCalls/example/success', 'UpstreamCalls', {
      connector: 'example',
      outcome: 'success',
    });

    // Act
    const had = metrics.hasStoredMetrics();
    metrics.publishStoredMetrics();
    const hasAfter = metrics.hasStoredMetrics();

    // Assess
    expect(had).toBe(true);
    expect(hasAfter).toBe(false);
    const lines = output.lines();
    expect(emfDocuments(lines)).toHaveLength(1);
    expect(output.text()).not.toContain('No application metrics');
  });

  it('counts calls refused by an open circuit breaker', async () => {
    // Prepare
    const output = captureOutput();
    const { client, powertools, fetch } = clientWith([new Response('down', { status: 500 })], 1);
    const call = () =>
      client.request(
        { operation: 'listItems', method: 'GET', path: '/items' },
        { requestId: 'req-4', deadlineAtMs: Date.now() + 10_000 },
      );
    // The first call's failure opens the breaker, which then refuses that call's own retry.
    const first = await call().catch((e: unknown) => e);

    // Act
    const error = await call().catch((e: unknown) => e);
    powertools.metrics.publishStoredMetrics();

    // Assess
    expect(first).toMatchObject({ code: 'UPSTREAM_ERROR', attempts: 1 });
    expect(error).toMatchObject({ code: 'CIRCUIT_BREAKER_OPEN' });
    expect(fetch).toHaveBeenCalledTimes(1);
    const documents = emfDocuments(output.lines());
    expect(documents.find((d) => 'CircuitOpenRejections' in d)?.CircuitOpenRejections).toEqual([1, 1]);
    expect(documents.filter((d) => d.outcome === 'CIRCUIT_BREAKER_OPEN')).toHaveLength(1);
  });

  it('counts the breaker opening once, as CircuitBreakerOpened with the service dimension only', async () => {
    // Prepare
    const output = captureOutput();
    const { client, powertools } = clientWith([new Response('down', { status: 500 })], 1);
    const call = () =>
      client.request(
        { operation: 'listItems', method: 'GET', path: '/items' },
        { requestId: 'req-6', deadlineAtMs: Date.now() + 10_000 },
      );

    // Act: the first call opens the breaker; the second is refused without reopening it.
    await call().catch(() => undefined);
    await call().catch(() => undefined);
    powertools.metrics.publishStoredMetrics();

    // Assess
    const stored = emfDocuments(output.lines()).find((d) => 'CircuitBreakerOpened' in d);
    expect(stored).toMatchObject({
      CircuitBreakerOpened: 1,
      service: 'tracing-test',
      _aws: { CloudWatchMetrics: [{ Dimensions: [['service']] }] },
    });
    expect(stored).not.toHaveProperty('connector');
    expect(client.circuitBreaker.state).toBe('open');
  });
});
