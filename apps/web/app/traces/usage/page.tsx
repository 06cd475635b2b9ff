import { Suspense } from 'react';
import { UsagePage } from '../../../features/tracing/usage-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <UsagePage />
    </Suspense>
  );
}
