import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import { CairnError } from '../errors.ts';
import { createServiceAccount, deleteServiceAccount } from './service-accounts.commands.ts';

/**
 * Service accounts over GraphQL (docs/auth.md, "Service accounts"); rules in graphql-rules.ts
 * (`workspace:admin`, like keys). Keys are issued to one with `createApiKey(input: {
 * serviceAccountId })`.
 */
interface ServiceAccountRow {
  service_account_id: string;
  name: string;
  description: string;
  role: string;
  created_by: string;
  created_at: Date;
}

const ServiceAccountRef = builder.objectRef<ServiceAccountRow>('ServiceAccount').implement({
  description:
    'A principal of the workspace that is not a user (no password, no session): it acts through the API keys issued to it, as actor sa:<name>.',
  fields: (t) => ({
    id: t.id({ resolve: (a) => a.service_account_id }),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    role: t.exposeString('role', {
      description: 'The strongest role a key of this account may have.',
    }),
    createdBy: t.exposeString('created_by'),
    createdAt: t.field({ type: 'Timestamp', resolve: (a) => new Date(a.created_at).getTime() }),
    activeKeys: t.int({
      description: 'Keys issued to it that are not revoked.',
      resolve: async (a, _args, ctx) => {
        const row = await ctx.deps.db
          .selectFrom('api_keys')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('workspace_id', '=', ctx.workspaceId)
          .where('service_account_id', '=', a.service_account_id)
          .where('revoked_at', 'is', null)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      },
    }),
  }),
});

const ServiceAccountConnection = connectionType('ServiceAccount', ServiceAccountRef);

const isCursor = (v: unknown): v is { c: number; i: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { c?: unknown }).c === 'number' &&
  typeof (v as { i?: unknown }).i === 'string';

function accountsOf(ctx: GraphQLContext) {
  return ctx.deps.db
    .selectFrom('service_accounts')
    .select(['service_account_id', 'name', 'description', 'role', 'created_by', 'created_at'])
    .where('workspace_id', '=', ctx.workspaceId);
}

builder.queryFields((t) => ({
  serviceAccounts: t.field({
    type: ServiceAccountConnection,
    description: "The current workspace's service accounts, newest first.",
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<ServiceAccountRow>> => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after, isCursor);
      let q = accountsOf(ctx)
        .orderBy('created_at', 'desc')
        .orderBy('service_account_id', 'desc')
        .limit(first + 1);
      if (after)
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', new Date(after.c)),
            eb.and([
              eb('created_at', '=', new Date(after.c)),
              eb('service_account_id', '<', after.i),
            ]),
          ]),
        );
      const rows = await q.execute();
      const edges = rows.slice(0, first).map((node) => ({
        node,
        cursor: encodeCursor({
          c: new Date(node.created_at).getTime(),
          i: node.service_account_id,
        }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: async () =>
          Number(
            (
              await ctx.deps.db
                .selectFrom('service_accounts')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('workspace_id', '=', ctx.workspaceId)
                .executeTakeFirstOrThrow()
            ).n,
          ),
      };
    },
  }),
}));

builder.mutationFields((t) => ({
  createServiceAccount: t.field({
    type: ServiceAccountRef,
    description:
      "A new service account of the current workspace, with a role no stronger than the caller's.",
    args: {
      name: t.arg.string({
        required: true,
        description: '1–63 lowercase letters, digits, ".", "_" or "-"; unique in the workspace.',
      }),
      description: t.arg.string({ description: 'At most 1000 characters.' }),
      role: t.arg.string({
        required: true,
        description: 'owner, admin, member, viewer or a custom role.',
      }),
    },
    resolve: async (_r, args, ctx) => {
      const granter =
        ctx.principal.kind === 'anonymous'
          ? null
          : (ctx.principal.workspaces.get(ctx.workspaceId) ?? null);
      const { serviceAccountId } = await createServiceAccount(
        ctx.deps,
        ctx.caller,
        { name: args.name, description: args.description ?? null, role: args.role },
        granter,
      );
      const row = await accountsOf(ctx)
        .where('service_account_id', '=', serviceAccountId)
        .executeTakeFirst();
      if (!row) throw new CairnError('NOT_FOUND', `Service account ${serviceAccountId} not found`);
      return row;
    },
  }),
  deleteServiceAccount: t.field({
    type: 'Int',
    description:
      'Deletes a service account of the current workspace and revokes its keys (answers how many); its keys are refused at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) =>
      (await deleteServiceAccount(ctx.deps, ctx.caller, String(id))).revokedKeys,
  }),
}));
