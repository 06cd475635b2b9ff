'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import {
  ADD_TRACES_TO_ANNOTATION_QUEUE,
  ANNOTATION_QUEUES_QUERY,
  type AddTracesResult,
  type AnnotationQueuesResult,
} from '../../lib/annotation-documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { queueHref } from '../evaluations/queues-view.tsx';
import { TypedError } from '../evaluations/typed-error.tsx';
import { useReadQuery } from '../evaluations/use-live.ts';

/** The trace page's "Add to queue": puts this trace into an annotation queue for review. */
export function AddToQueue() {
  const params = useSearchParams();
  const traceId = params.get('id') ?? '';
  const [open, setOpen] = useState(false);
  const [queueId, setQueueId] = useState('');
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [added, setAdded] = useState<{ id: string; name: string; fresh: boolean } | null>(null);
  const { urql } = useDashboard();
  const queues = useReadQuery<AnnotationQueuesResult>(
    ANNOTATION_QUEUES_QUERY,
    { first: 100 },
    open,
  );
  if (!traceId) return null;
  if (!open)
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          Add to queue
        </button>
      </p>
    );
  const list = queues.data?.annotationQueues.nodes ?? [];
  const add = async () => {
    const result = await urql
      .mutation<AddTracesResult>(ADD_TRACES_TO_ANNOTATION_QUEUE, {
        input: { queueId, traceIds: [traceId] },
      })
      .toPromise();
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    const r = result.data.addTracesToAnnotationQueue;
    setAdded({ id: r.queue.id, name: r.queue.name, fresh: r.added > 0 });
  };
  return (
    <section aria-label="Add to annotation queue" className="toolbar">
      {queues.data && list.length === 0 ? (
        <span className="muted">
          No annotation queues yet: <Link href="/evaluations/queues">create one</Link>.
        </span>
      ) : (
        <>
          <label className="field">
            <span>Annotation queue</span>
            <select value={queueId} onChange={(e) => setQueueId(e.target.value)}>
              <option value="">–</option>
              {list.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={queueId === ''} onClick={() => void add()}>
            Add
          </button>
        </>
      )}
      {added && (
        <span role="status">
          {added.fresh ? 'Added to' : 'Already in'}{' '}
          <Link href={queueHref(added.id)}>{added.name}</Link>
        </span>
      )}
      {(error ?? queues.error) && <TypedError error={(error ?? queues.error)!} />}
    </section>
  );
}
