/**
 * The hand-rolled peer `npm run bench` compares the `http` connector with: what a user would write
 * in some 45 lines with the same libraries (fetch, cockatiel retry + circuit breaker + timeout, one
 * Powertools Logger line per call, zod input validation), answering API Gateway proxy results.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { z } from 'zod';

const input = z.strictObject({
  method: z.enum(['GET', 'POST']),
  path: z.string().startsWith('/'),
  query: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

/** Options of {@link createPeerHandler}. */
export interface PeerOptions {
  /** The upstream's base URL, e.g. `http://127.0.0.1:PORT`. */
  baseUrl: string;
  /** The bearer token sent upstream. */
  token: string;
  /** Timeout of one attempt, in ms. @default 2000 */
  timeoutMs?: number;
}

/** A peer handler: validate, call with retry + breaker + timeout, log one line, answer. */
export function createPeerHandler(
  options: PeerOptions,
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const logger = new Logger({ serviceName: 'peer' });
  const policy = wrap(
    retry(handleAll, {
      maxAttempts: 2,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }),
    }),
    circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(options.timeoutMs ?? 2_000, TimeoutStrategy.Aggressive),
  );
  return async (event) => {
    const parsed = input.safeParse(JSON.parse(event.body ?? 'null'));
    if (!parsed.success) return { statusCode: 400, body: JSON.stringify({ error: parsed.error.issues }) };
    const url = new URL(parsed.data.path, options.baseUrl);
    for (const [name, value] of Object.entries(parsed.data.query ?? {}))
      url.searchParams.set(name, String(value));
    const started = performance.now();
    try {
      const data = await policy.execute(async ({ signal }) => {
        const response = await fetch(url, {
          method: parsed.data.method,
          headers: { authorization: `Bearer ${options.token}` },
          signal,
        });
        if (response.status >= 500) throw new Error(`upstream ${response.status}`);
        return response.json();
      });
      logger.info('call', { path: url.pathname, status: 200, latencyMs: performance.now() - started });
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data }),
      };
    } catch (error) {
      logger.error('call failed', { path: url.pathname, error: String(error) });
      return { statusCode: 502, body: JSON.stringify({ error: 'upstream failed' }) };
    }
  };
}

/** Options of {@link createTelemetryFloor}. */
export interface FloorOptions {
  /** The URL to `GET`. */
  url: string;
  /** The bearer token sent upstream. */
  token: string;
  /** The call's deadline, in ms. @default 2000 */
  timeoutMs?: number;
}

/**
 * The telemetry floor: raw `fetch` plus the least that any call meeting the suite's requirements
 * pays, whatever code makes it. A deadline (an `AbortController` and its timer), one Powertools
 * Logger line, and one EMF document from Powertools Metrics, as the handler publishes at the end of
 * each invocation. No validation, retry, breaker or redaction.
 */
export function createTelemetryFloor(options: FloorOptions): () => Promise<void> {
  const logger = new Logger({ serviceName: 'floor' });
  const metrics = new Metrics({ serviceName: 'floor', namespace: 'Bench' });
  const headers = { authorization: `Bearer ${options.token}` };
  return async () => {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 2_000);
    try {
      const response = await fetch(options.url, { headers, signal: controller.signal });
      if (response.status !== 200) throw new Error(`floor answered ${response.status}`);
      await response.json();
      const latencyMs = performance.now() - started;
      logger.info('upstream attempt', { path: '/items/1', status: response.status, latencyMs });
      metrics.addMetric('UpstreamLatency', MetricUnit.Milliseconds, latencyMs);
      metrics.publishStoredMetrics();
    } finally {
      clearTimeout(timer);
    }
  };
}
