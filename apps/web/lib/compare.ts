/**
 * The compare view's tables and scatter: values of each key across runs, which keys differ, and
 * numeric coordinates of a param against a metric. Pure.
 */

export interface CompareRow {
  key: string;
  /** One per run, in the runs' order; null where the run lacks the key. */
  values: (string | null)[];
  differs: boolean;
}

export function compareRows(
  runs: readonly { id: string; entries: readonly { key: string; value: string }[] }[],
): CompareRow[] {
  const keys = new Set<string>();
  const maps = runs.map((r) => {
    const m = new Map<string, string>();
    for (const e of r.entries) {
      m.set(e.key, e.value);
      keys.add(e.key);
    }
    return m;
  });
  return [...keys]
    .sort((a, b) => a.localeCompare(b))
    .map((key) => {
      const values = maps.map((m) => m.get(key) ?? null);
      const differs = values.some((v) => v !== values[0]);
      return { key, values, differs };
    });
}

export interface ScatterPoint {
  runId: string;
  label: string;
  /** Position on x: the number itself, or the index of the category. */
  x: number;
  y: number;
  xText: string;
}

export interface ScatterData {
  points: ScatterPoint[];
  /** Set when x is categorical: the category names in axis order. */
  categories: string[] | null;
  /** Runs left out (no param, or no finite metric). */
  missing: number;
}

/** Numeric params plot as numbers; otherwise each distinct value is one category. */
export function scatterData(
  runs: readonly { id: string; label: string; param: string | null; metric: number | null }[],
): ScatterData {
  const usable = runs.filter(
    (r): r is typeof r & { param: string; metric: number } =>
      r.param !== null && r.metric !== null && Number.isFinite(r.metric),
  );
  const numeric = usable.every((r) => r.param.trim() !== '' && Number.isFinite(Number(r.param)));
  let categories: string[] | null = null;
  if (!numeric) categories = [...new Set(usable.map((r) => r.param))].sort();
  const points = usable.map((r) => ({
    runId: r.id,
    label: r.label,
    x: categories ? categories.indexOf(r.param) : Number(r.param),
    y: r.metric,
    xText: r.param,
  }));
  return { points, categories, missing: runs.length - usable.length };
}

/** "Nice" axis ticks between min and max (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const span = max - min;
  const step0 = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const norm = step0 / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
