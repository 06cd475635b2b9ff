'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { TracePage } from '../../features/tracing/trace-page.tsx';
import { labelAnswer } from '../../lib/annotation.ts';
import {
  ANNOTATION_ITEM_QUERY,
  ANNOTATION_QUEUE_CHANGED,
  COMPLETE_ANNOTATION_QUEUE_ITEM,
  NEXT_ANNOTATION_QUEUE_ITEM,
  SKIP_ANNOTATION_QUEUE_ITEM,
  type AnnotationItemQueueResult,
  type AnnotationLabel,
  type NextItemResult,
} from '../../lib/annotation-documents.ts';
import { LOG_FEEDBACK } from '../../lib/evaluation-documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { QueueProgress, queueHref, reviewHref } from './queues-view.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush, useReadQuery } from './use-live.ts';

/**
 * `/evaluations/queues/review?queue=…&id=<trace>`: reviews one item: the label form generated
 * from the queue's schema above the trace (the trace page's own view, which reads `id`).
 * "Submit & next" logs each answer as HUMAN feedback (`logFeedback`, the label's name), completes
 * the item and asks for the next one (`nextAnnotationQueueItem`, which assigns it to the caller);
 * "Skip" skips it. Without `id` the page asks for the next item itself. The progress is live
 * (`annotationQueueChanged`).
 */
export function AnnotationReviewPage() {
  const [query] = useQueryState();
  const router = useRouter();
  const { urql } = useDashboard();
  const queueId = query.get('queue') ?? '';
  const traceId = query.get('id') ?? '';
  const live = useReadQuery<AnnotationItemQueueResult>(
    ANNOTATION_ITEM_QUERY,
    { id: queueId },
    queueId !== '',
  );
  useDebouncedPush(ANNOTATION_QUEUE_CHANGED, { id: queueId }, live.refetch, {
    enabled: queueId !== '',
  });
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [done, setDone] = useState(false);
  const asked = useRef<string | null>(null);

  const goNext = async () => {
    const result = await urql
      .mutation<NextItemResult>(NEXT_ANNOTATION_QUEUE_ITEM, { queueId })
      .toPromise();
    if (result.error) {
      setError(describeError(result.error));
      return;
    }
    const item = result.data?.nextAnnotationQueueItem ?? null;
    if (item === null) {
      setDone(true);
      router.replace(reviewHref(queueId));
      return;
    }
    setDone(false);
    router.replace(reviewHref(queueId, item.traceId));
  };

  useEffect(() => {
    // Once per queue: a reload with an id keeps the item; without one, the next is claimed.
    if (!queueId || traceId || done || asked.current === queueId) return;
    asked.current = queueId;
    void goNext();
  });

  const q = live.data?.annotationQueue ?? null;
  if (!queueId)
    return (
      <p>
        No queue given. <Link href="/evaluations/queues">All queues</Link>
      </p>
    );
  if (live.error && !q) return <TypedError error={live.error} />;
  if (!live.data) return <p className="page-loading">Loading…</p>;
  if (!q)
    return (
      <p>
        No annotation queue <span className="mono">{queueId}</span> in this workspace.{' '}
        <Link href="/evaluations/queues">All queues</Link>
      </p>
    );
  return (
    <>
      <h1>
        Review: <Link href={queueHref(q.id)}>{q.name}</Link>
      </h1>
      <EvaluationsNav current="queues" />
      <QueueProgress q={q} />
      {error && <TypedError error={error} />}
      {!traceId ? (
        done ? (
          <p data-testid="review-done">
            Nothing left to review in this queue.{' '}
            <Link href={queueHref(q.id)}>Back to the queue</Link>
          </p>
        ) : (
          <p className="page-loading">Getting the next item…</p>
        )
      ) : (
        <>
          <LabelForm
            key={traceId}
            labels={q.labelSchema}
            onSubmit={async (answers) => {
              setError(null);
              for (const [name, value] of answers) {
                const r = await urql
                  .mutation(LOG_FEEDBACK, { input: { traceId, name, value } })
                  .toPromise();
                if (r.error) {
                  setError(describeError(r.error));
                  return;
                }
              }
              const c = await urql
                .mutation(COMPLETE_ANNOTATION_QUEUE_ITEM, { queueId, traceId })
                .toPromise();
              if (c.error) {
                setError(describeError(c.error));
                return;
              }
              await goNext();
            }}
            onSkip={async () => {
              setError(null);
              const s = await urql
                .mutation(SKIP_ANNOTATION_QUEUE_ITEM, { queueId, traceId })
                .toPromise();
              if (s.error) {
                setError(describeError(s.error));
                return;
              }
              await goNext();
            }}
          />
          <TracePage />
        </>
      )}
    </>
  );
}

function LabelForm({
  labels,
  onSubmit,
  onSkip,
}: {
  labels: AnnotationLabel[];
  onSubmit: (answers: [string, unknown][]) => Promise<void>;
  onSkip: () => Promise<void>;
}) {
  const [raw, setRaw] = useState<Record<string, string>>({});
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (name: string, value: string) => {
    setRaw((r) => ({ ...r, [name]: value }));
    setProblems(({ [name]: _, ...rest }) => rest);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const found: Record<string, string> = {};
    const answers: [string, unknown][] = [];
    for (const label of labels) {
      const answer = labelAnswer(label, raw[label.name] ?? '');
      if ('error' in answer) found[label.name] = answer.error;
      else if (answer.value !== undefined) answers.push([label.name, answer.value]);
    }
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    await onSubmit(answers);
    setBusy(false);
  };
  return (
    <form className="feedback-form" aria-label="Labels" noValidate onSubmit={(e) => void submit(e)}>
      {labels.map((l) => {
        const id = `label-${l.name}`;
        const value = raw[l.name] ?? '';
        return (
          <div key={l.name} className="field" data-label={l.name}>
            <span id={id}>
              {l.name}
              {l.required ? ' *' : ''}{' '}
              {l.instructions && <span className="muted">{l.instructions}</span>}
            </span>
            {l.kind === 'BOOL' && (
              <span role="radiogroup" aria-labelledby={id}>
                {(['true', 'false'] as const).map((v) => (
                  <label key={v}>
                    <input
                      type="radio"
                      name={id}
                      value={v}
                      checked={value === v}
                      onChange={() => set(l.name, v)}
                    />{' '}
                    {v === 'true' ? 'Yes' : 'No'}
                  </label>
                ))}
              </span>
            )}
            {l.kind === 'SCORE' && (
              <input
                aria-labelledby={id}
                type="number"
                min={l.min ?? undefined}
                max={l.max ?? undefined}
                step="any"
                value={value}
                onChange={(e) => set(l.name, e.target.value)}
                placeholder={`${l.min ?? ''}–${l.max ?? ''}`}
              />
            )}
            {l.kind === 'CATEGORICAL' && (
              <select
                aria-labelledby={id}
                value={value}
                onChange={(e) => set(l.name, e.target.value)}
              >
                <option value="">–</option>
                {l.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            )}
            {l.kind === 'TEXT' && (
              <textarea
                aria-labelledby={id}
                value={value}
                onChange={(e) => set(l.name, e.target.value)}
                rows={2}
              />
            )}
            {problems[l.name] && (
              <span className="score-error" role="alert">
                {l.name}: {problems[l.name]}
              </span>
            )}
          </div>
        );
      })}
      <div className="toolbar">
        <button type="submit" disabled={busy}>
          Submit &amp; next
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void onSkip().finally(() => setBusy(false));
          }}
        >
          Skip
        </button>
      </div>
    </form>
  );
}
