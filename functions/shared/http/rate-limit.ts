/**
 * A token bucket: `burst` requests at once, refilled at `requestsPerSecond`.
 */

/** The answer of {@link TokenBucket.tryTake}. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/** Token-bucket rate limit, one per connector (per warm Lambda instance, or per local gateway). */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #capacity: number;
  #tokens: number;
  #updatedAtMs: number;

  /**
   * @param requestsPerSecond - refill rate
   * @param burst - capacity; the bucket starts full
   */
  constructor(requestsPerSecond: number, burst: number) {
    this.#ratePerMs = requestsPerSecond / 1000;
    this.#capacity = burst;
    this.#tokens = burst;
    this.#updatedAtMs = Date.now();
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes one token if there is one; otherwise says how long until there is. */
  tryTake(): TakeResult {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - this.#tokens) / this.#ratePerMs) };
  }

  #refill(): void {
    const now = Date.now();
    const elapsed = Math.max(0, now - this.#updatedAtMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerMs);
    this.#updatedAtMs = now;
  }
}
