'use client';

import { useSearchParams } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  ASSESSMENTS_CHANGED,
  LOG_FEEDBACK,
  TRACE_ASSESSMENTS_QUERY,
  UPDATE_ASSESSMENT,
  type Assessment,
  type AssessmentSource,
  type TraceAssessmentsResult,
} from '../../lib/evaluation-documents.ts';
import {
  FEEDBACK_NAME_MAX,
  FEEDBACK_RATIONALE_MAX,
  checkFeedback,
  evaluationRunHref,
  feedbackFormOf,
  feedbackText,
  type FeedbackForm,
  type FeedbackMode,
} from '../../lib/evaluation.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useDebouncedPush, useReadQuery } from '../evaluations/use-live.ts';
import { TypedError } from '../evaluations/typed-error.tsx';
import '../evaluations/evaluations.css';

const EMPTY_FORM: FeedbackForm = {
  name: 'user_feedback',
  mode: 'thumbs',
  thumbs: null,
  score: '',
  label: '',
  comment: '',
};

/**
 * The trace page's assessments (feedback and expectations: value, rationale, source, author,
 * earlier values) and a feedback widget: thumbs up/down, a numeric score or a label, and a comment
 * → `logFeedback`; "Edit" on a human feedback → `updateAssessment` (the old value goes to its
 * history). Live: `assessmentsChanged(traceId)` re-reads, so a second tab sees new feedback at once.
 */
export function TraceFeedback() {
  const params = useSearchParams();
  const traceId = params.get('id') ?? '';
  const live = useReadQuery<TraceAssessmentsResult>(
    TRACE_ASSESSMENTS_QUERY,
    { id: traceId },
    traceId !== '',
  );
  useDebouncedPush(ASSESSMENTS_CHANGED, { traceId, runId: null }, live.refetch, {
    enabled: traceId !== '',
  });
  const [editing, setEditing] = useState<Assessment | null>(null);
  if (!traceId) return null;
  const trace = live.data?.trace ?? null;
  // The trace page says when the trace is missing; nothing to add here then.
  if (!trace) return live.error && live.data === null ? <ErrorMessage error={live.error} /> : null;
  const feedback = trace.assessments.filter((a) => a.kind === 'FEEDBACK');
  const expectations = trace.assessments.filter((a) => a.kind === 'EXPECTATION');
  return (
    <section aria-label="Assessments" data-testid="trace-assessments">
      <h2>
        Feedback <span className="muted">({feedback.length})</span>
      </h2>
      {live.error && <ErrorMessage error={live.error} />}
      <FeedbackWidget
        key={editing?.id ?? 'new'}
        traceId={traceId}
        editing={editing}
        onDone={() => {
          setEditing(null);
          live.refetch();
        }}
      />
      <AssessmentList
        items={feedback}
        empty="No feedback yet."
        label="Feedback"
        onEdit={(a) => setEditing(a)}
      />
      <h2>
        Expectations <span className="muted">({expectations.length})</span>
      </h2>
      <AssessmentList
        items={expectations}
        empty="No expectations."
        label="Expectations"
        onEdit={null}
      />
    </section>
  );
}

function sourceText(s: AssessmentSource): string {
  const type = s.type === 'LLM_JUDGE' ? 'LLM judge' : s.type === 'CODE' ? 'code' : 'human';
  return `${type} · ${s.id}`;
}

function AssessmentList({
  items,
  empty,
  label,
  onEdit,
}: {
  items: Assessment[];
  empty: string;
  label: string;
  onEdit: ((a: Assessment) => void) | null;
}) {
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="assessments-list" aria-label={label}>
      {items.map((a) => (
        <li key={a.id} className="assessment" data-assessment={a.id} data-name={a.name}>
          <div className="head">
            <span className="name">{a.name}</span>
            {a.error !== null ? (
              <span className="score-error">error: {a.error}</span>
            ) : (
              <span className="value" data-testid="assessment-value">
                {feedbackText(a.value)}
              </span>
            )}
            <span className="kind-chip">{sourceText(a.source)}</span>
            <span className="muted">
              by {a.author} · {formatTimestamp(a.updatedAt)}
              {a.spanId && (
                <>
                  {' '}
                  · span <span className="mono">{a.spanId}</span>
                </>
              )}
            </span>
            {a.runId && (
              <a href={evaluationRunHref(a.runId)} className="muted">
                evaluation run
              </a>
            )}
            {a.ruleId && <span className="muted">online rule</span>}
            {onEdit && a.source.type === 'HUMAN' && (
              <button
                type="button"
                className="link"
                onClick={() => onEdit(a)}
                aria-label={`Edit feedback ${a.name}`}
              >
                Edit
              </button>
            )}
          </div>
          {a.rationale && (
            <p className="rationale" data-testid="assessment-rationale">
              {a.rationale}
            </p>
          )}
          {a.history.length > 0 && (
            <details>
              <summary className="muted">
                {a.history.length} earlier value{a.history.length === 1 ? '' : 's'}
              </summary>
              <ol className="history">
                {a.history.map((h, i) => (
                  <li key={i}>
                    {feedbackText(h.value)}
                    {h.rationale ? ` — ${h.rationale}` : ''}{' '}
                    <span className="muted">
                      ({sourceText(h.source)}, by {h.author}, {formatTimestamp(h.at)})
                    </span>
                  </li>
                ))}
              </ol>
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}

const MODES: { value: FeedbackMode; label: string }[] = [
  { value: 'thumbs', label: 'Thumbs' },
  { value: 'score', label: 'Score' },
  { value: 'label', label: 'Label' },
];

function FeedbackWidget({
  traceId,
  editing,
  onDone,
}: {
  traceId: string;
  editing: Assessment | null;
  onDone: () => void;
}) {
  const { urql } = useDashboard();
  const [form, setForm] = useState<FeedbackForm>(() =>
    editing ? feedbackFormOf(editing) : EMPTY_FORM,
  );
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const update = (patch: Partial<FeedbackForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    setStatus(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = checkFeedback(form);
    if (!checked.ok) {
      setError({
        message: checked.message,
        code: 'INVALID_ARGUMENT',
        position: null,
        argument: checked.field,
        network: false,
      });
      return;
    }
    const { name, value, rationale } = checked.feedback;
    setBusy(true);
    const result = editing
      ? await urql
          .mutation(UPDATE_ASSESSMENT, { input: { assessmentId: editing.id, value, rationale } })
          .toPromise()
      : await urql
          .mutation(LOG_FEEDBACK, { input: { traceId, name, value, rationale } })
          .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setStatus(editing ? `Updated ${name}.` : `Saved ${name}.`);
    if (!editing) setForm((f) => ({ ...EMPTY_FORM, name: f.name }));
    onDone();
  };

  const errorId = `${id}-error`;
  const invalid = (field: string) =>
    error?.argument === field ? { 'aria-invalid': true as const, 'aria-describedby': errorId } : {};
  return (
    <form
      className="feedback-form"
      onSubmit={(e) => void submit(e)}
      aria-label={editing ? `Edit feedback ${editing.name}` : 'Leave feedback'}
      data-testid="feedback-form"
    >
      <label className="field">
        <span>Name</span>
        <input
          type="text"
          value={form.name}
          onChange={(e) => update({ name: e.target.value })}
          aria-label="Feedback name"
          maxLength={FEEDBACK_NAME_MAX}
          size={16}
          spellCheck={false}
          disabled={editing !== null}
          {...invalid('name')}
        />
      </label>
      <label className="field">
        <span>Kind</span>
        <select
          value={form.mode}
          onChange={(e) => update({ mode: e.target.value as FeedbackMode })}
          aria-label="Feedback kind"
        >
          {MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      {form.mode === 'thumbs' && (
        <span className="field thumbs" role="group" aria-label="Thumbs">
          <button
            type="button"
            aria-pressed={form.thumbs === true}
            aria-label="Thumbs up"
            onClick={() => update({ thumbs: form.thumbs === true ? null : true })}
          >
            👍 Up
          </button>
          <button
            type="button"
            aria-pressed={form.thumbs === false}
            aria-label="Thumbs down"
            onClick={() => update({ thumbs: form.thumbs === false ? null : false })}
          >
            👎 Down
          </button>
        </span>
      )}
      {form.mode === 'score' && (
        <label className="field">
          <span>Score</span>
          <input
            type="text"
            inputMode="decimal"
            value={form.score}
            onChange={(e) => update({ score: e.target.value })}
            aria-label="Score"
            size={6}
            placeholder="0.8"
            {...invalid('score')}
          />
        </label>
      )}
      {form.mode === 'label' && (
        <label className="field">
          <span>Label</span>
          <input
            type="text"
            value={form.label}
            onChange={(e) => update({ label: e.target.value })}
            aria-label="Label"
            size={16}
            placeholder="off-topic"
            {...invalid('label')}
          />
        </label>
      )}
      <label className="field grow">
        <span>Comment</span>
        <textarea
          value={form.comment}
          onChange={(e) => update({ comment: e.target.value })}
          aria-label="Comment"
          maxLength={FEEDBACK_RATIONALE_MAX}
          rows={1}
          placeholder="Why (optional)"
        />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {editing ? 'Save change' : 'Send feedback'}
      </button>
      {editing && (
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      )}
      {status && !error && (
        <span role="status" className="muted">
          {status}
        </span>
      )}
      {error && (
        <div style={{ flexBasis: '100%' }}>
          <TypedError error={error} id={errorId} />
        </div>
      )}
    </form>
  );
}
