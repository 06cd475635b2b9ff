import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = [
  'WorkspaceCreated',
  'CustomRoleDefined',
  'CustomRoleDeleted',
  'ApiKeyCreated',
  'ApiKeyRevoked',
  'ServiceAccountCreated',
  'ServiceAccountDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  switch (event.type) {
    case 'WorkspaceCreated': {
      const d = event.data;
      await trx
        .insertInto('workspaces')
        .values({
          workspace_id: d.workspaceId,
          organization_id: d.organizationId,
          name: d.name,
          created_by: d.createdBy,
          created_at: at,
        })
        .onConflict((oc) => oc.column('workspace_id').doNothing())
        .execute();
      return;
    }
    case 'CustomRoleDefined':
      await trx
        .insertInto('custom_roles')
        .values({
          workspace_id: ws,
          name: event.data.name,
          scopes: JSON.stringify(event.data.scopes),
          updated_at: at,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'name'])
            .doUpdateSet({ scopes: JSON.stringify(event.data.scopes), updated_at: at }),
        )
        .execute();
      return;
    case 'CustomRoleDeleted':
      await trx
        .deleteFrom('custom_roles')
        .where('workspace_id', '=', ws)
        .where('name', '=', event.data.name)
        .execute();
      return;
    case 'ApiKeyCreated': {
      const d = event.data;
      await trx
        .insertInto('api_keys')
        .values({
          workspace_id: ws,
          key_id: d.keyId,
          scope_workspace_id: d.workspaceId,
          organization_id: d.organizationId,
          name: d.name,
          role: d.role,
          secret_hash: d.secretHash,
          expires_at: d.expiresAt,
          created_by: d.createdBy,
          created_at: at,
          revoked_at: null,
          revoked_by: null,
          service_account_id: d.serviceAccountId,
        })
        .onConflict((oc) => oc.column('key_id').doNothing())
        .execute();
      return;
    }
    case 'ApiKeyRevoked':
      await trx
        .updateTable('api_keys')
        .set({ revoked_at: at, revoked_by: event.data.revokedBy })
        .where('key_id', '=', event.data.keyId)
        .where('revoked_at', 'is', null)
        .execute();
      return;
    case 'ServiceAccountCreated': {
      const d = event.data;
      await trx
        .insertInto('service_accounts')
        .values({
          workspace_id: ws,
          service_account_id: d.serviceAccountId,
          name: d.name,
          description: d.description,
          role: d.role,
          created_by: d.createdBy,
          created_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'service_account_id']).doNothing())
        .execute();
      return;
    }
    case 'ServiceAccountDeleted':
      await trx
        .deleteFrom('service_accounts')
        .where('workspace_id', '=', ws)
        .where('service_account_id', '=', event.data.serviceAccountId)
        .execute();
      return;
    default:
      assertNever(event);
  }
}

/**
 * `auth`: workspaces, custom roles, API keys and service accounts (docs/auth.md). Its change notices also tell
 * every API process to drop a revoked key from its credential cache at once.
 */
export const authProjection: Projection = {
  name: 'auth',
  version: 1,
  handles,
  tables: ['workspaces', 'custom_roles', 'api_keys', 'service_accounts'],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
