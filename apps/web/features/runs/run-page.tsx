'use client';

import Link from 'next/link';
import { useEffect, useMemo, useState, type KeyboardEvent, type ReactNode } from 'react';
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
import { loadChartLibrary } from '../charts/metric-chart.tsx';
import { MetricPanel } from '../charts/metric-panel.tsx';
import { ArtifactsTab } from '../artifacts/artifacts-tab.tsx';
import { ObjectHistory } from '../../components/object-history.tsx';
import { StageBadge, modelHref } from '../model-registry/stage-badge.tsx';
import { LivePoints, useMetricSeries } from '../charts/use-metric-series.ts';
import { formatTimestamp } from '../../lib/format.ts';
import {
  RUN_CHANGED,
  RUN_QUERY,
  type KeyValue,
  type RunChangedResult,
  type RunDetail,
  type RunResult,
} from '../../lib/graphql/documents.ts';
import { describeError } from '../../lib/graphql/errors.ts';
import {
  RUN_MODEL_VERSIONS_QUERY,
  type RunModelVersionsResult,
} from '../../lib/graphql/registry-documents.ts';
import { useDebounced, useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import { formatMetric, toNumber } from '../../lib/metric-values.ts';
import { filterLiteral } from '../../lib/registry.ts';

export function RunPage() {
  const [query, setQuery] = useQueryState();
  const runId = query.get('id') ?? '';
  useEffect(() => {
    // The chart chunk downloads while the run and its metrics are fetched.
    void loadChartLibrary();
  }, []);
  const [result] = useQuery<RunResult>({
    query: RUN_QUERY,
    variables: { id: runId },
    pause: !runId,
    requestPolicy: 'network-only',
  });
  const [live, setLive] = useState<RunDetail | null>(null);
  useEffect(() => setLive(null), [runId]);
  useSubscriptionEffect<RunChangedResult>(
    RUN_CHANGED,
    { runId },
    (data) => {
      if (data.runChanged) setLive(data.runChanged);
    },
    runId !== '',
  );
  const run = live ?? result.data?.run ?? null;

  // The keys to fetch are those the run had when the page opened; later keys arrive live.
  const initialKeys = result.data?.run?.metricKeys;
  const keysByRun = useMemo(
    () => new Map(initialKeys ? [[runId, initialKeys]] : []),
    [runId, initialKeys],
  );
  const metrics = useMetricSeries(initialKeys ? [runId] : [], keysByRun);

  const tab: RunTab = RUN_TABS.find((t) => t.id === query.get('tab'))?.id ?? 'metrics';
  const settings = useMemo(() => parseChartSettings(query), [query]);
  const [keyFilter, setKeyFilter] = useState(settings.keyFilter);
  const debouncedFilter = useDebounced(keyFilter, 200);
  const setSettings = (next: ChartSettings) => {
    setKeyFilter(next.keyFilter);
    setQuery(writeChartSettings(query, { ...next, keyFilter: settings.keyFilter }));
  };
  useEffect(() => {
    if (debouncedFilter !== settings.keyFilter)
      setQuery(writeChartSettings(query, { ...settings, keyFilter: debouncedFilter }));
  }, [debouncedFilter, settings, query, setQuery]);

  if (!runId) return <p>No run given.</p>;
  if (result.error) return <ErrorMessage error={describeError(result.error)} />;
  if (!run)
    return (
      <p className="page-loading">{result.fetching ? 'Loading…' : `Run ${runId} not found.`}</p>
    );

  const allKeys = metrics.keysOf(runId);
  const needle = debouncedFilter.trim().toLowerCase();
  const keys = needle ? allKeys.filter((k) => k.toLowerCase().includes(needle)) : allKeys;

  return (
    <>
      <LivePoints runId={runId} onPoints={metrics.onPoints} />
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/">Experiments</Link>
        <span aria-hidden="true">/</span>
        <Link href={`/experiment?id=${encodeURIComponent(run.experimentId)}`}>
          {run.experiment?.name ?? run.experimentId}
        </Link>
        <span aria-hidden="true">/</span>
        <span>{run.name}</span>
      </nav>
      <h1>
        {run.name} <StatusBadge status={run.status} />{' '}
        {run.lifecycleStage === 'DELETED' && <StatusBadge status="DELETED" />}
      </h1>
      <p className="lineage-link">
        <Link href={`/lineage?kind=RUN&id=${encodeURIComponent(run.id)}`}>Lineage</Link>
      </p>
      <Overview run={run} />
      <RunModelVersions runId={run.id} />

      <RunTabs
        tab={tab}
        onTab={(next) => {
          const params = new URLSearchParams(query);
          if (next === 'metrics') params.delete('tab');
          else params.set('tab', next);
          setQuery(params);
        }}
      />
      {tab === 'history' ? (
        <div role="tabpanel" id="run-tab-history" aria-labelledby="run-tab-history-tab">
          <ObjectHistory streamId={`run-${run.id}`} />
        </div>
      ) : tab === 'artifacts' ? (
        <div role="tabpanel" id="run-tab-artifacts" aria-labelledby="run-tab-artifacts-tab">
          <ArtifactsTab
            runId={run.id}
            selected={query.get('artifact')}
            onSelect={(path) => {
              const params = new URLSearchParams(query);
              if (path) params.set('artifact', path);
              else params.delete('artifact');
              setQuery(params);
            }}
          />
        </div>
      ) : (
        <div role="tabpanel" id="run-tab-metrics" aria-labelledby="run-tab-metrics-tab">
          <h2 id="metrics-heading">Metrics</h2>
          <ChartControls settings={{ ...settings, keyFilter }} onChange={setSettings} />
          {metrics.error && <ErrorMessage error={metrics.error} />}
          {allKeys.length === 0 ? (
            <p className="muted">
              {metrics.loading
                ? 'Loading metrics…'
                : 'No metrics logged yet. They appear here as they are logged.'}
            </p>
          ) : (
            <div className="charts" aria-labelledby="metrics-heading">
              {keys.map((key) => {
                const series = metrics.get(runId, key);
                return series ? (
                  <MetricPanel
                    key={key}
                    runId={runId}
                    metricKey={key}
                    series={series}
                    settings={settings}
                    startTime={run.startTime}
                  />
                ) : (
                  <section className="chart-card" key={key} aria-label={`Metric ${key}`}>
                    <h3>{key}</h3>
                    <p className="muted">Loading…</p>
                  </section>
                );
              })}
            </div>
          )}

          <div className="two-col">
            <KeyValueTable title="Parameters" entries={run.params} />
            <KeyValueTable title="Tags" entries={run.tags} />
          </div>
          {run.latestMetrics.length > 0 && (
            <>
              <h2>Latest metric values</h2>
              <table className="data kv" aria-label="Latest metric values">
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col" className="num">
                      Value
                    </th>
                    <th scope="col" className="num">
                      Step
                    </th>
                    <th scope="col">Logged</th>
                  </tr>
                </thead>
                <tbody>
                  {run.latestMetrics.map((m) => (
                    <tr key={m.key}>
                      <td>{m.key}</td>
                      <td className="num">{formatMetric(toNumber(m.value))}</td>
                      <td className="num">{m.step}</td>
                      <td>{formatTimestamp(m.timestamp)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </>
  );
}

type RunTab = 'metrics' | 'artifacts' | 'history';
const RUN_TABS: { id: RunTab; label: string }[] = [
  { id: 'metrics', label: 'Metrics & parameters' },
  { id: 'artifacts', label: 'Artifacts' },
  { id: 'history', label: 'History' },
];

/** The run page's tabs (ARIA tabs: ←/→ move between them). */
function RunTabs({ tab, onTab }: { tab: RunTab; onTab: (tab: RunTab) => void }) {
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    const at = RUN_TABS.findIndex((t) => t.id === tab);
    const next =
      RUN_TABS[(at + (e.key === 'ArrowRight' ? 1 : RUN_TABS.length - 1)) % RUN_TABS.length]!;
    onTab(next.id);
    document.getElementById(`run-tab-${next.id}-tab`)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Run sections" onKeyDown={onKeyDown}>
      {RUN_TABS.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`run-tab-${t.id}-tab`}
          aria-selected={tab === t.id}
          aria-controls={`run-tab-${t.id}`}
          tabIndex={tab === t.id ? 0 : -1}
          onClick={() => onTab(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** Registered model versions made from this run (the registry's `run_id` filter). */
function RunModelVersions({ runId }: { runId: string }) {
  const [result] = useQuery<RunModelVersionsResult>({
    query: RUN_MODEL_VERSIONS_QUERY,
    variables: { filter: `run_id = ${filterLiteral(runId)}` },
    requestPolicy: 'network-only',
  });
  const versions = result.data?.modelVersions.edges.map((e) => e.node) ?? [];
  if (versions.length === 0) return null;
  return (
    <p className="run-models" aria-label="Registered model versions from this run">
      <span className="muted">Registered as </span>
      {versions.map((v, i) => (
        <span key={v.id}>
          {i > 0 && ', '}
          <Link href={modelHref(v.modelName, v.version)}>
            {v.modelName} v{v.version}
          </Link>{' '}
          {v.stage !== 'NONE' && <StageBadge stage={v.stage} />}
          {v.aliases.map((a) => (
            <span key={a} className="alias-chip">
              @{a}
            </span>
          ))}
        </span>
      ))}
    </p>
  );
}

function Overview({ run }: { run: RunDetail }) {
  const cards: [string, ReactNode][] = [
    ['Status', <StatusBadge key="s" status={run.status} />],
    [
      'Run ID',
      <span key="id" className="mono">
        {run.id}
      </span>,
    ],
    ['Started', formatTimestamp(run.startTime)],
    ['Ended', run.endTime === null ? '—' : formatTimestamp(run.endTime)],
    ['Duration', <LiveDuration key="d" start={run.startTime} end={run.endTime} />],
    [
      'Git commit',
      run.source.gitCommit ? (
        <span key="c" className="mono" title={run.source.gitCommit}>
          {run.source.gitCommit.slice(0, 12)}
        </span>
      ) : (
        '—'
      ),
    ],
    ['Entry point', run.source.entryPoint ?? '—'],
    [
      'Parent run',
      run.parentRun ? (
        <Link key="p" href={`/run?id=${encodeURIComponent(run.parentRun.id)}`} className="mono">
          {run.parentRun.id}
        </Link>
      ) : (
        '—'
      ),
    ],
  ];
  return (
    <>
      <dl className="cards">
        {cards.map(([label, value]) => (
          <div className="card" key={label}>
            <dt className="label">{label}</dt>
            <dd className="value" style={{ margin: 0 }}>
              {value}
            </dd>
          </div>
        ))}
      </dl>
      {run.childRuns.length > 0 && (
        <>
          <h2>Child runs ({run.childRuns.length})</h2>
          <ul>
            {run.childRuns.map((child) => (
              <li key={child.id}>
                <Link href={`/run?id=${encodeURIComponent(child.id)}`}>{child.name}</Link>{' '}
                <StatusBadge status={child.status} />
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function KeyValueTable({ title, entries }: { title: string; entries: KeyValue[] }) {
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const shown = needle
    ? entries.filter(
        (e) => e.key.toLowerCase().includes(needle) || e.value.toLowerCase().includes(needle),
      )
    : entries;
  return (
    <section aria-label={title}>
      <h2>
        {title} <span className="muted">({entries.length})</span>
      </h2>
      {entries.length > 8 && (
        <label className="field" style={{ marginBottom: 6 }}>
          <span className="visually-hidden">Search {title.toLowerCase()}</span>
          <input
            type="search"
            placeholder={`Search ${title.toLowerCase()}…`}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      )}
      {entries.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table className="data kv">
          <tbody>
            {shown.map((e) => (
              <tr key={e.key}>
                <td>{e.key}</td>
                <td className="mono">{e.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
