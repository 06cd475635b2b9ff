import { Suspense } from 'react';
import { TracePage } from '../../features/tracing/trace-page.tsx';
import { AddToQueue } from './add-to-queue.tsx';
import { TraceFeedback } from './feedback.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <TracePage />
      <AddToQueue />
      <TraceFeedback />
    </Suspense>
  );
}
