'use client';

import { useEffect, useMemo } from 'react';
import {
  MetricChart,
  loadChartLibrary,
  type ChartData,
  type ChartSeries,
} from '../../features/charts/metric-chart.tsx';
import { colorAt } from '../../features/charts/palette.ts';
import type { DeploymentVariant, DeploymentVariantMetrics } from './deployments.documents.ts';
import {
  byVariantOrder,
  chartColumns,
  formatMs,
  formatRate,
  versionLabel,
} from './deployments-logic.ts';

export const RANGES = [
  { seconds: 900, label: '15 min' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 21_600, label: '6 hours' },
  { seconds: 86_400, label: '24 hours' },
] as const;

/**
 * Per-variant counters (requests, errors, error rate, latency) and three live charts (requests,
 * mean latency, error rate per reported window), one line per variant. The data comes with every
 * `deploymentChanged` push (each metrics window is one), so the charts redraw in place.
 */
export function DeploymentMetrics({
  metrics: unordered,
  variants,
  sinceSeconds,
  onRange,
}: {
  metrics: DeploymentVariantMetrics[];
  variants: DeploymentVariant[];
  sinceSeconds: number;
  onRange: (seconds: number) => void;
}) {
  useEffect(() => {
    void loadChartLibrary();
  }, []);
  const metrics = useMemo(() => byVariantOrder(unordered, variants), [unordered, variants]);
  const columns = useMemo(() => chartColumns(metrics), [metrics]);
  const colorOf = (variant: string, i: number) => {
    const at = variants.findIndex((v) => v.name === variant);
    return colorAt(at >= 0 ? at : variants.length + i);
  };
  const series: ChartSeries[] = columns.variants.map((v, i) => ({
    label: v,
    color: colorOf(v, i),
  }));
  // MetricChart rebuilds when its series change (compared as JSON), not on every push.
  const stableSeries = series;
  const charts: { title: string; data: ChartData }[] = [
    { title: 'Requests per window', data: [columns.x, ...columns.requests] },
    { title: 'Mean latency (ms)', data: [columns.x, ...columns.latencyMeanMs] },
    { title: 'Error rate (%)', data: [columns.x, ...columns.errorRatePct] },
  ];
  const label = RANGES.find((r) => r.seconds === sinceSeconds)?.label ?? `${sinceSeconds} s`;

  return (
    <section aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Traffic</h2>
      <div className="toolbar">
        <label className="field">
          <span>Since</span>
          <select value={sinceSeconds} onChange={(e) => onRange(Number(e.target.value))}>
            {RANGES.map((r) => (
              <option key={r.seconds} value={r.seconds}>
                last {r.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {metrics.length === 0 ? (
        <p className="muted" data-testid="metrics-empty">
          No requests reported in the last {label}.
        </p>
      ) : (
        <>
          {metrics.map((m, i) => (
            <div key={m.variant} data-testid={`metrics-${m.variant}`}>
              <h3 style={{ margin: '8px 0 2px' }}>
                <span
                  className="swatch"
                  aria-hidden="true"
                  style={{
                    display: 'inline-block',
                    width: 10,
                    height: 10,
                    borderRadius: 2,
                    background: colorOf(m.variant, i),
                    marginRight: 6,
                  }}
                />
                {m.variant} <span className="muted">({versionLabel(m.version)})</span>
              </h3>
              <dl className="metric-counters" aria-label={`Metrics of ${m.variant}`}>
                <Counter label="Requests" value={m.requests.toLocaleString('en')} id="requests" />
                <Counter label="Errors" value={m.errors.toLocaleString('en')} id="errors" />
                <Counter label="Error rate" value={formatRate(m.errorRate)} id="error-rate" />
                <Counter label="Mean latency" value={formatMs(m.latencyMeanMs)} id="latency-mean" />
                <Counter label="p50" value={formatMs(m.latencyP50Ms)} id="latency-p50" />
                <Counter label="p95" value={formatMs(m.latencyP95Ms)} id="latency-p95" />
              </dl>
            </div>
          ))}
          <div className="charts" data-windows={columns.x.length} data-testid="deployment-charts">
            {charts.map((c) => (
              <div key={c.title}>
                <h3 style={{ margin: '4px 0' }}>{c.title}</h3>
                <MetricChart
                  title={c.title}
                  series={stableSeries}
                  data={c.data}
                  xMode="time"
                  log={false}
                  height={200}
                />
              </div>
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function Counter({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div className="card">
      <dt className="label">{label}</dt>
      <dd className="value" style={{ margin: 0 }} data-testid={`counter-${id}`}>
        {value}
      </dd>
    </div>
  );
}
