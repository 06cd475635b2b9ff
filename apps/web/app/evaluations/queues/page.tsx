import { Suspense } from 'react';
import { AnnotationQueuesPage } from '../queues-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <AnnotationQueuesPage />
    </Suspense>
  );
}
