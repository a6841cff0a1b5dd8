/** Medians, spreads, interleaved sampling and the figure record that `npm run bench` prints. */

/** One line of the report (and of `--json`). */
export interface Figure {
  /** Stable name (`warm_launch`, `lock_cycle`, …). */
  name: string;
  /** Median of the measured thing. */
  value: number;
  /** `ms`, `µs`, `MiB`, `paths`… */
  unit: string;
  /** Median of the baseline, measured in the same run (same unit); `null` when there is none. */
  baseline: number | null;
  /** The median of the per-round ratios value/baseline (rounds are interleaved); `null` without a baseline. */
  ratio: number | null;
  /** The target: a ratio (`≤ 1.3×`) or an absolute bound (`< 500 ms`); `null` when SPEC §5 sets none. */
  target: string | null;
  /** Whether the target is met; `null` without a target. */
  met: boolean | null;
  /** How many samples each median is taken over. */
  runs: number;
  /** Spread of `value` over the runs. */
  min: number;
  max: number;
  /** Spread of `baseline` over the runs. */
  baseline_min: number | null;
  baseline_max: number | null;
  /** What exactly was timed, in one line, plus any breakdown. */
  detail: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spread(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Run `a` and `b` alternately (`a b b a a b …`, so neither always goes first) `runs` times each after
 * `warmup` unrecorded rounds: slow drift of a noisy machine hits both alike.
 */
export async function interleave(
  runs: number,
  warmup: number,
  a: () => number | Promise<number>,
  b: () => number | Promise<number>,
): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < warmup + runs; i++) {
    const order = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const which of order) {
      const value = await (which === 'a' ? a() : b());
      if (i >= warmup) out[which].push(value);
    }
  }
  return out;
}

/**
 * {@link interleave} for any number of functions: each round runs all of them, starting one further along
 * each round (`a b c`, `b c a`, `c a b`, …). Samples by function, in the order given.
 */
export async function interleaveAll(runs: number, warmup: number, fns: readonly (() => number | Promise<number>)[]): Promise<number[][]> {
  const out = fns.map(() => [] as number[]);
  for (let i = 0; i < warmup + runs; i++) {
    for (let k = 0; k < fns.length; k++) {
      const which = (i + k) % fns.length;
      const value = await fns[which]!();
      if (i >= warmup) out[which]!.push(value);
    }
  }
  return out;
}

/** A ratio figure from the samples of the thing and of its baseline. */
export function ratioFigure(options: {
  name: string;
  unit: string;
  values: readonly number[];
  baselines: readonly number[];
  maxRatio: number | null;
  detail: string;
}): Figure {
  const value = median(options.values);
  const baseline = median(options.baselines);
  // The median of per-round ratios: each round's two samples were taken back to back, so a slow spell of
  // the machine (another job, a journal commit) scales both and cancels out of their ratio.
  const rounds = Math.min(options.values.length, options.baselines.length);
  const ratio = median(Array.from({ length: rounds }, (_, i) => options.values[i]! / options.baselines[i]!));
  const { min, max } = spread(options.values);
  const b = spread(options.baselines);
  return {
    name: options.name,
    value,
    unit: options.unit,
    baseline,
    ratio,
    target: options.maxRatio === null ? null : `≤ ${options.maxRatio}×`,
    met: options.maxRatio === null ? null : ratio <= options.maxRatio,
    runs: Math.min(options.values.length, options.baselines.length),
    min,
    max,
    baseline_min: b.min,
    baseline_max: b.max,
    detail: options.detail,
  };
}

/** Format a number for the table: 3 significant digits, no exponent. */
export function fmt(value: number | null): string {
  if (value === null || Number.isNaN(value)) return '—';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** The report as a plain-text table. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['figure', 'median', 'min–max', 'baseline', 'b. min–max', 'ratio', 'target', 'met', 'runs'];
  const rows = figures.map((f) => [
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    `${fmt(f.min)}–${fmt(f.max)}`,
    f.baseline === null ? '—' : `${fmt(f.baseline)} ${f.unit}`,
    f.baseline_min === null ? '—' : `${fmt(f.baseline_min)}–${fmt(f.baseline_max)}`,
    f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`,
    f.target ?? '—',
    f.met === null ? '—' : f.met ? 'yes' : 'NO',
    String(f.runs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
