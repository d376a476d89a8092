/**
 * The failure-rate breaker's bucketed window (issue 9): its decisions are those of the exact
 * sliding window it replaced, over times rounded down to the bucket (the second, for whole
 * seconds), for any sequence of attempts; and its memory does not grow with the attempts.
 */
import { CircuitState } from 'cockatiel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CircuitBreakerSettings,
  FailureRateBreaker,
} from '../../functions/shared/http/circuit-breaker.js';

/** The breaker before issue 9: every outcome kept and filtered on each attempt (O(window)). */
class NaiveBreaker {
  #outcomes: Array<{ atMs: number; failed: boolean }> = [];
  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly now: () => number,
  ) {}

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.#outcomes = [];
    this.#record(false);
  }

  failure(state: CircuitState): boolean {
    this.#record(true);
    if (state !== CircuitState.Closed) return true;
    const total = this.#outcomes.length;
    if (total < this.settings.minimumCalls) return false;
    const failures = this.#outcomes.filter((o) => o.failed).length;
    return failures > this.settings.failureRateThreshold * total;
  }

  #record(failed: boolean): void {
    const now = this.now();
    const oldest = now - this.settings.windowSeconds * 1000;
    this.#outcomes = this.#outcomes.filter((o) => o.atMs > oldest);
    this.#outcomes.push({ atMs: now, failed });
  }
}

const START_MS = Date.UTC(2030, 0, 1, 0, 0, 0, 0);

const settingsArb = fc.record({
  failureRateThreshold: fc.constantFrom(0.1, 0.25, 0.5, 0.75, 1),
  minimumCalls: fc.integer({ min: 1, max: 12 }),
  // Whole seconds (one bucket a second) and a half second (one 500 ms bucket).
  windowSeconds: fc.constantFrom(0.5, 1, 2, 3, 5, 10, 60),
  openSeconds: fc.constant(30),
});

const stepArb = fc.record({
  /** Time since the previous attempt: often within the same second, sometimes past the window. */
  advanceMs: fc.oneof(
    fc.integer({ min: 0, max: 50 }),
    fc.integer({ min: 0, max: 1_500 }),
    fc.integer({ min: 0, max: 70_000 }),
  ),
  failed: fc.boolean(),
  /** Once in a while the attempt is a half-open probe (its success starts a fresh window). */
  state: fc.constantFrom(
    CircuitState.Closed,
    CircuitState.Closed,
    CircuitState.Closed,
    CircuitState.Closed,
    CircuitState.HalfOpen,
  ),
});

describe('FailureRateBreaker window', () => {
  it('decides as the exact sliding window over times rounded down to the bucket', () => {
    fc.assert(
      fc.property(
        settingsArb,
        fc.integer({ min: 0, max: 999 }),
        fc.array(stepArb, { maxLength: 300 }),
        (settings, startOffsetMs, steps) => {
          let nowMs = START_MS + startOffsetMs;
          const bucketMs = (settings.windowSeconds * 1000) / Math.max(1, Math.ceil(settings.windowSeconds));
          const bucketed = new FailureRateBreaker(settings, () => nowMs);
          const naive = new NaiveBreaker(settings, () => Math.floor(nowMs / bucketMs) * bucketMs);
          for (const step of steps) {
            nowMs += step.advanceMs;
            if (step.failed) {
              expect(bucketed.failure(step.state)).toBe(naive.failure(step.state));
            } else {
              bucketed.success(step.state);
              naive.success(step.state);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decides exactly as before when every attempt falls on a whole second', () => {
    fc.assert(
      fc.property(
        settingsArb.filter((s) => Number.isInteger(s.windowSeconds)),
        fc.array(fc.record({ advanceSeconds: fc.integer({ min: 0, max: 70 }), failed: fc.boolean() }), {
          maxLength: 200,
        }),
        (settings, steps) => {
          let nowMs = START_MS;
          const bucketed = new FailureRateBreaker(settings, () => nowMs);
          const naive = new NaiveBreaker(settings, () => nowMs);
          for (const step of steps) {
            nowMs += step.advanceSeconds * 1000;
            if (step.failed) {
              expect(bucketed.failure(CircuitState.Closed)).toBe(naive.failure(CircuitState.Closed));
            } else {
              bucketed.success(CircuitState.Closed);
              naive.success(CircuitState.Closed);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps one pair of counters per bucket, however many attempts it sees', () => {
    // Prepare
    let nowMs = START_MS;
    const breaker = new FailureRateBreaker(
      { failureRateThreshold: 0.5, minimumCalls: 10, windowSeconds: 60, openSeconds: 30 },
      () => nowMs,
    );

    // Act
    for (let i = 0; i < 100_000; i++) {
      nowMs += 1;
      breaker.success(CircuitState.Closed);
    }

    // Assess
    const state = breaker.state as { calls: number[]; failures: number[] };
    expect(state.calls).toHaveLength(60);
    expect(state.failures).toHaveLength(60);
    // One attempt a ms for 100 s, the last on the 100th second: the window holds the 59 whole
    // seconds before it (1,000 attempts each) and the one attempt of the current second.
    expect(breaker.counts).toEqual({ calls: 59_001, failures: 0 });
  });

  it('forgets everything once the clock moves past the whole window', () => {
    // Prepare
    let nowMs = START_MS;
    const breaker = new FailureRateBreaker(
      { failureRateThreshold: 0.5, minimumCalls: 1, windowSeconds: 10, openSeconds: 30 },
      () => nowMs,
    );
    for (let i = 0; i < 5; i++) breaker.failure(CircuitState.Closed);

    // Act
    nowMs += 10_000;

    // Assess
    expect(breaker.counts).toEqual({ calls: 0, failures: 0 });
  });
});
