import { Suspense } from 'react';
import { DeploymentView } from '../deployment-view.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <DeploymentView />
    </Suspense>
  );
}
