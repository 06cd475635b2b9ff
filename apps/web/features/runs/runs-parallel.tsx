'use client';

import { useMemo } from 'react';
import { ParallelCoordinates, type ParallelRun } from '../compare/parallel-coordinates.tsx';
import type { TableRun } from './table-run.ts';

/** Runs drawn as lines at most (the first loaded ones under the filter and order). */
export const MAX_PARALLEL_RUNS = 1000;
/** Param axes at most (in key order): more do not fit the chart's width. */
export const MAX_PARALLEL_PARAMS = 12;

/**
 * The experiment chart view's parallel coordinates: the params of the filtered runs and a chosen
 * metric (its latest value; `pm=` in the URL), one line per run in its colour (the group's
 * colour when grouped). The compare page's component, fed with the loaded runs.
 */
export function RunsParallel({
  runs,
  paramKeys,
  metricKeys,
  metricKey,
  onMetricKey,
  colorOf,
}: {
  runs: readonly TableRun[];
  paramKeys: readonly string[];
  metricKeys: readonly string[];
  /** The chosen metric; null: the first one. */
  metricKey: string | null;
  onMetricKey(key: string): void;
  colorOf: (runId: string) => string;
}) {
  const metric = metricKey && metricKeys.includes(metricKey) ? metricKey : (metricKeys[0] ?? '');
  const lines = useMemo<ParallelRun[]>(
    () =>
      runs.slice(0, MAX_PARALLEL_RUNS).map((r) => ({
        id: r.id,
        name: r.summary.name,
        params: r.params,
        metric: r.metrics.get(metric) ?? null,
      })),
    [runs, metric],
  );
  const axes = paramKeys.slice(0, MAX_PARALLEL_PARAMS);
  return (
    <section aria-labelledby="runs-parallel" data-testid="runs-parallel">
      <h2 id="runs-parallel">Parallel coordinates</h2>
      <div className="toolbar">
        <label className="field">
          <span>Metric</span>
          <select value={metric} onChange={(e) => onMetricKey(e.target.value)}>
            {metricKeys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          {lines.length} run{lines.length === 1 ? '' : 's'}
          {runs.length > lines.length && ` (the first ${MAX_PARALLEL_RUNS} of ${runs.length})`}
          {paramKeys.length > axes.length &&
            ` · first ${MAX_PARALLEL_PARAMS} of ${paramKeys.length} params`}
        </span>
      </div>
      {metric ? (
        <ParallelCoordinates runs={lines} paramKeys={axes} metricKey={metric} colorOf={colorOf} />
      ) : (
        <p className="muted">The runs need a metric for this view.</p>
      )}
    </section>
  );
}
