import { builder } from '../graphql/builder.ts';
import { CairnError } from '../errors.ts';
import { eraseUser } from '../auth/user.commands.ts';

builder.mutationField('eraseUser', (t) =>
  t.field({
    type: 'Boolean',
    description:
      'Erases a member of this workspace for good (docs/governance.md, "Erasure"): its personal data (email, name) is crypto-shredded in the log and replaced by a placeholder in the read models; it cannot log in again; its past changes stay attributed to user:<id>. A user who is not a member of this workspace (or was erased already) is NOT_FOUND.',
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const userId = String(args.userId);
      const member = await ctx.deps.db
        .selectFrom('workspace_members')
        .select('user_id')
        .where('workspace_id', '=', ctx.workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!member)
        throw new CairnError('NOT_FOUND', `User ${userId} is not a member of this workspace`, {
          userId,
        });
      await eraseUser(ctx.deps, ctx.caller, { userId });
      return true;
    },
  }),
);
