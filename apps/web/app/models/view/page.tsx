import { Suspense } from 'react';
import { ModelPage } from '../../../features/model-registry/model-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <ModelPage />
    </Suspense>
  );
}
