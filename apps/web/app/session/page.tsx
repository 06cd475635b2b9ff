import { Suspense } from 'react';
import { SessionPage } from '../../features/tracing/session-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <SessionPage />
    </Suspense>
  );
}
