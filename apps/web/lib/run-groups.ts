/**
 * Runs grouped by the value of one param or tag (`groupBy=params.optimizer` in the URL), as
 * MLflow's runs views do: per group the count and the mean of each metric's latest value, and,
 * for the charts, the mean curve of the group's runs with its min–max band. Computed on the
 * client from the loaded runs (the page loads up to GROUP_RUNS_LIMIT of them). Pure.
 */

export type GroupKind = 'params' | 'tags';

export interface GroupBy {
  kind: GroupKind;
  key: string;
}

/** Runs the experiment page loads (and groups) at most while grouped. */
export const GROUP_RUNS_LIMIT = 1000;

/** `params.optimizer`, `tags.team` (keys may contain dots: only the first one separates). */
export function parseGroupBy(text: string | null): GroupBy | null {
  if (!text) return null;
  const dot = text.indexOf('.');
  if (dot <= 0) return null;
  const kind = text.slice(0, dot);
  const key = text.slice(dot + 1);
  if ((kind !== 'params' && kind !== 'tags') || key.length === 0) return null;
  return { kind, key };
}

export function groupById(groupBy: GroupBy): string {
  return `${groupBy.kind}.${groupBy.key}`;
}

export interface GroupableRun {
  id: string;
  params: ReadonlyMap<string, string>;
  tags: ReadonlyMap<string, string>;
  metrics: ReadonlyMap<string, number>;
}

export interface RunGroup<T extends GroupableRun> {
  /** The param or tag value; null for the runs without one. */
  value: string | null;
  runs: T[];
  /** Mean of each metric's latest value over the group's runs that have a finite one. */
  means: Map<string, number>;
}

/**
 * Groups in order of value (text order; the runs without a value last), each group's runs in
 * the given order.
 */
export function groupRuns<T extends GroupableRun>(
  runs: readonly T[],
  groupBy: GroupBy,
): RunGroup<T>[] {
  const byValue = new Map<string | null, T[]>();
  for (const run of runs) {
    const value = (groupBy.kind === 'params' ? run.params : run.tags).get(groupBy.key) ?? null;
    const list = byValue.get(value);
    if (list) list.push(run);
    else byValue.set(value, [run]);
  }
  const values = [...byValue.keys()].sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a.localeCompare(b, undefined, { numeric: true }),
  );
  return values.map((value) => {
    const members = byValue.get(value)!;
    const sums = new Map<string, { sum: number; n: number }>();
    for (const run of members) {
      for (const [key, v] of run.metrics) {
        if (!Number.isFinite(v)) continue;
        const s = sums.get(key);
        if (s) {
          s.sum += v;
          s.n += 1;
        } else sums.set(key, { sum: v, n: 1 });
      }
    }
    const means = new Map([...sums].map(([key, s]) => [key, s.sum / s.n]));
    return { value, runs: members, means };
  });
}

export interface StepSeries {
  steps: readonly number[];
  values: readonly number[];
}

export interface Band {
  steps: number[];
  mean: number[];
  min: number[];
  max: number[];
  /** Runs with a value at each step. */
  counts: number[];
}

/**
 * The band of some runs' series of one metric: at every step any of them has, the mean, min and
 * max of the runs covering that step (a run's value between two of its own steps is
 * interpolated linearly; no run is extended past its first or last step). NaN and ±∞ are left
 * out. Steps where no run has a value are not in the band.
 */
export function aggregateBand(series: readonly StepSeries[]): Band {
  const clean = series.map((s) => {
    const steps: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < s.steps.length; i++) {
      const v = s.values[i]!;
      const step = s.steps[i]!;
      if (!Number.isFinite(v)) continue;
      // Steps ascend; a repeated step keeps its last value.
      if (steps.length > 0 && steps[steps.length - 1] === step) values[values.length - 1] = v;
      else {
        steps.push(step);
        values.push(v);
      }
    }
    return { steps, values };
  });
  const all = new Set<number>();
  for (const s of clean) for (const step of s.steps) all.add(step);
  const steps = [...all].sort((a, b) => a - b);
  const band: Band = { steps: [], mean: [], min: [], max: [], counts: [] };
  const cursor = clean.map(() => 0);
  for (const step of steps) {
    let sum = 0;
    let n = 0;
    let lo = Infinity;
    let hi = -Infinity;
    clean.forEach((s, r) => {
      const len = s.steps.length;
      if (len === 0 || step < s.steps[0]! || step > s.steps[len - 1]!) return;
      let i = cursor[r]!;
      while (i < len - 1 && s.steps[i + 1]! <= step) i++;
      cursor[r] = i;
      const s0 = s.steps[i]!;
      const v0 = s.values[i]!;
      let v = v0;
      if (s0 !== step && i < len - 1) {
        const s1 = s.steps[i + 1]!;
        const v1 = s.values[i + 1]!;
        v = v0 + ((v1 - v0) * (step - s0)) / (s1 - s0);
      }
      sum += v;
      n += 1;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    if (n === 0) continue;
    band.steps.push(step);
    band.mean.push(sum / n);
    band.min.push(lo);
    band.max.push(hi);
    band.counts.push(n);
  }
  return band;
}
