'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { EXPERIMENT_QUERY, type ExperimentResult } from '../../lib/graphql/documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import {
  defaultColumns,
  nextSort,
  orderByArgument,
  parseColumnId,
  parseRunsView,
  writeRunsView,
  type DataColumn,
  type RunsViewState,
} from '../../lib/run-columns.ts';
import { GROUP_RUNS_LIMIT, groupById, groupRuns, parseGroupBy } from '../../lib/run-groups.ts';
import { buildRunRows } from '../../lib/run-rows.ts';
import { colorAt } from '../charts/palette.ts';
import { ColumnPicker } from './column-picker.tsx';
import { ExportCsvButton } from './export-csv.tsx';
import { FilterBox } from './filter-box.tsx';
import { GroupedRunsTable, groupIdOf, groupLabel, type ShownGroup } from './grouped-runs-table.tsx';
import { RunsCharts, type ChartGroup } from './runs-charts.tsx';
import { RunsParallel } from './runs-parallel.tsx';
import { RunsTable } from './runs-table.tsx';
import { collectKeys, type TableRun } from './table-run.ts';
import { useRunsList } from './use-runs-list.ts';
import './runs.css';

export const MAX_COMPARE = 20;

export function ExperimentPage() {
  const [query, setQuery] = useQueryState();
  const experimentId = query.get('id') ?? '';
  const view = useMemo(() => parseRunsView(query), [query]);
  const setView = useCallback(
    (patch: Partial<RunsViewState>) => setQuery(writeRunsView(query, { ...view, ...patch })),
    [query, view, setQuery],
  );

  const [experimentResult] = useQuery<ExperimentResult>({
    query: EXPERIMENT_QUERY,
    variables: { id: experimentId },
    pause: !experimentId,
  });
  const experiment = experimentResult.data?.experiment;

  const orderBy = useMemo(() => orderByArgument(view.order), [view.order]);
  const list = useRunsList(experimentId, view.filter, orderBy);
  const keys = useMemo(() => collectKeys(list.runs), [list.runs]);
  // Without `cols` in the URL: defaults from the first runs seen, then fixed (columns do not
  // jump around as filters change what is loaded).
  const defaults = useRef<{ experimentId: string; columns: string[] } | null>(null);
  if (list.runs.length > 0 && defaults.current?.experimentId !== experimentId)
    defaults.current = { experimentId, columns: defaultColumns(keys) };
  const columnIds = view.columns ?? defaults.current?.columns ?? [];
  const columnsKey = columnIds.join(',');
  const columns = useMemo(
    () =>
      columnsKey
        .split(',')
        .map(parseColumnId)
        .filter((c): c is DataColumn => c !== null),
    [columnsKey],
  );
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const rows = useMemo(() => buildRunRows(list.runs, collapsed), [list.runs, collapsed]);
  const selected = useMemo(() => new Set(view.selected), [view.selected]);
  const anyRunning = useMemo(
    () => list.runs.some((r) => r.summary.status === 'RUNNING'),
    [list.runs],
  );
  const now = useNow(1000, anyRunning);
  // Table | Charts, in the URL (`view=charts`).
  const chartsView = query.get('view') === 'charts';
  const setChartsView = (on: boolean) => {
    const next = new URLSearchParams(query);
    if (on) next.set('view', 'charts');
    else next.delete('view');
    setQuery(next);
  };
  // Run colours: one per run in the table's order, shared by the table and the charts.
  const colors = useMemo(() => new Map(list.runs.map((r, i) => [r.id, colorAt(i)])), [list.runs]);
  const colorOf = useCallback((id: string) => colors.get(id) ?? colorAt(0), [colors]);
  const [exportError, setExportError] = useState<ApiErrorInfo | null>(null);

  // Group by a param or tag (`groupBy=params.optimizer`): computed here from the loaded runs,
  // which are paged in up to GROUP_RUNS_LIMIT while grouped.
  const groupByText = query.get('groupBy');
  const groupBy = useMemo(() => parseGroupBy(groupByText), [groupByText]);
  const setGroupBy = (value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set('groupBy', value);
    else next.delete('groupBy');
    setQuery(next);
  };
  const { loadMore } = list;
  useEffect(() => {
    if (groupBy && list.hasNextPage && !list.loading && !list.error)
      if (list.runs.length < GROUP_RUNS_LIMIT) loadMore();
  }, [groupBy, list.hasNextPage, list.loading, list.error, list.runs.length, loadMore]);
  const groups = useMemo<ShownGroup[] | null>(
    () =>
      groupBy
        ? groupRuns(list.runs.slice(0, GROUP_RUNS_LIMIT), groupBy).map((group, i) => ({
            id: groupIdOf(group.value),
            group,
            color: colorAt(i),
          }))
        : null,
    [groupBy, list.runs],
  );
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const groupColors = useMemo(() => {
    const m = new Map<string, string>();
    for (const g of groups ?? []) for (const r of g.group.runs) m.set(r.id, g.color);
    return m;
  }, [groups]);
  const lineColorOf = useCallback(
    (id: string) => groupColors.get(id) ?? colorOf(id),
    [groupColors, colorOf],
  );
  const chartGroups = useMemo<ChartGroup[] | null>(
    () =>
      groups?.map((g) => ({
        id: g.id,
        label: groupLabel(g.group.value),
        color: g.color,
        runIds: g.group.runs.map((r) => r.id),
      })) ?? null,
    [groups],
  );
  // Grouped, the charts take the runs of every group in turn (each group is represented when
  // there are more runs than the charts draw).
  const chartRuns = useMemo(() => {
    if (!groups) return list.runs;
    const out: TableRun[] = [];
    const longest = Math.max(0, ...groups.map((g) => g.group.runs.length));
    for (let i = 0; i < longest; i++)
      for (const g of groups) {
        const run = g.group.runs[i];
        if (run) out.push(run);
      }
    return out;
  }, [groups, list.runs]);
  const groupOptions = useMemo(() => {
    const options = [
      ...keys.params.map((k) => `params.${k}`),
      ...keys.tags.map((k) => `tags.${k}`),
    ];
    if (groupBy && !options.includes(groupById(groupBy))) options.unshift(groupById(groupBy));
    return options;
  }, [keys, groupBy]);

  const onSelect = useCallback(
    (ids: string[], on: boolean) => {
      const next = new Set(view.selected);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      setView({ selected: [...next] });
    },
    [view.selected, setView],
  );

  if (!experimentId) {
    return (
      <p>
        No experiment given. <Link href="/">Choose one</Link>.
      </p>
    );
  }
  const compareHref = `/compare?runs=${view.selected.map(encodeURIComponent).join(',')}&experiment=${encodeURIComponent(experimentId)}`;
  const canCompare = view.selected.length >= 2 && view.selected.length <= MAX_COMPARE;
  const placeholders = list.hasNextPage ? Math.max(0, list.totalCount - list.runs.length) : 0;

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/">Experiments</Link>
        <span aria-hidden="true">/</span>
        <span>{experiment?.name ?? experimentId}</span>
      </nav>
      <h1>
        {experiment?.name ?? (experimentResult.fetching ? 'Loading…' : 'Experiment')}
        {experiment?.lifecycleStage === 'DELETED' && <span className="badge DELETED">deleted</span>}
      </h1>
      {experimentResult.error && <ErrorMessage error={describeError(experimentResult.error)} />}
      {experimentResult.data && !experiment && (
        <ErrorMessage
          error={{
            message: `Experiment ${experimentId} not found`,
            code: 'NOT_FOUND',
            position: null,
            argument: null,
            network: false,
          }}
        />
      )}
      <FilterBox value={view.filter} onApply={(filter) => setView({ filter })} error={list.error} />
      {list.error && list.error.argument !== 'filter' && list.error.position === null && (
        <ErrorMessage error={list.error} />
      )}
      <div className="toolbar">
        <span className="muted" aria-live="polite" data-testid="runs-count">
          {list.loading && list.runs.length === 0
            ? 'Loading runs…'
            : `${list.totalCount} run${list.totalCount === 1 ? '' : 's'}${view.filter ? ' match' : ''}`}
        </span>
        <span className="grow" />
        <span className="muted">{view.selected.length} selected</span>
        {view.selected.length > 0 && (
          <button type="button" onClick={() => setView({ selected: [] })}>
            Clear selection
          </button>
        )}
        {canCompare ? (
          <Link className="button primary" href={compareHref}>
            Compare {view.selected.length} runs
          </Link>
        ) : (
          <button type="button" disabled title={`Select 2 to ${MAX_COMPARE} runs to compare`}>
            Compare
          </button>
        )}
        <label className="field">
          <span>Group by</span>
          <select
            aria-label="Group by"
            value={groupBy ? groupById(groupBy) : ''}
            onChange={(e) => setGroupBy(e.target.value)}
          >
            <option value="">none</option>
            {groupOptions.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <ColumnPicker
          keys={keys}
          chosen={columnIds}
          onChange={(cols) => setView({ columns: cols })}
        />
        {view.order && (
          <button type="button" onClick={() => setView({ order: null })}>
            Default order
          </button>
        )}
        <ExportCsvButton
          experimentId={experimentId}
          experimentName={experiment?.name ?? experimentId}
          filter={view.filter}
          orderBy={orderBy}
          columns={columns}
          onError={setExportError}
        />
        <span className="segmented" role="group" aria-label="View">
          <button type="button" aria-pressed={!chartsView} onClick={() => setChartsView(false)}>
            Table
          </button>
          <button type="button" aria-pressed={chartsView} onClick={() => setChartsView(true)}>
            Charts
          </button>
        </span>
      </div>
      {exportError && <ErrorMessage error={exportError} />}
      {list.pendingNew > 0 && (
        <div className="notice" role="status">
          <span>
            {list.pendingNew} new run{list.pendingNew === 1 ? '' : 's'} since this view was loaded.
          </span>
          <button type="button" className="link" onClick={list.reload}>
            Refresh
          </button>
        </div>
      )}
      {groups && list.totalCount > Math.min(list.runs.length, GROUP_RUNS_LIMIT) && (
        <div className="notice" role="status">
          {list.runs.length < GROUP_RUNS_LIMIT && list.hasNextPage
            ? `Loading runs to group (${list.runs.length} of ${list.totalCount})…`
            : `Groups of the first ${GROUP_RUNS_LIMIT} of ${list.totalCount} runs (grouping is computed in the browser); narrow the filter to group the rest.`}
        </div>
      )}
      {chartsView ? (
        <>
          <RunsCharts runs={chartRuns} colorOf={colorOf} groups={chartGroups} />
          <RunsParallel
            runs={list.runs}
            paramKeys={keys.params}
            metricKeys={keys.metrics}
            metricKey={query.get('pm')}
            onMetricKey={(key) => {
              const next = new URLSearchParams(query);
              next.set('pm', key);
              setQuery(next);
            }}
            colorOf={lineColorOf}
          />
        </>
      ) : groups && groupBy ? (
        <GroupedRunsTable
          groupBy={groupById(groupBy)}
          groups={groups}
          columns={columns}
          expanded={expanded}
          onToggle={(id) =>
            setExpanded((e) => {
              const next = new Set(e);
              if (next.has(id)) next.delete(id);
              else next.add(id);
              return next;
            })
          }
          selected={selected}
          onSelect={onSelect}
          colors={colors}
          flashed={list.flashed}
          now={now}
        />
      ) : (
        <RunsTable
          colors={colors}
          rows={rows}
          placeholders={placeholders}
          columns={columns}
          order={view.order}
          onSort={(column) => setView({ order: nextSort(view.order, column) })}
          selected={selected}
          onSelect={onSelect}
          collapsed={collapsed}
          onToggleCollapse={(id) =>
            setCollapsed((c) => {
              const next = new Set(c);
              if (next.has(id)) next.delete(id);
              else next.add(id);
              return next;
            })
          }
          flashed={list.flashed}
          onNearEnd={list.loadMore}
          now={now}
        />
      )}
      <p className="muted" style={{ fontSize: 12 }}>
        {list.runs.length} of {list.totalCount} loaded
        {list.firstPageMs !== null && ` · first page in ${list.firstPageMs} ms`} · arrow keys move,
        Space selects, Enter opens
      </p>
    </>
  );
}
