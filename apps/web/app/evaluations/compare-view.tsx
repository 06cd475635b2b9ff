'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  COMPARE_EVALUATION_RUNS_QUERY,
  EVALUATION_RUN_CHANGED,
  type CompareEvaluationRunsResult,
  type EvaluationRowComparison,
  type ScoreChange,
} from '../../lib/evaluation-documents.ts';
import {
  assessmentsByScorer,
  changeLabel,
  changeTone,
  evaluationRunHref,
  formatMean,
  formatScore,
  meanDelta,
  rowTone,
  traceHref,
} from '../../lib/evaluation.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { JsonCell, ScoreValue } from './run-view.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush } from './use-live.ts';

const PAGE = 100;
const MAX_PAGE = 200;

type Comparison = CompareEvaluationRunsResult['compareEvaluationRuns'];

interface CompareState {
  head: Omit<Comparison, 'rows'> | null;
  rows: EvaluationRowComparison[];
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

const initial: CompareState = {
  head: null,
  rows: [],
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
};

const ROW_TONE_WORD = {
  regressed: 'regressed',
  improved: 'improved',
  mixed: 'mixed',
  unchanged: 'unchanged',
} as const;

/**
 * `/evaluations/compare?base=…&candidate=…&changed=1`: two evaluation runs side by side: each
 * scorer's means and their delta, then the rows matched by rowKey, a regressed row red and an
 * improved one green (per row and per scorer, with the word too); "Only changed rows" asks the API
 * for rows whose scores differ. Live: either run's `evaluationRunChanged` re-reads.
 */
export function CompareEvaluationsPage() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const baseRunId = query.get('base') ?? '';
  const candidateRunId = query.get('candidate') ?? '';
  const onlyChanged = query.get('changed') === '1';
  const [state, setState] = useState<CompareState>(initial);
  const generation = useRef(0);
  const loaded = useRef(0);
  loaded.current = state.rows.length;
  const ready = baseRunId !== '' && candidateRunId !== '';

  const load = useCallback(
    async (after: string | null, first = PAGE) => {
      if (!ready) return;
      const gen = ++generation.current;
      setState((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<CompareEvaluationRunsResult>(
          COMPARE_EVALUATION_RUNS_QUERY,
          { baseRunId, candidateRunId, onlyChanged, first, after },
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
      const { rows: page, ...head } = result.data.compareEvaluationRuns;
      setState((s) => {
        const rows = after === null ? [] : [...s.rows];
        const seen = new Set(rows.map((r) => r.rowKey));
        for (const e of page.edges) if (!seen.has(e.node.rowKey)) rows.push(e.node);
        return {
          head,
          rows,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          error: null,
        };
      });
    },
    [urql, ready, baseRunId, candidateRunId, onlyChanged],
  );

  // The rows on screen stay until the new answer replaces them (toggle, swap, live re-read).
  useEffect(() => {
    void load(null);
  }, [load]);

  const reread = () => void load(null, Math.min(MAX_PAGE, Math.max(PAGE, loaded.current)));
  useDebouncedPush(EVALUATION_RUN_CHANGED, { runId: baseRunId }, reread, { enabled: ready });
  useDebouncedPush(EVALUATION_RUN_CHANGED, { runId: candidateRunId }, reread, {
    enabled: ready,
  });

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setQuery(next);
  };

  if (!ready)
    return (
      <>
        <h1>Compare evaluation runs</h1>
        <EvaluationsNav current={null} />
        <p>
          Pick two runs in the <Link href="/evaluations">evaluation runs</Link> list (tick them,
          then “Compare”).
        </p>
      </>
    );

  const head = state.head;
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/evaluations">Evaluations</Link>
        <span aria-hidden="true">/</span>
        <span>Compare</span>
      </nav>
      <h1>Compare evaluation runs</h1>
      <EvaluationsNav current={null} />
      {state.error && <TypedError error={state.error} />}
      {!head ? (
        !state.error && <p className="page-loading">Loading…</p>
      ) : (
        <>
          <div className="cards" data-testid="compare-runs">
            <div className="card">
              <div className="label">Base</div>
              <div className="value">
                <Link href={evaluationRunHref(head.base.runId)} data-testid="base-run">
                  {head.base.name || head.base.runId}
                </Link>{' '}
                <span className="muted">
                  {formatTimestamp(head.base.createdAt)} · {head.base.rowCount} rows
                </span>
              </div>
            </div>
            <div className="card">
              <div className="label">Candidate</div>
              <div className="value">
                <Link href={evaluationRunHref(head.candidate.runId)} data-testid="candidate-run">
                  {head.candidate.name || head.candidate.runId}
                </Link>{' '}
                <span className="muted">
                  {formatTimestamp(head.candidate.createdAt)} · {head.candidate.rowCount} rows
                </span>
              </div>
            </div>
          </div>
          <div className="toolbar">
            <button
              type="button"
              onClick={() => set({ base: candidateRunId, candidate: baseRunId })}
            >
              Swap base and candidate
            </button>
            <label className="field">
              <input
                type="checkbox"
                checked={onlyChanged}
                onChange={(e) => set({ changed: e.target.checked ? '1' : null })}
                data-testid="only-changed"
              />
              <span>Only changed rows</span>
            </label>
          </div>
          <h2>Scorers</h2>
          <table className="data" aria-label="Scorer comparison" data-testid="scorer-comparison">
            <thead>
              <tr>
                <th scope="col">Scorer</th>
                <th scope="col" className="num">
                  Base mean
                </th>
                <th scope="col" className="num">
                  Candidate mean
                </th>
                <th scope="col" className="num">
                  Delta
                </th>
                <th scope="col" className="num">
                  Regressions
                </th>
                <th scope="col" className="num">
                  Improvements
                </th>
              </tr>
            </thead>
            <tbody>
              {head.scorers.map((s) => {
                const d = meanDelta(s.baseMean, s.candidateMean);
                return (
                  <tr key={s.name} data-scorer={s.name} data-tone={d.tone}>
                    <td>{s.name}</td>
                    <td className="num">{formatMean(s.baseMean)}</td>
                    <td className="num">{formatMean(s.candidateMean)}</td>
                    <td className="num">
                      <span
                        className={`delta${d.tone === 'neutral' ? '' : ` tone-${d.tone}`}`}
                        data-testid={`delta-${s.name}`}
                        aria-label={
                          d.tone === 'neutral' ? `delta ${d.text}` : `${d.tone} by ${d.text}`
                        }
                      >
                        {d.text}
                      </span>
                    </td>
                    <td className={`num${s.regressions > 0 ? ' tone-regressed' : ''}`}>
                      {s.regressions}
                    </td>
                    <td className={`num${s.improvements > 0 ? ' tone-improved' : ''}`}>
                      {s.improvements}
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
              {state.hasNextPage ? '+' : ''})
            </span>
          </h2>
          <CompareRows
            rows={state.rows}
            scorers={head.scorers.map((s) => s.name)}
            onlyChanged={onlyChanged}
            loading={state.loading}
          />
          {state.hasNextPage && (
            <p>
              <button
                type="button"
                onClick={() => void load(state.endCursor)}
                disabled={state.loading}
              >
                Load more rows
              </button>
            </p>
          )}
        </>
      )}
    </>
  );
}

function CompareRows({
  rows,
  scorers,
  onlyChanged,
  loading,
}: {
  rows: EvaluationRowComparison[];
  scorers: string[];
  onlyChanged: boolean;
  loading: boolean;
}) {
  if (rows.length === 0 && !loading)
    return (
      <p className="muted" data-testid="compare-empty">
        {onlyChanged ? 'No row changed between the two runs.' : 'Neither run has rows yet.'}
      </p>
    );
  return (
    <div style={{ overflowX: 'auto' }}>
      <table className="data eval-rows" aria-label="Compared rows">
        <thead>
          <tr>
            <th scope="col">Change</th>
            <th scope="col">Inputs</th>
            <th scope="col">Expectations</th>
            <th scope="col">Base output</th>
            <th scope="col">Candidate output</th>
            {scorers.map((s) => (
              <th key={s} scope="col">
                {s}
              </th>
            ))}
            <th scope="col">Traces</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <CompareRow key={row.rowKey} row={row} scorers={scorers} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CompareRow({ row, scorers }: { row: EvaluationRowComparison; scorers: string[] }) {
  const tone = rowTone(row);
  const byName = new Map(row.scores.map((s) => [s.name, s]));
  const baseA = assessmentsByScorer(row.base?.assessments ?? [], scorers);
  const candA = assessmentsByScorer(row.candidate?.assessments ?? [], scorers);
  return (
    <tr
      className={`row-${tone}`}
      data-row-key={row.rowKey}
      data-tone={tone}
      data-regressed={row.regressed ? 'true' : 'false'}
      data-improved={row.improved ? 'true' : 'false'}
    >
      <td>
        <span className="change-word">{ROW_TONE_WORD[tone]}</span>
        {!row.base && <div className="muted">only in candidate</div>}
        {!row.candidate && <div className="muted">only in base</div>}
      </td>
      <td className="json-cell">
        <JsonCell value={row.inputs} label="Inputs" />
      </td>
      <td className="json-cell">
        <JsonCell
          value={row.candidate?.expectations ?? row.base?.expectations ?? null}
          label="Expectations"
        />
      </td>
      <td className="json-cell">
        <JsonCell value={row.base?.outputs ?? null} label="Base output" />
      </td>
      <td className="json-cell">
        <JsonCell value={row.candidate?.outputs ?? null} label="Candidate output" />
      </td>
      {scorers.map((name) => (
        <ScoreChangeCell
          key={name}
          name={name}
          change={byName.get(name) ?? null}
          base={baseA.get(name) ?? null}
          candidate={candA.get(name) ?? null}
        />
      ))}
      <td>
        {row.base && (
          <Link href={traceHref(row.base.traceId)} title={row.base.traceId}>
            base
          </Link>
        )}
        {row.base && row.candidate && ' · '}
        {row.candidate && (
          <Link href={traceHref(row.candidate.traceId)} title={row.candidate.traceId}>
            candidate
          </Link>
        )}
      </td>
    </tr>
  );
}

function ScoreChangeCell({
  name,
  change,
  base,
  candidate,
}: {
  name: string;
  change: ScoreChange | null;
  base: Parameters<typeof ScoreValue>[0]['assessment'];
  candidate: Parameters<typeof ScoreValue>[0]['assessment'];
}) {
  if (!change)
    return (
      <td className="compare-score" data-scorer={name}>
        <span className="muted">—</span>
      </td>
    );
  const tone = changeTone(change.change);
  return (
    <td
      className={`compare-score score-cell${tone === 'neutral' ? '' : ` tone-${tone}`}`}
      data-scorer={name}
      data-change={change.change}
    >
      <span className="value" title={base?.rationale ?? undefined}>
        {base?.error ? 'error' : formatScore(change.base, 40)}
      </span>{' '}
      →{' '}
      <span className="value" title={candidate?.rationale ?? undefined}>
        {candidate?.error ? 'error' : formatScore(change.candidate, 40)}
      </span>
      {change.change !== 'UNCHANGED' && (
        <div className="change-word">{changeLabel(change.change)}</div>
      )}
      {(base?.rationale || candidate?.rationale || base?.error || candidate?.error) && (
        <details>
          <summary className="muted">why</summary>
          <div>
            <span className="muted">base: </span>
            <ScoreValue assessment={base} />
          </div>
          <div>
            <span className="muted">candidate: </span>
            <ScoreValue assessment={candidate} />
          </div>
        </details>
      )}
    </td>
  );
}
