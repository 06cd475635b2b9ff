import { Suspense } from 'react';
import { SessionsPage } from '../../features/tracing/sessions-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <SessionsPage />
    </Suspense>
  );
}
