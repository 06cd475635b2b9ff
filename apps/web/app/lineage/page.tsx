import { Suspense } from 'react';
import { LineagePage } from './lineage-page.tsx';
import './lineage.css';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <LineagePage />
    </Suspense>
  );
}
