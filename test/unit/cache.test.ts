import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResponseCache } from '../../functions/shared/http/cache.js';

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

  it('evicts the least recently used entry beyond maxEntries', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 60, maxEntries: 2 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.get('a');

    // Act
    cache.set('c', 'C');

    // Assess
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
  });

  it('evicts the oldest entry beyond maxEntries when none was read', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 60, maxEntries: 2 });
    cache.set('a', 'A');
    cache.set('b', 'B');

    // Act
    cache.set('c', 'C');

    // Assess
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
    expect(cache.get('c')).toBe('C');
  });

  it('counts setting an existing key as a use', () => {
    // Prepare
    const cache = new ResponseCache<string>({ ttlSeconds: 60, maxEntries: 2 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.set('a', 'A2');

    // Act
    cache.set('c', 'C');

    // Assess
    expect(cache.get('a')).toBe('A2');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
  });

  it('keeps at most 500 entries by default', () => {
    // Prepare
    const cache = new ResponseCache<number>({ ttlSeconds: 60 });
    for (let i = 0; i < 501; i++) cache.set(`key-${i}`, i);

    // Act
    const first = cache.get('key-0');
    const second = cache.get('key-1');
    const last = cache.get('key-500');

    // Assess
    expect(first).toBeUndefined();
    expect(second).toBe(1);
    expect(last).toBe(500);
  });
});
