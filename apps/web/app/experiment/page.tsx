import { Suspense } from 'react';
import { ExperimentPage } from '../../features/runs/experiment-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <ExperimentPage />
    </Suspense>
  );
}
