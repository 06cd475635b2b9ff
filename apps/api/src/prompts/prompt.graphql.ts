import { GraphQLError } from 'graphql';
import { promptRowFromCreated, promptVersionRowFromCreated } from '@cairn/read-models';
import { decodeEvent, promptStreamId, type EventOf } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { AS_OF_DESCRIPTION, liveOrAsOf, streamsNamed } from '../governance/time-travel.ts';
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
import { mapNotices } from '../runs/run.subscriptions.ts';
import { TraceConnection } from '../tracing/trace.graphql.ts';
import {
  diffLines,
  diffValues,
  templateLines,
  type DiffLine,
  type ValueChange,
} from './prompt-diff.ts';
import { parsePromptUri, promptVersionUri } from './prompt-uri.ts';
import {
  archivePrompt,
  createPrompt,
  createPromptVersion,
  deletePrompt,
  deletePromptAlias,
  deletePromptTag,
  deletePromptVersionTag,
  findPromptIdByName,
  PROMPTS_PROJECTION,
  setPromptAlias,
  setPromptTag,
  setPromptVersionTag,
  unarchivePrompt,
  type PromptWriteResult,
} from './prompt.commands.ts';
import {
  createPromptLoaders,
  getAliasHistoryPage,
  promptVersionKey,
  searchPrompts,
  tracesOfPromptVersion,
  type PromptAliasChangeRow,
  type PromptAliasRow,
  type PromptLoaders,
  type PromptRow,
  type PromptVersionRow,
} from './prompts.queries.ts';

// Per-request loaders, kept beside the request's own (the shared context stays untouched).
const loaderCache = new WeakMap<object, PromptLoaders>();
function loadersOf(ctx: GraphQLContext): PromptLoaders {
  let loaders = loaderCache.get(ctx.loaders);
  if (!loaders) {
    loaders = createPromptLoaders(ctx.deps.db, ctx.workspaceId);
    loaderCache.set(ctx.loaders, loaders);
  }
  return loaders;
}
/** Forget everything cached for this request (each subscription push re-reads). */
function resetLoaders(ctx: GraphQLContext): void {
  loaderCache.delete(ctx.loaders);
}

const ms = (d: Date) => d.getTime();

const PromptTemplateType = builder.enumType('PromptTemplateType', {
  values: ['TEXT', 'CHAT'] as const,
});
const PromptAliasChangeKind = builder.enumType('PromptAliasChangeKind', {
  values: ['SET', 'DELETED'] as const,
});
const PromptDiffOp = builder.enumType('PromptDiffOp', {
  values: ['EQUAL', 'ADDED', 'REMOVED'] as const,
});
const PromptValueChangeOp = builder.enumType('PromptValueChangeOp', {
  values: ['ADDED', 'REMOVED', 'CHANGED'] as const,
});

const PromptMessageRef = builder.objectRef<{ role: string; content: string }>('PromptMessage');
PromptMessageRef.implement({
  fields: (t) => ({ role: t.exposeString('role'), content: t.exposeString('content') }),
});
const PromptMessageInput = builder.inputType('PromptMessageInput', {
  fields: (t) => ({
    role: t.string({ required: true }),
    content: t.string({ required: true }),
  }),
});

export const PromptRef = builder.objectRef<PromptRow>('Prompt');
export const PromptVersionRef = builder.objectRef<PromptVersionRow>('PromptVersion');
const PromptAliasRef = builder.objectRef<PromptAliasRow>('PromptAlias');
const PromptAliasChangeRef = builder.objectRef<PromptAliasChangeRow>('PromptAliasChange');
const PromptDiffLineRef = builder.objectRef<DiffLine>('PromptDiffLine');
const PromptValueChangeRef = builder.objectRef<ValueChange>('PromptValueChange');

interface VersionDiff {
  name: string;
  from: PromptVersionRow;
  to: PromptVersionRow;
}
const PromptVersionDiffRef = builder.objectRef<VersionDiff>('PromptVersionDiff');

const PromptConnection = connectionType('Prompt', PromptRef);
const PromptVersionConnection = connectionType('PromptVersion', PromptVersionRef);
const PromptAliasChangeConnection = connectionType('PromptAliasChange', PromptAliasChangeRef);

type NumberCursor = { n: number };
const isNumberCursor = (v: unknown): v is NumberCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as NumberCursor).n) &&
  (v as NumberCursor).n > 0;
type TraceCursor = { t: number; id: string };
const isTraceCursor = (v: unknown): v is TraceCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as TraceCursor).t) &&
  typeof (v as TraceCursor).id === 'string' &&
  /^[0-9a-f]{32}$/u.test((v as TraceCursor).id);

const templateOf = (v: PromptVersionRow) => v.template;

PromptVersionRef.implement({
  fields: (t) => ({
    id: t.string({ resolve: (v) => promptVersionKey(v.prompt_id, v.version) }),
    promptId: t.exposeString('prompt_id'),
    name: t.exposeString('prompt_name'),
    version: t.exposeInt('version'),
    uri: t.string({ resolve: (v) => promptVersionUri(v.prompt_name, v.version) }),
    templateType: t.field({
      type: PromptTemplateType,
      resolve: (v) => (templateOf(v).type === 'text' ? 'TEXT' : 'CHAT'),
    }),
    template: t.string({
      nullable: true,
      description: 'The text template (null for a chat template).',
      resolve: (v) => {
        const tpl = templateOf(v);
        return tpl.type === 'text' ? tpl.text : null;
      },
    }),
    messages: t.field({
      type: [PromptMessageRef],
      nullable: true,
      description: 'The chat template (null for a text template).',
      resolve: (v) => {
        const tpl = templateOf(v);
        return tpl.type === 'chat' ? tpl.messages : null;
      },
    }),
    variables: t.stringList({ resolve: (v) => v.variables }),
    responseFormat: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.response_format }),
    modelConfig: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.model_config }),
    commitMessage: t.exposeString('commit_message', { nullable: true }),
    author: t.exposeString('author', { nullable: true }),
    createdAt: t.field({ type: 'Timestamp', resolve: (v) => ms(v.created_at) }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (v, _a, ctx) =>
        loadersOf(ctx).versionTags.load(promptVersionKey(v.prompt_id, v.version)),
    }),
    aliases: t.stringList({
      resolve: async (v, _a, ctx) =>
        (await loadersOf(ctx).aliases.load(v.prompt_id))
          .filter((a) => a.version === v.version)
          .map((a) => a.alias),
    }),
    traces: t.field({
      type: TraceConnection,
      description:
        'Traces whose prompt version links (span attribute cairn.trace.prompt_versions) name this version as prompts:/<name>/<version>, newest first.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (v, args, ctx) => {
        const page = await tracesOfPromptVersion(
          ctx.deps.db,
          ctx.workspaceId,
          promptVersionUri(v.prompt_name, v.version),
          pageSize(args.first),
          decodeCursor(args.after, isTraceCursor),
        );
        const edges = page.rows.map((r) => ({ node: r.node, cursor: encodeCursor(r.cursor) }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
        };
      },
    }),
  }),
});

PromptAliasRef.implement({
  fields: (t) => ({
    alias: t.exposeString('alias'),
    version: t.exposeInt('version'),
    promptVersion: t.field({
      type: PromptVersionRef,
      resolve: async (a, _args, ctx) => {
        const row = await loadersOf(ctx).version.load(promptVersionKey(a.prompt_id, a.version));
        if (!row) throw new CairnError('NOT_FOUND', `Version ${a.version} not found`);
        return row;
      },
    }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (a) => ms(a.updated_at) }),
    updatedBy: t.exposeString('updated_by', { nullable: true }),
  }),
});

PromptAliasChangeRef.implement({
  fields: (t) => ({
    alias: t.exposeString('alias'),
    kind: t.field({
      type: PromptAliasChangeKind,
      resolve: (h) => (h.kind === 'SET' ? 'SET' : 'DELETED'),
    }),
    fromVersion: t.exposeInt('from_version', { nullable: true }),
    toVersion: t.exposeInt('to_version', { nullable: true }),
    actor: t.exposeString('actor', { nullable: true }),
    at: t.field({ type: 'Timestamp', resolve: (h) => ms(h.at) }),
  }),
});

PromptDiffLineRef.implement({
  fields: (t) => ({
    op: t.field({ type: PromptDiffOp, resolve: (l) => l.op }),
    text: t.exposeString('text'),
    fromLine: t.exposeInt('fromLine', { nullable: true }),
    toLine: t.exposeInt('toLine', { nullable: true }),
  }),
});

PromptValueChangeRef.implement({
  fields: (t) => ({
    path: t.exposeString('path'),
    op: t.field({ type: PromptValueChangeOp, resolve: (c) => c.op }),
    from: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.from }),
    to: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.to }),
  }),
});

PromptVersionDiffRef.implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    from: t.field({ type: PromptVersionRef, resolve: (d) => d.from }),
    to: t.field({ type: PromptVersionRef, resolve: (d) => d.to }),
    templateTypeChanged: t.boolean({
      resolve: (d) => templateOf(d.from).type !== templateOf(d.to).type,
    }),
    template: t.field({
      type: [PromptDiffLineRef],
      description:
        'Line diff of the rendered templates (a chat template renders each message as a line "### <role>" followed by its content lines).',
      resolve: (d) => diffLines(templateLines(templateOf(d.from)), templateLines(templateOf(d.to))),
    }),
    variablesAdded: t.stringList({
      resolve: (d) => d.to.variables.filter((v) => !d.from.variables.includes(v)),
    }),
    variablesRemoved: t.stringList({
      resolve: (d) => d.from.variables.filter((v) => !d.to.variables.includes(v)),
    }),
    modelConfig: t.field({
      type: [PromptValueChangeRef],
      resolve: (d) => diffValues(d.from.model_config, d.to.model_config),
    }),
    responseFormat: t.field({
      type: [PromptValueChangeRef],
      resolve: (d) => diffValues(d.from.response_format, d.to.response_format),
    }),
    commitMessage: t.string({ nullable: true, resolve: (d) => d.to.commit_message }),
  }),
});

PromptRef.implement({
  fields: (t) => ({
    id: t.exposeString('prompt_id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (p, _a, ctx) => loadersOf(ctx).promptTags.load(p.prompt_id),
    }),
    archived: t.exposeBoolean('archived'),
    createdAt: t.field({ type: 'Timestamp', resolve: (p) => ms(p.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (p) => ms(p.updated_at) }),
    latestVersion: t.field({
      type: PromptVersionRef,
      nullable: true,
      description: 'The newest version (what prompts:/<name>@latest resolves to).',
      resolve: (p, _a, ctx) =>
        p.latest_version === null
          ? null
          : loadersOf(ctx).version.load(promptVersionKey(p.prompt_id, p.latest_version)),
    }),
    aliases: t.field({
      type: [PromptAliasRef],
      resolve: (p, _a, ctx) => loadersOf(ctx).aliases.load(p.prompt_id),
    }),
    versions: t.field({
      type: PromptVersionConnection,
      description: 'Versions, newest first.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (p, args, ctx) => {
        const first = pageSize(args.first);
        const before = decodeCursor(args.after, isNumberCursor)?.n ?? null;
        const page = await loadersOf(ctx).versionPage.load(
          `${p.prompt_id}|${first}|${before ?? ''}`,
        );
        const edges = page.rows.map((node) => ({
          node,
          cursor: encodeCursor({ n: node.version }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
        };
      },
    }),
    version: t.field({
      type: PromptVersionRef,
      nullable: true,
      args: { version: t.arg.int({ required: true }) },
      resolve: (p, args, ctx) =>
        loadersOf(ctx).version.load(promptVersionKey(p.prompt_id, args.version)),
    }),
    aliasHistory: t.field({
      type: PromptAliasChangeConnection,
      description:
        'Alias changes (who moved which alias from which version to which, when), newest first; `alias` narrows to one alias.',
      args: { alias: t.arg.string(), first: t.arg.int(), after: t.arg.string() },
      resolve: async (p, args, ctx) => {
        const page = await getAliasHistoryPage(
          ctx.deps.db,
          ctx.workspaceId,
          p.prompt_id,
          args.alias ?? null,
          pageSize(args.first),
          decodeCursor(args.after, isNumberCursor)?.n ?? null,
        );
        const edges = page.rows.map((node) => ({
          node,
          cursor: encodeCursor({ n: node.stream_position }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
        };
      },
    }),
  }),
});

async function promptByName(ctx: GraphQLContext, name: string): Promise<PromptRow | null> {
  const id = await findPromptIdByName(ctx.deps.db, ctx.workspaceId, name);
  return id === null ? null : loadersOf(ctx).prompt.load(id);
}

async function requirePrompt(ctx: GraphQLContext, name: string): Promise<PromptRow> {
  const prompt = await promptByName(ctx, name);
  if (!prompt) throw new CairnError('NOT_FOUND', `Prompt "${name}" not found`, { name });
  return prompt;
}

async function requireVersion(
  ctx: GraphQLContext,
  prompt: PromptRow,
  version: number,
  field: string,
): Promise<PromptVersionRow> {
  const row = await loadersOf(ctx).version.load(promptVersionKey(prompt.prompt_id, version));
  if (!row)
    throw new CairnError('NOT_FOUND', `Prompt "${prompt.name}" has no version ${version}`, {
      name: prompt.name,
      version,
      field,
    });
  return row;
}

builder.queryFields((t) => ({
  prompts: t.field({
    type: PromptConnection,
    description:
      "Prompts. Filter: name = 'x', name LIKE 'x%', description ILIKE '%y%', created_at > <ms>, updated_at, tags.k = 'v' (AND, OR, NOT, parentheses); orderBy name | created_at | updated_at [ASC|DESC], default name ASC. Archived prompts only with includeArchived.",
    args: {
      filter: t.arg.string(),
      orderBy: t.arg.stringList(),
      includeArchived: t.arg.boolean({ defaultValue: false }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx): Promise<Connection<PromptRow>> => {
      const result = await searchPrompts(ctx.deps.db, ctx.workspaceId, {
        filter: args.filter,
        orderBy: args.orderBy,
        includeArchived: args.includeArchived ?? false,
        first: pageSize(args.first),
        after: args.after,
      });
      return {
        edges: result.rows,
        pageInfo: {
          hasNextPage: result.hasNextPage,
          endCursor: result.rows.at(-1)?.cursor ?? null,
        },
        totalCount: result.totalCount,
      };
    },
  }),
  prompt: t.field({
    type: PromptRef,
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
          projections: ['prompts'],
          streams: (at) => streamsNamed(ctx.deps.db, ctx.workspaceId, 'prompt-', name, at),
          empty: null,
        },
        (c) => promptByName(c, name),
      ),
  }),
  promptVersion: t.field({
    type: PromptVersionRef,
    nullable: true,
    args: { name: t.arg.string({ required: true }), version: t.arg.int({ required: true }) },
    resolve: async (_r, { name, version }, ctx) => {
      const id = await findPromptIdByName(ctx.deps.db, ctx.workspaceId, name);
      return id === null ? null : loadersOf(ctx).version.load(promptVersionKey(id, version));
    },
  }),
  resolvePromptUri: t.field({
    type: PromptVersionRef,
    description: 'prompts:/<name>/<version>, prompts:/<name>@<alias>, prompts:/<name>@latest.',
    args: { uri: t.arg.string({ required: true }) },
    resolve: async (_r, { uri }, ctx) => {
      const parsed = parsePromptUri(uri);
      const prompt = await promptByName(ctx, parsed.name);
      if (!prompt) throw new CairnError('NOT_FOUND', `Prompt "${parsed.name}" not found`, { uri });
      let version: number | null;
      switch (parsed.kind) {
        case 'version':
          version = parsed.version;
          break;
        case 'latest':
          version = prompt.latest_version;
          break;
        case 'alias': {
          const alias = (await loadersOf(ctx).aliases.load(prompt.prompt_id)).find(
            (a) => a.alias === parsed.alias,
          );
          if (!alias)
            throw new CairnError(
              'NOT_FOUND',
              `Prompt "${parsed.name}" has no alias "${parsed.alias}"`,
              { uri },
            );
          version = alias.version;
          break;
        }
      }
      const row =
        version === null
          ? null
          : await loadersOf(ctx).version.load(promptVersionKey(prompt.prompt_id, version));
      if (!row) throw new CairnError('NOT_FOUND', `No prompt version matches ${uri}`, { uri });
      return row;
    },
  }),
  promptVersionDiff: t.field({
    type: PromptVersionDiffRef,
    description: 'What changed from version `from` to version `to` of one prompt.',
    args: {
      name: t.arg.string({ required: true }),
      from: t.arg.int({ required: true }),
      to: t.arg.int({ required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const prompt = await requirePrompt(ctx, args.name);
      const [from, to] = await Promise.all([
        requireVersion(ctx, prompt, args.from, 'from'),
        requireVersion(ctx, prompt, args.to, 'to'),
      ]);
      return { name: prompt.name, from, to };
    },
  }),
}));

/** The prompt after a write (its read-model row, which the write waited for). */
async function promptAfter(ctx: GraphQLContext, result: PromptWriteResult): Promise<PromptRow> {
  resetLoaders(ctx);
  const row = await loadersOf(ctx).prompt.load(result.promptId);
  if (row) return row;
  const created = result.events.find((e) => e.type === 'PromptCreated');
  if (created) return promptRowFromCreated(decodeEvent(created) as EventOf<'PromptCreated'>);
  throw new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');
}

async function versionAfter(
  ctx: GraphQLContext,
  result: PromptWriteResult,
  version: number,
): Promise<PromptVersionRow> {
  resetLoaders(ctx);
  const row = await loadersOf(ctx).version.load(promptVersionKey(result.promptId, version));
  if (row) return row;
  const created = result.events.find((e) => e.type === 'PromptVersionCreated');
  if (created)
    return promptVersionRowFromCreated(decodeEvent(created) as EventOf<'PromptVersionCreated'>);
  throw new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');
}

builder.mutationFields((t) => ({
  createPrompt: t.field({
    type: PromptRef,
    args: {
      name: t.arg.string({ required: true }),
      description: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
    },
    resolve: async (_r, args, ctx) =>
      promptAfter(
        ctx,
        await createPrompt(ctx.deps, ctx.caller, {
          name: args.name,
          description: args.description ?? null,
          tags: args.tags ?? [],
        }),
      ),
  }),
  createPromptVersion: t.field({
    type: PromptVersionRef,
    description:
      'A new immutable version (number = highest + 1). Exactly one of template (text) and messages (chat).',
    args: {
      name: t.arg.string({ required: true }),
      template: t.arg.string(),
      messages: t.arg({ type: [PromptMessageInput] }),
      responseFormat: t.arg({ type: 'JSON' }),
      modelConfig: t.arg({ type: 'JSON' }),
      commitMessage: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
      createPromptIfMissing: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_r, args, ctx) => {
      const result = await createPromptVersion(
        ctx.deps,
        ctx.caller,
        args.name,
        {
          template: args.template ?? null,
          messages: args.messages ?? null,
          responseFormat: args.responseFormat ?? null,
          modelConfig: args.modelConfig ?? null,
          commitMessage: args.commitMessage ?? null,
          tags: args.tags ?? [],
        },
        args.createPromptIfMissing ?? false,
      );
      return versionAfter(ctx, result, result.version);
    },
  }),
  setPromptAlias: t.field({
    type: PromptVersionRef,
    description:
      'Points the alias at the version (moving it if it exists; recorded in aliasHistory).',
    args: {
      name: t.arg.string({ required: true }),
      alias: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
    },
    resolve: async (_r, { name, alias, version }, ctx) =>
      versionAfter(ctx, await setPromptAlias(ctx.deps, ctx.caller, name, alias, version), version),
  }),
  deletePromptAlias: t.field({
    type: PromptRef,
    args: { name: t.arg.string({ required: true }), alias: t.arg.string({ required: true }) },
    resolve: async (_r, { name, alias }, ctx) =>
      promptAfter(ctx, await deletePromptAlias(ctx.deps, ctx.caller, name, alias)),
  }),
  setPromptTag: t.field({
    type: PromptRef,
    args: {
      name: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, key, value }, ctx) =>
      promptAfter(ctx, await setPromptTag(ctx.deps, ctx.caller, name, key, value)),
  }),
  deletePromptTag: t.field({
    type: PromptRef,
    args: { name: t.arg.string({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_r, { name, key }, ctx) =>
      promptAfter(ctx, await deletePromptTag(ctx.deps, ctx.caller, name, key)),
  }),
  setPromptVersionTag: t.field({
    type: PromptVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, version, key, value }, ctx) =>
      versionAfter(
        ctx,
        await setPromptVersionTag(ctx.deps, ctx.caller, name, version, key, value),
        version,
      ),
  }),
  deletePromptVersionTag: t.field({
    type: PromptVersionRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ required: true }),
      key: t.arg.string({ required: true }),
    },
    resolve: async (_r, { name, version, key }, ctx) =>
      versionAfter(
        ctx,
        await deletePromptVersionTag(ctx.deps, ctx.caller, name, version, key),
        version,
      ),
  }),
  archivePrompt: t.field({
    type: PromptRef,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) =>
      promptAfter(ctx, await archivePrompt(ctx.deps, ctx.caller, name)),
  }),
  unarchivePrompt: t.field({
    type: PromptRef,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) =>
      promptAfter(ctx, await unarchivePrompt(ctx.deps, ctx.caller, name)),
  }),
  deletePrompt: t.boolean({
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) => {
      await deletePrompt(ctx.deps, ctx.caller, name);
      return true;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  promptChanged: t.field({
    type: PromptRef,
    nullable: true,
    description:
      'The prompt, re-read, each time a change to it is projected; null once it is deleted (then the subscription ends).',
    args: { name: t.arg.string({ required: true }) },
    subscribe: async (_r, { name }, ctx) => {
      const promptId = await findPromptIdByName(ctx.deps.db, ctx.workspaceId, name);
      // graphql-ws does not run the HTTP error mapper: the code travels in the error itself.
      if (promptId === null)
        throw new GraphQLError(`Prompt "${name}" not found`, {
          extensions: { code: 'NOT_FOUND', name },
        });
      const streamId = promptStreamId(promptId);
      const changes = mapNotices<true>(ctx, (n) =>
        n.p === PROMPTS_PROJECTION && n.s.some(([id]) => id === streamId) ? true : null,
      );
      return (async function* () {
        for await (const _ of changes) {
          resetLoaders(ctx);
          const row = await loadersOf(ctx).prompt.load(promptId);
          yield row;
          if (row === null) return;
        }
      })();
    },
    resolve: (row: PromptRow | null) => row,
  }),
}));
