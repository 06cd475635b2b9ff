'use client';

import { useMemo } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { niceTicks } from '../../lib/compare.ts';
import { formatMetric } from '../../lib/metric-values.ts';
import { aggregateBand, type Band } from '../../lib/run-groups.ts';
import type { Series } from '../../lib/series.ts';
import { LivePoints, useMetricSeries } from '../charts/use-metric-series.ts';
import type { TableRun } from './table-run.ts';

/** Runs drawn at once (the first of the table's order under the filter). */
export const MAX_CHART_RUNS = 100;

const W = 440;
const H = 220;
const M = { top: 10, right: 12, bottom: 28, left: 60 };

/** A group of runs drawn as one mean curve with its min–max band (runs grouped by a param). */
export interface ChartGroup {
  id: string;
  label: string;
  color: string;
  runIds: readonly string[];
}

/**
 * The experiment's chart view: one panel per metric key, one curve per filtered run (up to
 * MAX_CHART_RUNS) in the run colours of the table. Histories are read in batches
 * (metricHistories, downsampled by the server) and kept live by each run's metricsLogged
 * subscription. Drawn as SVG by hand: one <path data-run-id> per run and panel. Grouped (`groups`
 * given), a panel draws per group the mean of its shown runs' curves and their min–max band
 * (<path class="group-band" data-group>) in the group's colour instead of the runs' curves.
 */
export function RunsCharts({
  runs,
  colorOf,
  groups = null,
}: {
  runs: readonly TableRun[];
  colorOf: (runId: string) => string;
  groups?: readonly ChartGroup[] | null;
}) {
  const shown = runs.slice(0, MAX_CHART_RUNS);
  const idsKey = shown.map((r) => `${r.id}:${[...r.metrics.keys()].join(',')}`).join('|');
  const { ids, keysByRun } = useMemo(
    () => ({
      ids: shown.map((r) => r.id),
      keysByRun: new Map(shown.map((r) => [r.id, [...r.metrics.keys()]])),
    }),
    // The run objects change with every live update; only their ids and keys matter here.
    [idsKey],
  );
  const metrics = useMetricSeries(ids, keysByRun);
  const metricKeys = useMemo(() => {
    const keys = new Set<string>();
    for (const id of ids) for (const k of metrics.keysOf(id)) keys.add(k);
    return [...keys].sort((a, b) => a.localeCompare(b));
  }, [ids, metrics.version]);
  const names = new Map(shown.map((r) => [r.id, r.summary.name]));

  return (
    <section aria-label="Charts of the filtered runs" data-testid="runs-charts">
      {ids.map((id) => (
        <LivePoints key={id} runId={id} onPoints={metrics.onPoints} />
      ))}
      {runs.length > MAX_CHART_RUNS && (
        <p className="muted">
          Showing the first {MAX_CHART_RUNS} of {runs.length} loaded runs; narrow the filter to see
          others.
        </p>
      )}
      {groups && (
        <ul className="group-legend" aria-label="Groups">
          {groups.map((g) => {
            const n = g.runIds.filter((id) => names.has(id)).length;
            return (
              <li key={g.id}>
                <span className="swatch" style={{ background: g.color }} aria-hidden="true" />
                {g.label}{' '}
                <span className="muted">
                  ({n} run{n === 1 ? '' : 's'})
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {metrics.error && <ErrorMessage error={metrics.error} />}
      {metricKeys.length === 0 && (
        <p className="muted">{metrics.loading ? 'Loading metrics…' : 'No metrics logged.'}</p>
      )}
      <div className="charts">
        {metricKeys.map((key) => (
          <RunsPanel
            key={key}
            metricKey={key}
            bands={
              groups
                ? groups.flatMap((g) => {
                    const band = aggregateBand(
                      g.runIds.flatMap((id) => {
                        const series = names.has(id) ? metrics.get(id, key) : undefined;
                        return series ? [series] : [];
                      }),
                    );
                    return band.steps.length > 0
                      ? [{ id: g.id, label: g.label, color: g.color, band }]
                      : [];
                  })
                : null
            }
            curves={ids.flatMap((id) => {
              const series = metrics.get(id, key);
              return series && series.steps.length > 0
                ? [{ runId: id, name: names.get(id) ?? id, color: colorOf(id), series }]
                : [];
            })}
          />
        ))}
      </div>
    </section>
  );
}

interface Curve {
  runId: string;
  name: string;
  color: string;
  series: Series;
}

interface GroupBand {
  id: string;
  label: string;
  color: string;
  band: Band;
}

function RunsPanel({
  metricKey,
  curves,
  bands,
}: {
  metricKey: string;
  curves: Curve[];
  bands: GroupBand[] | null;
}) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const b of bands ?? []) {
    const { steps, min, max } = b.band;
    for (let i = 0; i < steps.length; i++) {
      if (steps[i]! < x0) x0 = steps[i]!;
      if (steps[i]! > x1) x1 = steps[i]!;
      if (min[i]! < y0) y0 = min[i]!;
      if (max[i]! > y1) y1 = max[i]!;
    }
  }
  if (!bands)
    for (const c of curves) {
      for (let i = 0; i < c.series.steps.length; i++) {
        const v = c.series.values[i]!;
        if (!Number.isFinite(v)) continue;
        const s = c.series.steps[i]!;
        if (s < x0) x0 = s;
        if (s > x1) x1 = s;
        if (v < y0) y0 = v;
        if (v > y1) y1 = v;
      }
    }
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const finite = Number.isFinite(x0) && Number.isFinite(y0);
  return (
    <figure className="chart-card" style={{ margin: 0 }} data-testid={`runs-chart-${metricKey}`}>
      <h3>{metricKey}</h3>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={
          bands
            ? `${metricKey}: mean and min–max of ${bands.length} groups`
            : `${metricKey} of ${curves.length} runs`
        }
      >
        {finite &&
          niceTicks(y0, y1).map((v) => (
            <g key={`y${v}`}>
              <line x1={M.left} x2={W - M.right} y1={sy(v)} y2={sy(v)} stroke="var(--border)" />
              <text x={M.left - 6} y={sy(v) + 4} textAnchor="end" fontSize={11} fill="currentColor">
                {formatMetric(v)}
              </text>
            </g>
          ))}
        {finite &&
          niceTicks(x0, x1).map((v) => (
            <text
              key={`x${v}`}
              x={sx(v)}
              y={H - 8}
              textAnchor="middle"
              fontSize={11}
              fill="currentColor"
            >
              {formatMetric(v)}
            </text>
          ))}
        {bands?.map((b) => {
          const { steps, mean, min, max } = b.band;
          let area = '';
          let line = '';
          for (let i = 0; i < steps.length; i++) {
            const x = sx(steps[i]!).toFixed(1);
            area += `${i === 0 ? 'M' : 'L'}${x},${sy(max[i]!).toFixed(1)}`;
            line += `${i === 0 ? 'M' : 'L'}${x},${sy(mean[i]!).toFixed(1)}`;
          }
          for (let i = steps.length - 1; i >= 0; i--)
            area += `L${sx(steps[i]!).toFixed(1)},${sy(min[i]!).toFixed(1)}`;
          return (
            <g key={b.id} data-group={b.id}>
              <path
                className="group-band"
                data-group={b.id}
                d={`${area}Z`}
                fill={b.color}
                fillOpacity={0.18}
                stroke="none"
              />
              <path
                className="group-curve"
                data-group={b.id}
                data-points={steps.length}
                d={line}
                fill="none"
                stroke={b.color}
                strokeWidth={2}
              >
                <title>{`${b.label}: mean (band: min–max)`}</title>
              </path>
            </g>
          );
        })}
        {!bands &&
          curves.map((c) => {
            let d = '';
            let n = 0;
            for (let i = 0; i < c.series.steps.length; i++) {
              const v = c.series.values[i]!;
              if (!Number.isFinite(v)) continue;
              d += `${n === 0 ? 'M' : 'L'}${sx(c.series.steps[i]!).toFixed(1)},${sy(v).toFixed(1)}`;
              n += 1;
            }
            return (
              <path
                key={c.runId}
                className="run-curve"
                data-run-id={c.runId}
                data-points={n}
                d={d}
                fill="none"
                stroke={c.color}
                strokeWidth={1.5}
              >
                <title>{c.name}</title>
              </path>
            );
          })}
      </svg>
    </figure>
  );
}
