import { experimentRowFromCreated } from '@cairn/read-models';
import { builder } from '../graphql/builder.ts';
import { connectionType } from '../graphql/connection.ts';
import {
  decodeCursor,
  encodeCursor,
  KeyValueInput,
  KeyValueRef,
  pageSize,
} from '../graphql/scalars.ts';
import { notFound } from '../errors.ts';
import {
  createExperiment,
  deleteExperiment,
  renameExperiment,
  restoreExperiment,
  setExperimentTag,
  deleteExperimentTag,
} from './experiment.commands.ts';
import { getExperimentByName, listExperiments, type ExperimentRow } from './experiments.queries.ts';

export const LifecycleStage = builder.enumType('LifecycleStage', {
  values: ['ACTIVE', 'DELETED'] as const,
});

export function toLifecycle(stage: string): 'ACTIVE' | 'DELETED' {
  return stage === 'deleted' ? 'DELETED' : 'ACTIVE';
}

export const ExperimentRef = builder.objectType('Experiment', {
  fields: (t) => ({
    id: t.exposeString('experiment_id'),
    name: t.exposeString('name'),
    artifactLocation: t.exposeString('artifact_location', { nullable: true }),
    lifecycleStage: t.field({
      type: LifecycleStage,
      resolve: (e) => toLifecycle(e.lifecycle_stage),
    }),
    createdAt: t.field({ type: 'Timestamp', resolve: (e) => e.created_at.getTime() }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (e) => e.updated_at.getTime() }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (e, _a, ctx) => ctx.loaders.experimentTags.load(e.experiment_id),
    }),
  }),
});

const ExperimentConnection = connectionType('Experiment', ExperimentRef);

const ExperimentFilter = builder.inputType('ExperimentFilter', {
  fields: (t) => ({
    nameContains: t.string(),
    lifecycleStage: t.field({ type: LifecycleStage }),
  }),
});

type ExperimentCursor = { createdAt: string; id: string };
const isExperimentCursor = (v: unknown): v is ExperimentCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ExperimentCursor).createdAt === 'string' &&
  typeof (v as ExperimentCursor).id === 'string';

builder.queryFields((t) => ({
  experiment: t.field({
    type: ExperimentRef,
    nullable: true,
    args: { id: t.arg.string({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.loaders.experiment.load(id),
  }),
  experimentByName: t.field({
    type: ExperimentRef,
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) =>
      (await getExperimentByName(ctx.deps.db, ctx.workspaceId, name)) ?? null,
  }),
  experiments: t.field({
    type: ExperimentConnection,
    args: {
      filter: t.arg({ type: ExperimentFilter }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx) => {
      const first = pageSize(args.first);
      const stage = args.filter?.lifecycleStage ?? 'ACTIVE';
      const { rows, totalCount } = await listExperiments(ctx.deps.db, ctx.workspaceId, {
        first,
        after: decodeCursor(args.after, isExperimentCursor),
        lifecycleStage: stage === 'DELETED' ? 'deleted' : 'active',
        nameContains: args.filter?.nameContains ?? null,
      });
      const page = rows.slice(0, first);
      const edges = page.map((node) => ({
        node,
        cursor: encodeCursor({ createdAt: node.created_at.toISOString(), id: node.experiment_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount,
      };
    },
  }),
}));

async function load(
  ctx: {
    loaders: {
      experiment: { clear(id: string): unknown; load(id: string): Promise<ExperimentRow | null> };
    };
  },
  id: string,
) {
  ctx.loaders.experiment.clear(id);
  const row = await ctx.loaders.experiment.load(id);
  if (!row) throw notFound('Experiment', id);
  return row;
}

builder.mutationFields((t) => ({
  createExperiment: t.field({
    type: ExperimentRef,
    args: {
      name: t.arg.string({ required: true }),
      artifactLocation: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
    },
    resolve: async (_r, args, ctx) => {
      const created = await createExperiment(ctx.deps, ctx.caller, {
        name: args.name,
        artifactLocation: args.artifactLocation ?? null,
        tags: args.tags ?? [],
      });
      // Past the read-your-writes deadline, answer with the committed creation itself.
      return (
        (await ctx.loaders.experiment.load(created.data.experimentId)) ??
        experimentRowFromCreated(created)
      );
    },
  }),
  renameExperiment: t.field({
    type: ExperimentRef,
    args: { id: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: async (_r, { id, name }, ctx) =>
      load(ctx, await renameExperiment(ctx.deps, ctx.caller, id, name)),
  }),
  deleteExperiment: t.field({
    type: ExperimentRef,
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_r, { id }, ctx) => load(ctx, await deleteExperiment(ctx.deps, ctx.caller, id)),
  }),
  restoreExperiment: t.field({
    type: ExperimentRef,
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_r, { id }, ctx) =>
      load(ctx, await restoreExperiment(ctx.deps, ctx.caller, id)),
  }),
  setExperimentTag: t.field({
    type: ExperimentRef,
    args: {
      id: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { id, key, value }, ctx) => {
      await setExperimentTag(ctx.deps, ctx.caller, id, key, value);
      ctx.loaders.experimentTags.clear(id);
      return load(ctx, id);
    },
  }),
  deleteExperimentTag: t.field({
    type: ExperimentRef,
    args: {
      id: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
    },
    resolve: async (_r, { id, key }, ctx) => {
      await deleteExperimentTag(ctx.deps, ctx.caller, id, key);
      ctx.loaders.experimentTags.clear(id);
      return load(ctx, id);
    },
  }),
}));
