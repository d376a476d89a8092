/**
 * The circuit breaker of a connector, on cockatiel's `CircuitBreakerPolicy` with a failure-rate
 * breaker over a sliding time window: it opens when more than `failureRateThreshold` of at least
 * `minimumCalls` attempts within `windowSeconds` failed, stays open `openSeconds`, then lets one
 * half-open probe through; the probe's success closes it, its failure opens it again.
 */
import { BrokenCircuitError, CircuitState, circuitBreaker, handleWhenResult, type IBreaker } from 'cockatiel';

export { CircuitState };

/** Settings of {@link CircuitBreaker} (the `circuitBreaker` block of a connector's config). */
export interface CircuitBreakerSettings {
  /** Fraction of failures (0..1] that must be exceeded to open. */
  failureRateThreshold: number;
  /** Attempts within the window before the rate is judged. */
  minimumCalls: number;
  /** The sliding window, in seconds. */
  windowSeconds: number;
  /** Time open before the half-open probe, in seconds. */
  openSeconds: number;
}

/**
 * Cockatiel breaker (`IBreaker`) that judges the failure rate of the attempts seen within a
 * sliding time window, once there are at least `minimumCalls` of them.
 */
export class FailureRateBreaker implements IBreaker {
  readonly #settings: CircuitBreakerSettings;
  #outcomes: Array<{ atMs: number; failed: boolean }> = [];

  constructor(settings: CircuitBreakerSettings) {
    this.#settings = settings;
  }

  /** Outcomes in the window, for cockatiel's `toJSON`. */
  get state(): unknown {
    return this.#outcomes.map((o) => ({ ...o }));
  }

  set state(value: unknown) {
    this.#outcomes = Array.isArray(value) ? (value as Array<{ atMs: number; failed: boolean }>) : [];
  }

  /** @inheritdoc */
  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.#outcomes = [];
    this.#record(false);
  }

  /** @inheritdoc */
  failure(state: CircuitState): boolean {
    this.#record(true);
    if (state !== CircuitState.Closed) return true;
    const total = this.#outcomes.length;
    if (total < this.#settings.minimumCalls) return false;
    const failures = this.#outcomes.filter((o) => o.failed).length;
    return failures > this.#settings.failureRateThreshold * total;
  }

  #record(failed: boolean): void {
    const now = Date.now();
    const oldest = now - this.#settings.windowSeconds * 1000;
    this.#outcomes = this.#outcomes.filter((o) => o.atMs > oldest);
    this.#outcomes.push({ atMs: now, failed });
  }
}

/** Thrown by {@link CircuitBreaker.execute} when the breaker is open. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /** Seconds until the half-open probe is allowed (at least 1). */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super('The circuit breaker is open.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A connector's circuit breaker. `execute` runs one attempt through it; the attempt's result says
 * whether it counts as a failure (`countsAsFailure`), so an answer such as a 503 trips the breaker
 * without being thrown.
 */
export class CircuitBreaker {
  readonly #policy;
  readonly #openMs: number;
  #openedAtMs = 0;

  constructor(settings: CircuitBreakerSettings) {
    this.#openMs = settings.openSeconds * 1000;
    this.#policy = circuitBreaker(
      handleWhenResult((result) => (result as { countsAsFailure?: boolean }).countsAsFailure === true),
      { halfOpenAfter: this.#openMs, breaker: new FailureRateBreaker(settings) },
    );
    this.#policy.onBreak(() => {
      this.#openedAtMs = Date.now();
    });
  }

  /** `closed`, `open`, `half-open` (or `isolated`, never used here). */
  get state(): 'closed' | 'open' | 'half-open' | 'isolated' {
    switch (this.#policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'isolated';
    }
  }

  /** Seconds until the half-open probe is allowed, rounded up; 0 unless open. */
  get retryAfterSeconds(): number {
    if (this.#policy.state !== CircuitState.Open) return 0;
    return Math.max(1, Math.ceil((this.#openedAtMs + this.#openMs - Date.now()) / 1000));
  }

  /**
   * Runs `attempt` unless the breaker is open. While the half-open probe is in flight, other calls
   * wait for its verdict (cockatiel's behaviour), but never past `signal`: a call whose deadline
   * runs out first gets {@link CircuitOpenError} (retry after 1 s) without running `attempt`.
   * @param signal - aborts the wait for the probe's verdict (the call's deadline or the caller going away)
   * @throws {@link CircuitOpenError} when the breaker is open, or still half-open when `signal` aborts
   */
  async execute<T extends { countsAsFailure: boolean }>(
    attempt: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    while (this.#policy.state === CircuitState.HalfOpen) {
      if (!signal) break;
      await this.#verdictOrAbort(signal);
    }
    try {
      return await this.#policy.execute(attempt);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(this.retryAfterSeconds);
      throw error;
    }
  }

  /** Resolves when the breaker leaves half-open; rejects with {@link CircuitOpenError} when `signal` aborts first. */
  #verdictOrAbort(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new CircuitOpenError(1));
    return new Promise((resolve, reject) => {
      const listener = this.#policy.onStateChange(() => {
        signal.removeEventListener('abort', abort);
        listener.dispose();
        resolve();
      });
      const abort = () => {
        listener.dispose();
        reject(new CircuitOpenError(1));
      };
      signal.addEventListener('abort', abort, { once: true });
    });
  }
}
