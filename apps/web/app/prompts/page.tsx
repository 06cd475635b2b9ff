import { Suspense } from 'react';
import { PromptsPage } from '../../features/prompts/prompts-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <PromptsPage />
    </Suspense>
  );
}
