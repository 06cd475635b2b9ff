'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import {
  emptyLabel,
  labelInput,
  LABEL_KINDS,
  progressPercent,
  type LabelDraft,
} from '../../lib/annotation.ts';
import {
  ANNOTATION_QUEUE_CHANGED,
  ANNOTATION_QUEUE_QUERY,
  ANNOTATION_QUEUES_QUERY,
  CREATE_ANNOTATION_QUEUE,
  type AnnotationItemStatus,
  type AnnotationLabelKind,
  type AnnotationQueue,
  type AnnotationQueueResult,
  type AnnotationQueuesResult,
  type CreateAnnotationQueueResult,
} from '../../lib/annotation-documents.ts';
import { formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
import { EvaluationsNav } from './evaluations-nav.tsx';
import { TypedError } from './typed-error.tsx';
import { useDebouncedPush, useReadQuery } from './use-live.ts';

export const queueHref = (id: string) => `/evaluations/queues/view?id=${encodeURIComponent(id)}`;
export const reviewHref = (queueId: string, traceId?: string) =>
  `/evaluations/queues/review?queue=${encodeURIComponent(queueId)}${
    traceId ? `&id=${encodeURIComponent(traceId)}` : ''
  }`;

export function QueueProgress({ q }: { q: AnnotationQueue }) {
  const pct = progressPercent(q);
  return (
    <span className="queue-progress" data-testid="queue-progress">
      <progress max={100} value={pct} aria-label={`${q.name} progress`} /> {pct}% ·{' '}
      {q.completedCount} completed, {q.skippedCount} skipped, {q.assignedCount} assigned,{' '}
      {q.pendingCount} pending of {q.itemCount}
    </span>
  );
}

/** `/evaluations/queues`: annotation queues (progress of each) and a form that creates one. */
export function AnnotationQueuesPage() {
  const queues = useReadQuery<AnnotationQueuesResult>(ANNOTATION_QUEUES_QUERY, { first: 100 });
  const list = queues.data?.annotationQueues.nodes ?? [];
  return (
    <>
      <h1>Annotation queues</h1>
      <EvaluationsNav current="queues" />
      <CreateQueueForm onCreated={queues.refetch} />
      {queues.error && <TypedError error={queues.error} />}
      {queues.data && list.length === 0 && (
        <p className="muted">
          No queues yet. A queue holds traces for people to review with the labels of its schema;
          create one above, then add traces from the trace page or by a filter.
        </p>
      )}
      {list.length > 0 && (
        <table className="data" aria-label="Annotation queues">
          <thead>
            <tr>
              <th>Name</th>
              <th>Labels</th>
              <th>Progress</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((q) => (
              <tr key={q.id} data-queue={q.name}>
                <td>
                  <Link href={queueHref(q.id)}>{q.name}</Link>
                </td>
                <td>
                  {q.labelSchema.map((l) => (
                    <span key={l.name} className="scorer-chip" title={l.kind}>
                      {l.name}
                      {l.required ? '*' : ''}
                    </span>
                  ))}
                </td>
                <td>
                  <QueueProgress q={q} />
                </td>
                <td className="muted">{formatTimestamp(q.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function CreateQueueForm({ onCreated }: { onCreated: () => void }) {
  const { urql } = useDashboard();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [labels, setLabels] = useState<LabelDraft[]>([emptyLabel()]);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (i: number, patch: Partial<LabelDraft>) =>
    setLabels((ls) => ls.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const result = await urql
      .mutation<CreateAnnotationQueueResult>(CREATE_ANNOTATION_QUEUE, {
        input: {
          name,
          description: description.trim() === '' ? null : description,
          labelSchema: labels.map(labelInput),
        },
      })
      .toPromise();
    setBusy(false);
    if (result.error) {
      setError(describeError(result.error));
      return;
    }
    setError(null);
    setName('');
    setDescription('');
    setLabels([emptyLabel()]);
    onCreated();
  };
  return (
    <form
      className="feedback-form"
      aria-label="Create annotation queue"
      onSubmit={(e) => void submit(e)}
    >
      <h2 style={{ margin: 0 }}>New queue</h2>
      <div className="toolbar">
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label className="field">
          <span>Description</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <fieldset>
        <legend>Label schema</legend>
        {labels.map((l, i) => (
          <div key={i} className="toolbar" data-testid={`label-${i}`}>
            <label className="field">
              <span>Label name</span>
              <input value={l.name} onChange={(e) => set(i, { name: e.target.value })} />
            </label>
            <label className="field">
              <span>Kind</span>
              <select
                value={l.kind}
                onChange={(e) => set(i, { kind: e.target.value as AnnotationLabelKind })}
              >
                {LABEL_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
            {l.kind === 'SCORE' && (
              <>
                <label className="field">
                  <span>Min</span>
                  <input
                    value={l.min}
                    inputMode="decimal"
                    onChange={(e) => set(i, { min: e.target.value })}
                    placeholder="0"
                  />
                </label>
                <label className="field">
                  <span>Max</span>
                  <input
                    value={l.max}
                    inputMode="decimal"
                    onChange={(e) => set(i, { max: e.target.value })}
                    placeholder="1"
                  />
                </label>
              </>
            )}
            {l.kind === 'CATEGORICAL' && (
              <label className="field">
                <span>Options (comma-separated)</span>
                <input value={l.options} onChange={(e) => set(i, { options: e.target.value })} />
              </label>
            )}
            <label className="field">
              <span>Instructions</span>
              <input
                value={l.instructions}
                onChange={(e) => set(i, { instructions: e.target.value })}
              />
            </label>
            <label>
              <input
                type="checkbox"
                checked={l.required}
                onChange={(e) => set(i, { required: e.target.checked })}
              />{' '}
              Required
            </label>
            {labels.length > 1 && (
              <button
                type="button"
                onClick={() => setLabels((ls) => ls.filter((_, j) => j !== i))}
                aria-label={`Remove label ${i + 1}`}
              >
                Remove
              </button>
            )}
          </div>
        ))}
        <button type="button" onClick={() => setLabels((ls) => [...ls, emptyLabel()])}>
          Add label
        </button>
      </fieldset>
      {error && <TypedError error={error} />}
      <button type="submit" disabled={busy}>
        Create queue
      </button>
    </form>
  );
}

const STATUSES: readonly AnnotationItemStatus[] = ['PENDING', 'ASSIGNED', 'COMPLETED', 'SKIPPED'];

/** `/evaluations/queues/view?id=…&status=…`: one queue: progress, labels, its items. Live. */
export function AnnotationQueuePage() {
  const [query, setQuery] = useQueryState();
  const router = useRouter();
  const id = query.get('id') ?? '';
  const statusParam = query.get('status');
  const status = (STATUSES as readonly string[]).includes(statusParam ?? '')
    ? (statusParam as AnnotationItemStatus)
    : null;
  const live = useReadQuery<AnnotationQueueResult>(
    ANNOTATION_QUEUE_QUERY,
    { id, status, first: 200 },
    id !== '',
  );
  useDebouncedPush(ANNOTATION_QUEUE_CHANGED, { id }, live.refetch, { enabled: id !== '' });
  const q = live.data?.annotationQueue ?? null;
  if (!id)
    return (
      <p>
        No queue given. <Link href="/evaluations/queues">All queues</Link>
      </p>
    );
  if (live.error && !q) return <TypedError error={live.error} />;
  if (!live.data) return <p className="page-loading">Loading…</p>;
  if (!q)
    return (
      <>
        <h1>Queue not found</h1>
        <EvaluationsNav current="queues" />
        <p>
          No annotation queue <span className="mono">{id}</span> in this workspace.{' '}
          <Link href="/evaluations/queues">All queues</Link>
        </p>
      </>
    );
  return (
    <>
      <h1>{q.name}</h1>
      <EvaluationsNav current="queues" />
      {q.description && <p>{q.description}</p>}
      <div className="toolbar">
        <QueueProgress q={q} />
        <button
          type="button"
          disabled={q.pendingCount === 0}
          onClick={() => router.push(reviewHref(q.id))}
        >
          Start reviewing
        </button>
      </div>
      <p>
        Labels:{' '}
        {q.labelSchema.map((l) => (
          <span key={l.name} className="scorer-chip" title={l.instructions ?? undefined}>
            {l.name} <span className="muted">{l.kind.toLowerCase()}</span>
            {l.required ? ' (required)' : ''}
          </span>
        ))}
      </p>
      <div className="toolbar">
        <label className="field">
          <span>Status</span>
          <select
            value={status ?? ''}
            onChange={(e) => {
              const next = new URLSearchParams(query);
              if (e.target.value === '') next.delete('status');
              else next.set('status', e.target.value);
              setQuery(next);
            }}
          >
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{q.items.totalCount} items</span>
      </div>
      {live.error && <TypedError error={live.error} />}
      <table className="data" aria-label="Queue items">
        <thead>
          <tr>
            <th>Trace</th>
            <th>Status</th>
            <th>Assignee</th>
            <th>Labels</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {q.items.nodes.map((item) => (
            <tr key={item.traceId} data-trace={item.traceId} data-status={item.status}>
              <td>
                <Link href={`/trace?id=${encodeURIComponent(item.traceId)}`} className="mono">
                  {item.trace?.name ?? item.traceId.slice(0, 12)}
                </Link>
              </td>
              <td>
                <span className={`badge ${item.status}`}>{item.status.toLowerCase()}</span>
              </td>
              <td>{item.assignee ?? <span className="muted">–</span>}</td>
              <td>
                {item.labels.map((l) => (
                  <span key={l.id} className="scorer-chip">
                    {l.name}: {JSON.stringify(l.value)}
                  </span>
                ))}
              </td>
              <td className="muted">{formatTimestamp(item.addedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.items.pageInfo.hasNextPage && (
        <p className="muted">The first 200 items are shown; filter by status to see others.</p>
      )}
    </>
  );
}
