import { Suspense } from 'react';
import { AuditPage } from './audit-page.tsx';
import './audit.css';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <AuditPage />
    </Suspense>
  );
}
