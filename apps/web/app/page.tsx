import { Suspense } from 'react';
import { ExperimentsPage } from '../features/experiments/experiments-page.tsx';

export default function Home() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <ExperimentsPage />
    </Suspense>
  );
}
