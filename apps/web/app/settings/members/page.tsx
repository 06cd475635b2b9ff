import { Suspense } from 'react';
import { MembersPage } from './members-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <MembersPage />
    </Suspense>
  );
}
