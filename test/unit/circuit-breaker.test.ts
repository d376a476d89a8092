import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitBreaker,
  type CircuitBreakerSettings,
  CircuitOpenError,
} from '../../functions/shared/http/circuit-breaker.js';

interface Outcome {
  countsAsFailure: boolean;
}

const ok = async (): Promise<Outcome> => ({ countsAsFailure: false });
const failed = async (): Promise<Outcome> => ({ countsAsFailure: true });

const SETTINGS: CircuitBreakerSettings = {
  failureRateThreshold: 0.5,
  minimumCalls: 4,
  windowSeconds: 10,
  openSeconds: 30,
};

/** Runs the attempts one after the other through the breaker. */
async function runAll(breaker: CircuitBreaker, attempts: ReadonlyArray<() => Promise<Outcome>>) {
  for (const attempt of attempts) await breaker.execute(attempt);
}

/** A breaker opened by four failed calls. */
async function openBreaker(settings: CircuitBreakerSettings = SETTINGS): Promise<CircuitBreaker> {
  const breaker = new CircuitBreaker(settings);
  await runAll(breaker, [failed, failed, failed, failed]);
  return breaker;
}

describe('CircuitBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes an attempt through and returns its result while closed', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    const attempt = vi.fn(async () => ({ countsAsFailure: false, body: 'hello' }));

    // Act
    const result = await breaker.execute(attempt);

    // Assess
    expect(result).toEqual({ countsAsFailure: false, body: 'hello' });
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
    expect(breaker.retryAfterSeconds).toBe(0);
  });

  it('returns a failing result to the caller rather than throwing it', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);

    // Act
    const result = await breaker.execute(async () => ({ countsAsFailure: true, status: 503 }));

    // Assess
    expect(result).toEqual({ countsAsFailure: true, status: 503 });
  });

  it('stays closed below minimumCalls even when every call failed', async () => {
    // Prepare
    const breaker = new CircuitBreaker({ ...SETTINGS, minimumCalls: 5 });
    await runAll(breaker, [failed, failed, failed, failed]);
    const next = vi.fn(ok);

    // Act
    await breaker.execute(next);

    // Assess
    expect(next).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
  });

  it('opens when more than failureRateThreshold of at least minimumCalls calls failed', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    await runAll(breaker, [ok, failed, failed]);
    const stateBefore = breaker.state;

    // Act
    await breaker.execute(failed);

    // Assess
    expect(stateBefore).toBe('closed');
    expect(breaker.state).toBe('open');
  });

  it('does not open when the failure rate is exactly the threshold', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    await runAll(breaker, [ok, ok, failed]);

    // Act
    await breaker.execute(failed);

    // Assess
    expect(breaker.state).toBe('closed');
  });

  it('opens once the rate goes above the threshold after having been exactly at it', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    await runAll(breaker, [ok, ok, failed, failed]);
    const stateAtThreshold = breaker.state;

    // Act
    await breaker.execute(failed);

    // Assess
    expect(stateAtThreshold).toBe('closed');
    expect(breaker.state).toBe('open');
  });

  it('forgets outcomes older than windowSeconds', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    await runAll(breaker, [failed, failed, failed]);
    vi.advanceTimersByTime(SETTINGS.windowSeconds * 1000 + 1);
    await runAll(breaker, [ok, ok, ok]);

    // Act
    await breaker.execute(failed);

    // Assess
    // With the old failures remembered, 4 of 7 calls failed, which would open it.
    expect(breaker.state).toBe('closed');
  });

  it('judges outcomes still within windowSeconds', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    await runAll(breaker, [failed, failed, failed]);
    vi.advanceTimersByTime(SETTINGS.windowSeconds * 1000 - 1);
    await runAll(breaker, [ok, ok, ok]);

    // Act
    await breaker.execute(failed);

    // Assess
    expect(breaker.state).toBe('open');
  });

  it('does not count an attempt that throws as a failure', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    const boom = new Error('bug in the attempt');
    await runAll(breaker, [ok, failed, failed]);

    // Act
    const thrown = breaker.execute(async (): Promise<Outcome> => {
      throw boom;
    });

    // Assess
    await expect(thrown).rejects.toBe(boom);
    expect(breaker.state).toBe('closed');
  });

  it('fails fast with CircuitOpenError while open, without running the attempt', async () => {
    // Prepare
    const breaker = await openBreaker();
    const attempt = vi.fn(ok);

    // Act
    const result = breaker.execute(attempt);

    // Assess
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(result).rejects.toMatchObject({ name: 'CircuitOpenError', retryAfterSeconds: 30 });
    expect(attempt).not.toHaveBeenCalled();
  });

  it('counts retryAfterSeconds down to the half-open time, rounded up', async () => {
    // Prepare
    const breaker = await openBreaker();
    const readings: number[] = [];

    // Act
    readings.push(breaker.retryAfterSeconds);
    vi.advanceTimersByTime(10_000);
    readings.push(breaker.retryAfterSeconds);
    vi.advanceTimersByTime(9_500);
    readings.push(breaker.retryAfterSeconds);
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    vi.advanceTimersByTime(10_000);
    readings.push(breaker.retryAfterSeconds);

    // Assess
    expect(readings).toEqual([30, 20, 11, 1]);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterSeconds).toBe(11);
  });

  it('stays open until openSeconds have passed', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000 - 1);
    const attempt = vi.fn(ok);

    // Act
    const result = breaker.execute(attempt);

    // Assess
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
    expect(attempt).not.toHaveBeenCalled();
    expect(breaker.state).toBe('open');
  });

  it('lets exactly one probe through once openSeconds have passed, half-open while it runs', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    let finishProbe: (outcome: Outcome) => void = () => {};
    const probe = vi.fn(
      () =>
        new Promise<Outcome>((resolve) => {
          finishProbe = resolve;
        }),
    );
    const second = vi.fn(ok);

    // Act
    const probeResult = breaker.execute(probe);
    const secondResult = breaker.execute(second);
    await vi.advanceTimersByTimeAsync(0);
    const stateDuringProbe = breaker.state;
    const secondCallsDuringProbe = second.mock.calls.length;
    finishProbe({ countsAsFailure: true });

    // Assess
    expect(stateDuringProbe).toBe('half-open');
    expect(probe).toHaveBeenCalledTimes(1);
    expect(secondCallsDuringProbe).toBe(0);
    await expect(probeResult).resolves.toEqual({ countsAsFailure: true });
    await expect(secondResult).rejects.toBeInstanceOf(CircuitOpenError);
    expect(second).not.toHaveBeenCalled();
  });

  it('lets calls waiting on the probe run once the probe succeeded', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    let finishProbe: (outcome: Outcome) => void = () => {};
    const probe = vi.fn(
      () =>
        new Promise<Outcome>((resolve) => {
          finishProbe = resolve;
        }),
    );
    const second = vi.fn(ok);

    // Act
    const probeResult = breaker.execute(probe);
    const secondResult = breaker.execute(second);
    await vi.advanceTimersByTimeAsync(0);
    finishProbe({ countsAsFailure: false });

    // Assess
    await expect(probeResult).resolves.toEqual({ countsAsFailure: false });
    await expect(secondResult).resolves.toEqual({ countsAsFailure: false });
    expect(second).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
  });

  it('with a signal, lets a waiting call run once the probe succeeded (issue 8, defect 4)', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    let finishProbe: (outcome: Outcome) => void = () => {};
    const probe = () =>
      new Promise<Outcome>((resolve) => {
        finishProbe = resolve;
      });
    const second = vi.fn(ok);
    const controller = new AbortController();

    // Act
    const probeResult = breaker.execute(probe);
    const secondResult = breaker.execute(second, controller.signal);
    await vi.advanceTimersByTimeAsync(0);
    finishProbe({ countsAsFailure: false });

    // Assess
    await expect(probeResult).resolves.toEqual({ countsAsFailure: false });
    await expect(secondResult).resolves.toEqual({ countsAsFailure: false });
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('stops a call waiting on the probe when its signal aborts: CircuitOpenError, the attempt never runs (issue 8, defect 4)', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    const probeResult = breaker.execute(() => new Promise<Outcome>(() => undefined));
    await vi.advanceTimersByTimeAsync(0);
    const second = vi.fn(ok);
    const controller = new AbortController();

    // Act
    const secondResult = breaker.execute(second, controller.signal).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    const error = await secondResult;

    // Assess
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterSeconds).toBe(1);
    expect(second).not.toHaveBeenCalled();
    expect(breaker.state).toBe('half-open');
    void probeResult;
  });

  it('goes CLOSED → OPEN → HALF_OPEN → CLOSED when the probe succeeds, with a fresh window', async () => {
    // Prepare
    const breaker = new CircuitBreaker(SETTINGS);
    const states: string[] = [breaker.state];
    await runAll(breaker, [failed, failed, failed, failed]);
    states.push(breaker.state);
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);

    // Act
    await breaker.execute(async () => {
      states.push(breaker.state);
      return { countsAsFailure: false };
    });
    states.push(breaker.state);
    await runAll(breaker, [failed, failed]);
    const next = vi.fn(ok);
    await breaker.execute(next);

    // Assess
    expect(states).toEqual(['closed', 'open', 'half-open', 'closed']);
    // The failures from before the break are forgotten: two failures alone do not reopen it.
    expect(breaker.state).toBe('closed');
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('goes HALF_OPEN → OPEN again when the probe fails, for another openSeconds', async () => {
    // Prepare
    const breaker = await openBreaker();
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    const states: string[] = [];

    // Act
    await breaker.execute(async () => {
      states.push(breaker.state);
      return { countsAsFailure: true };
    });
    states.push(breaker.state);
    const retryAfterAtReopen = breaker.retryAfterSeconds;
    const blocked = vi.fn(ok);
    const blockedResult = await breaker.execute(blocked).catch((e: unknown) => e);
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    const nextProbe = vi.fn(ok);
    await breaker.execute(nextProbe);

    // Assess
    expect(states).toEqual(['half-open', 'open']);
    expect(retryAfterAtReopen).toBe(SETTINGS.openSeconds);
    expect(blockedResult).toBeInstanceOf(CircuitOpenError);
    expect(blocked).not.toHaveBeenCalled();
    expect(nextProbe).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
  });

  it('calls onOpen on each transition to open: from closed, and from half-open after a failed probe', async () => {
    // Prepare
    const onOpen = vi.fn();
    const breaker = new CircuitBreaker(SETTINGS, onOpen);
    await runAll(breaker, [failed, failed, failed]);
    const beforeOpening = onOpen.mock.calls.length;

    // Act
    await breaker.execute(failed);
    const afterOpening = onOpen.mock.calls.length;
    await breaker.execute(ok).catch(() => undefined);
    const whileOpen = onOpen.mock.calls.length;
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    await breaker.execute(failed);
    const afterFailedProbe = onOpen.mock.calls.length;
    vi.advanceTimersByTime(SETTINGS.openSeconds * 1000);
    await breaker.execute(ok);

    // Assess
    expect([beforeOpening, afterOpening, whileOpen, afterFailedProbe]).toEqual([0, 1, 1, 2]);
    expect(breaker.state).toBe('closed');
    expect(onOpen).toHaveBeenCalledTimes(2);
  });

  it('accepts fractional seconds', async () => {
    // Prepare
    const breaker = await openBreaker({ ...SETTINGS, windowSeconds: 0.5, openSeconds: 0.25 });
    const tooEarly = vi.fn(ok);
    const probe = vi.fn(ok);

    // Act
    const early = await breaker.execute(tooEarly).catch((e: unknown) => e);
    vi.advanceTimersByTime(250);
    await breaker.execute(probe);

    // Assess
    expect(early).toBeInstanceOf(CircuitOpenError);
    expect((early as CircuitOpenError).retryAfterSeconds).toBe(1);
    expect(tooEarly).not.toHaveBeenCalled();
    expect(probe).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
  });
});
