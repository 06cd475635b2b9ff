import { z } from 'zod';
import { entityId, isoTimestamp } from '../common.ts';

/**
 * Workspaces, custom roles, API keys and denied access (docs/auth.md).
 *
 * - `workspace-<workspaceId>` streams (the event's workspace id is the workspace itself):
 *   WorkspaceCreated, CustomRoleDefined, CustomRoleDeleted (members are user.events.ts').
 * - `api-key-<keyId>` streams: ApiKeyCreated, ApiKeyRevoked. A workspace key's events are in its
 *   workspace; an organisation-wide key's (workspaceId null) in the organisation's id.
 * - `service-account-<id>` streams (in their workspace): ServiceAccountCreated,
 *   ServiceAccountDeleted. A service account is a principal of its own (no password, no
 *   session); it acts through the API keys issued to it (ApiKeyCreated v2 `serviceAccountId`).
 * - `access-denied` (one stream per workspace, appended without a version check, at most one
 *   event per principal and operation every 10 s): AccessDenied.
 *
 * No key secret is ever in an event: `secretHash` is the SHA-256 of the secret (hex), enough to
 * check a presented key and useless to present one.
 */

/** Workspace ids: what the `x-cairn-workspace` header accepts. */
export const workspaceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/);
/** Key ids: 12 lowercase base32 characters (the `<keyId>` of `cairn_<keyId>_<secret>`). */
export const apiKeyIdSchema = z.string().regex(/^[a-z2-7]{12}$/);
const roleName = z.string().min(1).max(64);
const scope = z.string().min(1).max(64);

export const workspaceCreatedV1 = z.object({
  workspaceId: workspaceIdSchema,
  organizationId: z.string(),
  name: z.string().min(1).max(200),
  createdBy: z.string(),
});
export const customRoleDefinedV1 = z.object({
  name: roleName,
  scopes: z.array(scope).max(64),
});
export const customRoleDeletedV1 = z.object({ name: roleName });

export const apiKeyCreatedV1 = z.object({
  keyId: apiKeyIdSchema,
  name: z.string().min(1).max(200),
  /** The workspace the key acts in; null: every workspace of the organisation. */
  workspaceId: workspaceIdSchema.nullable(),
  organizationId: z.string(),
  role: roleName,
  /** SHA-256 of the secret, hex. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: isoTimestamp.nullable(),
  createdBy: z.string(),
});
/** v2: `serviceAccountId`, the service account the key acts as (null: a plain key). */
export const apiKeyCreatedV2 = apiKeyCreatedV1.extend({
  serviceAccountId: z.string().min(1).max(64).nullable(),
});
export const apiKeyRevokedV1 = z.object({
  keyId: apiKeyIdSchema,
  revokedBy: z.string(),
});

export const accessDeniedV1 = z.object({
  /** The actor (`key:<id>`, `user:<id>`, `anonymous`). */
  principal: z.string(),
  /** `Mutation.createRun`, `POST /api/2.0/mlflow/runs/create`, … */
  operation: z.string().max(300),
  /** The scope that was missing, or null (no role in the workspace, no credential). */
  scope: z.string().nullable(),
  code: z.enum(['UNAUTHENTICATED', 'PERMISSION_DENIED']),
  message: z.string().max(500),
});

/** Service account ids: what `newEntityId` makes (32 lowercase hex characters). */
export const serviceAccountIdSchema = entityId;
/** Service account names: unique per workspace; `sa:<name>` is the actor of their events. */
export const serviceAccountNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/);

export const serviceAccountCreatedV1 = z.object({
  serviceAccountId: serviceAccountIdSchema,
  name: serviceAccountNameSchema,
  description: z.string().max(1000),
  /** The strongest role a key of this service account may have. */
  role: roleName,
  createdBy: z.string(),
});
export const serviceAccountDeletedV1 = z.object({
  serviceAccountId: serviceAccountIdSchema,
  name: serviceAccountNameSchema,
  deletedBy: z.string(),
});
