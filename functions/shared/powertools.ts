/**
 * Powertools Logger, Tracer and Metrics as every connector uses them: one set per connector, the
 * Logger wired to the process-wide {@link redactor} so no log line can carry a registered secret.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
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
  /**
   * Transitions of the circuit breaker to open (from closed, or from half-open after a failed
   * probe), per warm instance: one count each time an instance's breaker opens.
   */
  circuitBreakerOpened: 'CircuitBreakerOpened',
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
  /**
   * Failures of the connector's own AWS dependencies, with dimension `dependency` (`DynamoDB`,
   * `Secrets Manager`, `SQS`, `EventBridge`): each `DEPENDENCY_UNAVAILABLE` once, where it arises
   * (the idempotency store before the call included, which makes no outbound call).
   */
  dependencyFailures: 'DependencyFailures',
  /**
   * Failed requests to the fleet's shared state in the idempotency table, with dimension `feature`
   * (`circuitBreaker`, `rateLimit`): the instance then decides alone (docs/fleet.md).
   */
  sharedStateFailures: 'SharedStateFailures',
} as const;

/**
 * Powertools `Metrics` that also counts metrics which carry dimensions of their own (e.g.
 * `UpstreamCalls` by `connector` and `outcome`) without `singleMetric()`: that builds a new `Metrics`
 * per call (reading the environment, creating a `Console`) and prints one EMF document per call
 * (issue 9: about 21 % of a warm call's CPU). Here a count is a map increment; at
 * {@link ConnectorMetrics.publishStoredMetrics} each set of dimensions is printed as one EMF document
 * by a `Metrics` kept for that set, with one value of `1` per count, so CloudWatch sees the same
 * metric name, dimensions, sum and sample count as before. The handler publishes at the end of each
 * invocation.
 *
 * The kept `Metrics` are built from this one's constructor options: default dimensions set later
 * with `setDefaultDimensions` do not reach them.
 */
export class ConnectorMetrics extends Metrics {
  readonly #options: MetricsOptions;
  /** Counts waiting for the next publish, by metric name and dimension values. */
  readonly #counts = new Map<
    string,
    { name: string; dimensions: Readonly<Record<string, string>>; count: number }
  >();
  /** One long-lived `Metrics` per metric name and dimension values (a small, bounded set). */
  readonly #emitters = new Map<string, Metrics>();

  constructor(options: MetricsOptions = {}) {
    super(options);
    this.#options = options;
  }

  /**
   * Adds one to the count metric `name` (unit `Count`) with its own `dimensions` on top of the
   * default ones; published by the next {@link publishStoredMetrics}.
   * @param key - identifies `name` with these dimension values (e.g. `UpstreamCalls/example/success`);
   *   the caller builds it so that the hot path allocates nothing per call
   */
  addDimensionedCount(key: string, name: string, dimensions: Readonly<Record<string, string>>): void {
    const entry = this.#counts.get(key);
    if (entry) entry.count += 1;
    else this.#counts.set(key, { name, dimensions, count: 1 });
  }

  /** Whether a metric, dimensioned counts included, waits to be published. */
  override hasStoredMetrics(): boolean {
    return this.#counts.size > 0 || super.hasStoredMetrics();
  }

  /** Prints the dimensioned counts (one EMF document per set of dimensions), then the stored metrics. */
  override publishStoredMetrics(): this {
    if (this.#counts.size === 0) return super.publishStoredMetrics();
    for (const [key, { name, dimensions, count }] of this.#counts) {
      let emitter = this.#emitters.get(key);
      if (!emitter) {
        emitter = new Metrics({
          ...this.#options,
          defaultDimensions: { ...this.#options.defaultDimensions, ...dimensions },
        });
        this.#emitters.set(key, emitter);
      }
      for (let i = 0; i < count; i++) emitter.addMetric(name, MetricUnit.Count, 1);
      emitter.publishStoredMetrics();
    }
    this.#counts.clear();
    // Only dimensioned counts: nothing else to print (and no "no metrics" warning for it).
    if (super.hasStoredMetrics()) super.publishStoredMetrics();
    return this;
  }
}

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
 * outside Lambda) and Metrics (a {@link ConnectorMetrics}: EMF, off when
 * `POWERTOOLS_METRICS_DISABLED=true`; whoever calls the client publishes at the end of each invocation).
 */
export function createPowertools(options: PowertoolsOptions): Powertools {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME || options.serviceName;
  const target = options.redactor ?? redactor;
  return {
    logger: new Logger({ serviceName, jsonReplacerFn: target.jsonReplacer }),
    // Automatic fetch capture would put whole URLs, query-borne API keys included, into traces: the
    // HTTP client opens one redacted subsegment per outbound call instead.
    tracer: new Tracer({ serviceName, captureHTTPsRequests: false }),
    metrics: new ConnectorMetrics({
      serviceName,
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || options.namespace || 'ConnectorSuite',
    }),
  };
}

/** The dependencies {@link METRIC.dependencyFailures} names, as `dependencyUnavailable` is called with them. */
export const DEPENDENCIES = ['DynamoDB', 'Secrets Manager', 'SQS', 'EventBridge'] as const;

/**
 * Adds one to the count metric `name` with its own `dimensions`: through
 * {@link ConnectorMetrics.addDimensionedCount} (published with the invocation's other metrics), or,
 * with plain Powertools `Metrics` (a caller's own), as one EMF document now.
 * @param key - identifies `name` with these dimension values; build it once where the count is hot
 */
export function countWithDimensions(
  metrics: Metrics,
  key: string,
  name: string,
  dimensions: Readonly<Record<string, string>>,
): void {
  if (metrics instanceof ConnectorMetrics) {
    metrics.addDimensionedCount(key, name, dimensions);
    return;
  }
  const single = metrics.singleMetric();
  for (const [dimension, value] of Object.entries(dimensions)) single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/**
 * Counts one failure of a shared state's store in `SharedStateFailures` (dimension `feature`:
 * `circuitBreaker` or `rateLimit`, docs/fleet.md).
 */
export function countSharedStateFailure(metrics: Metrics, feature: 'circuitBreaker' | 'rateLimit'): void {
  countWithDimensions(metrics, `${METRIC.sharedStateFailures}\u0000${feature}`, METRIC.sharedStateFailures, {
    feature,
  });
}

/** Counts one failure of `dependency` in `DependencyFailures` (dimension `dependency`). */
export function countDependencyFailure(metrics: Metrics, dependency: string): void {
  countWithDimensions(metrics, `${METRIC.dependencyFailures}\u0000${dependency}`, METRIC.dependencyFailures, {
    dependency,
  });
}
