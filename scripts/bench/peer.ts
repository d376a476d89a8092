/**
 * The hand-rolled peer `npm run bench` compares the `http` connector with: what a user would write
 * in some 45 lines with the same libraries (fetch, cockatiel retry + circuit breaker + timeout, one
 * Powertools Logger line per call, zod input validation), answering API Gateway proxy results.
 */
import { Logger } from '@aws-lambda-powertools/logger';
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
