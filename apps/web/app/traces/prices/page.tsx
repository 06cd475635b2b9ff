import { Suspense } from 'react';
import { PricesPage } from '../../../features/tracing/prices-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <PricesPage />
    </Suspense>
  );
}
