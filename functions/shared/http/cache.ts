/**
 * A GET response cache with a fixed time to live, bounded in entries (least recently used out).
 */

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** How long an entry is served, in seconds; 0 turns the cache off. */
  ttlSeconds: number;
  /** Entries kept at most. @default 500 */
  maxEntries?: number;
}

/** A cache of values by key, each for `ttlSeconds`. */
export class ResponseCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(options: ResponseCacheOptions) {
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#maxEntries = options.maxEntries ?? 500;
  }

  /** Whether the cache keeps anything at all. */
  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** The fresh value under `key`, if any. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (Date.now() >= entry.expiresAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` under `key` for the cache's time to live (no-op when the cache is off). */
  set(key: string, value: V): void {
    if (!this.enabled) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs: Date.now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
