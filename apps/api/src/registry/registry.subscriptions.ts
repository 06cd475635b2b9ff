import { registeredModelStreamId } from '@cairn/events';
import { GraphQLError } from 'graphql';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { changedIds } from '../graphql/changed-ids.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { findModelIdByName } from './registry.commands.ts';
import { RegisteredModelRef } from './registry.graphql.ts';
import { createRegistryLoaders } from './registry.loaders.ts';
import { getModelsByIds, type ModelRow } from './registry.queries.ts';

const PREFIX = registeredModelStreamId('');
const REGISTRY_PROJECTION = 'registry';

interface RegisteredModelsChange {
  ids: string[];
  models: ModelRow[];
}

const RegisteredModelsChangeRef = builder
  .objectRef<RegisteredModelsChange>('RegisteredModelsChange')
  .implement({
    fields: (t) => ({
      ids: t.exposeStringList('ids', {
        description: 'Ids of the models that changed (their versions, stages, aliases included).',
      }),
      models: t.field({
        type: [RegisteredModelRef],
        description: 'Those models re-read; a deleted model is absent (its id is in `ids`).',
        resolve: (c) => c.models,
      }),
    }),
  });

/** Fresh reads: nothing cached by an earlier push survives into the next one. */
function resetRegistryLoaders(ctx: GraphQLContext): void {
  ctx.loaders.registry = createRegistryLoaders(ctx.deps.db, ctx.workspaceId);
}

function modelIdsOf(streams: readonly (readonly [string, number])[]): string[] {
  return streams
    .map(([s]) => s)
    .filter((s) => s.startsWith(PREFIX))
    .map((s) => s.slice(PREFIX.length));
}

builder.subscriptionFields((t) => ({
  registeredModelsChanged: t.field({
    type: RegisteredModelsChangeRef,
    description:
      'Pushes the registered models created or changed since the last push (a new version, a stage or alias move, tags, renames, deletions); changes arriving while the client is busy are coalesced.',
    subscribe: (_r, _args, ctx) => {
      const changed = changedIds(ctx, REGISTRY_PROJECTION, PREFIX);
      return (async function* () {
        for await (const ids of changed) {
          resetRegistryLoaders(ctx);
          yield { ids, models: await getModelsByIds(ctx.deps.db, ctx.workspaceId, ids) };
        }
      })();
    },
    resolve: (change: RegisteredModelsChange) => change,
  }),

  registeredModelChanged: t.field({
    type: RegisteredModelRef,
    nullable: true,
    description:
      'The registered model, re-read, each time a change to it (versions, stages, aliases, tags, descriptions, a rename) is projected; null once it is deleted (then the subscription ends).',
    args: { name: t.arg.string({ required: true }) },
    subscribe: async (_r, { name }, ctx) => {
      const modelId = await findModelIdByName(ctx.deps.db, ctx.workspaceId, name);
      // graphql-ws does not run the HTTP error mapper: the code travels in the error itself.
      if (modelId === null)
        throw new GraphQLError(`Registered model "${name}" not found`, {
          extensions: { code: 'NOT_FOUND', name },
        });
      const changes = mapNotices<true>(ctx, (n) =>
        n.p === REGISTRY_PROJECTION && modelIdsOf(n.s).includes(modelId) ? true : null,
      );
      return (async function* () {
        for await (const _ of changes) {
          resetRegistryLoaders(ctx);
          const row = await ctx.loaders.registry.model.load(modelId);
          yield row;
          if (row === null) return;
        }
      })();
    },
    resolve: (row: ModelRow | null) => row,
  }),
}));
