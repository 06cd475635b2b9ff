import { z } from 'zod';
import { entityId, keyValue } from '../common.ts';

/**
 * Model registry events. One stream per registered model (`registered-model-<modelId>`); its
 * versions are events on that stream, so optimistic concurrency on the stream allocates version
 * numbers. Every event carries `modelId` and `name` (the model's name when the event happened)
 * so that consumers such as webhooks need no lookup.
 */

export const modelStage = z.enum(['NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED']);
export type ModelStage = z.infer<typeof modelStage>;

export const modelVersionStatus = z.enum(['PENDING_REGISTRATION', 'READY', 'FAILED_REGISTRATION']);
export type ModelVersionStatus = z.infer<typeof modelVersionStatus>;

const modelRef = { modelId: entityId, name: z.string() };
const versionNumber = z.number().int().positive();

export const registeredModelCreatedV1 = z.object({
  ...modelRef,
  description: z.string().nullable(),
  tags: z.array(keyValue),
});
/** `name` is the new name. */
export const registeredModelRenamedV1 = z.object({ ...modelRef, previousName: z.string() });
export const registeredModelDescriptionSetV1 = z.object({ ...modelRef, description: z.string() });
export const registeredModelTagSetV1 = z.object({
  ...modelRef,
  key: z.string(),
  value: z.string(),
});
export const registeredModelTagDeletedV1 = z.object({ ...modelRef, key: z.string() });
export const registeredModelDeletedV1 = z.object({ ...modelRef });

export const modelVersionCreatedV1 = z.object({
  ...modelRef,
  version: versionNumber,
  source: z.string(),
  runId: entityId.nullable(),
  description: z.string().nullable(),
  tags: z.array(keyValue),
  status: modelVersionStatus,
});
export const modelVersionDescriptionSetV1 = z.object({
  ...modelRef,
  version: versionNumber,
  description: z.string(),
});
export const modelVersionTagSetV1 = z.object({
  ...modelRef,
  version: versionNumber,
  key: z.string(),
  value: z.string(),
});
export const modelVersionTagDeletedV1 = z.object({
  ...modelRef,
  version: versionNumber,
  key: z.string(),
});
/** Aliases pointing at the version are removed by ModelAliasDeleted events before this one. */
export const modelVersionDeletedV1 = z.object({ ...modelRef, version: versionNumber });
export const modelVersionStageTransitionedV1 = z.object({
  ...modelRef,
  version: versionNumber,
  fromStage: modelStage,
  toStage: modelStage,
  /** Other versions moved from `toStage` to ARCHIVED by this transition (archiveExistingVersions). */
  archivedVersions: z.array(versionNumber),
});
export const modelAliasSetV1 = z.object({
  ...modelRef,
  alias: z.string(),
  version: versionNumber,
  /** The version the alias pointed at before, null when it is new. */
  previousVersion: versionNumber.nullable(),
});
export const modelAliasDeletedV1 = z.object({
  ...modelRef,
  alias: z.string(),
  version: versionNumber,
});
