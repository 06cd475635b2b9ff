import { z } from 'zod';
import { entityId, keyValue } from '../common.ts';

/**
 * Prompt registry events (docs/prompts.md). One stream per prompt (`prompt-<promptId>`); its
 * versions are events on that stream, so optimistic concurrency on the stream allocates version
 * numbers. Every event carries `promptId` and `name` so that consumers (webhooks) need no lookup.
 */

const promptRef = { promptId: entityId, name: z.string() };
const versionNumber = z.number().int().positive();

export const promptMessage = z.object({ role: z.string(), content: z.string() });
export type PromptMessage = z.infer<typeof promptMessage>;

/** A text template, or a chat template (a list of role/content messages). */
export const promptTemplate = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('chat'), messages: z.array(promptMessage).min(1) }),
]);
export type PromptTemplate = z.infer<typeof promptTemplate>;

/** A JSON object (model configuration, response format): plain JSON values only. */
export const jsonObject = z.record(z.string(), z.json());

export const promptCreatedV1 = z.object({
  ...promptRef,
  description: z.string().nullable(),
  tags: z.array(keyValue),
});
export const promptTagSetV1 = z.object({ ...promptRef, key: z.string(), value: z.string() });
export const promptTagDeletedV1 = z.object({ ...promptRef, key: z.string() });
export const promptArchivedV1 = z.object({ ...promptRef });
export const promptUnarchivedV1 = z.object({ ...promptRef });
/** Everything of the prompt leaves the read models; its name becomes free. */
export const promptDeletedV1 = z.object({ ...promptRef });

/** Immutable: nothing of a version but its tags ever changes. The author is the event's actor. */
export const promptVersionCreatedV1 = z.object({
  ...promptRef,
  version: versionNumber,
  template: promptTemplate,
  /** Distinct `{{name}}` placeholders, in order of first appearance. */
  variables: z.array(z.string()),
  responseFormat: jsonObject.nullable(),
  modelConfig: jsonObject.nullable(),
  commitMessage: z.string().nullable(),
  tags: z.array(keyValue),
});
export const promptVersionTagSetV1 = z.object({
  ...promptRef,
  version: versionNumber,
  key: z.string(),
  value: z.string(),
});
export const promptVersionTagDeletedV1 = z.object({
  ...promptRef,
  version: versionNumber,
  key: z.string(),
});
export const promptAliasSetV1 = z.object({
  ...promptRef,
  alias: z.string(),
  version: versionNumber,
  /** The version the alias pointed at before, null when it is new. */
  previousVersion: versionNumber.nullable(),
});
export const promptAliasDeletedV1 = z.object({
  ...promptRef,
  alias: z.string(),
  version: versionNumber,
});
