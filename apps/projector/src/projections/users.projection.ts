import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, erasedPlaceholder, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = [
  'UserCreated',
  'UserPasswordChanged',
  'UserIdentityLinked',
  'MemberInvited',
  'MemberRoleSet',
  'MemberRemoved',
  'SubjectErased',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

/**
 * An invitation by email and the user it names may arrive in either order (different streams):
 * both orders end in the same membership, so a rebuild comes back identical.
 */
async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  switch (event.type) {
    case 'UserCreated': {
      const d = event.data;
      await trx
        .insertInto('users')
        .values({
          workspace_id: ws,
          user_id: d.userId,
          email: d.email,
          display_name: d.displayName,
          password_hash: d.passwordHash,
          oidc_subject: d.oidcSubject,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doNothing())
        .execute();
      // Invitations waiting for this email become memberships.
      await sql`
        WITH taken AS (
          DELETE FROM workspace_invitations WHERE email = ${d.email}
          RETURNING workspace_id, role, invited_at
        )
        INSERT INTO workspace_members (workspace_id, user_id, role, created_at, updated_at)
        SELECT workspace_id, ${d.userId}, role, invited_at, invited_at FROM taken
        ON CONFLICT (workspace_id, user_id) DO NOTHING`.execute(trx);
      return;
    }
    case 'UserPasswordChanged':
      await trx
        .updateTable('users')
        .set({ password_hash: event.data.passwordHash, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('user_id', '=', event.data.userId)
        .execute();
      return;
    case 'UserIdentityLinked':
      await trx
        .updateTable('users')
        .set({ oidc_subject: event.data.oidcSubject, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('user_id', '=', event.data.userId)
        .execute();
      return;
    case 'MemberInvited': {
      const d = event.data;
      const userId =
        d.userId ??
        (
          await trx
            .selectFrom('users')
            .select('user_id')
            .where('email', '=', d.email)
            .executeTakeFirst()
        )?.user_id ??
        null;
      if (userId === null) {
        await trx
          .insertInto('workspace_invitations')
          .values({
            workspace_id: ws,
            email: d.email,
            role: d.role,
            invited_by: d.invitedBy,
            invited_at: at,
          })
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'email'])
              .doUpdateSet({ role: d.role, invited_by: d.invitedBy }),
          )
          .execute();
        return;
      }
      await trx
        .insertInto('workspace_members')
        .values({ workspace_id: ws, user_id: userId, role: d.role, created_at: at, updated_at: at })
        .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doNothing())
        .execute();
      return;
    }
    case 'MemberRoleSet':
      await trx
        .insertInto('workspace_members')
        .values({
          workspace_id: ws,
          user_id: event.data.userId,
          role: event.data.role,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'user_id'])
            .doUpdateSet({ role: event.data.role, updated_at: at }),
        )
        .execute();
      return;
    case 'MemberRemoved':
      await trx
        .deleteFrom('workspace_members')
        .where('workspace_id', '=', ws)
        .where('user_id', '=', event.data.userId)
        .execute();
      return;
    case 'SubjectErased': {
      // Live, the rows still hold the plain email and name; on a rebuild they hold the
      // placeholder already (the sealed fields read so once the key is gone): both end equal.
      const placeholder = erasedPlaceholder(event.data.subjectId);
      const user = await trx
        .selectFrom('users')
        .select('email')
        .where('workspace_id', '=', ws)
        .where('user_id', '=', event.data.userId)
        .executeTakeFirst();
      if (user && user.email !== placeholder)
        await trx
          .updateTable('workspace_invitations')
          .set({ email: placeholder })
          .where('email', '=', user.email)
          .execute();
      await trx
        .updateTable('users')
        .set({
          email: placeholder,
          display_name: placeholder,
          password_hash: null,
          oidc_subject: null,
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('user_id', '=', event.data.userId)
        .execute();
      await trx.deleteFrom('workspace_members').where('user_id', '=', event.data.userId).execute();
      return;
    }
    default:
      assertNever(event);
  }
}

/**
 * `users`: user accounts (in their organisation's workspace id), workspace memberships and
 * pending invitations (docs/auth.md, "Users and sessions"). Sessions are not projected: they are
 * the API's operational state.
 */
export const usersProjection: Projection = {
  name: 'users',
  version: 1,
  handles,
  tables: ['users', 'workspace_members', 'workspace_invitations'],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
