import { Suspense } from 'react';
import { AnnotationReviewPage } from '../../review-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <AnnotationReviewPage />
    </Suspense>
  );
}
