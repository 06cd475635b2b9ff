import { Suspense } from 'react';
import { WorkspacesPage } from './workspaces-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <WorkspacesPage />
    </Suspense>
  );
}
