/**
 * When an event of the asynchronous path comes back: the backoff of a retried delivery, which
 * failures are the suite's own waits (they spend no attempt), the delay of an event put back in the
 * inbox, and the slots of the connector's own rate limit handed to such events.
 */
import type { ConnectorConfig } from '../config.js';
import type { ConnectorError } from '../errors.js';
import { SQS_MAX_DELAY_SECONDS } from './async-contract.js';

/**
 * The wait before delivery number `attempt + 1`: exponential from `baseSeconds`, capped at
 * `maxSeconds`, with equal jitter (half fixed, half random) so a retry never comes at once.
 * @param random - a number in [0, 1); @default Math.random
 * @returns seconds (fractional)
 */
export function redeliveryDelaySeconds(
  attempt: number,
  settings: { backoffBaseSeconds: number; backoffMaxSeconds: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    settings.backoffMaxSeconds,
    settings.backoffBaseSeconds * 2 ** Math.max(0, attempt - 1),
  );
  return ceiling / 2 + (random() * ceiling) / 2;
}

/**
 * Whether an error is one of the suite's own waits, which delay an event without spending one of
 * its attempts: the circuit breaker is open, the same request is still running elsewhere, one of
 * the suite's own dependencies is unavailable (`DEPENDENCY_UNAVAILABLE`), or the connector's own
 * rate limit is hit (`RATE_LIMIT_EXCEEDED` with source `connector`; a vendor's 429 is source
 * `upstream` and spends an attempt like any retryable failure).
 */
export function waitsWithoutAttempt(error: Pick<ConnectorError, 'code' | 'source'>): boolean {
  return (
    error.code === 'CIRCUIT_BREAKER_OPEN' ||
    error.code === 'REQUEST_IN_PROGRESS' ||
    error.code === 'DEPENDENCY_UNAVAILABLE' ||
    (error.code === 'RATE_LIMIT_EXCEEDED' && error.source === 'connector')
  );
}

/**
 * The delay of an event put back in the inbox by one of the suite's own waits
 * ({@link waitsWithoutAttempt}), in seconds, at most 900 (the SQS maximum `DelaySeconds`).
 *
 * - The error's `retryAfterSeconds` is the floor: the breaker's half-open time, the dependency's
 *   suggested wait.
 * - On top of it, a wait that grows with the number of such requeues (`backoffBaseSeconds·2^(requeues−1)`,
 *   capped at `backoffMaxSeconds` and 900 s) with equal jitter, so that a burst does not come back
 *   all at once.
 * - For the connector's own rate limit, the event comes back at the slot the bucket's refill has
 *   for it (`rateLimitSlotSeconds`, see {@link RateLimitSlots}; without one, the error's
 *   `retryAfterSeconds`, the time until the next token), jittered within one refill interval
 *   (`1 / rateLimit.requestsPerSecond`), so that a burst drains at the limit; or later, when the
 *   growing wait (full jitter) says so, so that an event that keeps losing its slot backs off.
 * @param requeues - this requeue's number, from 1
 * @param random - a number in [0, 1); @default Math.random
 * @param rateLimitSlotSeconds - for the connector's own rate limit: seconds until the event's slot
 * @returns seconds (fractional; SQS rounds a delay up to whole seconds)
 */
export function requeueDelaySeconds(
  error: Pick<ConnectorError, 'code' | 'source' | 'retryAfterSeconds'>,
  requeues: number,
  config: Pick<ConnectorConfig, 'async' | 'rateLimit'>,
  random: () => number = Math.random,
  rateLimitSlotSeconds?: number,
): number {
  const { backoffBaseSeconds, backoffMaxSeconds } = config.async;
  const floor = Math.max(0, error.retryAfterSeconds ?? 0);
  const ceiling = Math.min(
    SQS_MAX_DELAY_SECONDS,
    backoffMaxSeconds,
    backoffBaseSeconds * 2 ** Math.max(0, requeues - 1),
  );
  if (error.code === 'RATE_LIMIT_EXCEEDED' && error.source === 'connector') {
    const slot = Math.max(floor, rateLimitSlotSeconds ?? 0);
    const interval = 1 / config.rateLimit.requestsPerSecond;
    return Math.min(SQS_MAX_DELAY_SECONDS, Math.max(slot + random() * interval, random() * ceiling));
  }
  return Math.min(SQS_MAX_DELAY_SECONDS, floor + ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The slots of the connector's own rate limit handed to events put back in the inbox, per connector
 * handler (its bucket lives as long as the handler): each rate-limited event gets the next slot, one
 * refill interval (`1 / requestsPerSecond`) after the previous one and no earlier than the bucket's
 * next token, so the events of a burst come back one token apart and the burst drains at the limit.
 * A slot more than 900 s away (the longest SQS delay) is not taken: the event comes back at 900 s
 * and asks again.
 */
export class RateLimitSlots {
  #nextSlotMs = 0;

  /** @param requestsPerSecond - the bucket's refill rate (`rateLimit.requestsPerSecond`) */
  constructor(private readonly requestsPerSecond: number) {}

  /**
   * Takes the next slot no earlier than `earliestMs` (when the bucket has its next token).
   * @param nowMs - now, in epoch ms
   * @param earliestMs - in epoch ms
   * @returns seconds from `nowMs` until the slot, at most 900
   */
  take(nowMs: number, earliestMs: number): number {
    const slotMs = Math.max(earliestMs, this.#nextSlotMs);
    const seconds = (slotMs - nowMs) / 1000;
    if (seconds <= SQS_MAX_DELAY_SECONDS) this.#nextSlotMs = slotMs + 1000 / this.requestsPerSecond;
    return Math.min(SQS_MAX_DELAY_SECONDS, seconds);
  }
}
