import type { Kysely } from 'kysely';
import {
  appendInTransaction,
  appendToStream,
  eraseSubjectKey,
  readStream,
  subjectForEmail,
  type DB,
} from '@cairn/db';
import {
  decodeEvent,
  LOGIN_FAILURES_STREAM_ID,
  newEntityId,
  userStreamId,
  workspaceStreamId,
  type EventData,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, toCairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import { newEvent } from '../write/decider.ts';
import type { ServiceDeps } from '../write/services.ts';
import { memberDecider, type MemberCommand } from './member.decider.ts';
import { hashPassword, validatePassword } from './passwords.ts';
import { userDecider, type UserCommand, type UserState } from './user.decider.ts';

/** Unique-key scope of user emails (per organisation) in the event store. */
export const USER_EMAIL_SCOPE = 'user-email';
/** Unique-key scope of OIDC identities (`<issuer> <sub>`, per organisation): one user each. */
export const USER_OIDC_SCOPE = 'user-oidc';
/** The projection user and member mutations wait for (read-your-writes). */
export const USERS_PROJECTION = 'users';
export const DEFAULT_ORGANIZATION_ID = 'default';
const BUILT_IN_ROLES = ['owner', 'admin', 'member', 'viewer'];
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** Emails compare lower-cased and trimmed; at most 254 characters (RFC 5321). */
export function normaliseEmail(email: string): string {
  const value = email.trim().toLowerCase();
  if (value.length < 3 || value.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(value))
    throw new CairnError('INVALID_ARGUMENT', 'Not a valid email address', { field: 'email' });
  return value;
}

export function validateRole(role: string): string {
  const value = role.trim().toLowerCase();
  if (!BUILT_IN_ROLES.includes(value) && !ROLE_NAME.test(value))
    throw new CairnError('INVALID_ARGUMENT', `Unknown role "${role}"`, { field: 'role' });
  return value;
}

/** The caller that appends to an organisation's user streams (workspace id = organisation id). */
function orgCaller(caller: Caller, organizationId: string): Caller {
  return { workspaceId: organizationId, metadata: caller.metadata };
}

async function waitForUsers(deps: ServiceDeps, events: readonly StoredEventEnvelope[]) {
  const last = events.at(-1);
  if (!last) return;
  await deps.changes.waitFor(
    last.workspaceId,
    last.streamId,
    last.streamPosition,
    [USERS_PROJECTION],
    deps.readYourWritesTimeoutMs,
  );
}

async function executeUser(
  deps: ServiceDeps,
  caller: Caller,
  organizationId: string,
  command: UserCommand,
) {
  return handleCommand(deps, orgCaller(caller, organizationId), {
    decider: userDecider,
    streamId: userStreamId(command.userId),
    streamType: 'user',
    command,
    ignoredEvents: ['LoginSucceeded'],
    uniqueKeys: (_state, events) => {
      const claim: { scope: string; key: string }[] = [];
      for (const e of events) {
        if (e.type !== 'UserCreated' && e.type !== 'UserIdentityLinked') continue;
        const data = e.data as { email?: string; oidcSubject?: string | null };
        if (data.email) claim.push({ scope: USER_EMAIL_SCOPE, key: data.email });
        if (data.oidcSubject) claim.push({ scope: USER_OIDC_SCOPE, key: data.oidcSubject });
      }
      return claim.length ? { claim } : {};
    },
  });
}

/** The user id an email belongs to, from the event store's unique keys (consistent). */
export async function findUserIdByEmail(
  db: Kysely<DB>,
  organizationId: string,
  email: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', organizationId)
    .where('scope', '=', USER_EMAIL_SCOPE)
    .where('key', '=', email)
    .executeTakeFirst();
  return row ? row.stream_id.slice('user-'.length) : null;
}

/** The user an OIDC identity (`<issuer> <sub>`) belongs to, from the event store (consistent). */
export async function findUserIdByOidcSubject(
  db: Kysely<DB>,
  organizationId: string,
  oidcSubject: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', organizationId)
    .where('scope', '=', USER_OIDC_SCOPE)
    .where('key', '=', oidcSubject)
    .executeTakeFirst();
  return row ? row.stream_id.slice('user-'.length) : null;
}

/**
 * Links an existing user to an OIDC identity (its first OIDC login, matched by a verified
 * email): `UserIdentityLinked`, the identity claimed in the event store so that it names one
 * user only.
 */
export async function linkOidcIdentity(
  deps: ServiceDeps,
  caller: Caller,
  organizationId: string,
  userId: string,
  oidcSubject: string,
): Promise<void> {
  const result = await executeUser(deps, caller, organizationId, {
    type: 'LinkOidcIdentity',
    userId,
    oidcSubject,
  }).catch((error: unknown) => {
    if (error instanceof CairnError && error.code === 'ALREADY_EXISTS')
      throw new CairnError('ALREADY_EXISTS', 'This identity belongs to another user', {
        field: 'oidcSubject',
      });
    throw error;
  });
  await waitForUsers(deps, result.events);
}

/** A user's decision state, read from its stream (consistent; no projection lag). */
export async function loadUser(
  db: Kysely<DB>,
  organizationId: string,
  userId: string,
): Promise<UserState | null> {
  const stream = await readStream(db, organizationId, userStreamId(userId), {
    excludeTypes: ['LoginSucceeded'],
  });
  let state = userDecider.initialState();
  for (const raw of stream.events) state = userDecider.evolve(state, decodeEvent(raw));
  return state.exists ? state : null;
}

export interface CreateUserInput {
  email: string;
  displayName?: string | null;
  /** Plain password (hashed here with Argon2id) or null for an OIDC-only user. */
  password: string | null;
  oidcSubject?: string | null;
  organizationId?: string;
  /** Make the new user a member of this workspace with this role. */
  membership?: { workspaceId: string; role: string } | null;
}

/**
 * Creates a user (an admin's call, the CLI's `cairn users create`, an accepted invitation or a
 * first OIDC login). The email is claimed in the event store, so two creations of one email
 * cannot both succeed.
 */
export async function createUser(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateUserInput,
): Promise<{ userId: string; email: string }> {
  const email = normaliseEmail(input.email);
  const organizationId = input.organizationId ?? DEFAULT_ORGANIZATION_ID;
  if (input.password !== null) validatePassword(input.password);
  const displayName = (input.displayName ?? '').trim() || email.split('@')[0]!;
  if (displayName.length > 200)
    throw new CairnError('INVALID_ARGUMENT', 'A display name has at most 200 characters', {
      field: 'displayName',
    });
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  const userId = newEntityId(deps.decideContext.newId);
  const result = await executeUser(deps, caller, organizationId, {
    type: 'CreateUser',
    userId,
    organizationId,
    email,
    displayName,
    passwordHash,
    oidcSubject: input.oidcSubject ?? null,
  }).catch((error: unknown) => {
    if (error instanceof CairnError && error.code === 'ALREADY_EXISTS')
      throw new CairnError('ALREADY_EXISTS', 'A user with this email exists already', {
        field: 'email',
      });
    throw error;
  });
  await waitForUsers(deps, result.events);
  if (input.membership)
    await setMemberRole(
      deps,
      { ...caller, workspaceId: input.membership.workspaceId },
      { userId, role: input.membership.role },
    );
  return { userId, email };
}

/** Sets a new password; the caller revokes the user's sessions (sessions.ts). */
export async function changePassword(
  deps: ServiceDeps,
  caller: Caller,
  organizationId: string,
  userId: string,
  password: string,
): Promise<void> {
  validatePassword(password);
  const passwordHash = await hashPassword(password);
  const result = await executeUser(deps, caller, organizationId, {
    type: 'ChangePassword',
    userId,
    passwordHash,
  });
  await waitForUsers(deps, result.events);
}

export async function recordLoginSucceeded(
  deps: ServiceDeps,
  caller: Caller,
  organizationId: string,
  data: { userId: string; method: 'password' | 'oidc'; remoteAddress: string | null },
): Promise<void> {
  await executeUser(deps, caller, organizationId, { type: 'RecordLogin', ...data });
}

/** Appended without a version check: failed logins obey no rule against each other. */
export async function recordLoginFailed(
  deps: ServiceDeps,
  caller: Caller,
  organizationId: string,
  data: EventData<'LoginFailed'>,
): Promise<void> {
  const event = newEvent(deps.decideContext, 'LoginFailed', data);
  const result = await appendToStream(deps.db, {
    workspaceId: organizationId,
    streamId: LOGIN_FAILURES_STREAM_ID,
    streamType: 'login-failures',
    expectedVersion: 'any',
    events: [event],
    metadata: caller.metadata,
  });
  deps.onAppended?.(result.events);
}

async function executeMember(deps: ServiceDeps, caller: Caller, command: MemberCommand) {
  const result = await handleCommand(deps, caller, {
    decider: memberDecider,
    streamId: workspaceStreamId(caller.workspaceId),
    streamType: 'workspace',
    command,
  });
  await waitForUsers(deps, result.events);
  return result;
}

/**
 * Invites an email into the caller's workspace. An email with a user already makes that user a
 * member at once; otherwise the invitation waits for a user with that email (createUser or a
 * first OIDC login) and becomes a membership then.
 */
export async function inviteMember(
  deps: ServiceDeps,
  caller: Caller,
  input: { email: string; role: string; organizationId?: string },
): Promise<{ userId: string | null; email: string; role: string }> {
  const email = normaliseEmail(input.email);
  const role = validateRole(input.role);
  const userId = await findUserIdByEmail(
    deps.db,
    input.organizationId ?? DEFAULT_ORGANIZATION_ID,
    email,
  );
  await executeMember(deps, caller, {
    type: 'InviteMember',
    userId,
    email,
    role,
    invitedBy: caller.metadata.actor,
  });
  return { userId, email, role };
}

export async function setMemberRole(
  deps: ServiceDeps,
  caller: Caller,
  input: { userId: string; role: string; organizationId?: string },
): Promise<void> {
  const user = await loadUser(
    deps.db,
    input.organizationId ?? DEFAULT_ORGANIZATION_ID,
    input.userId,
  );
  if (!user)
    throw new CairnError('NOT_FOUND', `User ${input.userId} not found`, { userId: input.userId });
  if (user.erased)
    throw new CairnError('FAILED_PRECONDITION', `User ${input.userId} is erased`, {
      userId: input.userId,
    });
  await executeMember(deps, caller, {
    type: 'SetMemberRole',
    userId: input.userId,
    role: validateRole(input.role),
  });
}

/** Removes a member; its sessions lose the workspace at once (memberships are read per request). */
export async function removeMember(
  deps: ServiceDeps,
  caller: Caller,
  userId: string,
): Promise<void> {
  await executeMember(deps, caller, { type: 'RemoveMember', userId });
}

/**
 * Erases a user (docs/governance.md, "Erasure"): appends SubjectErased to the user's stream and,
 * in the same transaction, deletes the subject's key (every personal field sealed with it reads
 * as the erased placeholder from then on, in the log, the read models after the projection and
 * every rebuild), releases the user's email and OIDC identity and ends its sessions.
 * Irreversible; erasing an erased user changes nothing. Past events stay attributed to
 * `user:<id>`.
 */
export async function eraseUser(
  deps: ServiceDeps,
  caller: Caller,
  input: { userId: string; organizationId?: string },
): Promise<{ userId: string; subjectId: string | null; erased: boolean }> {
  const organizationId = input.organizationId ?? DEFAULT_ORGANIZATION_ID;
  const streamId = userStreamId(input.userId);
  const stream = await readStream(deps.db, organizationId, streamId, {
    excludeTypes: ['LoginSucceeded'],
  });
  let state = userDecider.initialState();
  for (const raw of stream.events) state = userDecider.evolve(state, decodeEvent(raw));
  if (!state.exists)
    throw new CairnError('NOT_FOUND', `User ${input.userId} not found`, { userId: input.userId });
  if (state.erased) return { userId: input.userId, subjectId: null, erased: false };
  // The subject of the user's email (created for a user whose events predate sealing: its
  // read-model rows are erased, its old event bodies are not; see the docs).
  const { subjectId } = await subjectForEmail(deps.db, organizationId, state.email);
  const events = userDecider.decide(
    { type: 'EraseUser', userId: input.userId, subjectId },
    state,
    deps.decideContext,
  );
  const releaseKeys = [{ scope: USER_EMAIL_SCOPE, key: state.email }];
  if (state.oidcSubject) releaseKeys.push({ scope: USER_OIDC_SCOPE, key: state.oidcSubject });
  const result = await deps.db
    .transaction()
    .execute(async (trx) => {
      const appended = await appendInTransaction(trx, {
        workspaceId: organizationId,
        streamId,
        streamType: 'user',
        expectedVersion: stream.version,
        events,
        metadata: caller.metadata,
        releaseKeys,
      });
      await eraseSubjectKey(trx, subjectId);
      await trx.deleteFrom('sessions').where('user_id', '=', input.userId).execute();
      return appended;
    })
    .catch((error: unknown) => {
      throw toCairnError(error);
    });
  deps.onAppended?.(result.events);
  await waitForUsers(deps, result.events);
  return { userId: input.userId, subjectId, erased: true };
}
