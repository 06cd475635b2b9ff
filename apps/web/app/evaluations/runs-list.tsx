'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import {
  ASSESSMENTS_CHANGED,
  EVALUATION_RUNS_QUERY,
  EVALUATION_RUN_CHANGED,
  EVALUATION_RUN_SUMMARY_QUERY,
  type EvaluationRunSummary,
  type EvaluationRunSummaryResult,
  type EvaluationRunsResult,
  type ScorerSummary,
} from '../../lib/evaluation-documents.ts';
import {
  compareHref,
  evaluationRunHref,
  formatMean,
  mergeRuns,
  orderPair,
  toggleSelection,
} from '../../lib/evaluation.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import { DatasetName } from './dataset-name.tsx';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush } from './use-live.ts';

const PAGE = 50;

interface ListState {
  items: EvaluationRunSummary[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

const initial: ListState = {
  items: [],
  totalCount: 0,
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
};

/**
 * `/evaluations?experiment=…`: evaluation runs, newest first, a page at a time. Live without
 * polling: each row follows `evaluationRunChanged(runId)`; a run registered or scored elsewhere
 * shows through `assessmentsChanged` (any in the workspace), which re-reads the first page
 * and merges it (new runs on top).
 * Two runs ticked open the comparison (the older is the base).
 */
export function EvaluationRunsPage() {
  const { urql } = useDashboard();
  const router = useRouter();
  const [query] = useQueryState();
  const experimentId = query.get('experiment') || null;
  const [list, setList] = useState<ListState>(initial);
  const [selected, setSelected] = useState<string[]>([]);
  const generation = useRef(0);
  const now = useNow(30_000);

  /** `refresh`: the first page read again and merged (new runs on top, loaded rows kept). */
  const load = useCallback(
    async (after: string | null, refresh = false) => {
      const gen = ++generation.current;
      setList((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<EvaluationRunsResult>(
          EVALUATION_RUNS_QUERY,
          { experimentId, first: PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setList((s) => ({
          ...(after === null ? { ...initial, items: s.items } : s),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.evaluationRuns;
      setList((s) => {
        if (refresh && s.items.length > 0)
          return {
            ...s,
            items: mergeRuns(
              s.items,
              page.edges.map((e) => e.node),
            ),
            totalCount: page.totalCount,
            loading: false,
            error: null,
          };
        const items = after === null ? [] : [...s.items];
        const seen = new Set(items.map((r) => r.runId));
        for (const e of page.edges) if (!seen.has(e.node.runId)) items.push(e.node);
        return {
          items,
          totalCount: page.totalCount,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          error: null,
        };
      });
    },
    [urql, experimentId],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  // A run scored anywhere in the workspace: the first page is read again and merged (new runs
  // on top, newest first; rows loaded further down stay).
  useDebouncedPush(
    ASSESSMENTS_CHANGED,
    { traceId: null, runId: null },
    () => void load(null, true),
    { ms: 500 },
  );

  const onRowChanged = useCallback((row: EvaluationRunSummary) => {
    setList((s) => ({ ...s, items: s.items.map((r) => (r.runId === row.runId ? row : r)) }));
  }, []);

  const picked = list.items.filter((r) => selected.includes(r.runId));
  const pair = picked.length === 2 ? orderPair(picked[0]!, picked[1]!) : null;

  return (
    <>
      <h1>Evaluations</h1>
      <EvaluationsNav current="runs" />
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          disabled={!pair}
          onClick={() => pair && router.push(compareHref(pair.base.runId, pair.candidate.runId))}
          data-testid="compare-selected"
        >
          Compare {picked.length === 2 ? 'the two selected' : `(select two: ${picked.length}/2)`}
        </button>
        {pair && (
          <span className="muted">
            base <strong>{pair.base.name}</strong> → candidate{' '}
            <strong>{pair.candidate.name}</strong>
          </span>
        )}
        {experimentId && (
          <span className="muted">
            Experiment <span className="mono">{experimentId}</span> only ·{' '}
            <Link href="/evaluations">all experiments</Link>
          </span>
        )}
        <span className="muted" aria-live="polite" data-testid="evaluation-runs-count">
          {list.error
            ? ''
            : list.loading && list.items.length === 0
              ? 'Loading…'
              : `${list.totalCount} evaluation run${list.totalCount === 1 ? '' : 's'}`}
        </span>
      </div>
      {list.error && <TypedError error={list.error} />}
      <table className="data eval-runs" aria-label="Evaluation runs">
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Select to compare</span>
            </th>
            <th scope="col">Name</th>
            <th scope="col">Experiment</th>
            <th scope="col">Dataset</th>
            <th scope="col">Scorers (mean)</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((r) => (
            <RunRow
              key={r.runId}
              run={r}
              now={now}
              selected={selected.includes(r.runId)}
              onToggle={() => setSelected((s) => toggleSelection(s, r.runId))}
              onChanged={onRowChanged}
            />
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && !list.error && (
        <p className="muted" data-testid="evaluation-runs-empty">
          No evaluation runs yet. Run <code>cairn.genai.evaluate(data, scorers=[…])</code> from the
          Python SDK, or register a run with the <code>registerEvaluationRun</code> mutation.
        </p>
      )}
      {list.hasNextPage && (
        <p>
          <button type="button" onClick={() => void load(list.endCursor)} disabled={list.loading}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}

function RunRow({
  run: r,
  now,
  selected,
  onToggle,
  onChanged,
}: {
  run: EvaluationRunSummary;
  now: number;
  selected: boolean;
  onToggle: () => void;
  onChanged: (row: EvaluationRunSummary) => void;
}) {
  const { urql } = useDashboard();
  useDebouncedPush(EVALUATION_RUN_CHANGED, { runId: r.runId }, () => {
    void urql
      .query<EvaluationRunSummaryResult>(
        EVALUATION_RUN_SUMMARY_QUERY,
        { runId: r.runId },
        { requestPolicy: 'network-only' },
      )
      .toPromise()
      .then((result) => {
        if (result.data?.evaluationRun) onChanged(result.data.evaluationRun);
      });
  });
  const experiment = r.run.experiment;
  return (
    <tr data-run={r.runId} data-selected={selected ? 'true' : undefined}>
      <td>
        <input
          type="checkbox"
          checked={selected}
          onChange={onToggle}
          aria-label={`Select ${r.name} to compare`}
        />
      </td>
      <td>
        <Link href={evaluationRunHref(r.runId)}>{r.name || r.runId}</Link>
        {r.modelId && <span className="muted"> · {r.modelId}</span>}
      </td>
      <td>
        <Link href={`/experiment?id=${encodeURIComponent(r.experimentId)}`}>
          {experiment?.name ?? r.experimentId}
        </Link>
      </td>
      <td data-testid={`dataset-${r.runId}`}>
        {r.datasetId ? (
          <DatasetName id={r.datasetId} version={r.datasetVersion} />
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>
        <ScorerMeans summary={r.summary} scorers={r.scorers} />
      </td>
      <td className="num" data-testid={`rows-${r.runId}`}>
        {r.rowCount}
      </td>
      <td title={formatTimestamp(r.createdAt)}>{formatRelative(r.createdAt, now)}</td>
    </tr>
  );
}

/** Each scorer's mean, with its count and errors; scorers without values yet show "—". */
export function ScorerMeans({
  summary,
  scorers,
}: {
  summary: readonly ScorerSummary[];
  scorers: readonly string[];
}) {
  const names = [...scorers, ...summary.map((s) => s.name).filter((n) => !scorers.includes(n))];
  if (names.length === 0) return <span className="muted">none</span>;
  return (
    <span className="scorer-means">
      {names.map((name) => {
        const s = summary.find((x) => x.name === name);
        return (
          <span
            key={name}
            data-scorer={name}
            title={s ? `${s.count} value${s.count === 1 ? '' : 's'}, ${s.errorCount} errors` : ''}
          >
            <span className="scorer-chip">{name}</span>{' '}
            <span className="mean">{formatMean(s?.mean)}</span>
            {s && s.errorCount > 0 && <span className="score-error"> {s.errorCount} err</span>}
          </span>
        );
      })}
    </span>
  );
}
