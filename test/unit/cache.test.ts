import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CACHE_ENTRY_OVERHEAD_BYTES,
  DEFAULT_CACHE_MAX_BYTES,
  ResponseCache,
  storableLifetimeMs,
} from '../../functions/shared/http/cache.js';

describe('ResponseCache', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps nothing when ttlSeconds is 0', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 0 });

    // Act
    cache.set('GET /items', 'cached body');
    const value = cache.get('GET /items');

    // Assess
    expect(cache.enabled).toBe(false);
    expect(value).toBeUndefined();
  });

  it('is enabled with a positive ttlSeconds', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 0.5 });

    // Act
    const enabled = cache.enabled;

    // Assess
    expect(enabled).toBe(true);
  });

  it('answers undefined for a key never set', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 60 });
    cache.set('GET /a', 'a');

    // Act
    const value = cache.get('GET /b');

    // Assess
    expect(value).toBeUndefined();
  });

  it('serves an entry until its ttl runs out and not after', () => {
    // Prepare
    const cache = new ResponseCache<{ body: string }>({ ttlSeconds: 10 });
    const response = { body: 'cached body' };
    cache.set('GET /items', response);

    // Act
    vi.advanceTimersByTime(9_999);
    const fresh = cache.get('GET /items');
    vi.advanceTimersByTime(1);
    const expired = cache.get('GET /items');

    // Assess
    expect(fresh).toBe(response);
    expect(expired).toBeUndefined();
  });

  it('does not extend an entry ttl when it is read', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 10 });
    cache.set('GET /items', 'v1');

    // Act
    vi.advanceTimersByTime(8_000);
    const read = cache.get('GET /items');
    vi.advanceTimersByTime(2_000);
    const later = cache.get('GET /items');

    // Assess
    expect(read).toBe('v1');
    expect(later).toBeUndefined();
  });

  it('replaces an entry and restarts its ttl when set again', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 10 });
    cache.set('GET /items', 'v1');
    vi.advanceTimersByTime(8_000);

    // Act
    cache.set('GET /items', 'v2');
    vi.advanceTimersByTime(8_000);
    const value = cache.get('GET /items');

    // Assess
    expect(value).toBe('v2');
  });

  // Each entry below counts 1,000 bytes plus its one-character key and the per-entry overhead.
  const ENTRY_BYTES = 1_000 + 1 + CACHE_ENTRY_OVERHEAD_BYTES;
  const twoEntries = () => new ResponseCache<string>({ ttlSeconds: 60, maxBytes: 2 * ENTRY_BYTES });

  it('evicts the least recently used entry beyond maxBytes', () => {
    // Prepare
    const cache = twoEntries();
    cache.set('a', 'A', 1_000);
    cache.set('b', 'B', 1_000);
    cache.get('a');

    // Act
    cache.set('c', 'C', 1_000);

    // Assess
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    expect(cache.sizeBytes).toBe(2 * ENTRY_BYTES);
  });

  it('evicts the oldest entry beyond maxBytes when none was read', () => {
    // Prepare
    const cache = twoEntries();
    cache.set('a', 'A', 1_000);
    cache.set('b', 'B', 1_000);

    // Act
    cache.set('c', 'C', 1_000);

    // Assess
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
    expect(cache.get('c')).toBe('C');
  });

  it('counts setting an existing key as a use, and its size once', () => {
    // Prepare
    const cache = twoEntries();
    cache.set('a', 'A', 1_000);
    cache.set('b', 'B', 1_000);
    cache.set('a', 'A2', 1_000);

    // Act
    cache.set('c', 'C', 1_000);

    // Assess
    expect(cache.get('a')).toBe('A2');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    expect(cache.sizeBytes).toBe(2 * ENTRY_BYTES);
  });

  it('does not keep an entry larger than the whole cache, nor evict others for it', () => {
    // Prepare
    const cache = twoEntries();
    cache.set('a', 'A', 1_000);

    // Act
    const kept = cache.set('b', 'B', 3 * ENTRY_BYTES);

    // Assess
    expect(kept).toBe(false);
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
  });

  it('holds at most 16 MiB by default: 200 distinct 1 MiB bodies keep 15 (issue 8, defect 15)', () => {
    // Prepare
    const cache = new ResponseCache<number>({ ttlSeconds: 60 });

    // Act
    for (let i = 0; i < 200; i++) cache.set(`key-${i}`, i, 1024 * 1024);

    // Assess
    expect(cache.sizeBytes).toBeLessThanOrEqual(DEFAULT_CACHE_MAX_BYTES);
    expect(cache.size).toBe(15);
    expect(cache.get('key-184')).toBeUndefined();
    expect(cache.get('key-199')).toBe(199);
  });

  it('serves an entry no longer than the lifetime it was set with, when shorter than the TTL', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 60 });
    cache.set('k', 'v', 10, 5_000);

    // Act
    vi.advanceTimersByTime(4_999);
    const before = cache.get('k');
    vi.advanceTimersByTime(1);
    const after = cache.get('k');

    // Assess
    expect(before).toBe('v');
    expect(after).toBeUndefined();
  });
});

describe('storableLifetimeMs (RFC 9111)', () => {
  const lifetime = (headers: Record<string, string>) =>
    storableLifetimeMs(new Headers(headers), Date.parse('2026-11-21T12:00:00Z'));

  it.each([
    ['no-store', { 'cache-control': 'no-store' }],
    ['private', { 'cache-control': 'private, max-age=600' }],
    ['no-cache', { 'cache-control': 'no-cache' }],
    ['a malformed max-age', { 'cache-control': 'max-age=soon' }],
    ['an invalid Expires', { expires: '0' }],
    ['Vary: *', { vary: '*' }],
  ])('is 0 (not stored) for %s', (_name, headers) => {
    expect(lifetime(headers)).toBe(0);
  });

  it('is max-age less Age', () => {
    expect(lifetime({ 'cache-control': 'public, max-age=30', age: '10' })).toBe(20_000);
  });

  it('prefers s-maxage to max-age (a shared cache)', () => {
    expect(lifetime({ 'cache-control': 'max-age=600, s-maxage=5' })).toBe(5_000);
  });

  it('falls back to Expires − Date', () => {
    expect(
      lifetime({ date: 'Sat, 21 Nov 2026 12:00:00 GMT', expires: 'Sat, 21 Nov 2026 12:00:40 GMT' }),
    ).toBe(40_000);
  });

  it('is unbounded (the TTL alone applies) when the response sets no lifetime', () => {
    expect(lifetime({ 'content-type': 'application/json' })).toBe(Number.POSITIVE_INFINITY);
  });
});
