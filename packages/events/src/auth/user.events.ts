import { z } from 'zod';
import { entityId } from '../common.ts';

/**
 * Users, memberships and logins (docs/auth.md, "Users and sessions").
 *
 * - `user-<userId>` streams (appended in the user's organisation: the event's workspace id is
 *   the organisation id, `default` in local mode): UserCreated, UserPasswordChanged,
 *   UserIdentityLinked, LoginSucceeded.
 * - `workspace-<workspaceId>` streams: MemberInvited, MemberRoleSet, MemberRemoved.
 * - `login-failures` (one stream per organisation, appended without a version check and rate
 *   limited): LoginFailed.
 *
 * No password and no session token is ever in an event. `passwordHash` is an Argon2id PHC
 * string (salted, memory-hard), never the password. `email` and `displayName` are personal
 * data: stored encrypted with the subject's key (personal-data.ts; docs/governance.md,
 * "Erasure"); `SubjectErased` (on the user stream) records that the key is gone.
 */

/** Built-in role names, or a workspace's custom role name. */
const roleName = z.string().min(1).max(64);
const email = z.string().min(3).max(254);

export const userCreatedV1 = z.object({
  userId: entityId,
  organizationId: z.string(),
  email,
  displayName: z.string(),
  /** Argon2id PHC string; null for a user who signs in only through OIDC. */
  passwordHash: z.string().nullable(),
  /** `<issuer> <sub>` of the OIDC identity that created the user, or null. */
  oidcSubject: z.string().nullable(),
});
/** An existing user (matched by a verified email) linked to an OIDC identity at its first login. */
export const userIdentityLinkedV1 = z.object({
  userId: entityId,
  /** `<issuer> <sub>`, as in UserCreated. */
  oidcSubject: z.string().min(3).max(600),
});
export const userPasswordChangedV1 = z.object({
  userId: entityId,
  passwordHash: z.string(),
});

export const memberInvitedV1 = z.object({
  /** The existing user invited, or null when the email has no user yet. */
  userId: entityId.nullable(),
  email,
  role: roleName,
  invitedBy: z.string(),
});
export const memberRoleSetV1 = z.object({
  userId: entityId,
  role: roleName,
  previousRole: roleName.nullable(),
});
export const memberRemovedV1 = z.object({ userId: entityId });

export const loginMethod = z.enum(['password', 'oidc']);
export const loginSucceededV1 = z.object({
  userId: entityId,
  method: loginMethod,
  remoteAddress: z.string().nullable(),
});
export const loginFailedV1 = z.object({
  /** As typed (trimmed, lower-cased, cut to 254 characters): may name no user. */
  email: z.string(),
  method: loginMethod,
  reason: z.enum(['unknown-user', 'bad-password', 'no-password', 'backoff', 'oidc-rejected']),
  remoteAddress: z.string().nullable(),
});

/**
 * A user's data subject was erased (docs/governance.md, "Erasure"): its key is deleted in the
 * same transaction, so every personal field sealed with it reads as the erased placeholder. No
 * personal data in it; irreversible.
 */
export const subjectErasedV1 = z.object({
  subjectId: z.string().min(1).max(100),
  userId: entityId,
});
