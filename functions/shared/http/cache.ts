/**
 * The GET response cache: entries live for the connector's TTL or the response's own freshness
 * lifetime, whichever is shorter (RFC 9111 §4.2.1), and the whole cache is bounded in bytes, least
 * recently used out. It is a shared cache in RFC 9111's sense (every caller of the connector reads
 * it), so it never stores what `Cache-Control` keeps from shared caches: see {@link storableLifetimeMs}.
 */

/** Default bound of a cache, in bytes (`cacheMaxBytes` of the connector's config). */
export const DEFAULT_CACHE_MAX_BYTES = 16 * 1024 * 1024;

/** Bytes counted for each entry on top of its own size: the key, the map slot, the headers object. */
export const CACHE_ENTRY_OVERHEAD_BYTES = 256;

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** How long an entry is served at most, in seconds; 0 turns the cache off. */
  ttlSeconds: number;
  /** Bytes kept at most (entries' {@link ResponseCache.set} sizes plus overhead); 0 turns the cache off. @default 16 MiB */
  maxBytes?: number;
}

interface Entry<V> {
  value: V;
  expiresAtMs: number;
  sizeBytes: number;
}

/** A cache of values by key, each for at most `ttlSeconds`, all within `maxBytes`. */
export class ResponseCache<V> {
  readonly #ttlMs: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry<V>>();
  #sizeBytes = 0;

  constructor(options: ResponseCacheOptions) {
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  }

  /** Whether the cache keeps anything at all. */
  get enabled(): boolean {
    return this.#ttlMs > 0 && this.#maxBytes > 0;
  }

  /** The connector's TTL, in ms: the longest an entry is served. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Bytes held now, overhead included. */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Entries held now (expired ones included until they are read or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /** The fresh value under `key`, if any; reading it makes it the most recently used. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (Date.now() >= entry.expiresAtMs) {
      this.#sizeBytes -= entry.sizeBytes;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Keeps `value` under `key` for `lifetimeMs` (at most the cache's TTL), evicting the least recently
   * used entries until the cache fits in `maxBytes`. An entry larger than the whole cache is not kept.
   * @param sizeBytes - the value's size (e.g. its body's UTF-8 length and its headers') @default 0
   * @param lifetimeMs - @default the cache's TTL
   * @returns whether the value was kept
   */
  set(key: string, value: V, sizeBytes = 0, lifetimeMs: number = this.#ttlMs): boolean {
    this.#delete(key);
    const lifetime = Math.min(lifetimeMs, this.#ttlMs);
    const size = sizeBytes + key.length + CACHE_ENTRY_OVERHEAD_BYTES;
    if (!this.enabled || lifetime <= 0 || size > this.#maxBytes) return false;
    this.#entries.set(key, { value, expiresAtMs: Date.now() + lifetime, sizeBytes: size });
    this.#sizeBytes += size;
    while (this.#sizeBytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#delete(oldest);
    }
    return true;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#sizeBytes -= entry.sizeBytes;
  }
}

/**
 * How long a shared cache may serve a response, in ms, from its `Cache-Control`, `Age` and
 * `Expires` headers (RFC 9111 §4.2.1, §5.2.2), before the connector's own TTL is applied:
 * - 0 (do not store) for `no-store` (§5.2.2.5), `private` (§5.2.2.7: a shared cache must not
 *   store it; callers of one connector share its cache even though it is keyed by credential),
 *   `no-cache` (§5.2.2.4: it would need revalidation, which this cache does not do) and `Vary: *`;
 * - otherwise `s-maxage` (§5.2.2.10), else `max-age` (§5.2.2.1), else `Expires` − `Date` (§5.3),
 *   less the response's `Age` (§5.1);
 * - `Infinity` when the response sets no lifetime (the connector's TTL then applies alone).
 */
export function storableLifetimeMs(headers: Headers, nowMs: number = Date.now()): number {
  const vary = headers.get('vary');
  if (vary?.split(',').some((v) => v.trim() === '*')) return 0;
  const directives = new Map<string, string | undefined>();
  for (const part of (headers.get('cache-control') ?? '').split(',')) {
    const [name, ...rest] = part.split('=');
    const key = name?.trim().toLowerCase();
    if (key) directives.set(key, rest.length ? rest.join('=').trim().replace(/^"|"$/g, '') : undefined);
  }
  if (directives.has('no-store') || directives.has('private') || directives.has('no-cache')) return 0;
  const ageSeconds = Number(headers.get('age') ?? 0);
  const ageMs = Number.isFinite(ageSeconds) && ageSeconds > 0 ? ageSeconds * 1000 : 0;
  for (const name of ['s-maxage', 'max-age']) {
    if (!directives.has(name)) continue;
    const seconds = Number(directives.get(name));
    // §4.2.1: an invalid max-age makes the response stale.
    return /^\d+$/.test(directives.get(name) ?? '') ? Math.max(0, seconds * 1000 - ageMs) : 0;
  }
  const expires = headers.get('expires');
  if (expires !== null) {
    const expiresAtMs = Date.parse(expires);
    // §5.3: an invalid Expires (e.g. "0") means already expired.
    if (Number.isNaN(expiresAtMs)) return 0;
    const dateMs = Date.parse(headers.get('date') ?? '');
    return Math.max(0, expiresAtMs - (Number.isNaN(dateMs) ? nowMs : dateMs) - ageMs);
  }
  return Number.POSITIVE_INFINITY;
}
