import { Suspense } from 'react';
import { EvaluationRunsPage } from './runs-list.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <EvaluationRunsPage />
    </Suspense>
  );
}
