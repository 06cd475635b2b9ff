import { experimentStreamId } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { ExperimentRef } from './experiment.graphql.ts';
import { getExperimentsByIds, type ExperimentRow } from './experiments.queries.ts';

/** Experiment ids re-read per push at most (a larger backlog is pushed in several payloads). */
const MAX_PER_PUSH = 500;
const PREFIX = experimentStreamId('');

interface ExperimentsChange {
  ids: string[];
  experiments: ExperimentRow[];
}

const ExperimentsChangeRef = builder.objectRef<ExperimentsChange>('ExperimentsChange').implement({
  fields: (t) => ({
    ids: t.exposeStringList('ids', {
      description: 'The experiments created or changed (deleted ones included).',
    }),
    experiments: t.field({
      type: [ExperimentRef],
      description: 'Those experiments re-read from the read model (lifecycleStage says deleted).',
      resolve: (c) => c.experiments,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  experimentsChanged: t.field({
    type: ExperimentsChangeRef,
    description:
      "Pushes the workspace's experiments that were created, renamed, tagged, deleted or restored since the last push; changes arriving while the client is busy are coalesced.",
    subscribe: (_r, _args, ctx) => {
      const changed = mapNotices<Set<string>>(
        ctx,
        (n) => {
          if (n.p !== 'experiments') return null;
          const ids = n.s
            .map(([s]) => s)
            .filter((s) => s.startsWith(PREFIX))
            .map((s) => s.slice(PREFIX.length));
          return ids.length > 0 ? new Set(ids) : null;
        },
        (a, b) => new Set([...a, ...b]),
      );
      return (async function* () {
        for await (const set of changed) {
          const all = [...set];
          for (let i = 0; i < all.length; i += MAX_PER_PUSH) {
            const ids = all.slice(i, i + MAX_PER_PUSH);
            for (const id of ids) {
              ctx.loaders.experiment.clear(id);
              ctx.loaders.experimentTags.clear(id);
            }
            const experiments = await getExperimentsByIds(ctx.deps.db, ctx.workspaceId, ids);
            yield { ids, experiments };
          }
        }
      })();
    },
    resolve: (change: ExperimentsChange) => change,
  }),
}));
