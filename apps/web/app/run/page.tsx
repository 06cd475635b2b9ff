import { Suspense } from 'react';
import { RunPage } from '../../features/runs/run-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <RunPage />
    </Suspense>
  );
}
