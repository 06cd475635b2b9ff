import { Suspense } from 'react';
import { EvaluationRunPage } from '../run-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <EvaluationRunPage />
    </Suspense>
  );
}
