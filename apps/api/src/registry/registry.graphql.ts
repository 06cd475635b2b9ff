import {
  modelVersionRowFromCreated,
  registeredModelRowFromCreated,
  type ModelHistoryKind,
} from '@cairn/read-models';
import { decodeEvent, type EventOf, type ModelStage as ModelStageValue } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import {
  decodeCursor,
  encodeCursor,
  KeyValueInput,
  KeyValueRef,
  pageSize,
} from '../graphql/scalars.ts';
import { CairnError } from '../errors.ts';
import { AS_OF_DESCRIPTION, liveOrAsOf, streamsNamed } from '../governance/time-travel.ts';
import { RunRef } from '../runs/run.graphql.ts';
import { parseModelUri } from './model-uri.ts';
import {
  createModelVersion,
  createRegisteredModel,
  deleteModelAlias,
  deleteModelVersion,
  deleteModelVersionTag,
  deleteRegisteredModel,
  deleteRegisteredModelTag,
  findModelIdByName,
  renameRegisteredModel,
  setModelAlias,
  setModelVersionTag,
  setRegisteredModelTag,
  transitionModelVersionStage,
  updateModelVersion,
  updateRegisteredModel,
  type RegistryWriteResult,
} from './registry.commands.ts';
import {
  searchModels,
  searchVersions,
  versionKey,
  type AliasRow,
  type HistoryRow,
  type ModelRow,
  type VersionRow,
} from './registry.queries.ts';

export const ModelStage = builder.enumType('ModelStage', {
  values: ['NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED'] as const,
});

export const ModelVersionStatus = builder.enumType('ModelVersionStatus', {
  values: ['PENDING_REGISTRATION', 'READY', 'FAILED_REGISTRATION'] as const,
});

const ModelHistoryKindEnum = builder.enumType('ModelHistoryKind', {
  values: [
    'MODEL_CREATED',
    'MODEL_RENAMED',
    'VERSION_CREATED',
    'VERSION_DELETED',
    'STAGE_TRANSITIONED',
    'ALIAS_SET',
    'ALIAS_DELETED',
  ] as const satisfies readonly ModelHistoryKind[],
});

const asStage = (s: string | null) => (s === null ? null : (s as ModelStageValue));

export const ModelVersionRef = builder.objectRef<VersionRow>('ModelVersion');
export const RegisteredModelRef = builder.objectRef<ModelRow>('RegisteredModel');
const ModelAliasRef = builder.objectRef<AliasRow>('ModelAlias');
const ModelHistoryEntryRef = builder.objectRef<HistoryRow>('ModelHistoryEntry');

const ModelVersionConnection = connectionType('ModelVersion', ModelVersionRef);

const RegisteredModelConnection = connectionType('RegisteredModel', RegisteredModelRef);

type VersionCursor = { v: number };
const isVersionCursor = (v: unknown): v is VersionCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as VersionCursor).v) &&
  (v as VersionCursor).v > 0;

const ms = (d: Date) => d.getTime();

ModelVersionRef.implement({
  fields: (t) => ({
    id: t.string({ resolve: (v) => versionKey(v.model_id, v.version) }),
    modelName: t.exposeString('model_name'),
    version: t.exposeInt('version'),
    source: t.exposeString('source'),
    runId: t.exposeString('run_id', { nullable: true }),
    run: t.field({
      type: RunRef,
      nullable: true,
      resolve: (v, _a, ctx) => (v.run_id === null ? null : ctx.loaders.run.load(v.run_id)),
    }),
    description: t.exposeString('description', { nullable: true }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (v, _a, ctx) =>
        ctx.loaders.registry.versionTags.load(versionKey(v.model_id, v.version)),
    }),
    stage: t.field({ type: ModelStage, resolve: (v) => v.stage as ModelStageValue }),
    status: t.field({
      type: ModelVersionStatus,
      resolve: (v) => v.status as 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION',
    }),
    aliases: t.stringList({
      resolve: async (v, _a, ctx) =>
        (await ctx.loaders.registry.aliases.load(v.model_id))
          .filter((a) => a.version === v.version)
          .map((a) => a.alias),
    }),
    createdAt: t.field({ type: 'Timestamp', resolve: (v) => ms(v.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (v) => ms(v.updated_at) }),
  }),
});

ModelAliasRef.implement({
  fields: (t) => ({
    alias: t.exposeString('alias'),
    version: t.exposeInt('version'),
    modelVersion: t.field({
      type: ModelVersionRef,
      resolve: async (a, _args, ctx) => {
        const row = await ctx.loaders.registry.version.load(versionKey(a.model_id, a.version));
        if (!row) throw new CairnError('NOT_FOUND', `Version ${a.version} not found`);
        return row;
      },
    }),
  }),
});

ModelHistoryEntryRef.implement({
  fields: (t) => ({
    at: t.field({ type: 'Timestamp', resolve: (h) => ms(h.at) }),
    actor: t.exposeString('actor', { nullable: true }),
    kind: t.field({ type: ModelHistoryKindEnum, resolve: (h) => h.kind as ModelHistoryKind }),
    version: t.exposeInt('version', { nullable: true }),
    fromStage: t.field({ type: ModelStage, nullable: true, resolve: (h) => asStage(h.from_stage) }),
    toStage: t.field({ type: ModelStage, nullable: true, resolve: (h) => asStage(h.to_stage) }),
    alias: t.exposeString('alias', { nullable: true }),
    previousVersion: t.exposeInt('previous_version', { nullable: true }),
  }),
});

RegisteredModelRef.implement({
  fields: (t) => ({
    id: t.exposeString('model_id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (m, _a, ctx) => ctx.loaders.registry.modelTags.load(m.model_id),
    }),
    createdAt: t.field({ type: 'Timestamp', resolve: (m) => ms(m.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (m) => ms(m.updated_at) }),
    aliases: t.field({
      type: [ModelAliasRef],
      resolve: (m, _a, ctx) => ctx.loaders.registry.aliases.load(m.model_id),
    }),
    latestVersions: t.field({
      type: [ModelVersionRef],
      description: 'The newest version in each stage, newest first.',
      resolve: (m, _a, ctx) => ctx.loaders.registry.latestVersions.load(m.model_id),
    }),
    versions: t.field({
      type: ModelVersionConnection,
      description: 'Versions, newest first.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (m, args, ctx) => {
        const first = pageSize(args.first);
        const before = decodeCursor(args.after, isVersionCursor)?.v ?? null;
        const page = await ctx.loaders.registry.versionPage.load(
          `${m.model_id}|${first}|${before ?? ''}`,
        );
        const edges = page.rows.map((node) => ({
          node,
          cursor: encodeCursor({ v: node.version }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: () => Promise.resolve(page.totalCount),
        };
      },
    }),
    version: t.field({
      type: ModelVersionRef,
      nullable: true,
      args: { version: t.arg.int({ required: true }) },
      resolve: (m, args, ctx) =>
        ctx.loaders.registry.version.load(versionKey(m.model_id, args.version)),
    }),
    history: t.field({
      type: [ModelHistoryEntryRef],
      description:
        'Model-level events (creation, renames, versions, stages, aliases), newest first.',
      args: { first: t.arg.int({ defaultValue: 200 }) },
      resolve: (m, args, ctx) =>
        ctx.loaders.registry.history.load(`${m.model_id}|${pageSize(args.first, 10_000)}`),
    }),
  }),
});

async function modelByName(ctx: GraphQLContext, name: string): Promise<ModelRow | null> {
  const id = await findModelIdByName(ctx.deps.db, ctx.workspaceId, name);
  return id === null ? null : ctx.loaders.registry.model.load(id);
}

async function versionByName(
  ctx: GraphQLContext,
  name: string,
  version: number,
): Promise<VersionRow | null> {
  const id = await findModelIdByName(ctx.deps.db, ctx.workspaceId, name);
  return id === null ? null : ctx.loaders.registry.version.load(versionKey(id, version));
}

function page<T>(result: {
  rows: { node: T; cursor: string }[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}): Connection<T> {
  return {
    edges: result.rows,
    pageInfo: { hasNextPage: result.hasNextPage, endCursor: result.rows.at(-1)?.cursor ?? null },
    totalCount: result.totalCount,
  };
}

builder.queryFields((t) => ({
  registeredModels: t.field({
    type: RegisteredModelConnection,
    description:
      "Registered models. Filter: name = 'x', name LIKE 'x%', tags.k = 'v' (AND, OR, NOT, parentheses); default order name ASC.",
    args: {
      filter: t.arg.string(),
      orderBy: t.arg.stringList(),
      first: t.arg.int(),
      after: t.arg.string(),
      asOf: t.arg({ type: 'DateTime', description: AS_OF_DESCRIPTION }),
    },
    resolve: (_r, args, ctx) =>
      liveOrAsOf(
        ctx,
        args.asOf,
        {
          projections: ['registry'],
          streams: () => ({ prefix: 'registered-model-' }),
          empty: page<ModelRow>({
            rows: [],
            hasNextPage: false,
            totalCount: () => Promise.resolve(0),
          }),
        },
        async (c) =>
          page(
            await searchModels(c.deps.db, c.workspaceId, {
              filter: args.filter,
              orderBy: args.orderBy,
              first: pageSize(args.first),
              after: args.after,
            }),
          ),
      ),
  }),
  registeredModel: t.field({
    type: RegisteredModelRef,
    nullable: true,
    args: {
      name: t.arg.string({ required: true }),
      asOf: t.arg({ type: 'DateTime', description: AS_OF_DESCRIPTION }),
    },
    resolve: (_r, { name, asOf }, ctx) =>
      liveOrAsOf(
        ctx,
        asOf,
        {
          projections: ['registry'],
          streams: (at) =>
            streamsNamed(ctx.deps.db, ctx.workspaceId, 'registered-model-', name, at),
          empty: null,
        },
        (c) => modelByName(c, name),
      ),
  }),
  modelVersions: t.field({
    type: ModelVersionConnection,
    description:
      "Model versions. Filter: name = 'm', run_id = '…', stage = 'Production', version > 2, tags.k = 'v'; default order newest first.",
    args: {
      filter: t.arg.string(),
      orderBy: t.arg.stringList(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx) =>
      page(
        await searchVersions(ctx.deps.db, ctx.workspaceId, {
          filter: args.filter,
          orderBy: args.orderBy,
          first: pageSize(args.first),
          after: args.after,
        }),
      ),
  }),
  modelVersion: t.field({
    type: ModelVersionRef,
    nullable: true,
    args: { name: t.arg.string({ required: true }), version: t.arg.int({ required: true }) },
    resolve: (_r, { name, version }, ctx) => versionByName(ctx, name, version),
  }),
  resolveModelUri: t.field({
    type: ModelVersionRef,
    description:
      'models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/<stage> (newest in that stage), models:/<name>/latest.',
    args: { uri: t.arg.string({ required: true }) },
    resolve: async (_r, { uri }, ctx) => {
      const parsed = parseModelUri(uri);
      const model = await modelByName(ctx, parsed.name);
      if (!model)
        throw new CairnError('NOT_FOUND', `Registered model "${parsed.name}" not found`, { uri });
      const loaders = ctx.loaders.registry;
      let row: VersionRow | null | undefined;
      switch (parsed.kind) {
        case 'alias': {
          const alias = (await loaders.aliases.load(model.model_id)).find(
            (a) => a.alias === parsed.alias,
          );
          if (!alias)
            throw new CairnError(
              'NOT_FOUND',
              `Model "${parsed.name}" has no alias "${parsed.alias}"`,
              { uri },
            );
          row = await loaders.version.load(versionKey(model.model_id, alias.version));
          break;
        }
        case 'version':
          row = await loaders.version.load(versionKey(model.model_id, parsed.version));
          break;
        case 'stage':
          row = (await loaders.latestVersions.load(model.model_id)).find(
            (v) => v.stage === parsed.stage,
          );
          break;
        case 'latest':
          row = (await loaders.latestVersions.load(model.model_id))[0];
          break;
      }
      if (!row) throw new CairnError('NOT_FOUND', `No model version matches ${uri}`, { uri });
      return row;
    },
  }),
}));

/** The model after a write (its read-model row, which the write waited for). */
async function modelAfter(ctx: GraphQLContext, result: RegistryWriteResult): Promise<ModelRow> {
  const loaders = ctx.loaders.registry;
  for (const loader of [loaders.model, loaders.modelTags, loaders.aliases]) {
    loader.clear(result.modelId);
  }
  const created = result.events.find((e) => e.type === 'RegisteredModelCreated');
  const row = await loaders.model.load(result.modelId);
  if (row) return row;
  if (created)
    return registeredModelRowFromCreated(decodeEvent(created) as EventOf<'RegisteredModelCreated'>);
  throw new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');
}

async function versionAfter(
  ctx: GraphQLContext,
  result: RegistryWriteResult,
  version: number,
): Promise<VersionRow> {
  const key = versionKey(result.modelId, version);
  const loaders = ctx.loaders.registry;
  loaders.version.clear(key);
  loaders.versionTags.clear(key);
  loaders.aliases.clear(result.modelId);
  const row = await loaders.version.load(key);
  if (row) return row;
  const created = result.events.find((e) => e.type === 'ModelVersionCreated');
  if (created)
    return modelVersionRowFromCreated(decodeEvent(created) as EventOf<'ModelVersionCreated'>);
  throw new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');
}

builder.mutationFields((t) => ({
  createRegisteredModel: t.field({
    type: RegisteredModelRef,
    args: {
      name: t.arg.string({ required: true }),
      description: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
    },
    resolve: async (_r, args, ctx) =>
      modelAfter(
        ctx,
        await createRegisteredModel(ctx.deps, ctx.caller, {
          name: args.name,
          description: args.description ?? null,
          tags: args.tags ?? [],
        }),
      ),
  }),
  renameRegisteredModel: t.field({
    type: RegisteredModelRef,
    args: { name: t.arg.string({ required: true }), newName: t.arg.string({ required: true }) },
    resolve: async (_r, { name, newName }, ctx) =>
      modelAfter(ctx, await renameRegisteredModel(ctx.deps, ctx.caller, name, newName)),
  }),
  updateRegisteredModel: t.field({
    type: RegisteredModelRef,
    args: {
      name: t.arg.string({ required: true }),
      description: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, description }, ctx) =>
      modelAfter(ctx, await updateRegisteredModel(ctx.deps, ctx.caller, name, description)),
  }),
  setRegisteredModelTag: t.field({
    type: RegisteredModelRef,
    args: {
      name: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, key, value }, ctx) =>
      modelAfter(ctx, await setRegisteredModelTag(ctx.deps, ctx.caller, name, key, value)),
  }),
  deleteRegisteredModelTag: t.field({
    type: RegisteredModelRef,
    args: { name: t.arg.string({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_r, { name, key }, ctx) =>
      modelAfter(ctx, await deleteRegisteredModelTag(ctx.deps, ctx.caller, name, key)),
  }),
  deleteRegisteredModel: t.boolean({
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) => {
      await deleteRegisteredModel(ctx.deps, ctx.caller, name);
      return true;
    },
  }),
  createModelVersion: t.field({
    type: ModelVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      source: t.arg.string({ required: true }),
      runId: t.arg.string(),
      description: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
      createModelIfMissing: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_r, args, ctx) => {
      const result = await createModelVersion(ctx.deps, ctx.caller, {
        name: args.name,
        source: args.source,
        runId: args.runId ?? null,
        description: args.description ?? null,
        tags: args.tags ?? [],
        createModelIfMissing: args.createModelIfMissing ?? false,
      });
      return versionAfter(ctx, result, result.version);
    },
  }),
  updateModelVersion: t.field({
    type: ModelVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      description: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, version, description }, ctx) =>
      versionAfter(
        ctx,
        await updateModelVersion(ctx.deps, ctx.caller, name, version, description),
        version,
      ),
  }),
  setModelVersionTag: t.field({
    type: ModelVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, version, key, value }, ctx) =>
      versionAfter(
        ctx,
        await setModelVersionTag(ctx.deps, ctx.caller, name, version, key, value),
        version,
      ),
  }),
  deleteModelVersionTag: t.field({
    type: ModelVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      key: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, version, key }, ctx) =>
      versionAfter(
        ctx,
        await deleteModelVersionTag(ctx.deps, ctx.caller, name, version, key),
        version,
      ),
  }),
  deleteModelVersion: t.boolean({
    args: { name: t.arg.string({ required: true }), version: t.arg.int({ required: true }) },
    resolve: async (_r, { name, version }, ctx) => {
      await deleteModelVersion(ctx.deps, ctx.caller, name, version);
      return true;
    },
  }),
  transitionModelVersionStage: t.field({
    type: ModelVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      stage: t.arg({ type: ModelStage, required: true }),
      archiveExistingVersions: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_r, args, ctx) =>
      versionAfter(
        ctx,
        await transitionModelVersionStage(ctx.deps, ctx.caller, {
          name: args.name,
          version: args.version,
          stage: args.stage,
          archiveExistingVersions: args.archiveExistingVersions ?? false,
        }),
        args.version,
      ),
  }),
  setModelAlias: t.field({
    type: ModelVersionRef,
    description:
      'Points the alias at the version (moving it if it exists: a rollback is one call).',
    args: {
      name: t.arg.string({ required: true }),
      alias: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
    },
    resolve: async (_r, { name, alias, version }, ctx) =>
      versionAfter(ctx, await setModelAlias(ctx.deps, ctx.caller, name, alias, version), version),
  }),
  deleteModelAlias: t.field({
    type: RegisteredModelRef,
    args: { name: t.arg.string({ required: true }), alias: t.arg.string({ required: true }) },
    resolve: async (_r, { name, alias }, ctx) =>
      modelAfter(ctx, await deleteModelAlias(ctx.deps, ctx.caller, name, alias)),
  }),
}));
