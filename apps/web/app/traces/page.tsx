import { Suspense } from 'react';
import { TracesPage } from '../../features/tracing/traces-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <TracesPage />
    </Suspense>
  );
}
