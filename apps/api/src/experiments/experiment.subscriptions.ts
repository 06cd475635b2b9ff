import { experimentStreamId } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { changedIds } from '../graphql/changed-ids.ts';
import { ExperimentRef } from './experiment.graphql.ts';
import { getExperimentsByIds, type ExperimentRow } from './experiments.queries.ts';

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
      const changed = changedIds(ctx, 'experiments', PREFIX);
      return (async function* () {
        for await (const ids of changed) {
          for (const id of ids) {
            ctx.loaders.experiment.clear(id);
            ctx.loaders.experimentTags.clear(id);
          }
          const experiments = await getExperimentsByIds(ctx.deps.db, ctx.workspaceId, ids);
          yield { ids, experiments };
        }
      })();
    },
    resolve: (change: ExperimentsChange) => change,
  }),
}));
