import { Suspense } from 'react';
import { ModelsPage } from '../../features/model-registry/models-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <ModelsPage />
    </Suspense>
  );
}
