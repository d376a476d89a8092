/**
 * The pieces of `npm run bench` work: its arithmetic, its table, and one tiny round of each runtime
 * figure against a loopback upstream. Nothing here is timed: speed is the bench's to report.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bundleParts } from '../../scripts/bench/bundles.js';
import {
  breakerOpen,
  heapGrowth,
  throughput,
  warmContenders,
  warmRounds,
} from '../../scripts/bench/runtime.js';
import { formatSpread, formatTable, median, percentile, spread } from '../../scripts/bench/stats.js';
import { startUpstream, type Upstream } from '../../scripts/bench/upstream.js';
import { captureOutput } from '../support/fakes.js';

describe('bench arithmetic', () => {
  it('takes the median of odd and even counts, and NaN of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('formats a spread as median (min–max)', () => {
    expect(formatSpread(spread([0.9, 0.8, 1.0]))).toBe('0.90 (0.80–1.00)');
  });

  it('lays out one Markdown table with aligned columns', () => {
    const table = formatTable([
      { name: 'warm call', goal: '≥ 0.85', measured: '0.90 (0.80–1.00)', verdict: 'met' },
      { name: 'bundle: http', goal: '≤ 250 KB', measured: '700 KB', verdict: 'NOT met' },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| figure +\| goal +\| measured +\| verdict \|$/);
    expect(lines[1]).toMatch(/^\|-+\|-+\|-+\|-+\|$/);
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});

describe('bench runtime figures, tiny counts', () => {
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterAll(async () => {
    await upstream?.close();
  });

  it('every warm-call contender answers, and a round yields positive ratios', async () => {
    captureOutput();
    const contenders = warmContenders(upstream);
    for (const contender of Object.values(contenders)) {
      expect(await throughput(contender, 3, 2)).toBeGreaterThan(0);
    }
    const ratios = await warmRounds(contenders, { rounds: 1, calls: 4, concurrency: 2 });
    expect(ratios.vsFetch.median).toBeGreaterThan(0);
    expect(ratios.vsPeer.median).toBeGreaterThan(0);
    expect(ratios.floorVsFetch?.median).toBeGreaterThan(0);
    expect(ratios.quietVsPeer?.median).toBeGreaterThan(0);
  });

  it('an open breaker refuses calls without reaching the upstream', async () => {
    captureOutput();
    const breaker = await breakerOpen(upstream, 5);
    expect(breaker.code).toBe('CIRCUIT_BREAKER_OPEN');
    expect(breaker.upstreamCalls).toBe(0);
  });
});

describe('bench heap figure', () => {
  it('warms up before its baseline, then takes a checkpoint after each quarter', async () => {
    let calls = 0;
    let collections = 0;
    vi.stubGlobal('gc', () => {
      collections += 1;
    });
    try {
      const heap = await heapGrowth(
        async () => {
          calls += 1;
        },
        8,
        4,
      );
      expect(calls).toBe(12);
      expect(heap.checkpointBytes).toHaveLength(4);
      expect(heap.startBytes).toBeGreaterThan(0);
      expect(heap.warmedBytes).toBeGreaterThan(0);
      expect(collections).toBe(12);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('refuses to measure without --expose-gc', async () => {
    vi.stubGlobal('gc', undefined);
    try {
      await expect(heapGrowth(async () => undefined, 4)).rejects.toThrow('--expose-gc');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('bench bundle parts', () => {
  it('splits a bundle into parts that add up to it, and weighs it without Powertools', async () => {
    const parts = await bundleParts('http');
    const names = parts.parts.map((part) => part.name);
    expect(names).toEqual(expect.arrayContaining(['own code', 'zod', 'Powertools', 'X-Ray SDK']));
    const sum = parts.parts.reduce((total, part) => total + part.bytes, 0);
    // The rest is esbuild's own glue (module wrappers, the banner).
    expect(sum).toBeLessThanOrEqual(parts.bytes);
    expect(sum).toBeGreaterThan(parts.bytes * 0.9);
    expect(parts.withPowertoolsLayerBytes).toBeGreaterThan(0);
    expect(parts.withPowertoolsLayerBytes).toBeLessThan(parts.bytes);
  });
});
