import { appendToStream, readStream } from '@cairn/db';
import {
  ACCESS_DENIED_STREAM_ID,
  apiKeyStreamId,
  serviceAccountStreamId,
  decodeEvent,
  workspaceIdSchema,
  workspaceStreamId,
  type EventData,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import { newEvent } from '../write/decider.ts';
import type { ServiceDeps } from '../write/services.ts';
import { apiKeyDecider, workspaceDecider, type WorkspaceState } from './access.decider.ts';
import { serviceAccountDecider } from './service-account.decider.ts';
import { AUTH_PROJECTION, hashSecret, newApiKey } from './api-keys.ts';
import { grants, isRole, isScope, type CustomRole, type Role } from './scopes.ts';
import { DEFAULT_ORGANIZATION_ID, setMemberRole, validateRole } from './user.commands.ts';

/** Longest key lifetime accepted (ten years). */
const MAX_KEY_LIFETIME_MS = 10 * 366 * 24 * 3600 * 1000;

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

function cleanName(value: string, field: string, max = 200): string {
  const name = value.trim();
  if (name.length < 1 || name.length > max)
    throw new CairnError('INVALID_ARGUMENT', `${field} must be 1–${max} characters`, { field });
  return name;
}

/** A workspace's decision state from its stream (consistent; no projection lag). */
export async function loadWorkspace(deps: ServiceDeps, workspaceId: string) {
  const stream = await readStream(deps.db, workspaceId, workspaceStreamId(workspaceId));
  let state: WorkspaceState = workspaceDecider.initialState();
  for (const raw of stream.events) state = workspaceDecider.evolve(state, decodeEvent(raw));
  return state;
}

/** The role a name stands for in a workspace: built-in, or a custom role defined there. */
export async function roleIn(
  deps: ServiceDeps,
  workspaceId: string,
  name: string,
): Promise<Role | CustomRole> {
  const role = validateRole(name);
  if (isRole(role)) return role;
  const scopes = (await loadWorkspace(deps, workspaceId)).customRoles.get(role);
  if (!scopes)
    throw new CairnError('INVALID_ARGUMENT', `Unknown role "${name}" in this workspace`, {
      field: 'role',
    });
  return { name: role, scopes: scopes.filter(isScope) };
}

export interface CreateWorkspaceInput {
  /** The workspace id: 1–63 letters, digits, `_` or `-` (what `x-cairn-workspace` names). */
  id: string;
  /** Display name; default: the id. */
  name?: string | null;
  organizationId?: string;
  /** A user who becomes the new workspace's owner (the dashboard's creator). */
  ownerUserId?: string | null;
}

export async function createWorkspace(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateWorkspaceInput,
): Promise<{ workspaceId: string }> {
  const parsed = workspaceIdSchema.safeParse(input.id);
  if (!parsed.success)
    throw new CairnError(
      'INVALID_ARGUMENT',
      'A workspace id is 1–63 letters, digits, "_" or "-", starting with a letter or digit',
      { field: 'id' },
    );
  const workspaceId = parsed.data;
  // A workspace in use without a WorkspaceCreated event (named by a key, a header in auth mode
  // off, or `default`) is not free: creating it would hand its data to the creator.
  const used = await deps.db
    .selectFrom('events')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .limit(1)
    .executeTakeFirst();
  if (used || workspaceId === 'default')
    throw new CairnError('ALREADY_EXISTS', `Workspace "${workspaceId}" exists already`, {
      workspaceId,
    });
  const result = await handleCommand(
    deps,
    { workspaceId, metadata: caller.metadata },
    {
      decider: workspaceDecider,
      streamId: workspaceStreamId(workspaceId),
      streamType: 'workspace',
      command: {
        type: 'CreateWorkspace',
        data: {
          workspaceId,
          organizationId: input.organizationId ?? DEFAULT_ORGANIZATION_ID,
          name: cleanName(input.name ?? workspaceId, 'name'),
          createdBy: caller.metadata.actor,
        },
      },
    },
  );
  await waitForAuth(deps, result.events);
  if (input.ownerUserId)
    await setMemberRole(
      deps,
      { workspaceId, metadata: caller.metadata },
      { userId: input.ownerUserId, role: 'owner' },
    );
  return { workspaceId };
}

export interface CreateApiKeyInput {
  name: string;
  role: string;
  /** ISO time; null or absent: no expiry. */
  expiresAt?: string | Date | null;
  /** Every workspace of the organisation instead of the caller's workspace (built-in roles). */
  organizationWide?: boolean;
  organizationId?: string;
  /** Issue the key to this service account of the caller's workspace (docs/auth.md). */
  serviceAccountId?: string | null;
}

/** The live service account a key is issued to (its stream; consistent), or NOT_FOUND. */
async function serviceAccountRole(
  deps: ServiceDeps,
  workspaceId: string,
  serviceAccountId: string,
): Promise<Role | CustomRole> {
  const stream = /^[0-9a-f]{32}$/.test(serviceAccountId)
    ? await readStream(deps.db, workspaceId, serviceAccountStreamId(serviceAccountId))
    : { events: [] };
  let state = serviceAccountDecider.initialState();
  for (const raw of stream.events) state = serviceAccountDecider.evolve(state, decodeEvent(raw));
  if (!state.exists || state.deleted)
    throw new CairnError('NOT_FOUND', `Service account ${serviceAccountId} not found`, {
      serviceAccountId,
    });
  return roleIn(deps, workspaceId, state.role);
}

/**
 * Creates an API key in the caller's workspace (or organisation-wide) and returns its text, the
 * only time it is ever shown. `granter`: the creator's role in the workspace, which must hold
 * every scope the key's role grants (null: a bootstrap call, `cairn keys create`, or anonymous
 * in auth mode off).
 */
export async function createApiKey(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateApiKeyInput,
  granter: Role | CustomRole | null,
): Promise<{ keyId: string; secret: string }> {
  const name = cleanName(input.name, 'name');
  const organizationId = input.organizationId ?? DEFAULT_ORGANIZATION_ID;
  const role = input.organizationWide
    ? validateRole(input.role)
    : await roleIn(deps, caller.workspaceId, input.role);
  if (input.organizationWide && !isRole(role as string))
    throw new CairnError(
      'INVALID_ARGUMENT',
      'An organisation-wide key takes a built-in role (owner, admin, member, viewer)',
      { field: 'role' },
    );
  if (granter !== null && !grants(granter, role as Role | CustomRole))
    throw new CairnError(
      'PERMISSION_DENIED',
      'A key may not grant more than its creator holds in this workspace',
      { field: 'role' },
    );
  const serviceAccountId = input.serviceAccountId ?? null;
  if (serviceAccountId !== null) {
    if (input.organizationWide)
      throw new CairnError(
        'INVALID_ARGUMENT',
        'A service account acts in its workspace: its keys are not organisation-wide',
        { field: 'organizationWide' },
      );
    const accountRole = await serviceAccountRole(deps, caller.workspaceId, serviceAccountId);
    if (!grants(accountRole, role as Role | CustomRole))
      throw new CairnError(
        'PERMISSION_DENIED',
        "A service account's key may not grant more than the account's role",
        { field: 'role' },
      );
  }
  let expiresAt: string | null = null;
  if (input.expiresAt !== undefined && input.expiresAt !== null) {
    const t =
      input.expiresAt instanceof Date ? input.expiresAt.getTime() : Date.parse(input.expiresAt);
    const now = deps.decideContext.now().getTime();
    if (!Number.isFinite(t))
      throw new CairnError('INVALID_ARGUMENT', 'expiresAt is not a valid time', {
        field: 'expiresAt',
      });
    if (t <= now)
      throw new CairnError('INVALID_ARGUMENT', 'expiresAt must be in the future', {
        field: 'expiresAt',
      });
    if (t - now > MAX_KEY_LIFETIME_MS)
      throw new CairnError('INVALID_ARGUMENT', 'expiresAt is at most ten years ahead', {
        field: 'expiresAt',
      });
    expiresAt = new Date(t).toISOString();
  }
  const key = newApiKey();
  const data: EventData<'ApiKeyCreated'> = {
    keyId: key.keyId,
    name,
    workspaceId: input.organizationWide ? null : caller.workspaceId,
    organizationId,
    role: typeof role === 'string' ? role : role.name,
    secretHash: hashSecret(key.secret),
    expiresAt,
    createdBy: caller.metadata.actor,
    serviceAccountId,
  };
  const result = await handleCommand(
    deps,
    {
      workspaceId: input.organizationWide ? organizationId : caller.workspaceId,
      metadata: caller.metadata,
    },
    {
      decider: apiKeyDecider,
      streamId: apiKeyStreamId(key.keyId),
      streamType: 'api-key',
      command: { type: 'CreateApiKey', data },
    },
  );
  await waitForAuth(deps, result.events);
  return { keyId: key.keyId, secret: key.text };
}

/** Revokes a key of the caller's workspace (NOT_FOUND for any other workspace's key). */
export async function revokeApiKey(
  deps: ServiceDeps,
  caller: Caller,
  keyId: string,
): Promise<void> {
  if (!/^[a-z2-7]{12}$/.test(keyId))
    throw new CairnError('NOT_FOUND', `API key ${keyId} not found`, { keyId });
  const result = await handleCommand(deps, caller, {
    decider: apiKeyDecider,
    streamId: apiKeyStreamId(keyId),
    streamType: 'api-key',
    command: { type: 'RevokeApiKey', keyId, revokedBy: caller.metadata.actor },
  });
  await waitForAuth(deps, result.events);
}

export async function defineCustomRole(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; scopes: readonly string[] },
): Promise<void> {
  const name = validateRole(input.name);
  if (isRole(name))
    throw new CairnError('INVALID_ARGUMENT', `"${name}" is a built-in role`, { field: 'name' });
  const scopes = [...new Set(input.scopes.map((s) => s.trim()))].sort();
  for (const s of scopes)
    if (!isScope(s))
      throw new CairnError('INVALID_ARGUMENT', `Unknown scope "${s}"`, { field: 'scopes' });
  if (scopes.length === 0)
    throw new CairnError('INVALID_ARGUMENT', 'A custom role needs at least one scope', {
      field: 'scopes',
    });
  const result = await handleCommand(deps, caller, {
    decider: workspaceDecider,
    streamId: workspaceStreamId(caller.workspaceId),
    streamType: 'workspace',
    command: { type: 'DefineCustomRole', name, scopes },
  });
  await waitForAuth(deps, result.events);
}

export async function deleteCustomRole(deps: ServiceDeps, caller: Caller, name: string) {
  const result = await handleCommand(deps, caller, {
    decider: workspaceDecider,
    streamId: workspaceStreamId(caller.workspaceId),
    streamType: 'workspace',
    command: { type: 'DeleteCustomRole', name: validateRole(name) },
  });
  await waitForAuth(deps, result.events);
}

/** Appended without a version check: denials obey no rule against each other. */
export async function recordAccessDenied(
  deps: ServiceDeps,
  caller: Caller,
  data: EventData<'AccessDenied'>,
): Promise<void> {
  const result = await appendToStream(deps.db, {
    workspaceId: caller.workspaceId,
    streamId: ACCESS_DENIED_STREAM_ID,
    streamType: 'access-denied',
    expectedVersion: 'any',
    events: [newEvent(deps.decideContext, 'AccessDenied', data)],
    metadata: caller.metadata,
  });
  deps.onAppended?.(result.events);
}
