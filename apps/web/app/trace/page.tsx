import { Suspense } from 'react';
import { TracePage } from '../../features/tracing/trace-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <TracePage />
    </Suspense>
  );
}
