import { readStream } from '@cairn/db';
import {
  decodeEvent,
  newEntityId,
  serviceAccountNameSchema,
  serviceAccountStreamId,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { revokeApiKey, roleIn } from './access.commands.ts';
import { AUTH_PROJECTION } from './api-keys.ts';
import { grants, type CustomRole, type Role } from './scopes.ts';
import { serviceAccountDecider, type ServiceAccountState } from './service-account.decider.ts';

/**
 * Service accounts (docs/auth.md, "Service accounts"): principals of a workspace that are not
 * users — no password, no session — and act only through the API keys issued to them. Names are
 * unique per workspace (an event-store unique key, released on deletion); deleting one revokes
 * its keys (ApiKeyRevoked events).
 */
export const SERVICE_ACCOUNT_NAME_SCOPE = 'service-account-name';
const MAX_DESCRIPTION = 1000;

async function waitForAuth(deps: ServiceDeps, events: readonly StoredEventEnvelope[]) {
  const last = events.at(-1);
  if (!last) return;
  await deps.changes.waitFor(
    last.workspaceId,
    last.streamId,
    last.streamPosition,
    [AUTH_PROJECTION],
    deps.readYourWritesTimeoutMs,
  );
}

export function validateServiceAccountName(value: string): string {
  const name = value.trim().toLowerCase();
  if (!serviceAccountNameSchema.safeParse(name).success)
    throw new CairnError(
      'INVALID_ARGUMENT',
      'A service account name is 1–63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
      { field: 'name' },
    );
  return name;
}

/** A service account's decision state from its stream (consistent), in the caller's workspace. */
export async function loadServiceAccount(
  deps: ServiceDeps,
  workspaceId: string,
  serviceAccountId: string,
): Promise<ServiceAccountState | null> {
  if (!/^[0-9a-f]{32}$/.test(serviceAccountId)) return null;
  const stream = await readStream(deps.db, workspaceId, serviceAccountStreamId(serviceAccountId));
  let state = serviceAccountDecider.initialState();
  for (const raw of stream.events) state = serviceAccountDecider.evolve(state, decodeEvent(raw));
  return state.exists && !state.deleted ? state : null;
}

/** The id of a live service account of a workspace by name (the unique key; consistent). */
export async function findServiceAccountIdByName(
  deps: ServiceDeps,
  workspaceId: string,
  name: string,
): Promise<string | null> {
  const row = await deps.db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .where('scope', '=', SERVICE_ACCOUNT_NAME_SCOPE)
    .where('key', '=', name.trim().toLowerCase())
    .executeTakeFirst();
  return row ? row.stream_id.slice('service-account-'.length) : null;
}

export interface CreateServiceAccountInput {
  name: string;
  description?: string | null;
  /** The strongest role a key of this account may have (built-in or a custom role here). */
  role: string;
}

/**
 * Creates a service account in the caller's workspace. `granter`: the creator's role there,
 * which must hold every scope of the account's role (null: `cairn service-accounts create`, or
 * anonymous in auth mode off).
 */
export async function createServiceAccount(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateServiceAccountInput,
  granter: Role | CustomRole | null,
): Promise<{ serviceAccountId: string; name: string }> {
  const name = validateServiceAccountName(input.name);
  const description = (input.description ?? '').trim();
  if (description.length > MAX_DESCRIPTION)
    throw new CairnError(
      'INVALID_ARGUMENT',
      `A description has at most ${MAX_DESCRIPTION} characters`,
      { field: 'description' },
    );
  const role = await roleIn(deps, caller.workspaceId, input.role);
  if (granter !== null && !grants(granter, role))
    throw new CairnError(
      'PERMISSION_DENIED',
      'A service account may not hold more than its creator holds in this workspace',
      { field: 'role' },
    );
  const serviceAccountId = newEntityId(deps.decideContext.newId);
  const result = await handleCommand(deps, caller, {
    decider: serviceAccountDecider,
    streamId: serviceAccountStreamId(serviceAccountId),
    streamType: 'service-account',
    command: {
      type: 'CreateServiceAccount',
      data: {
        serviceAccountId,
        name,
        description,
        role: typeof role === 'string' ? role : role.name,
        createdBy: caller.metadata.actor,
      },
    },
    uniqueKeys: () => ({ claim: [{ scope: SERVICE_ACCOUNT_NAME_SCOPE, key: name }] }),
  }).catch((error: unknown) => {
    if (error instanceof CairnError && error.code === 'ALREADY_EXISTS')
      throw new CairnError('ALREADY_EXISTS', `A service account named "${name}" exists already`, {
        field: 'name',
      });
    throw error;
  });
  await waitForAuth(deps, result.events);
  return { serviceAccountId, name };
}

/**
 * Deletes a service account of the caller's workspace (NOT_FOUND for another workspace's) and
 * revokes every key issued to it: ServiceAccountDeleted, then one ApiKeyRevoked per live key.
 * A key of a deleted account is refused even before its revocation lands (api-keys.ts).
 */
export async function deleteServiceAccount(
  deps: ServiceDeps,
  caller: Caller,
  serviceAccountId: string,
): Promise<{ revokedKeys: number }> {
  if (!/^[0-9a-f]{32}$/.test(serviceAccountId))
    throw new CairnError('NOT_FOUND', `Service account ${serviceAccountId} not found`, {
      serviceAccountId,
    });
  const result = await handleCommand(deps, caller, {
    decider: serviceAccountDecider,
    streamId: serviceAccountStreamId(serviceAccountId),
    streamType: 'service-account',
    command: { type: 'DeleteServiceAccount', serviceAccountId, deletedBy: caller.metadata.actor },
    uniqueKeys: (state) => ({ release: [{ scope: SERVICE_ACCOUNT_NAME_SCOPE, key: state.name }] }),
  });
  await waitForAuth(deps, result.events);
  const keys = await deps.db
    .selectFrom('api_keys')
    .select('key_id')
    .where('workspace_id', '=', caller.workspaceId)
    .where('service_account_id', '=', serviceAccountId)
    .where('revoked_at', 'is', null)
    .execute();
  for (const key of keys) await revokeApiKey(deps, caller, key.key_id);
  return { revokedKeys: keys.length };
}
