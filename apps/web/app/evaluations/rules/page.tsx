import { Suspense } from 'react';
import { EvaluationRulesPage } from '../rules-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <EvaluationRulesPage />
    </Suspense>
  );
}
