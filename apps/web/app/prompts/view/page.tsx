import { Suspense } from 'react';
import { PromptPage } from '../../../features/prompts/prompt-page.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <PromptPage />
    </Suspense>
  );
}
