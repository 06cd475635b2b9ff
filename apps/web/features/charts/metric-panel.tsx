'use client';

import { useCallback, useMemo, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { METRIC_HISTORY_QUERY, type MetricHistoryResult } from '../../lib/graphql/documents.ts';
import { formatMetric } from '../../lib/metric-values.ts';
import { chartValues, fromWire, seriesStats, xValues, type Series } from '../../lib/series.ts';
import { smooth } from '../../lib/smoothing.ts';
import type { ChartSettings } from './chart-controls.tsx';
import { MetricChart, type ChartData, type ChartSeries } from './metric-chart.tsx';
import { colorAt } from './palette.ts';
import { useChartMaxPoints } from './use-metric-series.ts';

/**
 * One metric of one run: the chart (raw line, plus the smoothed one when smoothing is on) and
 * its figures. Zooming in on steps fetches that step range again at full detail (the overview
 * is downsampled by the server).
 */
export function MetricPanel({
  runId,
  metricKey,
  series,
  settings,
  startTime,
}: {
  runId: string;
  metricKey: string;
  series: Series;
  settings: ChartSettings;
  startTime: number;
}) {
  const { urql } = useDashboard();
  const maxPoints = useChartMaxPoints();
  const [detail, setDetail] = useState<{ min: number; max: number; series: Series } | null>(null);
  const request = useRef(0);

  const onZoom = useCallback(
    (range: { min: number; max: number } | null) => {
      const id = ++request.current;
      if (!range || settings.xMode !== 'step') {
        setDetail(null);
        return;
      }
      const startStep = Math.floor(range.min);
      const endStep = Math.ceil(range.max);
      void urql
        .query<MetricHistoryResult>(
          METRIC_HISTORY_QUERY,
          { id: runId, key: metricKey, maxPoints, startStep, endStep },
          { requestPolicy: 'network-only' },
        )
        .toPromise()
        .then((r) => {
          if (id !== request.current || !r.data?.run) return;
          setDetail({ min: startStep, max: endStep, series: fromWire(r.data.run.metricHistory) });
        });
    },
    [urql, runId, metricKey, settings.xMode, maxPoints],
  );

  const shown = useMemo(() => (detail ? mergeDetail(series, detail) : series), [series, detail]);
  const { data, chartSeries } = useMemo(() => {
    const xs = xValues(shown, settings.xMode, startTime);
    const raw = chartValues(shown.values, settings.log);
    const color = colorAt(0);
    if (settings.smoothing > 0) {
      const smoothed = smooth(raw, settings.smoothing);
      return {
        data: [xs, raw, smoothed] as ChartData,
        chartSeries: [
          { label: `${metricKey} (raw)`, color, faint: true },
          { label: metricKey, color },
        ] satisfies ChartSeries[],
      };
    }
    return {
      data: [xs, raw] as ChartData,
      chartSeries: [{ label: metricKey, color }] satisfies ChartSeries[],
    };
  }, [shown, settings.xMode, settings.log, settings.smoothing, startTime, metricKey]);

  const stats = useMemo(() => seriesStats(series), [series]);
  return (
    <section className="chart-card" aria-label={`Metric ${metricKey}`}>
      <h3>
        <span>{metricKey}</span>
        {detail && (
          <span className="muted" style={{ fontSize: 12 }}>
            detail
          </span>
        )}
      </h3>
      <MetricChart
        title={metricKey}
        series={chartSeries}
        data={data}
        xMode={settings.xMode}
        log={settings.log}
        onZoom={onZoom}
      />
      <div className="stats" data-testid={`stats-${metricKey}`}>
        <span>
          last{' '}
          <strong data-testid={`last-${metricKey}`}>
            {stats.last === null ? '—' : formatMetric(stats.last)}
          </strong>
        </span>
        <span>min {stats.min === null ? '—' : formatMetric(stats.min)}</span>
        <span>max {stats.max === null ? '—' : formatMetric(stats.max)}</span>
        <span>{stats.count} points shown</span>
        {stats.nonFinite > 0 && <span>{stats.nonFinite} NaN/∞ not drawn</span>}
        {settings.log && stats.min !== null && stats.min <= 0 && (
          <span>values ≤ 0 hidden (log)</span>
        )}
      </div>
    </section>
  );
}

/** The overview with the zoomed step range replaced by its detailed points. */
function mergeDetail(
  overview: Series,
  detail: { min: number; max: number; series: Series },
): Series {
  const out: Series = { steps: [], timestamps: [], values: [] };
  let inserted = false;
  const pushDetail = () => {
    out.steps.push(...detail.series.steps);
    out.timestamps.push(...detail.series.timestamps);
    out.values.push(...detail.series.values);
    inserted = true;
  };
  for (let i = 0; i < overview.steps.length; i++) {
    const step = overview.steps[i]!;
    if (step >= detail.min && step <= detail.max) continue;
    if (!inserted && step > detail.max) pushDetail();
    out.steps.push(step);
    out.timestamps.push(overview.timestamps[i]!);
    out.values.push(overview.values[i]!);
  }
  if (!inserted) pushDetail();
  return out;
}
