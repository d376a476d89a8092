/**
 * The arithmetic and the table of `npm run bench`: medians and spreads of per-round ratios,
 * percentiles of latencies, and the one table every figure goes into.
 */

/** One row of the table. */
export interface Figure {
  /** What is measured, e.g. `warm call c=1: handler / fetch`. */
  name: string;
  /** The goal as read by a person, e.g. `≥ 0.85`. */
  goal: string;
  /** The measured value as read by a person, e.g. `0.91 (0.88–0.93)`. */
  measured: string;
  /** `met`, `NOT met`, or `info` for a figure without a goal. */
  verdict: 'met' | 'NOT met' | 'info';
}

/** The median of `values` (the mean of the middle two for an even count); `NaN` when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * The `p`-th percentile of `values` by the nearest-rank method (`p` in 0–100); `NaN` when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Median and min–max of a set of ratios. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median and the min–max of `values`. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** `0.91 (0.88–0.93)`: a spread with `digits` decimals. */
export function formatSpread(value: Spread, digits = 2, unit = ''): string {
  const f = (n: number) => `${n.toFixed(digits)}${unit}`;
  return `${f(value.median)} (${f(value.min)}–${f(value.max)})`;
}

/** `met` when `ok`, else `NOT met`. */
export function verdict(ok: boolean): Figure['verdict'] {
  return ok ? 'met' : 'NOT met';
}

/** The figures as a Markdown table (it reads as plain text in a terminal, and pastes into docs/performance.md). */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['figure', 'goal', 'measured', 'verdict'];
  const rows = figures.map((f) => [f.name, f.goal, f.measured, f.verdict]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
