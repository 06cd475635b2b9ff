'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  EVALUATION_RUN_CHANGED,
  EVALUATION_RUN_QUERY,
  type EvaluationRow,
  type EvaluationRunResult,
  type EvaluationRunSummary,
  type RowAssessment,
} from '../../lib/evaluation-documents.ts';
import {
  assessmentsByScorer,
  formatMean,
  formatScore,
  previewJson,
  scorerColumns,
  traceHref,
} from '../../lib/evaluation.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
import { DatasetName } from './dataset-name.tsx';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush } from './use-live.ts';

const PAGE = 100;
const MAX_PAGE = 200;

interface RunState {
  run: EvaluationRunSummary | null;
  rows: EvaluationRow[];
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  /** The run was read and does not exist. */
  missing: boolean;
  error: ApiErrorInfo | null;
}

const initial: RunState = {
  run: null,
  rows: [],
  endCursor: null,
  hasNextPage: false,
  loading: true,
  missing: false,
  error: null,
};

/**
 * `/evaluations/run?id=…`: one evaluation run: a summary per scorer and the per-row table
 * (inputs, outputs, expectations, each scorer's value with its rationale on hover or expanded,
 * errors in red, a link to the row's trace). Live: `evaluationRunChanged(runId)` re-reads the
 * summary and the loaded rows.
 */
export function EvaluationRunPage() {
  const { urql } = useDashboard();
  const [query] = useQueryState();
  const runId = query.get('id') ?? '';
  const [state, setState] = useState<RunState>(initial);
  const generation = useRef(0);
  const loaded = useRef(0);
  loaded.current = state.rows.length;

  const load = useCallback(
    async (after: string | null, first = PAGE) => {
      if (!runId) return;
      const gen = ++generation.current;
      setState((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<EvaluationRunResult>(
          EVALUATION_RUN_QUERY,
          { runId, first, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setState((s) => ({
          ...s,
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const run = result.data.evaluationRun;
      if (!run) {
        setState({ ...initial, loading: false, missing: true });
        return;
      }
      const { rows: page, ...summary } = run;
      setState((s) => {
        const rows = after === null ? [] : [...s.rows];
        const seen = new Set(rows.map((r) => r.rowKey));
        for (const e of page.edges) if (!seen.has(e.node.rowKey)) rows.push(e.node);
        return {
          run: summary,
          rows,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          missing: false,
          error: null,
        };
      });
    },
    [urql, runId],
  );

  useEffect(() => {
    setState(initial);
    void load(null);
  }, [load]);

  useDebouncedPush(
    EVALUATION_RUN_CHANGED,
    { runId },
    () => void load(null, Math.min(MAX_PAGE, Math.max(PAGE, loaded.current))),
    { enabled: runId !== '' },
  );

  if (!runId)
    return (
      <>
        <h1>Evaluation run</h1>
        <EvaluationsNav current={null} />
        <p>
          No run given. Open one from the <Link href="/evaluations">evaluation runs</Link>.
        </p>
      </>
    );
  if (state.missing)
    return (
      <>
        <h1>Evaluation run not found</h1>
        <EvaluationsNav current={null} />
        <p>
          No evaluation run <span className="mono">{runId}</span> in this workspace.{' '}
          <Link href="/evaluations">All evaluation runs</Link>
        </p>
      </>
    );
  const run = state.run;
  if (!run)
    return state.error ? (
      <>
        <h1>Evaluation run</h1>
        <EvaluationsNav current={null} />
        <TypedError error={state.error} />
      </>
    ) : (
      <p className="page-loading">Loading…</p>
    );

  const columns = scorerColumns(run.scorers, state.rows);
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/evaluations">Evaluations</Link>
        <span aria-hidden="true">/</span>
        <span>{run.name || run.runId}</span>
      </nav>
      <h1>{run.name || run.runId}</h1>
      <EvaluationsNav current={null} />
      {state.error && <TypedError error={state.error} />}
      <div className="cards" data-testid="evaluation-summary">
        <div className="card">
          <div className="label">Run</div>
          <div className="value">
            <Link href={`/run?id=${encodeURIComponent(run.runId)}`}>tracking run</Link>
            {run.run.experiment && (
              <>
                {' '}
                in{' '}
                <Link href={`/experiment?id=${encodeURIComponent(run.experimentId)}`}>
                  {run.run.experiment.name}
                </Link>
              </>
            )}
          </div>
        </div>
        <div className="card">
          <div className="label">Rows</div>
          <div className="value" data-testid="evaluation-row-count">
            {run.rowCount}
          </div>
        </div>
        <div className="card">
          <div className="label">Created</div>
          <div className="value">{formatTimestamp(run.createdAt)}</div>
        </div>
        {run.datasetId && (
          <div className="card">
            <div className="label">Dataset</div>
            <div className="value" data-testid="evaluation-dataset">
              <DatasetName id={run.datasetId} version={run.datasetVersion} />
            </div>
          </div>
        )}
        {run.modelId && (
          <div className="card">
            <div className="label">Model</div>
            <div className="value mono">{run.modelId}</div>
          </div>
        )}
      </div>
      <h2>Scorers</h2>
      <table className="data" aria-label="Scorer summary" data-testid="scorer-summary">
        <thead>
          <tr>
            <th scope="col">Scorer</th>
            <th scope="col" className="num">
              Mean
            </th>
            <th scope="col" className="num">
              Values
            </th>
            <th scope="col" className="num">
              Errors
            </th>
          </tr>
        </thead>
        <tbody>
          {columns.map((name) => {
            const s = run.summary.find((x) => x.name === name);
            return (
              <tr key={name} data-scorer={name}>
                <td>{name}</td>
                <td className="num" data-testid={`mean-${name}`}>
                  {formatMean(s?.mean)}
                </td>
                <td className="num">{s?.count ?? 0}</td>
                <td className={`num${s && s.errorCount > 0 ? ' score-error' : ''}`}>
                  {s?.errorCount ?? 0}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>
        Rows{' '}
        <span className="muted">
          ({state.rows.length}
          {state.hasNextPage ? ` of ${run.rowCount}` : ''})
        </span>
      </h2>
      <div style={{ overflowX: 'auto' }}>
        <table className="data eval-rows" aria-label="Evaluation rows">
          <thead>
            <tr>
              <th scope="col">Inputs</th>
              <th scope="col">Outputs</th>
              <th scope="col">Expectations</th>
              {columns.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
              <th scope="col">Trace</th>
            </tr>
          </thead>
          <tbody>
            {state.rows.map((row) => {
              const byScorer = assessmentsByScorer(row.assessments, run.scorers);
              return (
                <tr key={row.rowKey} data-row-key={row.rowKey}>
                  <td className="json-cell">
                    <JsonCell value={row.inputs} label="Inputs" />
                  </td>
                  <td className="json-cell">
                    <JsonCell value={row.outputs} label="Outputs" />
                  </td>
                  <td className="json-cell">
                    <JsonCell value={row.expectations} label="Expectations" />
                  </td>
                  {columns.map((c) => (
                    <td key={c} className="score-cell" data-scorer={c}>
                      <ScoreValue assessment={byScorer.get(c) ?? null} />
                    </td>
                  ))}
                  <td>
                    <Link href={traceHref(row.traceId)} className="mono" title={row.traceId}>
                      {row.traceId.slice(0, 8)}…
                    </Link>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!state.loading && state.rows.length === 0 && <p className="muted">No rows recorded yet.</p>}
      {state.hasNextPage && (
        <p>
          <button type="button" onClick={() => void load(state.endCursor)} disabled={state.loading}>
            Load more rows
          </button>
        </p>
      )}
    </>
  );
}

/** A JSON value in a table cell: one line, expandable to the whole value (text only). */
export function JsonCell({ value, label }: { value: unknown; label: string }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const short = previewJson(value, 120);
  const full = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  if (full === short) return <span className="mono">{short}</span>;
  return (
    <details>
      <summary className="mono" aria-label={`${label}: ${short} (expand)`}>
        {short}
      </summary>
      <pre className="json-block">{full}</pre>
    </details>
  );
}

/**
 * One scorer's value for a row: the value, its rationale on hover (title) and under "why" when
 * expanded, an error in red; "—" when the scorer gave nothing.
 */
export function ScoreValue({ assessment: a }: { assessment: RowAssessment | null }) {
  if (!a) return <span className="muted">—</span>;
  if (a.error !== null)
    return (
      <span className="score-error" data-testid="score-error" title={a.error}>
        error: {a.error}
      </span>
    );
  const value = formatScore(a.value);
  if (!a.rationale)
    return (
      <span className="value" title={`${a.source.type.toLowerCase()} ${a.source.id}`}>
        {value}
      </span>
    );
  return (
    <details>
      <summary title={a.rationale}>
        <span className="value has-rationale">{value}</span> <span className="muted">why</span>
      </summary>
      <span className="rationale">{a.rationale}</span>
      <span className="muted" style={{ fontSize: 11 }}>
        {a.source.type.toLowerCase()} · {a.source.id}
      </span>
    </details>
  );
}
