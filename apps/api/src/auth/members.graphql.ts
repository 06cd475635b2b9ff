import { builder } from '../graphql/builder.ts';
import type { Connection } from '../graphql/connection.ts';
import { connectionType } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import { CairnError } from '../errors.ts';
import { inviteMember, removeMember, setMemberRole } from './user.commands.ts';

/**
 * Workspace members (docs/auth.md, "Users and sessions"). Rules (AUTH-CORE's GRAPHQL_RULES,
 * entries in MEMBER_RULES below): reading members needs `workspace:read`-level access, i.e. any
 * role in the workspace (`tracking:read` stands for it: every built-in role has it); changing
 * members needs `workspace:admin`. Service accounts are API keys with no user: they are not
 * members and are listed by `apiKeys`.
 */
export const MEMBER_RULES = {
  Query: { members: { scope: 'tracking:read' } },
  Mutation: {
    inviteMember: { scope: 'workspace:admin' },
    setMemberRole: { scope: 'workspace:admin' },
    removeMember: { scope: 'workspace:admin' },
  },
} as const;

interface MemberRow {
  user_id: string;
  email: string;
  display_name: string;
  role: string;
}

const MemberUser = builder
  .objectRef<{ id: string; email: string; displayName: string }>('MemberUser')
  .implement({
    fields: (t) => ({
      id: t.exposeID('id'),
      email: t.exposeString('email'),
      displayName: t.exposeString('displayName'),
    }),
  });

const MemberRef = builder.objectRef<MemberRow>('Member').implement({
  description: 'A user with a role in the current workspace.',
  fields: (t) => ({
    user: t.field({
      type: MemberUser,
      resolve: (m) => ({ id: m.user_id, email: m.email, displayName: m.display_name }),
    }),
    role: t.string({
      description: 'owner, admin, member, viewer, or the name of a custom role.',
      resolve: (m) => m.role,
    }),
  }),
});

const MemberConnection = connectionType('Member', MemberRef);

const MemberInvitation = builder
  .objectRef<{ userId: string | null; email: string; role: string }>('MemberInvitation')
  .implement({
    description:
      'An invitation: with a userId the user is a member at once; without, it waits for a user with this email.',
    fields: (t) => ({
      userId: t.exposeID('userId', { nullable: true }),
      email: t.exposeString('email'),
      role: t.exposeString('role'),
    }),
  });

const isUserCursor = (v: unknown): v is { u: string } =>
  typeof v === 'object' && v !== null && typeof (v as { u?: unknown }).u === 'string';

async function member(ctx: GraphQLContext, userId: string): Promise<MemberRow> {
  const row = await ctx.deps.db
    .selectFrom('workspace_members as m')
    .innerJoin('users as u', 'u.user_id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.display_name', 'm.role'])
    .where('m.workspace_id', '=', ctx.workspaceId)
    .where('m.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new CairnError('NOT_FOUND', `User ${userId} is not a member`, { userId });
  return row;
}

builder.queryFields((t) => ({
  members: t.field({
    type: MemberConnection,
    description: 'The members of the current workspace, by user id.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<MemberRow>> => {
      const first = pageSize(args.first);
      const after = decodeCursor(args.after, isUserCursor)?.u ?? null;
      let q = ctx.deps.db
        .selectFrom('workspace_members as m')
        .innerJoin('users as u', 'u.user_id', 'm.user_id')
        .select(['m.user_id', 'u.email', 'u.display_name', 'm.role'])
        .where('m.workspace_id', '=', ctx.workspaceId)
        .orderBy('m.user_id')
        .limit(first + 1);
      if (after !== null) q = q.where('m.user_id', '>', after);
      const rows = await q.execute();
      const edges = rows
        .slice(0, first)
        .map((node) => ({ node, cursor: encodeCursor({ u: node.user_id }) }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: async () =>
          Number(
            (
              await ctx.deps.db
                .selectFrom('workspace_members')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('workspace_id', '=', ctx.workspaceId)
                .executeTakeFirstOrThrow()
            ).n,
          ),
      };
    },
  }),
}));

const InviteMemberInput = builder.inputType('InviteMemberInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    role: t.string({ required: true }),
  }),
});

const SetMemberRoleInput = builder.inputType('SetMemberRoleInput', {
  fields: (t) => ({
    userId: t.id({ required: true }),
    role: t.string({ required: true }),
  }),
});

builder.mutationFields((t) => ({
  inviteMember: t.field({
    type: MemberInvitation,
    args: { input: t.arg({ type: InviteMemberInput, required: true }) },
    resolve: (_r, args, ctx) =>
      inviteMember(ctx.deps, ctx.caller, { email: args.input.email, role: args.input.role }),
  }),
  setMemberRole: t.field({
    type: MemberRef,
    args: { input: t.arg({ type: SetMemberRoleInput, required: true }) },
    resolve: async (_r, args, ctx) => {
      const userId = String(args.input.userId);
      await setMemberRole(ctx.deps, ctx.caller, { userId, role: args.input.role });
      return member(ctx, userId);
    },
  }),
  removeMember: t.field({
    type: 'Boolean',
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await removeMember(ctx.deps, ctx.caller, String(args.userId));
      return true;
    },
  }),
}));
