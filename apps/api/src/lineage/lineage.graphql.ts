import type DataLoader from 'dataloader';
import { CairnError, notFound } from '../errors.ts';
import { authorize } from '../auth/authorize.ts';
import type { Scope } from '../auth/scopes.ts';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { KeyValueInput, KeyValueRef } from '../graphql/scalars.ts';
import { RunRef } from '../runs/run.graphql.ts';
import { logRunInputs } from '../runs/run.commands.ts';
import {
  checkLineageOptions,
  lineage,
  LINEAGE_KINDS,
  type LineageEdge,
  type LineageGraph,
  type LineageKind,
  type LineageNode,
} from './lineage.queries.ts';
import { createRunInputsLoader, type RunDatasetInputRow } from './run-inputs.queries.ts';

// ---------------------------------------------------------------- Run.inputs

// Per-request loader, kept beside the request's own (the shared context stays untouched).
const inputLoaders = new WeakMap<object, DataLoader<string, RunDatasetInputRow[]>>();
function inputsLoader(ctx: GraphQLContext) {
  let loader = inputLoaders.get(ctx.loaders);
  if (!loader) {
    loader = createRunInputsLoader(ctx.deps.db, ctx.workspaceId);
    inputLoaders.set(ctx.loaders, loader);
  }
  return loader;
}

const RunDatasetInputRef = builder.objectRef<RunDatasetInputRow>('RunDatasetInput').implement({
  description:
    'A dataset a run used (MLflow dataset input): name and digest identify it; context says how (e.g. "training").',
  fields: (t) => ({
    name: t.exposeString('name'),
    digest: t.exposeString('digest'),
    sourceType: t.exposeString('source_type'),
    source: t.exposeString('source'),
    schema: t.exposeString('schema', { nullable: true }),
    profile: t.exposeString('profile', { nullable: true }),
    context: t.string({ nullable: true, resolve: (r) => (r.context === '' ? null : r.context) }),
    tags: t.field({ type: [KeyValueRef], resolve: (r) => r.tags }),
  }),
});

builder.objectField(RunRef, 'inputs', (t) =>
  t.field({
    type: [RunDatasetInputRef],
    description: 'The datasets this run used, in log order (logRunInputs, MLflow log-inputs).',
    resolve: (r, _a, ctx) => inputsLoader(ctx).load(r.run_id),
  }),
);

const DatasetInputInput = builder.inputType('DatasetInputInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    digest: t.string({ required: true }),
    sourceType: t.string({ required: true }),
    source: t.string({ required: true }),
    schema: t.string(),
    profile: t.string(),
    context: t.string({ description: 'How the run used it, e.g. "training", "eval".' }),
    tags: t.field({ type: [KeyValueInput] }),
  }),
});

builder.mutationFields((t) => ({
  logRunInputs: t.field({
    type: RunRef,
    description:
      'Records datasets the run used (at most 100 per call). The same dataset (name, digest) with the same context again is a no-op. Answers with the run, its inputs included.',
    args: {
      runId: t.arg.string({ required: true }),
      datasets: t.arg({ type: [DatasetInputInput], required: true }),
    },
    resolve: async (_r, { runId, datasets }, ctx) => {
      await logRunInputs(
        ctx.deps,
        ctx.caller,
        runId,
        datasets.map((d) => ({
          name: d.name,
          digest: d.digest,
          sourceType: d.sourceType,
          source: d.source,
          schema: d.schema ?? null,
          profile: d.profile ?? null,
          context: d.context ?? null,
          tags: d.tags ?? [],
        })),
      );
      ctx.loaders.run.clear(runId);
      inputsLoader(ctx).clear(runId);
      const row = await ctx.loaders.run.load(runId);
      if (!row) throw notFound('Run', runId);
      return row;
    },
  }),
}));

// ---------------------------------------------------------------- lineage

const LineageKindEnum = builder.enumType('LineageKind', { values: LINEAGE_KINDS });
const LineageDirectionEnum = builder.enumType('LineageDirection', {
  values: ['UPSTREAM', 'DOWNSTREAM', 'BOTH'] as const,
});

const LineageRefInput = builder.inputType('LineageRef', {
  description:
    'Names one object: RUN, LOGGED_MODEL, TRACE, EVALUATION_RUN by id; DEPLOYMENT by id or name; MODEL_VERSION and PROMPT_VERSION by name and version; DATASET by name and digest (a run input) or by id (an evaluation dataset).',
  fields: (t) => ({
    kind: t.field({ type: LineageKindEnum, required: true }),
    id: t.string(),
    name: t.string(),
    version: t.int(),
    digest: t.string(),
  }),
});

const LineageNodeRef = builder.objectRef<LineageNode>('LineageNode').implement({
  fields: (t) => ({
    id: t.exposeString('key', {
      description: 'The node id within this graph (edges refer to it).',
    }),
    kind: t.field({ type: LineageKindEnum, resolve: (n) => n.kind }),
    label: t.exposeString('label'),
    refId: t.exposeString('refId', {
      nullable: true,
      description:
        'The object id: run, logged model, deployment, trace or evaluation run id; an evaluation dataset id.',
    }),
    name: t.exposeString('name', { nullable: true }),
    version: t.exposeInt('version', { nullable: true }),
    digest: t.exposeString('digest', { nullable: true }),
    modelId: t.exposeString('modelId', { nullable: true }),
  }),
});

const LineageEdgeRef = builder.objectRef<LineageEdge>('LineageEdge').implement({
  description:
    'from is upstream of to. Relations: INPUT_OF (dataset → run), LOGGED (run → logged model), REGISTERED_AS (run or logged model → model version), DEPLOYED_AS (model version → deployment), SERVED (deployment → trace), PRODUCED (model version → trace), TRACED_IN (run → trace), USED_BY (prompt version → trace), EVALUATED_ON (dataset → evaluation run), EVALUATED (logged model → evaluation run, evaluation run → trace).',
  fields: (t) => ({
    from: t.exposeString('from'),
    to: t.exposeString('to'),
    relation: t.exposeString('relation'),
    context: t.exposeString('context', {
      nullable: true,
      description: 'INPUT_OF: the dataset context; DEPLOYED_AS: the variant.',
    }),
  }),
});

const LineageGraphRef = builder.objectRef<LineageGraph>('LineageGraph').implement({
  fields: (t) => ({
    centre: t.exposeString('centre', { description: 'The id of the node the ref named.' }),
    nodes: t.field({ type: [LineageNodeRef], resolve: (g) => g.nodes }),
    edges: t.field({ type: [LineageEdgeRef], resolve: (g) => g.edges }),
    truncated: t.exposeBoolean('truncated', {
      description: 'True when maxNodes was reached: more nodes exist within depth.',
    }),
    depth: t.exposeInt('depth'),
  }),
});

const KIND_SCOPE: Record<LineageKind, Scope> = {
  DATASET: 'tracking:read',
  RUN: 'tracking:read',
  LOGGED_MODEL: 'tracking:read',
  MODEL_VERSION: 'registry:read',
  DEPLOYMENT: 'deployments:read',
  TRACE: 'tracing:read',
  EVALUATION_RUN: 'evaluation:read',
  PROMPT_VERSION: 'prompts:read',
};

/** The kinds whose read scope the caller holds (the root rule checked tracking:read). */
function readableKinds(ctx: GraphQLContext): Set<LineageKind> {
  const out = new Set<LineageKind>();
  for (const kind of LINEAGE_KINDS) {
    try {
      authorize(ctx.principal, ctx.workspaceId, { scope: KIND_SCOPE[kind] });
      out.add(kind);
    } catch (error) {
      if (!(error instanceof CairnError) || error.code !== 'PERMISSION_DENIED') throw error;
    }
  }
  return out;
}

builder.queryFields((t) => ({
  lineage: t.field({
    type: LineageGraphRef,
    description:
      'The lineage graph around one object (docs/governance.md, "Lineage"): dataset → run → logged model → model version → deployment → traces and evaluation runs; prompt versions → traces. depth: hops from the ref (default 3, at most 6); maxNodes: default 200, at most 500 (truncated says when reached). Objects the caller may not read are left out.',
    args: {
      ref: t.arg({ type: LineageRefInput, required: true }),
      direction: t.arg({ type: LineageDirectionEnum, defaultValue: 'BOTH' }),
      depth: t.arg.int(),
      maxNodes: t.arg.int(),
    },
    resolve: async (_r, args, ctx) => {
      const { depth, maxNodes } = checkLineageOptions(args.depth ?? null, args.maxNodes ?? null);
      const readable = readableKinds(ctx);
      if (!readable.has(args.ref.kind))
        throw new CairnError(
          'PERMISSION_DENIED',
          `Reading a ${args.ref.kind} needs ${KIND_SCOPE[args.ref.kind]}`,
        );
      return lineage(ctx.deps.db, ctx.workspaceId, args.ref, {
        direction: args.direction ?? 'BOTH',
        depth,
        maxNodes,
        readable,
      });
    },
  }),
}));
