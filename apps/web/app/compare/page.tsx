import { Suspense } from 'react';
import { ComparePage } from '../../features/compare/compare-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <ComparePage />
    </Suspense>
  );
}
