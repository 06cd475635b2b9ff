import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import { CairnError } from '../errors.ts';
import {
  createApiKey,
  createWorkspace,
  defineCustomRole,
  deleteCustomRole,
  revokeApiKey,
} from './access.commands.ts';
import { AUTH_PROJECTION } from './api-keys.ts';
import { roleName } from './scopes.ts';
import { USERS_PROJECTION } from './user.commands.ts';

/**
 * Workspaces, API keys and custom roles over GraphQL (docs/auth.md). Rules are in
 * graphql-rules.ts: listing workspaces needs any valid principal, everything else
 * `workspace:admin` in the current workspace. The secret of a key is in `createApiKey`'s answer
 * and nowhere else, ever.
 */

interface WorkspaceRow {
  workspace_id: string;
  organization_id: string;
  name: string;
  created_at: Date | null;
}

interface ApiKeyRow {
  key_id: string;
  name: string;
  role: string;
  scope_workspace_id: string | null;
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  service_account_id: string | null;
}

const ms = (d: Date | null): number | null => (d === null ? null : new Date(d).getTime());

const WorkspaceRef = builder.objectRef<WorkspaceRow>('Workspace').implement({
  description: 'A workspace (tenant): every run, model, trace and prompt belongs to one.',
  fields: (t) => ({
    id: t.id({ resolve: (w) => w.workspace_id }),
    name: t.exposeString('name'),
    organizationId: t.exposeString('organization_id'),
    createdAt: t.field({ type: 'Timestamp', nullable: true, resolve: (w) => ms(w.created_at) }),
    role: t.string({
      nullable: true,
      description: "The caller's role here (null: none).",
      resolve: (w, _a, ctx) => {
        const role = ctx.principal.workspaces.get(w.workspace_id);
        if (role) return roleName(role);
        return ctx.principal.kind === 'anonymous' && ctx.authMode === 'off' ? 'owner' : null;
      },
    }),
  }),
});

const ApiKeyRef = builder.objectRef<ApiKeyRow>('ApiKey').implement({
  description: 'An API key (its secret is shown once, by createApiKey).',
  fields: (t) => ({
    id: t.id({ resolve: (k) => k.key_id }),
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    workspaceId: t.string({
      nullable: true,
      description: 'The workspace it acts in; null for an organisation-wide key.',
      resolve: (k) => k.scope_workspace_id,
    }),
    createdAt: t.field({ type: 'Timestamp', resolve: (k) => new Date(k.created_at).getTime() }),
    createdBy: t.exposeString('created_by'),
    expiresAt: t.field({ type: 'Timestamp', nullable: true, resolve: (k) => ms(k.expires_at) }),
    lastUsedAt: t.field({
      type: 'Timestamp',
      nullable: true,
      description: 'Recorded at most once a minute.',
      resolve: (k) => ms(k.last_used_at),
    }),
    revokedAt: t.field({ type: 'Timestamp', nullable: true, resolve: (k) => ms(k.revoked_at) }),
    serviceAccountId: t.id({
      nullable: true,
      description: 'The service account the key acts as; null for a plain key.',
      resolve: (k) => k.service_account_id,
    }),
  }),
});

const CreatedApiKey = builder
  .objectRef<{ apiKey: ApiKeyRow; secret: string }>('CreatedApiKey')
  .implement({
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (c) => c.apiKey }),
      secret: t.exposeString('secret', {
        description: 'The key (`cairn_<id>_<secret>`): shown this once, never again.',
      }),
    }),
  });

const CustomRoleRef = builder
  .objectRef<{ name: string; scopes: string[] }>('CustomRole')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      scopes: t.exposeStringList('scopes'),
    }),
  });

const AccessChange = builder
  .objectRef<{ kind: string; id: string | null }>('AccessChange')
  .implement({
    description: 'Keys, members, workspaces or roles of the current workspace changed.',
    fields: (t) => ({
      kind: t.exposeString('kind', {
        description: 'apiKeys, members, workspaces, roles or serviceAccounts.',
      }),
      id: t.exposeString('id', { nullable: true }),
    }),
  });

const WorkspaceConnection = connectionType('Workspace', WorkspaceRef);
const ApiKeyConnection = connectionType('ApiKey', ApiKeyRef);

const isIdCursor = (v: unknown): v is { i: string } =>
  typeof v === 'object' && v !== null && typeof (v as { i?: unknown }).i === 'string';
const isKeyCursor = (v: unknown): v is { c: number; i: string } =>
  isIdCursor(v) && typeof (v as { c?: unknown }).c === 'number';

const DEFAULT_WORKSPACE_ROW: WorkspaceRow = {
  workspace_id: 'default',
  organization_id: 'default',
  name: 'default',
  created_at: null,
};

/** The workspaces a principal may use: its roles; anonymous in mode off: all of them. */
function visibleWorkspaces(ctx: GraphQLContext): string[] | 'all' {
  if (ctx.principal.kind === 'anonymous' && ctx.authMode === 'off') return 'all';
  return [...ctx.principal.workspaces.keys()];
}

/** The columns an ApiKey shows, with its last use, for one workspace's keys. */
function keysOf(ctx: GraphQLContext) {
  return ctx.deps.db
    .selectFrom('api_keys as k')
    .leftJoin('api_key_usage as u', 'u.key_id', 'k.key_id')
    .select([
      'k.key_id',
      'k.name',
      'k.role',
      'k.scope_workspace_id',
      'k.created_at',
      'k.created_by',
      'k.expires_at',
      'k.revoked_at',
      'u.last_used_at',
      'k.service_account_id',
    ])
    .where('k.workspace_id', '=', ctx.workspaceId);
}

async function apiKeyRow(ctx: GraphQLContext, keyId: string): Promise<ApiKeyRow> {
  const row = await keysOf(ctx).where('k.key_id', '=', keyId).executeTakeFirst();
  if (!row) throw new CairnError('NOT_FOUND', `API key ${keyId} not found`, { keyId });
  return row;
}

builder.queryFields((t) => ({
  workspaces: t.field({
    type: WorkspaceConnection,
    description: 'The workspaces the caller may use, by id.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<WorkspaceRow>> => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after, isIdCursor)?.i ?? null;
      const visible = visibleWorkspaces(ctx);
      const rows = await ctx.deps.db
        .selectFrom('workspaces')
        .select(['workspace_id', 'organization_id', 'name', 'created_at'])
        .where('organization_id', '=', ctx.principal.organizationId)
        .execute();
      const all = new Map<string, WorkspaceRow>([['default', DEFAULT_WORKSPACE_ROW]]);
      for (const r of rows) all.set(r.workspace_id, r);
      // A role in a workspace that has no WorkspaceCreated event (made before workspaces were
      // events, or named by a header in mode off) still lists it.
      if (visible !== 'all')
        for (const id of visible)
          if (!all.has(id)) all.set(id, { ...DEFAULT_WORKSPACE_ROW, workspace_id: id, name: id });
      const list = [...all.values()]
        .filter((w) => visible === 'all' || visible.includes(w.workspace_id))
        .sort((a, b) => (a.workspace_id < b.workspace_id ? -1 : 1));
      const from = after === null ? list : list.filter((w) => w.workspace_id > after);
      const edges = from
        .slice(0, first)
        .map((node) => ({ node, cursor: encodeCursor({ i: node.workspace_id }) }));
      return {
        edges,
        pageInfo: { hasNextPage: from.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: list.length,
      };
    },
  }),
  apiKeys: t.field({
    type: ApiKeyConnection,
    description: "The current workspace's API keys, newest first (never their secrets).",
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      includeRevoked: t.arg.boolean({ description: 'Default false.' }),
    },
    resolve: async (_r, args, ctx): Promise<Connection<ApiKeyRow>> => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after, isKeyCursor);
      let q = keysOf(ctx)
        .orderBy('k.created_at', 'desc')
        .orderBy('k.key_id', 'desc')
        .limit(first + 1);
      if (!args.includeRevoked) q = q.where('k.revoked_at', 'is', null);
      if (after)
        q = q.where((eb) =>
          eb.or([
            eb('k.created_at', '<', new Date(after.c)),
            eb.and([eb('k.created_at', '=', new Date(after.c)), eb('k.key_id', '<', after.i)]),
          ]),
        );
      const rows = await q.execute();
      const edges = rows.slice(0, first).map((node) => ({
        node,
        cursor: encodeCursor({ c: new Date(node.created_at).getTime(), i: node.key_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: async () => {
          let c = ctx.deps.db
            .selectFrom('api_keys')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('workspace_id', '=', ctx.workspaceId);
          if (!args.includeRevoked) c = c.where('revoked_at', 'is', null);
          return Number((await c.executeTakeFirstOrThrow()).n);
        },
      };
    },
  }),
  customRoles: t.field({
    type: [CustomRoleRef],
    description: "The current workspace's custom roles, by name (at most a few dozen).",
    resolve: async (_r, _a, ctx) => {
      const rows = await ctx.deps.db
        .selectFrom('custom_roles')
        .select(['name', 'scopes'])
        .where('workspace_id', '=', ctx.workspaceId)
        .orderBy('name')
        .limit(1000)
        .execute();
      return rows.map((r) => ({ name: r.name, scopes: Array.isArray(r.scopes) ? r.scopes : [] }));
    },
  }),
}));

const CreateWorkspaceInput = builder.inputType('CreateWorkspaceInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      description:
        'The workspace id: 1–63 letters, digits, "_" or "-" (what x-cairn-workspace names).',
    }),
    displayName: t.string({ description: 'Default: the name.' }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.string({
      required: true,
      description: 'owner, admin, member, viewer or a custom role.',
    }),
    expiresAt: t.field({ type: 'Timestamp', description: 'Epoch ms; absent: no expiry.' }),
    organizationWide: t.boolean({
      description: 'Every workspace of the organisation (owners only; built-in roles).',
    }),
    serviceAccountId: t.id({
      description:
        "Issue the key to this service account of the workspace: it acts as the account (actor sa:<name>), with a role no stronger than the account's.",
    }),
  }),
});

const DefineCustomRoleInput = builder.inputType('DefineCustomRoleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.stringList({
      required: true,
      description: '`<resource>:read|write`, workspace:admin',
    }),
  }),
});

builder.mutationFields((t) => ({
  createWorkspace: t.field({
    type: WorkspaceRef,
    description: 'A new workspace of the organisation; a signed-in user becomes its owner.',
    args: { input: t.arg({ type: CreateWorkspaceInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { workspaceId } = await createWorkspace(ctx.deps, ctx.caller, {
        id: input.name,
        name: input.displayName ?? null,
        organizationId: ctx.principal.organizationId,
        ownerUserId: ctx.principal.kind === 'user' ? (ctx.principal.userId ?? null) : null,
      });
      const row = await ctx.deps.db
        .selectFrom('workspaces')
        .select(['workspace_id', 'organization_id', 'name', 'created_at'])
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirstOrThrow();
      return row;
    },
  }),
  createApiKey: t.field({
    type: CreatedApiKey,
    description:
      "A new API key in the current workspace, with a role no stronger than the caller's; the answer is the only place its secret ever appears.",
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const granter =
        ctx.principal.kind === 'anonymous'
          ? null
          : (ctx.principal.workspaces.get(ctx.workspaceId) ?? null);
      if (input.organizationWide && granter !== null && granter !== 'owner')
        throw new CairnError(
          'PERMISSION_DENIED',
          'Only an owner may create an organisation-wide key',
        );
      const created = await createApiKey(
        ctx.deps,
        ctx.caller,
        {
          name: input.name,
          role: input.role,
          expiresAt:
            input.expiresAt === null || input.expiresAt === undefined
              ? null
              : new Date(input.expiresAt),
          organizationWide: input.organizationWide ?? false,
          organizationId: ctx.principal.organizationId,
          serviceAccountId:
            input.serviceAccountId === null || input.serviceAccountId === undefined
              ? null
              : String(input.serviceAccountId),
        },
        granter,
      );
      const apiKey = input.organizationWide
        ? await apiKeyRow({ ...ctx, workspaceId: ctx.principal.organizationId }, created.keyId)
        : await apiKeyRow(ctx, created.keyId);
      return { apiKey, secret: created.secret };
    },
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description:
      'Revokes a key of the current workspace: every API process refuses it within 2 s, and its open subscriptions end.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      await revokeApiKey(ctx.deps, ctx.caller, String(id));
      return apiKeyRow(ctx, String(id));
    },
  }),
  defineCustomRole: t.field({
    type: CustomRoleRef,
    description: 'Defines (or redefines) a custom role of the current workspace.',
    args: { input: t.arg({ type: DefineCustomRoleInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      await defineCustomRole(ctx.deps, ctx.caller, input);
      const row = await ctx.deps.db
        .selectFrom('custom_roles')
        .select(['name', 'scopes'])
        .where('workspace_id', '=', ctx.workspaceId)
        .where('name', '=', input.name.trim().toLowerCase())
        .executeTakeFirstOrThrow();
      return { name: row.name, scopes: Array.isArray(row.scopes) ? row.scopes : [] };
    },
  }),
  deleteCustomRole: t.field({
    type: 'Boolean',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_r, { name }, ctx) => {
      await deleteCustomRole(ctx.deps, ctx.caller, name);
      return true;
    },
  }),
}));

const ACCESS_STREAMS: readonly [projection: string, prefix: string, kind: string][] = [
  [AUTH_PROJECTION, 'api-key-', 'apiKeys'],
  [AUTH_PROJECTION, 'workspace-', 'workspaces'],
  [AUTH_PROJECTION, 'service-account-', 'serviceAccounts'],
  [USERS_PROJECTION, 'workspace-', 'members'],
  [USERS_PROJECTION, 'user-', 'members'],
];

function accessChange(projection: string, streamId: string) {
  for (const [p, prefix, kind] of ACCESS_STREAMS)
    if (p === projection && streamId.startsWith(prefix))
      return { kind, id: streamId.slice(prefix.length) };
  return null;
}

builder.subscriptionFields((t) => ({
  accessChanged: t.field({
    type: AccessChange,
    description:
      'Pushes when API keys, members, workspaces or custom roles of the current workspace change (dashboards refetch on it).',
    subscribe: (_r, _a, ctx) =>
      mapNotices<{ kind: string; id: string | null }>(ctx, (n) => {
        for (const [streamId] of n.s) {
          const change = accessChange(n.p, streamId);
          if (change) return change;
        }
        return null;
      }),
    resolve: (change: { kind: string; id: string | null }) => change,
  }),
}));
