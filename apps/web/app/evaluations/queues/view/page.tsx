import { Suspense } from 'react';
import { AnnotationQueuePage } from '../../queues-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <AnnotationQueuePage />
    </Suspense>
  );
}
