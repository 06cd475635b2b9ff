import { Suspense } from 'react';
import { DeploymentsList } from './deployments-list.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <DeploymentsList />
    </Suspense>
  );
}
