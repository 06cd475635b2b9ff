'use client';

import Link from 'next/link';
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { LiveDuration } from '../../components/live-duration.tsx';
import { StatusBadge } from '../../components/status-badge.tsx';
import {
  ChartControls,
  parseChartSettings,
  writeChartSettings,
  type ChartSettings,
} from '../charts/chart-controls.tsx';
import { MetricChart } from '../charts/metric-chart.tsx';
import { colorAt } from '../charts/palette.ts';
import {
  LivePoints,
  useMetricSeries,
  type MetricSeriesState,
} from '../charts/use-metric-series.ts';
import { compareRows, scatterData, type CompareRow } from '../../lib/compare.ts';
import { formatTimestamp } from '../../lib/format.ts';
import {
  compareRunsQuery,
  RUN_CHANGED,
  type CompareRun,
  type RunChangedResult,
} from '../../lib/graphql/documents.ts';
import { describeError } from '../../lib/graphql/errors.ts';
import { useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import { formatMetric, toNumber } from '../../lib/metric-values.ts';
import { alignSeries, chartValues, xValues } from '../../lib/series.ts';
import { smooth } from '../../lib/smoothing.ts';
import { ParallelCoordinates } from './parallel-coordinates.tsx';
import { ScatterPlot } from './scatter-plot.tsx';

export const MAX_COMPARE = 20;

function LiveRun({ runId, onRun }: { runId: string; onRun: (run: CompareRun) => void }): null {
  useSubscriptionEffect<RunChangedResult>(RUN_CHANGED, { runId }, (data) => {
    if (data.runChanged) onRun({ ...data.runChanged });
  });
  return null;
}

export function ComparePage() {
  const [query, setQuery] = useQueryState();
  const runIds = useMemo(
    () => [
      ...new Set(
        (query.get('runs') ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ],
    [query],
  );
  const tooMany = runIds.length > MAX_COMPARE;
  const ids = runIds.slice(0, MAX_COMPARE);
  const variables = useMemo(
    () => Object.fromEntries(ids.map((id, i) => [`r${i}`, id])),
    [ids.join(',')],
  );
  const [result] = useQuery<Record<string, CompareRun | null>>({
    query: compareRunsQuery(Math.max(1, ids.length)),
    variables,
    pause: ids.length === 0,
    requestPolicy: 'network-only',
  });
  const [liveRuns, setLiveRuns] = useState<Record<string, CompareRun>>({});
  const runs: CompareRun[] = useMemo(() => {
    const data = result.data ?? {};
    return ids
      .map((id, i) => liveRuns[id] ?? data[`r${i}`] ?? null)
      .filter((r): r is CompareRun => r !== null);
  }, [result.data, liveRuns, ids.join(',')]);

  const initialKeys = useMemo(() => {
    const data = result.data ?? {};
    return new Map(
      ids.flatMap((id, i) => {
        const r = data[`r${i}`];
        return r ? [[id, r.metricKeys] as [string, string[]]] : [];
      }),
    );
  }, [result.data]);
  const metrics = useMetricSeries(result.data ? ids : [], initialKeys);
  const colorOf = (runId: string) => colorAt(Math.max(0, ids.indexOf(runId)));

  const settings = useMemo(() => parseChartSettings(query), [query]);
  const setSettings = (next: ChartSettings) => setQuery(writeChartSettings(query, next));
  const onlyDiff = query.get('diff') === '1';
  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    setQuery(next);
  };
  const paramRows = useMemo(
    () => compareRows(runs.map((r) => ({ id: r.id, entries: r.params }))),
    [runs],
  );
  const metricRows = useMemo(
    () =>
      compareRows(
        runs.map((r) => ({
          id: r.id,
          entries: r.latestMetrics.map((m) => ({
            key: m.key,
            value: formatMetric(toNumber(m.value)),
          })),
        })),
      ),
    [runs],
  );
  const tagRows = useMemo(
    () =>
      compareRows(
        runs.map((r) => ({
          id: r.id,
          entries: r.tags.filter((t) => !t.key.startsWith('mlflow.')),
        })),
      ),
    [runs],
  );
  const metricKeys = useMemo(() => {
    const keys = new Set<string>();
    for (const r of runs) for (const k of metrics.keysOf(r.id)) keys.add(k);
    return [...keys].sort((a, b) => a.localeCompare(b));
  }, [runs, metrics.version]);

  const scatterX = query.get('sx') ?? paramRows[0]?.key ?? '';
  const scatterY = query.get('sy') ?? metricRows[0]?.key ?? '';
  const parallelMetric = query.get('pm') ?? scatterY;
  const parallelRuns = useMemo(
    () =>
      runs.map((r) => {
        const m = r.latestMetrics.find((x) => x.key === parallelMetric);
        return {
          id: r.id,
          name: r.name,
          params: new Map(r.params.map((p) => [p.key, p.value])),
          metric: m ? toNumber(m.value) : null,
        };
      }),
    [runs, parallelMetric],
  );
  const scatter = useMemo(
    () =>
      scatterData(
        runs.map((r) => ({
          id: r.id,
          label: r.name,
          param: r.params.find((p) => p.key === scatterX)?.value ?? null,
          metric: (() => {
            const m = r.latestMetrics.find((x) => x.key === scatterY);
            return m ? toNumber(m.value) : null;
          })(),
        })),
      ),
    [runs, scatterX, scatterY],
  );

  if (ids.length < 2) {
    return (
      <>
        <h1>Compare runs</h1>
        <p>
          Choose 2 to {MAX_COMPARE} runs in an experiment&apos;s runs table, then “Compare”.{' '}
          <Link href="/">Experiments</Link>
        </p>
      </>
    );
  }
  const experimentId = query.get('experiment') ?? runs[0]?.experimentId ?? null;
  const needle = settings.keyFilter.trim().toLowerCase();
  const shownKeys = needle
    ? metricKeys.filter((k) => k.toLowerCase().includes(needle))
    : metricKeys;

  return (
    <>
      {ids.map((id) => (
        <LivePoints key={`p-${id}`} runId={id} onPoints={metrics.onPoints} />
      ))}
      {ids.map((id) => (
        <LiveRun
          key={`r-${id}`}
          runId={id}
          onRun={(run) => setLiveRuns((s) => ({ ...s, [id]: run }))}
        />
      ))}
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/">Experiments</Link>
        {experimentId && (
          <>
            <span aria-hidden="true">/</span>
            <Link
              href={`/experiment?id=${encodeURIComponent(experimentId)}&sel=${ids.map(encodeURIComponent).join(',')}`}
            >
              Runs
            </Link>
          </>
        )}
      </nav>
      <h1>Compare {runs.length} runs</h1>
      {tooMany && (
        <div className="notice" role="status">
          Only the first {MAX_COMPARE} of {runIds.length} runs are compared.
        </div>
      )}
      {result.error && <ErrorMessage error={describeError(result.error)} />}
      {result.data && runs.length < ids.length && (
        <div className="notice" role="status">
          {ids.length - runs.length} of the runs were not found.
        </div>
      )}

      <h2>Parameters, metrics and tags</h2>
      <div className="toolbar">
        <label className="field">
          <input
            type="checkbox"
            checked={onlyDiff}
            onChange={(e) => setParam('diff', e.target.checked ? '1' : null)}
          />
          <span>Only rows that differ</span>
        </label>
        <span className="muted">Differing values are highlighted and marked ≠.</span>
      </div>
      <div style={{ overflowX: 'auto' }}>
        <table className="data compare-table" aria-label="Runs side by side">
          <thead>
            <tr>
              <th scope="col">Key</th>
              {runs.map((r) => (
                <th scope="col" key={r.id} className="run-head">
                  <span
                    className="swatch"
                    style={{ background: colorOf(r.id) }}
                    aria-hidden="true"
                  />
                  <Link href={`/run?id=${encodeURIComponent(r.id)}`} title={r.name}>
                    {r.name}
                  </Link>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Status</th>
              {runs.map((r) => (
                <td key={r.id}>
                  <StatusBadge status={r.status} />
                </td>
              ))}
            </tr>
            <tr>
              <th scope="row">Started</th>
              {runs.map((r) => (
                <td key={r.id}>{formatTimestamp(r.startTime)}</td>
              ))}
            </tr>
            <tr>
              <th scope="row">Duration</th>
              {runs.map((r) => (
                <td key={r.id}>
                  <LiveDuration start={r.startTime} end={r.endTime} />
                </td>
              ))}
            </tr>
            <Section title="Parameters" rows={paramRows} onlyDiff={onlyDiff} width={runs.length} />
            <Section
              title="Metrics (latest)"
              rows={metricRows}
              onlyDiff={onlyDiff}
              width={runs.length}
              numeric
            />
            <Section title="Tags" rows={tagRows} onlyDiff={onlyDiff} width={runs.length} />
          </tbody>
        </table>
      </div>

      <h2>
        {scatterY || 'Metric'} against {scatterX || 'a parameter'}
      </h2>
      <div className="toolbar">
        <label className="field">
          <span>Parameter (x)</span>
          <select value={scatterX} onChange={(e) => setParam('sx', e.target.value)}>
            {paramRows.map((r) => (
              <option key={r.key} value={r.key}>
                {r.key}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Metric (y)</span>
          <select value={scatterY} onChange={(e) => setParam('sy', e.target.value)}>
            {metricRows.map((r) => (
              <option key={r.key} value={r.key}>
                {r.key}
              </option>
            ))}
          </select>
        </label>
      </div>
      {scatterX && scatterY ? (
        <ScatterPlot data={scatter} xLabel={scatterX} yLabel={scatterY} colorOf={colorOf} />
      ) : (
        <p className="muted">The runs need a parameter and a metric for this view.</p>
      )}

      <h2>Parallel coordinates</h2>
      <div className="toolbar">
        <label className="field">
          <span>Metric</span>
          <select value={parallelMetric} onChange={(e) => setParam('pm', e.target.value)}>
            {metricRows.map((r) => (
              <option key={r.key} value={r.key}>
                {r.key}
              </option>
            ))}
          </select>
        </label>
      </div>
      {parallelMetric ? (
        <ParallelCoordinates
          runs={parallelRuns}
          paramKeys={paramRows.map((r) => r.key)}
          metricKey={parallelMetric}
          colorOf={colorOf}
        />
      ) : (
        <p className="muted">The runs need a metric for this view.</p>
      )}

      <h2 id="compare-metrics">Metrics over time</h2>
      <ChartControls settings={settings} onChange={setSettings} />
      {metrics.error && <ErrorMessage error={metrics.error} />}
      <div className="charts" aria-labelledby="compare-metrics">
        {shownKeys.map((key) => (
          <OverlayChart
            key={key}
            metricKey={key}
            runs={runs}
            metrics={metrics}
            settings={settings}
            colorOf={colorOf}
          />
        ))}
      </div>
      {shownKeys.length === 0 && (
        <p className="muted">{metrics.loading ? 'Loading metrics…' : 'No metrics.'}</p>
      )}
    </>
  );
}

function Section({
  title,
  rows,
  onlyDiff,
  width,
  numeric = false,
}: {
  title: string;
  rows: CompareRow[];
  onlyDiff: boolean;
  width: number;
  numeric?: boolean;
}) {
  const shown = onlyDiff ? rows.filter((r) => r.differs) : rows;
  return (
    <>
      <tr>
        <th scope="rowgroup" colSpan={width + 1} style={{ background: 'var(--bg-soft)' }}>
          {title}{' '}
          <span className="muted">
            ({shown.length}
            {onlyDiff ? ` of ${rows.length}` : ''})
          </span>
        </th>
      </tr>
      {shown.map((row) => (
        <tr key={row.key} data-differs={row.differs}>
          <th scope="row" style={{ fontWeight: 400 }}>
            {row.differs && (
              <span title="Values differ" aria-label="differs">
                ≠{' '}
              </span>
            )}
            {row.key}
          </th>
          {row.values.map((v, i) => (
            <td
              key={i}
              className={`${row.differs ? 'diff' : ''}${numeric ? ' num' : ''}`}
              title={v ?? ''}
            >
              {v ?? <span className="muted">—</span>}
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

function OverlayChart({
  metricKey,
  runs,
  metrics,
  settings,
  colorOf,
}: {
  metricKey: string;
  runs: CompareRun[];
  metrics: MetricSeriesState;
  settings: ChartSettings;
  colorOf: (runId: string) => string;
}) {
  const present = runs.filter((r) => metrics.get(r.id, metricKey));
  const { data, series } = useMemo(() => {
    const parts = present.map((r) => {
      const s = metrics.get(r.id, metricKey)!;
      // Relative time: each run from its own start, so runs line up.
      const xs = xValues(s, settings.xMode, r.startTime);
      const ys = smooth(chartValues(s.values, settings.log), settings.smoothing);
      return { xs, ys };
    });
    return {
      data: alignSeries(parts),
      series: present.map((r) => ({ label: r.name, color: colorOf(r.id) })),
    };
  }, [
    present.map((r) => r.id).join(','),
    metrics.version,
    settings.xMode,
    settings.log,
    settings.smoothing,
    metricKey,
  ]);
  return (
    <section className="chart-card" aria-label={`Metric ${metricKey}`}>
      <h3>{metricKey}</h3>
      {present.length === 0 ? (
        <p className="muted">Loading…</p>
      ) : (
        <MetricChart
          title={metricKey}
          series={series}
          data={data}
          xMode={settings.xMode}
          log={settings.log}
        />
      )}
    </section>
  );
}
