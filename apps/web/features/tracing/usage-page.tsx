'use client';

import { useEffect, useMemo, type ReactNode } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import Link from 'next/link';
import type { TraceStatsBucket } from '../../lib/graphql/tracing-documents.ts';
import { useQueryState } from '../../lib/hooks.ts';
import {
  andFilters,
  formatCost,
  formatCount,
  formatLatency,
  formatRate,
  quoteFilterValue,
  statsColumns,
} from '../../lib/tracing.ts';
import { MetricChart, loadChartLibrary, type ChartSeries } from '../charts/metric-chart.tsx';
import { colorAt } from '../charts/palette.ts';
import { USAGE_STATS_QUERY, type UsageStatsResult } from './trace-documents.ts';
import { TraceFilterBox } from './trace-filter-box.tsx';
import { TracingNav } from './tracing-nav.tsx';
import { useLiveTraceQuery } from './use-live-query.ts';

/** Re-read at most this often while traces stream in. */
const LIVE_DEBOUNCE_MS = 2000;

interface ChartDef {
  title: string;
  series: ChartSeries[];
  values: ((b: TraceStatsBucket) => number | null)[];
}

const CHARTS: ChartDef[] = [
  {
    title: 'latency (ms)',
    series: [
      { label: 'p50', color: colorAt(0) },
      { label: 'p95', color: colorAt(1) },
      { label: 'p99', color: colorAt(3) },
    ],
    values: [(b) => b.latencyP50Ms, (b) => b.latencyP95Ms, (b) => b.latencyP99Ms],
  },
  {
    title: 'traces and errors',
    series: [
      { label: 'traces', color: colorAt(0) },
      { label: 'errors', color: colorAt(3) },
    ],
    values: [(b) => b.count, (b) => b.errorCount],
  },
  {
    title: 'tokens',
    series: [
      { label: 'input', color: colorAt(0) },
      { label: 'output', color: colorAt(2) },
      { label: 'total', color: colorAt(4) },
    ],
    values: [(b) => b.inputTokens, (b) => b.outputTokens, (b) => b.totalTokens],
  },
  {
    title: 'cost (USD)',
    series: [{ label: 'cost', color: colorAt(5) }],
    values: [(b) => b.cost],
  },
];

/** `/traces/usage?filter=…&bucket=day|hour`: latency, errors, tokens and cost over time, by model. */
export function UsagePage() {
  const [query, setQuery] = useQueryState();
  const filter = query.get('filter') ?? '';
  const bucket = query.get('bucket') === 'day' ? 'DAY' : 'HOUR';
  useEffect(() => void loadChartLibrary(), []);
  const live = useLiveTraceQuery<UsageStatsResult>(
    USAGE_STATS_QUERY,
    { filter: filter || null, groupBy: bucket },
    filter || null,
    { debounceMs: LIVE_DEBOUNCE_MS },
  );
  const stats = live.data;
  const total = stats?.total[0] ?? null;
  const columns = useMemo(
    () =>
      CHARTS.map((c) =>
        statsColumns(stats?.buckets ?? [], c.values, bucket === 'DAY' ? 86_400 : 3600),
      ),
    [stats, bucket],
  );
  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    setQuery(next);
  };
  const filterError =
    live.error && (live.error.argument === 'filter' || live.error.position !== null)
      ? live.error
      : null;

  return (
    <>
      <h1>Usage</h1>
      <TracingNav current="usage" />
      <TraceFilterBox
        value={filter}
        error={filterError}
        onApply={(v) => setParam('filter', v || null)}
      />
      <div className="toolbar">
        <div className="field" role="group" aria-label="Bucket">
          <span>Per</span>
          <button
            type="button"
            aria-pressed={bucket === 'HOUR'}
            onClick={() => setParam('bucket', null)}
          >
            Hour
          </button>
          <button
            type="button"
            aria-pressed={bucket === 'DAY'}
            onClick={() => setParam('bucket', 'day')}
          >
            Day
          </button>
        </div>
        {live.loading && stats && <span className="muted">Updating…</span>}
      </div>
      {live.error && !filterError && <ErrorMessage error={live.error} />}
      {!stats && !live.error && <p className="page-loading">Loading…</p>}
      {stats && (
        <>
          <div className="cards" data-testid="usage-totals">
            <Card label="Traces">{formatCount(total?.count ?? 0)}</Card>
            <Card label="Error rate">
              {formatRate(total?.errorRate)} ({formatCount(total?.errorCount ?? 0)})
            </Card>
            <Card label="Latency p50 · p95 · p99">
              {formatLatency(total?.latencyP50Ms)} · {formatLatency(total?.latencyP95Ms)} ·{' '}
              {formatLatency(total?.latencyP99Ms)}
            </Card>
            <Card label="Tokens (in · out · total)">
              {formatCount(total?.inputTokens ?? 0)} · {formatCount(total?.outputTokens ?? 0)} ·{' '}
              {formatCount(total?.totalTokens ?? 0)}
            </Card>
            <Card label="Cost">{formatCost(total?.cost)}</Card>
          </div>
          {stats.buckets.length === 0 ? (
            <p className="muted">No traces {filter ? 'match this filter' : 'yet'}.</p>
          ) : (
            <div className="charts">
              {CHARTS.map((c, i) => (
                <div key={c.title} className="chart-card">
                  <h3>{c.title}</h3>
                  <MetricChart
                    title={c.title}
                    series={c.series}
                    data={columns[i]!}
                    xMode="time"
                    log={false}
                    height={200}
                  />
                </div>
              ))}
            </div>
          )}
          <h2>By model</h2>
          <UsageTable
            label="Usage by model"
            keyLabel="Model"
            buckets={stats.byModel}
            none="(no model)"
            filterOf={(model) => `span.model = ${quoteFilterValue(model)}`}
            baseFilter={filter}
          />
          <h2>By user</h2>
          <UsageTable
            label="Usage by user"
            keyLabel="User"
            buckets={stats.byUser}
            none="(no user)"
            filterOf={(user) => `user = ${quoteFilterValue(user)}`}
            baseFilter={filter}
          />
        </>
      )}
    </>
  );
}

/**
 * One roll-up (by model or by user): traces (spans for models), error rate, latencies, tokens,
 * cost; each key links to its traces (under the page's filter too).
 */
function UsageTable({
  label,
  keyLabel,
  buckets,
  none,
  filterOf,
  baseFilter,
}: {
  label: string;
  keyLabel: string;
  buckets: TraceStatsBucket[];
  none: string;
  filterOf(key: string): string;
  baseFilter: string;
}) {
  if (buckets.length === 0) return <p className="muted">None.</p>;
  const tracesHref = (key: string) => {
    const f = andFilters(baseFilter, filterOf(key)) ?? '';
    return `/traces?${new URLSearchParams({ filter: f }).toString()}`;
  };
  return (
    <div style={{ overflowX: 'auto' }}>
      <table className="data" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            <th scope="col" className="num">
              {keyLabel === 'Model' ? 'Spans' : 'Traces'}
            </th>
            <th scope="col" className="num">
              Error rate
            </th>
            <th scope="col" className="num">
              p50
            </th>
            <th scope="col" className="num">
              p95
            </th>
            <th scope="col" className="num">
              p99
            </th>
            <th scope="col" className="num">
              Input tokens
            </th>
            <th scope="col" className="num">
              Output tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((b) => (
            <tr key={b.key ?? ''}>
              <td className="mono">
                {b.key === null ? (
                  <span className="muted">{none}</span>
                ) : (
                  <Link href={tracesHref(b.key)}>{b.key}</Link>
                )}
              </td>
              <td className="num">{formatCount(b.count)}</td>
              <td className="num">{formatRate(b.errorRate)}</td>
              <td className="num">{formatLatency(b.latencyP50Ms)}</td>
              <td className="num">{formatLatency(b.latencyP95Ms)}</td>
              <td className="num">{formatLatency(b.latencyP99Ms)}</td>
              <td className="num">{formatCount(b.inputTokens)}</td>
              <td className="num">{formatCount(b.outputTokens)}</td>
              <td className="num">{formatCost(b.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Card({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="card">
      <div className="label">{label}</div>
      <div className="value">{children}</div>
    </div>
  );
}
