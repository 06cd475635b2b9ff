import { GraphQLError } from 'graphql';
import { deploymentRowFromCreated, deploymentVariantRows } from '@cairn/read-models';
import {
  decodeEvent,
  deploymentStreamId,
  registeredModelStreamId,
  type EventOf,
} from '@cairn/events';
import { readStream } from '@cairn/db';
import { authorize } from '../auth/authorize.ts';
import { builder } from '../graphql/builder.ts';
import {
  AS_OF_DESCRIPTION,
  liveOrAsOf,
  modelStreamsOfDeployments,
  streamsWhere,
} from '../governance/time-travel.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import { CairnError, invalidArgument } from '../errors.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { deploymentDecider } from './deployment.decider.ts';
import {
  callDeployment,
  createDeployment,
  deleteDeployment,
  DEPLOYMENTS_PROJECTION,
  findDeploymentIdByName,
  recordDeploymentMetrics,
  rollbackDeployment,
  updateDeployment,
  type DeploymentWriteResult,
} from './deployment.commands.ts';
import {
  countDeployments,
  createDeploymentLoaders,
  getDeploymentMetrics,
  getHistoryPage,
  listDeployments,
  type DeploymentHistoryRow,
  type DeploymentLoaders,
  type DeploymentRow,
  type DeploymentVariantRow,
  type HistoryCursor,
  type NameCursor,
  type VariantMetrics,
} from './deployments.queries.ts';

/** A deployment as GraphQL shows it; a deleted one (subscriptions only) carries its variants. */
type DeploymentView = DeploymentRow & { deletedVariants?: DeploymentVariantRow[] };

// Per-request loaders, kept beside the request's own (the shared context stays untouched).
const loaderCache = new WeakMap<object, DeploymentLoaders>();
function loadersOf(ctx: GraphQLContext): DeploymentLoaders {
  let loaders = loaderCache.get(ctx.loaders);
  if (!loaders) {
    loaders = createDeploymentLoaders(ctx.deps.db, ctx.workspaceId);
    loaderCache.set(ctx.loaders, loaders);
  }
  return loaders;
}
function resetLoaders(ctx: GraphQLContext): void {
  loaderCache.delete(ctx.loaders);
}

const DeploymentStatus = builder.enumType('DeploymentStatus', {
  values: ['PENDING', 'READY', 'FAILED', 'DELETED'] as const,
});

export const DeploymentRef = builder.objectRef<DeploymentView>('Deployment');
const DeploymentVariantRef = builder.objectRef<DeploymentVariantRow>('DeploymentVariant');
const DeploymentEventRef = builder.objectRef<DeploymentHistoryRow>('DeploymentEvent');
const DeploymentVariantMetricsRef = builder.objectRef<VariantMetrics>('DeploymentVariantMetrics');
const DeploymentMetricPointRef =
  builder.objectRef<VariantMetrics['series'][number]>('DeploymentMetricPoint');
const DeploymentConnection = connectionType('Deployment', DeploymentRef);
const DeploymentEventConnection = connectionType('DeploymentEvent', DeploymentEventRef);

const isNameCursor = (v: unknown): v is NameCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as NameCursor).n === 'string' &&
  typeof (v as NameCursor).id === 'string';
const isHistoryCursor = (v: unknown): v is HistoryCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as HistoryCursor).p) &&
  Number.isSafeInteger((v as HistoryCursor).o);

const version = (v: number | null) => (v === null ? null : String(v));

DeploymentVariantRef.implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    modelUri: t.exposeString('model_uri'),
    modelName: t.exposeString('model_name'),
    alias: t.exposeString('alias', { nullable: true }),
    servedVersion: t.string({
      nullable: true,
      description: 'The version the URI resolves to now (follows alias moves).',
      resolve: (v) => version(v.served_version),
    }),
    weight: t.exposeInt('weight'),
  }),
});

DeploymentEventRef.implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    kind: t.exposeString('kind', {
      description:
        'CREATED | UPDATED | VERSION_CHANGED | TRAFFIC_CHANGED | ROLLED_BACK | STATUS_CHANGED | DELETED',
    }),
    variant: t.exposeString('variant', { nullable: true }),
    fromVersion: t.string({ nullable: true, resolve: (e) => version(e.from_version) }),
    toVersion: t.string({ nullable: true, resolve: (e) => version(e.to_version) }),
    actor: t.exposeString('actor'),
    summary: t.exposeString('summary'),
  }),
});

DeploymentMetricPointRef.implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (p) => p.at }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    latencyMeanMs: t.exposeFloat('latencyMeanMs', { nullable: true }),
  }),
});

DeploymentVariantMetricsRef.implement({
  fields: (t) => ({
    variant: t.exposeString('variant'),
    version: t.exposeString('version', { nullable: true }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    errorRate: t.exposeFloat('errorRate'),
    latencyP50Ms: t.exposeFloat('latencyP50Ms', { nullable: true }),
    latencyP95Ms: t.exposeFloat('latencyP95Ms', { nullable: true }),
    latencyMeanMs: t.exposeFloat('latencyMeanMs', { nullable: true }),
    series: t.field({
      type: [DeploymentMetricPointRef],
      description: 'Per reported window (summed into at most 120 points), oldest first.',
      resolve: (m) => m.series,
    }),
  }),
});

DeploymentRef.implement({
  fields: (t) => ({
    id: t.exposeID('deployment_id'),
    name: t.exposeString('name'),
    target: t.exposeString('target'),
    modelUri: t.exposeString('model_uri', { description: 'The primary variant’s URI.' }),
    config: t.field({ type: 'JSON', resolve: (d) => d.config }),
    variants: t.field({
      type: [DeploymentVariantRef],
      resolve: (d, _a, ctx) => d.deletedVariants ?? loadersOf(ctx).variants.load(d.deployment_id),
    }),
    status: t.field({
      type: DeploymentStatus,
      resolve: (d) => d.status as 'PENDING' | 'READY' | 'FAILED' | 'DELETED',
    }),
    statusMessage: t.exposeString('status_message', {
      nullable: true,
      description: 'Why the status is what it is (a failed start, manifests not applied).',
    }),
    endpoint: t.exposeString('endpoint', { nullable: true }),
    manifests: t.exposeString('manifests', {
      nullable: true,
      description: 'kubernetes target: the rendered YAML (null for others).',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (d) => d.updated_at }),
    history: t.field({
      type: DeploymentEventConnection,
      description: 'What happened to the deployment, newest first.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (d, args, ctx): Promise<Connection<DeploymentHistoryRow>> => {
        const page = await getHistoryPage(
          ctx.deps.db,
          ctx.workspaceId,
          d.deployment_id,
          pageSize(args.first),
          decodeCursor(args.after, isHistoryCursor),
        );
        const edges = page.rows.map((node) => ({
          node,
          cursor: encodeCursor({ p: node.global_position, o: node.ordinal }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
        };
      },
    }),
    metrics: t.field({
      type: [DeploymentVariantMetricsRef],
      description:
        'Per-variant requests, errors and latency over the last sinceSeconds (p50/p95 from the fixed latency buckets).',
      args: { sinceSeconds: t.arg.int({ defaultValue: 3600 }) },
      resolve: (d, args, ctx) => {
        const since = args.sinceSeconds ?? 3600;
        if (!Number.isInteger(since) || since < 1 || since > 30 * 86400)
          throw invalidArgument('sinceSeconds must be between 1 and 2592000 (30 days)', {
            field: 'sinceSeconds',
          });
        return getDeploymentMetrics(ctx.deps.db, ctx.workspaceId, d.deployment_id, since);
      },
    }),
  }),
});

async function deploymentByName(ctx: GraphQLContext, name: string): Promise<DeploymentRow | null> {
  const id = await findDeploymentIdByName(ctx.deps.db, ctx.workspaceId, name);
  return id === null ? null : loadersOf(ctx).deployment.load(id);
}

builder.queryFields((t) => ({
  deployments: t.field({
    type: DeploymentConnection,
    description: 'Deployments by name; `target` narrows to one target.',
    args: { first: t.arg.int(), after: t.arg.string(), target: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<DeploymentView>> => {
      const target = args.target ?? null;
      const page = await listDeployments(ctx.deps.db, ctx.workspaceId, {
        first: pageSize(args.first),
        after: decodeCursor(args.after, isNameCursor),
        target,
      });
      const edges = page.rows.map((node) => ({
        node,
        cursor: encodeCursor({ n: node.name, id: node.deployment_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countDeployments(ctx.deps.db, ctx.workspaceId, target),
      };
    },
  }),
  deployment: t.field({
    type: DeploymentRef,
    nullable: true,
    description: 'The deployment of that name; null when there is none (or it was deleted).',
    args: {
      name: t.arg.string({ required: true }),
      asOf: t.arg({ type: 'DateTime', description: AS_OF_DESCRIPTION }),
    },
    resolve: (_r, { name, asOf }, ctx) =>
      liveOrAsOf(
        ctx,
        asOf,
        {
          projections: ['deployments'],
          // The deployment's stream, and its models' (alias moves re-point alias variants).
          streams: async (at) => {
            const ws = ctx.workspaceId;
            const own = await streamsWhere(ctx.deps.db, ws, 'deployment-', 'name', [name], at);
            if (!own) return null;
            return {
              ids: [...own, ...(await modelStreamsOfDeployments(ctx.deps.db, ws, own, at))],
            };
          },
          empty: null,
        },
        (c) => deploymentByName(c, name),
      ),
  }),
}));

/** The deployment after a write (its read-model row, which the write waited for). */
async function deploymentAfter(
  ctx: GraphQLContext,
  result: DeploymentWriteResult,
): Promise<DeploymentView> {
  resetLoaders(ctx);
  const row = await loadersOf(ctx).deployment.load(result.deploymentId);
  if (row) return row;
  const created = result.events.find((e) => e.type === 'DeploymentCreated');
  if (created) {
    const event = decodeEvent(created) as EventOf<'DeploymentCreated'>;
    return {
      ...deploymentRowFromCreated(event),
      deletedVariants: deploymentVariantRows(
        event.workspaceId,
        event.data.deploymentId,
        event.data.variants,
      ),
    };
  }
  throw new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');
}

const DeploymentVariantInput = builder.inputType('DeploymentVariantInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    modelUri: t.string({ required: true }),
    weight: t.int({ required: true }),
  }),
});

const CreateDeploymentInput = builder.inputType('CreateDeploymentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    target: t.string({ required: true }),
    modelUri: t.string({ required: true }),
    config: t.field({ type: 'JSON' }),
    variants: t.field({ type: [DeploymentVariantInput] }),
  }),
});

const UpdateDeploymentInput = builder.inputType('UpdateDeploymentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    modelUri: t.string(),
    config: t.field({ type: 'JSON' }),
    variants: t.field({ type: [DeploymentVariantInput] }),
  }),
});

const DeploymentVariantMetricsInput = builder.inputType('DeploymentVariantMetricsInput', {
  fields: (t) => ({
    variant: t.string({ required: true }),
    version: t.string(),
    requests: t.int({ required: true }),
    errors: t.int({ required: true }),
    latencyMsSum: t.float({ required: true }),
    latencyMsBuckets: t.intList(),
  }),
});

const RecordDeploymentMetricsInput = builder.inputType('RecordDeploymentMetricsInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    windowStart: t.field({ type: 'DateTime', required: true }),
    windowEnd: t.field({ type: 'DateTime', required: true }),
    variants: t.field({ type: [DeploymentVariantMetricsInput], required: true }),
  }),
});

builder.mutationFields((t) => ({
  createDeployment: t.field({
    type: DeploymentRef,
    description:
      'A new deployment on a target (`local`, `kubernetes` or a plugin). Without variants: one variant "primary" = modelUri, weight 100.',
    args: { input: t.arg({ type: CreateDeploymentInput, required: true }) },
    resolve: async (_r, { input }, ctx) =>
      deploymentAfter(
        ctx,
        await createDeployment(ctx.deps, ctx.caller, {
          name: input.name,
          target: input.target,
          modelUri: input.modelUri,
          config: input.config ?? null,
          variants: input.variants ?? null,
        }),
      ),
  }),
  updateDeployment: t.field({
    type: DeploymentRef,
    description:
      'New URI (primary variant), config or variants (weights); what is left out stays as it is.',
    args: { input: t.arg({ type: UpdateDeploymentInput, required: true }) },
    resolve: async (_r, { input }, ctx) =>
      deploymentAfter(
        ctx,
        await updateDeployment(ctx.deps, ctx.caller, {
          name: input.name,
          modelUri: input.modelUri ?? null,
          config: input.config ?? null,
          variants: input.variants ?? null,
        }),
      ),
  }),
  deleteDeployment: t.boolean({
    description: 'Stops it on its target and deletes it; the name becomes free.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) => {
      await deleteDeployment(ctx.deps, ctx.caller, name);
      return true;
    },
  }),
  rollbackDeployment: t.field({
    type: DeploymentRef,
    description:
      'Moves the variant (default: the first) back to toVersion (default: the version served before its last VERSION_CHANGED): an alias variant moves its alias through the registry, a fixed-version variant gets models:/<name>/<toVersion>.',
    args: {
      name: t.arg.string({ required: true }),
      variant: t.arg.string(),
      toVersion: t.arg.string(),
    },
    resolve: async (_r, args, ctx) =>
      deploymentAfter(
        ctx,
        await rollbackDeployment(
          ctx.deps,
          ctx.caller,
          { name: args.name, variant: args.variant ?? null, toVersion: args.toVersion ?? null },
          // Moving a registry alias is a registry write as well.
          () => authorize(ctx.principal, ctx.workspaceId, { scope: 'registry:write' }),
        ),
      ),
  }),
  predictDeployment: t.field({
    type: 'JSON',
    description:
      "Scores input (an MLflow scoring-protocol body: { inputs }, { dataframe_split }, ...) on the deployment through its target's predict; the answer is the target's (e.g. { predictions }).",
    args: {
      name: t.arg.string({ required: true }),
      input: t.arg({ type: 'JSON', required: true }),
    },
    resolve: (_r, { name, input }, ctx) =>
      callDeployment(ctx.deps, ctx.caller, name, 'predict', input),
  }),
  explainDeployment: t.field({
    type: 'JSON',
    description:
      "Explains predictions for input through the target's explain (FAILED_PRECONDITION where the target cannot).",
    args: {
      name: t.arg.string({ required: true }),
      input: t.arg({ type: 'JSON', required: true }),
    },
    resolve: (_r, { name, input }, ctx) =>
      callDeployment(ctx.deps, ctx.caller, name, 'explain', input),
  }),
  recordDeploymentMetrics: t.boolean({
    description:
      'One report of a serving process: per-variant counts, latency sum and the 13 fixed latency bucket counts ([1,2,5,10,20,50,100,200,500,1000,2000,5000,+inf] ms) for one window.',
    args: { input: t.arg({ type: RecordDeploymentMetricsInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      await recordDeploymentMetrics(ctx.deps, ctx.caller, {
        name: input.name,
        windowStart: input.windowStart,
        windowEnd: input.windowEnd,
        variants: input.variants.map((v) => ({
          variant: v.variant,
          version: v.version ?? null,
          requests: v.requests,
          errors: v.errors,
          latencyMsSum: v.latencyMsSum,
          latencyMsBuckets: v.latencyMsBuckets ?? [],
        })),
      });
      return true;
    },
  }),
}));

/** A deleted deployment's last shape, from its stream (the read models dropped it). */
async function deletedView(
  ctx: GraphQLContext,
  deploymentId: string,
): Promise<DeploymentView | null> {
  const stream = await readStream(ctx.deps.db, ctx.workspaceId, deploymentStreamId(deploymentId), {
    excludeTypes: ['DeploymentMetricsRecorded'],
  });
  let state = deploymentDecider.initialState();
  let createdAt: Date | null = null;
  let updatedAt: Date | null = null;
  for (const raw of stream.events) {
    state = deploymentDecider.evolve(state, decodeEvent(raw));
    createdAt ??= new Date(raw.recordedAt);
    updatedAt = new Date(raw.recordedAt);
  }
  if (state.deploymentId === null || !state.deleted || !createdAt || !updatedAt) return null;
  return {
    workspace_id: ctx.workspaceId,
    deployment_id: deploymentId,
    name: state.name,
    target: state.target,
    model_uri: state.variants[0]?.modelUri ?? '',
    config: state.config,
    status: 'DELETED',
    status_message: null,
    endpoint: null,
    manifests: state.manifests,
    created_at: createdAt,
    updated_at: updatedAt,
    deletedVariants: deploymentVariantRows(ctx.workspaceId, deploymentId, state.variants),
  };
}

const DEPLOYMENT_PREFIX = deploymentStreamId('');
const MODEL_PREFIX = registeredModelStreamId('');

/** Deployment ids a deployments-projection notice concerns (alias moves: their followers). */
async function changedDeployments(
  ctx: GraphQLContext,
  streams: ReadonlySet<string>,
): Promise<string[]> {
  const ids = new Set<string>();
  const models: string[] = [];
  for (const s of streams) {
    if (s.startsWith(DEPLOYMENT_PREFIX)) ids.add(s.slice(DEPLOYMENT_PREFIX.length));
    else if (s.startsWith(MODEL_PREFIX)) models.push(s.slice(MODEL_PREFIX.length));
  }
  if (models.length > 0) {
    const rows = await ctx.deps.db
      .selectFrom('deployment_variants')
      .select('deployment_id')
      .distinct()
      .where('workspace_id', '=', ctx.workspaceId)
      .where('model_id', 'in', models)
      .execute();
    for (const r of rows) ids.add(r.deployment_id);
  }
  return [...ids].sort();
}

builder.subscriptionFields((t) => ({
  deploymentChanged: t.field({
    type: DeploymentRef,
    description:
      'The deployment, re-read, on every projected change (config, variants, alias moves of a followed alias, status, each metrics window); without name, any deployment of the workspace. A deleted deployment is pushed once with status DELETED (a named subscription then ends).',
    args: { name: t.arg.string() },
    subscribe: async (_r, { name }, ctx) => {
      let only: string | null = null;
      if (name !== null && name !== undefined) {
        only = await findDeploymentIdByName(ctx.deps.db, ctx.workspaceId, name);
        // graphql-ws does not run the HTTP error mapper: the code travels in the error itself.
        if (only === null)
          throw new GraphQLError(`Deployment "${name}" not found`, {
            extensions: { code: 'NOT_FOUND', name },
          });
      }
      const notices = mapNotices<Set<string>>(
        ctx,
        (n) => {
          if (n.p !== DEPLOYMENTS_PROJECTION) return null;
          const streams = n.s
            .map(([s]) => s)
            .filter((s) => s.startsWith(DEPLOYMENT_PREFIX) || s.startsWith(MODEL_PREFIX));
          if (only !== null) {
            const mine = deploymentStreamId(only);
            if (!streams.some((s) => s === mine || s.startsWith(MODEL_PREFIX))) return null;
          }
          return streams.length > 0 ? new Set(streams) : null;
        },
        (a, b) => new Set([...a, ...b]),
      );
      return (async function* () {
        for await (const streams of notices) {
          resetLoaders(ctx);
          let ids = await changedDeployments(ctx, streams);
          if (only !== null) {
            if (!ids.includes(only)) continue;
            ids = [only];
          }
          for (const id of ids) {
            const row = await loadersOf(ctx).deployment.load(id);
            if (row) {
              yield row;
              continue;
            }
            const deleted = await deletedView(ctx, id);
            if (deleted) yield deleted;
            if (only !== null) return;
          }
        }
      })();
    },
    resolve: (row: DeploymentView) => row,
  }),
}));
