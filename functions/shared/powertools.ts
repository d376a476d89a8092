/**
 * Powertools Logger, Tracer and Metrics as every connector uses them: one set per connector, the
 * Logger wired to the process-wide {@link redactor} so no log line can carry a registered secret.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { type Redactor, redactor } from './redaction.js';

export { MetricUnit };

/** The metric names the runtime emits (namespace from `POWERTOOLS_METRICS_NAMESPACE`). */
export const METRIC = {
  /** Milliseconds of one outbound attempt. */
  upstreamLatency: 'UpstreamLatency',
  /** Outbound calls, with dimension `outcome` (`success`, or the error code). */
  upstreamCalls: 'UpstreamCalls',
  /** Retries sent (attempts after the first). */
  upstreamRetries: 'UpstreamRetries',
  /** Calls refused because the circuit breaker was open. */
  circuitOpenRejections: 'CircuitOpenRejections',
  /** Calls refused by the local rate limit. */
  rateLimitRejections: 'RateLimitRejections',
  /** Answers served from the idempotency store. */
  idempotentReplays: 'IdempotentReplays',
  /** Answers served from the GET response cache. */
  cacheHits: 'CacheHits',
  /**
   * Idempotency records not written as they should be after the operation ran: a failed success
   * write (the caller still got the vendor's result) or a failed release of the in-progress record
   * after a failed run. Alarm on it: until the record is written, a duplicate may run again.
   */
  idempotencyRecordFailures: 'IdempotencyRecordFailures',
} as const;

/** A connector's Logger, Tracer and Metrics. */
export interface Powertools {
  logger: Logger;
  tracer: Tracer;
  metrics: Metrics;
}

/** Options of {@link createPowertools}. */
export interface PowertoolsOptions {
  /** Service name; @default `POWERTOOLS_SERVICE_NAME`, else the connector name */
  serviceName: string;
  /** Metrics namespace; @default `POWERTOOLS_METRICS_NAMESPACE`, else `ConnectorSuite` */
  namespace?: string;
  /** The redactor the Logger applies; @default the process-wide {@link redactor} */
  redactor?: Redactor;
}

/**
 * Creates a connector's Logger (JSON, redacting), Tracer (X-Ray, automatic HTTP capture off; a no-op
 * outside Lambda) and Metrics (EMF; off when `POWERTOOLS_METRICS_DISABLED=true`).
 */
export function createPowertools(options: PowertoolsOptions): Powertools {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME || options.serviceName;
  const target = options.redactor ?? redactor;
  return {
    logger: new Logger({ serviceName, jsonReplacerFn: target.jsonReplacer }),
    // Automatic fetch capture would put whole URLs, query-borne API keys included, into traces: the
    // HTTP client opens one redacted subsegment per outbound call instead.
    tracer: new Tracer({ serviceName, captureHTTPsRequests: false }),
    metrics: new Metrics({
      serviceName,
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || options.namespace || 'ConnectorSuite',
    }),
  };
}
