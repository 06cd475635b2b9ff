import { runStreamId } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';

const ARTIFACTS_PROJECTION = 'artifacts';

interface RunArtifactsChange {
  runId: string;
}

const RunArtifactsChangeRef = builder
  .objectRef<RunArtifactsChange>('RunArtifactsChange')
  .implement({
    fields: (t) => ({ runId: t.exposeString('runId') }),
  });

builder.subscriptionFields((t) => ({
  runArtifactsChanged: t.field({
    type: RunArtifactsChangeRef,
    description:
      "Pushes each time artifacts logged to the run are projected (coalesced while the client is busy): re-read the run's `artifacts(path)` listings that are shown.",
    args: { runId: t.arg.string({ required: true }) },
    subscribe: (_r, { runId }, ctx) => {
      const stream = runStreamId(runId);
      return mapNotices<RunArtifactsChange>(ctx, (n) =>
        n.p === ARTIFACTS_PROJECTION && n.s.some(([s]) => s === stream) ? { runId } : null,
      );
    },
    resolve: (change: RunArtifactsChange) => change,
  }),
}));
