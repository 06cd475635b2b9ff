import { Suspense } from 'react';
import { CompareEvaluationsPage } from '../compare-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <CompareEvaluationsPage />
    </Suspense>
  );
}
