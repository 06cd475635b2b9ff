import { Suspense } from 'react';
import { KeysPage } from './keys-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <KeysPage />
    </Suspense>
  );
}
