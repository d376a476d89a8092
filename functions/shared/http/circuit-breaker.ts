/**
 * The circuit breaker of a connector, on cockatiel's `CircuitBreakerPolicy` with a failure-rate
 * breaker over a sliding time window (per-second buckets with running counts): it opens when more than `failureRateThreshold` of at least
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
  /**
   * `instance`: each warm instance judges alone; `shared`: the fleet shares the open state through
   * the idempotency table (see `shared-circuit-breaker.ts`). @default 'instance'
   */
  scope?: 'instance' | 'shared';
  /** With `scope: 'shared'`, how long an instance decides from its cached copy of the shared state, in ms. @default 1000 */
  refreshMs?: number;
}

/** What {@link FailureRateBreaker.state} holds: the window's buckets, for cockatiel's `toJSON`. */
interface WindowSnapshot {
  /** The id (`floor(epochMs / bucketMs)`) of the newest bucket. */
  newestBucket: number;
  /** Attempts per slot of the ring. */
  calls: number[];
  /** Failed attempts per slot of the ring. */
  failures: number[];
}

/**
 * Cockatiel breaker (`IBreaker`) that judges the failure rate of the attempts seen within a
 * sliding time window, once there are at least `minimumCalls` of them.
 *
 * The window is a ring of `ceil(windowSeconds)` buckets (one per second for a whole number of
 * seconds; `windowSeconds / slots` long otherwise) with running totals, so an attempt costs the
 * same whatever the request rate (amortised O(1): a bucket is emptied once when the clock enters
 * it) and the memory is O(slots), not O(attempts). An attempt counts from the start of its bucket:
 * the window holds the attempts of the current bucket and of the `slots - 1` before it, i.e. the
 * same decisions as an exact sliding window of `windowSeconds` over times rounded down to the
 * bucket (to the second, for whole seconds).
 */
export class FailureRateBreaker implements IBreaker {
  readonly #settings: CircuitBreakerSettings;
  readonly #now: () => number;
  /** Slots of the ring. */
  readonly #slots: number;
  /** Width of one bucket, in ms. */
  readonly #bucketMs: number;
  #calls: number[];
  #failures: number[];
  /** Id of the newest bucket seen (`floor(epochMs / bucketMs)`). */
  #newestBucket = Number.NEGATIVE_INFINITY;
  #totalCalls = 0;
  #totalFailures = 0;

  /**
   * @param settings - the connector's breaker settings
   * @param now - the clock, epoch ms @default Date.now
   */
  constructor(settings: CircuitBreakerSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
    this.#slots = Math.max(1, Math.ceil(settings.windowSeconds));
    this.#bucketMs = (settings.windowSeconds * 1000) / this.#slots;
    this.#calls = new Array<number>(this.#slots).fill(0);
    this.#failures = new Array<number>(this.#slots).fill(0);
  }

  /** The window's buckets, for cockatiel's `toJSON`. */
  get state(): unknown {
    const snapshot: WindowSnapshot = {
      newestBucket: this.#newestBucket,
      calls: [...this.#calls],
      failures: [...this.#failures],
    };
    return snapshot;
  }

  set state(value: unknown) {
    this.#reset();
    const snapshot = value as Partial<WindowSnapshot> | undefined;
    if (
      !snapshot ||
      typeof snapshot.newestBucket !== 'number' ||
      !Array.isArray(snapshot.calls) ||
      !Array.isArray(snapshot.failures) ||
      snapshot.calls.length !== this.#slots ||
      snapshot.failures.length !== this.#slots
    ) {
      return;
    }
    this.#newestBucket = snapshot.newestBucket;
    this.#calls = [...snapshot.calls];
    this.#failures = [...snapshot.failures];
    for (let slot = 0; slot < this.#slots; slot++) {
      this.#totalCalls += this.#calls[slot] ?? 0;
      this.#totalFailures += this.#failures[slot] ?? 0;
    }
  }

  /** Attempts and failed attempts within the window now. */
  get counts(): { calls: number; failures: number } {
    this.#advance(this.#now());
    return { calls: this.#totalCalls, failures: this.#totalFailures };
  }

  /** @inheritdoc */
  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.#reset();
    this.#record(false);
  }

  /** @inheritdoc */
  failure(state: CircuitState): boolean {
    this.#record(true);
    if (state !== CircuitState.Closed) return true;
    const total = this.#totalCalls;
    if (total < this.#settings.minimumCalls) return false;
    return this.#totalFailures > this.#settings.failureRateThreshold * total;
  }

  #record(failed: boolean): void {
    const slot = this.#advance(this.#now());
    this.#calls[slot] = (this.#calls[slot] ?? 0) + 1;
    this.#totalCalls += 1;
    if (failed) {
      this.#failures[slot] = (this.#failures[slot] ?? 0) + 1;
      this.#totalFailures += 1;
    }
  }

  /**
   * Moves the window to `nowMs`, emptying the buckets it leaves behind; returns the slot of the
   * current bucket. A clock that goes back counts into the newest bucket.
   */
  #advance(nowMs: number): number {
    const bucket = Math.floor(nowMs / this.#bucketMs);
    if (bucket > this.#newestBucket) {
      if (bucket - this.#newestBucket >= this.#slots) {
        this.#reset();
      } else {
        for (let id = this.#newestBucket + 1; id <= bucket; id++) {
          const slot = this.#slotOf(id);
          this.#totalCalls -= this.#calls[slot] ?? 0;
          this.#totalFailures -= this.#failures[slot] ?? 0;
          this.#calls[slot] = 0;
          this.#failures[slot] = 0;
        }
      }
      this.#newestBucket = bucket;
    }
    return this.#slotOf(this.#newestBucket);
  }

  #slotOf(bucket: number): number {
    return ((bucket % this.#slots) + this.#slots) % this.#slots;
  }

  #reset(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#totalCalls = 0;
    this.#totalFailures = 0;
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
  readonly #settings: CircuitBreakerSettings;
  readonly #onOpen: (() => void) | undefined;
  #policy;
  readonly #openMs: number;
  #openedAtMs = 0;

  /**
   * @param settings - the connector's breaker settings
   * @param onOpen - called on every transition to open: from closed when the failure rate is exceeded,
   *   and from half-open when the probe fails (the HTTP client counts `CircuitBreakerOpened` with it)
   */
  constructor(settings: CircuitBreakerSettings, onOpen?: () => void) {
    this.#settings = settings;
    this.#onOpen = onOpen;
    this.#openMs = settings.openSeconds * 1000;
    this.#policy = this.#build();
  }

  /**
   * Closes the breaker and empties its window, as a new breaker would be. The shared breaker calls
   * it when the fleet's half-open probe succeeded (see `shared-circuit-breaker.ts`).
   */
  reset(): void {
    this.#policy = this.#build();
    this.#openedAtMs = 0;
  }

  #build() {
    const policy = circuitBreaker(
      handleWhenResult((result) => (result as { countsAsFailure?: boolean }).countsAsFailure === true),
      { halfOpenAfter: this.#openMs, breaker: new FailureRateBreaker(this.#settings) },
    );
    policy.onBreak(() => {
      this.#openedAtMs = Date.now();
      this.#onOpen?.();
    });
    return policy;
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

  /** When the breaker last opened (epoch ms); 0 if it never did since it was built or reset. */
  get openedAtMs(): number {
    return this.#openedAtMs;
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
