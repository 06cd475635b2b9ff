'use client';

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  ASSESSMENTS_CHANGED,
  CREATE_EVALUATION_RULE,
  EVALUATION_RULES_QUERY,
  RULE_SCORES_QUERY,
  UPDATE_EVALUATION_RULE,
  type CreateEvaluationRuleResult,
  type EvaluationRule,
  type EvaluationRulesResult,
  type RuleScoresResult,
} from '../../lib/evaluation-documents.ts';
import {
  BUCKET_MS,
  SCORE_BUCKETS,
  SCORER_TYPES,
  bucketBars,
  formatMean,
  formatRate,
  parseSamplingRate,
  parseScorerConfig,
  previewJson,
  type ScoreBucketSize,
} from '../../lib/evaluation.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush, useReadQuery } from './use-live.ts';

const PAGE = 50;

/**
 * `/evaluations/rules?bucket=hour`: online evaluation rules (filter, sampling rate, scorers,
 * traces scored), a form that creates one, and each rule's scores over time per scorer. Live
 * without polling: every new assessment in the workspace (`assessmentsChanged`, which online
 * scores are) re-reads the rules and their charts, debounced.
 */
export function EvaluationRulesPage() {
  const [query, setQuery] = useQueryState();
  const bucketParam = query.get('bucket');
  const bucket: ScoreBucketSize = (SCORE_BUCKETS as readonly string[]).includes(bucketParam ?? '')
    ? (bucketParam as ScoreBucketSize)
    : 'hour';
  const rules = useReadQuery<EvaluationRulesResult>(EVALUATION_RULES_QUERY, { first: PAGE });
  const [tick, setTick] = useState(0);
  useDebouncedPush(
    ASSESSMENTS_CHANGED,
    { traceId: null, runId: null },
    () => {
      rules.refetch();
      setTick((t) => t + 1);
    },
    { ms: 1000 },
  );
  const items = rules.data?.evaluationRules.edges.map((e) => e.node) ?? [];
  return (
    <>
      <h1>Online evaluation rules</h1>
      <EvaluationsNav current="rules" />
      <CreateRuleForm onCreated={rules.refetch} />
      <div className="toolbar">
        <label className="field">
          <span>Chart buckets</span>
          <select
            value={bucket}
            onChange={(e) => {
              const next = new URLSearchParams(query);
              if (e.target.value === 'hour') next.delete('bucket');
              else next.set('bucket', e.target.value);
              setQuery(next);
            }}
          >
            {SCORE_BUCKETS.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" aria-live="polite" data-testid="rules-count">
          {rules.data
            ? `${rules.data.evaluationRules.totalCount} rule${rules.data.evaluationRules.totalCount === 1 ? '' : 's'}`
            : rules.error
              ? ''
              : 'Loading…'}
        </span>
      </div>
      {rules.error && <TypedError error={rules.error} />}
      {rules.data && items.length === 0 && (
        <p className="muted">
          No rules yet. A rule scores the incoming traces that match its filter, a sample of them,
          with its scorers; create one above.
        </p>
      )}
      {items.map((r) => (
        <RuleCard key={r.id} rule={r} bucket={bucket} tick={tick} onChanged={rules.refetch} />
      ))}
    </>
  );
}

function RuleCard({
  rule: r,
  bucket,
  tick,
  onChanged,
}: {
  rule: EvaluationRule;
  bucket: ScoreBucketSize;
  tick: number;
  onChanged: () => void;
}) {
  const { urql } = useDashboard();
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const toggle = async () => {
    setBusy(true);
    const result = await urql
      .mutation(UPDATE_EVALUATION_RULE, { input: { ruleId: r.id, active: !r.active } })
      .toPromise();
    setBusy(false);
    if (result.error) {
      setError(describeError(result.error));
      return;
    }
    setError(null);
    onChanged();
  };
  return (
    <section className="assessment" aria-label={`Rule ${r.name}`} data-rule={r.name}>
      <div className="head">
        <h2 style={{ margin: 0 }}>{r.name}</h2>
        <span className={`badge ${r.active ? 'FINISHED' : 'DELETED'}`}>
          {r.active ? 'active' : 'paused'}
        </span>
        <span>samples {formatRate(r.samplingRate)}</span>
        <span>
          filter: {r.filter ? <code>{r.filter}</code> : <span className="muted">every trace</span>}
        </span>
        <span data-testid={`scored-${r.name}`}>{r.scoredTraces} traces scored</span>
        <span className="muted">created {formatTimestamp(r.createdAt)}</span>
        <button type="button" onClick={() => void toggle()} disabled={busy}>
          {r.active ? 'Pause' : 'Resume'}
        </button>
      </div>
      {error && <TypedError error={error} />}
      <div className="scorer-means" style={{ margin: '6px 0' }}>
        {r.scorers.map((s) => (
          <span key={s.name} title={previewJson(s.config, 500)}>
            <span className="scorer-chip">{s.name}</span> <span className="muted">{s.type}</span>
          </span>
        ))}
      </div>
      <div className="two-col">
        {r.scorers.map((s) => (
          <ScoreChart key={s.name} ruleId={r.id} scorer={s.name} bucket={bucket} tick={tick} />
        ))}
      </div>
    </section>
  );
}

const CHART_W = 480;
const CHART_H = 120;

function ScoreChart({
  ruleId,
  scorer,
  bucket,
  tick,
}: {
  ruleId: string;
  scorer: string;
  bucket: ScoreBucketSize;
  tick: number;
}) {
  const scores = useReadQuery<RuleScoresResult>(RULE_SCORES_QUERY, {
    id: ruleId,
    scorer,
    bucket,
  });
  const { refetch } = scores;
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    refetch();
  }, [tick, refetch]);
  const buckets = scores.data?.evaluationRule?.scores ?? [];
  const { bars, max } = bucketBars(buckets, BUCKET_MS[bucket], CHART_W, CHART_H, 36);
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const errors = buckets.reduce((n, b) => n + b.errorCount, 0);
  const last = buckets.at(-1);
  return (
    <figure style={{ margin: 0 }} data-testid={`chart-${scorer}`}>
      <figcaption>
        <strong>{scorer}</strong>{' '}
        <span className="muted">
          {total} score{total === 1 ? '' : 's'}
          {errors > 0 ? `, ${errors} errors` : ''}
          {last ? ` · latest ${bucket} mean ${formatMean(last.mean)}` : ''}
        </span>
      </figcaption>
      {scores.error && <TypedError error={scores.error} />}
      {buckets.length === 0 ? (
        <p className="muted">No scores yet.</p>
      ) : (
        <svg
          className="rule-chart"
          viewBox={`-28 -6 ${CHART_W + 34} ${CHART_H + 24}`}
          role="img"
          aria-label={`${scorer}: mean per ${bucket}, ${buckets.length} buckets`}
        >
          <line className="axis" x1={0} y1={CHART_H} x2={CHART_W} y2={CHART_H} />
          <line className="axis" x1={0} y1={0} x2={0} y2={CHART_H} />
          <text x={-4} y={4} textAnchor="end">
            {formatMean(max)}
          </text>
          <text x={-4} y={CHART_H} textAnchor="end">
            0
          </text>
          {bars.map((b) => (
            <rect
              key={b.bucket.start}
              className="bar"
              x={b.x}
              y={b.y}
              width={b.width}
              height={b.height}
            >
              <title>
                {`${formatTimestamp(b.bucket.start)}: mean ${formatMean(b.bucket.mean)} of ${b.bucket.count}${b.bucket.errorCount ? `, ${b.bucket.errorCount} errors` : ''}`}
              </title>
            </rect>
          ))}
          <text x={0} y={CHART_H + 14}>
            {formatTimestamp(buckets[0]!.start)}
          </text>
          {buckets.length > 1 && (
            <text x={CHART_W} y={CHART_H + 14} textAnchor="end">
              {formatTimestamp(last!.start)}
            </text>
          )}
        </svg>
      )}
    </figure>
  );
}

interface ScorerDraft {
  key: number;
  name: string;
  type: string;
  config: string;
}

function CreateRuleForm({ onCreated }: { onCreated: () => void }) {
  const { urql } = useDashboard();
  const id = useId();
  const [name, setName] = useState('');
  const [filter, setFilter] = useState('');
  const [rate, setRate] = useState('100%');
  const nextKey = useRef(1);
  const [scorers, setScorers] = useState<ScorerDraft[]>([
    { key: 0, name: 'safety', type: 'safety', config: '' },
  ]);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const local = (message: string, argument: string): ApiErrorInfo => ({
    message,
    code: 'INVALID_ARGUMENT',
    position: null,
    argument,
    network: false,
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    const samplingRate = parseSamplingRate(rate);
    if (samplingRate === null)
      return setError(
        local('The sampling rate must be between 0 and 1 (or 0–100 %).', 'samplingRate'),
      );
    const specs = [];
    for (const s of scorers) {
      const parsed = parseScorerConfig(s.config);
      if (!parsed.ok)
        return setError(local(`Scorer ${s.name || '(unnamed)'}: ${parsed.message}`, 'scorers'));
      specs.push({
        name: s.name.trim(),
        type: s.type,
        ...(parsed.config ? { config: parsed.config } : {}),
      });
    }
    setBusy(true);
    const result = await urql
      .mutation<CreateEvaluationRuleResult>(CREATE_EVALUATION_RULE, {
        input: { name: name.trim(), filter: filter.trim() || null, samplingRate, scorers: specs },
      })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setCreated(result.data.createEvaluationRule.name);
    setName('');
    onCreated();
  };

  const setScorer = (key: number, patch: Partial<ScorerDraft>) =>
    setScorers((list) => list.map((s) => (s.key === key ? { ...s, ...patch } : s)));

  return (
    <details className="feedback-form" style={{ display: 'block', marginBottom: 12 }}>
      <summary>New rule</summary>
      <form onSubmit={(e) => void submit(e)} aria-label="Create a rule" className="feedback-form">
        <label className="field">
          <span>Name</span>
          <input
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-label="Name"
            required
          />
        </label>
        <label className="field grow">
          <span>Trace filter</span>
          <input
            type="text"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            aria-label="Trace filter"
            placeholder="tags.env = 'prod' (blank: every trace)"
            spellCheck={false}
          />
        </label>
        <label className="field">
          <span>Sampling rate</span>
          <input
            type="text"
            value={rate}
            onChange={(e) => setRate(e.target.value)}
            size={6}
            aria-label="Sampling rate"
          />
        </label>
        <fieldset style={{ flexBasis: '100%', border: 0, padding: 0 }}>
          <legend>Scorers</legend>
          {scorers.map((s, i) => (
            <div key={s.key} className="toolbar">
              <label className="field">
                <span className="visually-hidden">Scorer {i + 1} name</span>
                <input
                  type="text"
                  value={s.name}
                  onChange={(e) => setScorer(s.key, { name: e.target.value })}
                  aria-label={`Scorer ${i + 1} name`}
                  placeholder="name"
                  size={14}
                />
              </label>
              <label className="field">
                <span className="visually-hidden">Scorer {i + 1} type</span>
                <select
                  value={s.type}
                  onChange={(e) => setScorer(s.key, { type: e.target.value })}
                  aria-label={`Scorer ${i + 1} type`}
                >
                  {SCORER_TYPES.map((t) => (
                    <option key={t} value={t}>
                      {t}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field grow" htmlFor={`${id}-config-${s.key}`}>
                <span className="visually-hidden">Scorer {i + 1} config (JSON)</span>
                <input
                  id={`${id}-config-${s.key}`}
                  type="text"
                  className="mono grow"
                  value={s.config}
                  onChange={(e) => setScorer(s.key, { config: e.target.value })}
                  aria-label={`Scorer ${i + 1} config (JSON)`}
                  placeholder='config JSON, e.g. {"maxMs": 2000}'
                  spellCheck={false}
                />
              </label>
              {scorers.length > 1 && (
                <button
                  type="button"
                  className="link"
                  onClick={() => setScorers((list) => list.filter((x) => x.key !== s.key))}
                >
                  Remove
                </button>
              )}
            </div>
          ))}
          <button
            type="button"
            onClick={() =>
              setScorers((list) => [
                ...list,
                { key: nextKey.current++, name: '', type: 'exact_match', config: '' },
              ])
            }
          >
            Add a scorer
          </button>
        </fieldset>
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          Create rule
        </button>
        {created && !error && <span role="status">Created {created}.</span>}
        {error && (
          <div style={{ flexBasis: '100%' }}>
            <TypedError error={error} />
          </div>
        )}
      </form>
    </details>
  );
}
