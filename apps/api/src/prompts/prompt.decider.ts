import { assertNever, type KeyValue, type PromptTemplate } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { validateKey, validateValue } from '../limits.ts';
import { newEvent, type DecideContext, type Decider } from '../write/decider.ts';
import {
  extractVariables,
  PROMPT_LIMITS,
  templateTexts,
  validateJsonObject,
  validateTemplate,
} from './prompt-template.ts';

// Names end up in URIs (`prompts:/<name>/<version>`, `prompts:/<name>@<alias>`): no "/" or "@".
const PROMPT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\- ]*$/u;
const ALIAS = /^[A-Za-z0-9_-]+$/u;

export function validatePromptName(raw: string, field = 'name'): string {
  const name = raw.trim();
  if (name.length === 0) throw invalidArgument('Prompt name must not be empty', { field });
  if (name.length > PROMPT_LIMITS.name)
    throw invalidArgument(`Prompt name is longer than ${PROMPT_LIMITS.name} characters`, {
      field,
    });
  if (!PROMPT_NAME.test(name))
    throw invalidArgument(
      `Invalid prompt name "${name.slice(0, 80)}": use letters, digits, "_", "-", "." and spaces, starting with a letter or digit`,
      { field },
    );
  return name;
}

export function validatePromptAlias(alias: string): string {
  const field = 'alias';
  if (alias.length === 0) throw invalidArgument('Alias must not be empty', { field });
  if (alias.length > PROMPT_LIMITS.alias)
    throw invalidArgument(`Alias is longer than ${PROMPT_LIMITS.alias} characters`, { field });
  if (!ALIAS.test(alias))
    throw invalidArgument(
      `Invalid alias "${alias.slice(0, 80)}": use letters, digits, "_" and "-"`,
      {
        field,
      },
    );
  if (alias.toLowerCase() === 'latest')
    throw invalidArgument('"latest" is reserved (prompts:/<name>@latest) and cannot be set', {
      field,
    });
  if (/^v\d+$/iu.test(alias))
    throw invalidArgument(`Alias "${alias}" looks like a version reference (v<number>)`, { field });
  return alias;
}

function validateDescription(description: string | null): string | null {
  if (description === null) return null;
  if (description.length > PROMPT_LIMITS.description)
    throw invalidArgument(`Description is longer than ${PROMPT_LIMITS.description} characters`, {
      field: 'description',
    });
  return description;
}

function validateCommitMessage(message: string | null): string | null {
  if (message === null) return null;
  if (message.length > PROMPT_LIMITS.commitMessage)
    throw invalidArgument(
      `commitMessage is longer than ${PROMPT_LIMITS.commitMessage} characters`,
      { field: 'commitMessage' },
    );
  return message;
}

function validateTag(key: string, value: string): void {
  validateKey('tag', key);
  validateValue('tag', key, value);
}

/** Tags of one create call: valid, at most PROMPT_LIMITS.tags distinct keys, last value wins. */
function validateTags(tags: readonly KeyValue[]): KeyValue[] {
  const byKey = new Map<string, string>();
  for (const tag of tags) {
    validateTag(tag.key, tag.value);
    byKey.set(tag.key, tag.value);
  }
  if (byKey.size > PROMPT_LIMITS.tags)
    throw invalidArgument(`At most ${PROMPT_LIMITS.tags} tags`, { field: 'tags' });
  return [...byKey].map(([key, value]) => ({ key, value }));
}

export interface PromptVersionInput {
  /** A text template, or null for a chat template. */
  template: string | null;
  messages: readonly { role: string; content: string }[] | null;
  responseFormat: unknown;
  modelConfig: unknown;
  commitMessage: string | null;
  tags: KeyValue[];
}

export type PromptCommand =
  | {
      type: 'CreatePrompt';
      promptId: string;
      name: string;
      description: string | null;
      tags: KeyValue[];
    }
  /** `name` in every other command is the name the caller addressed the prompt by. */
  | {
      type: 'CreatePromptVersion';
      name: string;
      input: PromptVersionInput;
      /** Create the prompt in the same append when the stream is empty (createPromptIfMissing). */
      createPromptId: string | null;
    }
  | { type: 'SetPromptTag'; name: string; key: string; value: string }
  | { type: 'DeletePromptTag'; name: string; key: string }
  | { type: 'SetPromptVersionTag'; name: string; version: number; key: string; value: string }
  | { type: 'DeletePromptVersionTag'; name: string; version: number; key: string }
  | { type: 'SetPromptAlias'; name: string; alias: string; version: number }
  | { type: 'DeletePromptAlias'; name: string; alias: string }
  | { type: 'ArchivePrompt'; name: string }
  | { type: 'UnarchivePrompt'; name: string }
  | { type: 'DeletePrompt'; name: string };

export interface PromptState {
  promptId: string | null;
  name: string;
  archived: boolean;
  deleted: boolean;
  /** Highest version number allocated; versions are never deleted, so 1..maxVersion exist. */
  maxVersion: number;
  /** Tag keys per version. */
  versionTagKeys: ReadonlyMap<number, ReadonlySet<string>>;
  aliases: ReadonlyMap<string, number>;
  tagKeys: ReadonlySet<string>;
}

function addKey(keys: ReadonlySet<string> | undefined, key: string): Set<string> {
  return new Set(keys).add(key);
}

function removeKey(keys: ReadonlySet<string> | undefined, key: string): Set<string> {
  const next = new Set(keys);
  next.delete(key);
  return next;
}

function requireVersion(state: PromptState, version: number): ReadonlySet<string> {
  const tags = state.versionTagKeys.get(version);
  if (tags === undefined)
    throw new CairnError('NOT_FOUND', `Prompt "${state.name}" has no version ${version}`, {
      name: state.name,
      version,
    });
  return tags;
}

function versionEvent(
  ctx: DecideContext,
  input: PromptVersionInput,
  state: PromptState,
  promptId: string,
) {
  const template: PromptTemplate = validateTemplate(input.template, input.messages);
  return newEvent(ctx, 'PromptVersionCreated', {
    promptId,
    name: state.name,
    version: state.maxVersion + 1,
    template,
    variables: extractVariables(templateTexts(template)),
    responseFormat: validateJsonObject('responseFormat', input.responseFormat) as never,
    modelConfig: validateJsonObject('modelConfig', input.modelConfig) as never,
    commitMessage: validateCommitMessage(input.commitMessage),
    tags: validateTags(input.tags),
  });
}

export const promptDecider: Decider<PromptCommand, PromptState> = {
  initialState: () => ({
    promptId: null,
    name: '',
    archived: false,
    deleted: false,
    maxVersion: 0,
    versionTagKeys: new Map(),
    aliases: new Map(),
    tagKeys: new Set(),
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'PromptCreated':
        return {
          ...state,
          promptId: event.data.promptId,
          name: event.data.name,
          tagKeys: new Set(event.data.tags.map((t) => t.key)),
        };
      case 'PromptTagSet':
        return { ...state, tagKeys: addKey(state.tagKeys, event.data.key) };
      case 'PromptTagDeleted':
        return { ...state, tagKeys: removeKey(state.tagKeys, event.data.key) };
      case 'PromptArchived':
        return { ...state, archived: true };
      case 'PromptUnarchived':
        return { ...state, archived: false };
      case 'PromptDeleted':
        return { ...state, deleted: true };
      case 'PromptVersionCreated': {
        const versionTagKeys = new Map(state.versionTagKeys);
        versionTagKeys.set(event.data.version, new Set(event.data.tags.map((t) => t.key)));
        return {
          ...state,
          versionTagKeys,
          maxVersion: Math.max(state.maxVersion, event.data.version),
        };
      }
      case 'PromptVersionTagSet':
      case 'PromptVersionTagDeleted': {
        const versionTagKeys = new Map(state.versionTagKeys);
        const current = versionTagKeys.get(event.data.version);
        versionTagKeys.set(
          event.data.version,
          event.type === 'PromptVersionTagSet'
            ? addKey(current, event.data.key)
            : removeKey(current, event.data.key),
        );
        return { ...state, versionTagKeys };
      }
      case 'PromptAliasSet': {
        const aliases = new Map(state.aliases);
        aliases.set(event.data.alias, event.data.version);
        return { ...state, aliases };
      }
      case 'PromptAliasDeleted': {
        const aliases = new Map(state.aliases);
        aliases.delete(event.data.alias);
        return { ...state, aliases };
      }
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreatePrompt') {
      if (state.promptId !== null)
        throw new CairnError('ALREADY_EXISTS', `Prompt ${command.promptId} already exists`);
      return [
        newEvent(ctx, 'PromptCreated', {
          promptId: command.promptId,
          name: validatePromptName(command.name),
          description: validateDescription(command.description),
          tags: validateTags(command.tags),
        }),
      ];
    }
    if (
      command.type === 'CreatePromptVersion' &&
      state.promptId === null &&
      command.createPromptId !== null
    ) {
      const created = newEvent(ctx, 'PromptCreated', {
        promptId: command.createPromptId,
        name: validatePromptName(command.name),
        description: null,
        tags: [],
      });
      const named = { ...promptDecider.initialState(), name: created.data.name };
      return [created, versionEvent(ctx, command.input, named, command.createPromptId)];
    }
    // The service found the stream by the addressed name; a concurrent delete makes that name
    // point nowhere, which is the same answer as for a name never registered.
    if (state.promptId === null || state.deleted || state.name !== command.name.trim()) {
      throw new CairnError('NOT_FOUND', `Prompt "${command.name}" not found`, {
        name: command.name,
      });
    }
    const ref = { promptId: state.promptId, name: state.name };
    switch (command.type) {
      case 'CreatePromptVersion':
        if (state.archived)
          throw invalidArgument(
            `Prompt "${state.name}" is archived: unarchive it before adding versions`,
            { field: 'name', reason: 'archived' },
          );
        return [versionEvent(ctx, command.input, state, state.promptId)];
      case 'SetPromptTag':
        validateTag(command.key, command.value);
        if (!state.tagKeys.has(command.key) && state.tagKeys.size >= PROMPT_LIMITS.tags)
          throw invalidArgument(`A prompt has at most ${PROMPT_LIMITS.tags} tags`, {
            field: 'key',
          });
        return [newEvent(ctx, 'PromptTagSet', { ...ref, key: command.key, value: command.value })];
      case 'DeletePromptTag':
        if (!state.tagKeys.has(command.key))
          throw new CairnError('NOT_FOUND', `Prompt "${state.name}" has no tag "${command.key}"`, {
            key: command.key,
          });
        return [newEvent(ctx, 'PromptTagDeleted', { ...ref, key: command.key })];
      case 'SetPromptVersionTag': {
        const keys = requireVersion(state, command.version);
        validateTag(command.key, command.value);
        if (!keys.has(command.key) && keys.size >= PROMPT_LIMITS.tags)
          throw invalidArgument(`A prompt version has at most ${PROMPT_LIMITS.tags} tags`, {
            field: 'key',
          });
        return [
          newEvent(ctx, 'PromptVersionTagSet', {
            ...ref,
            version: command.version,
            key: command.key,
            value: command.value,
          }),
        ];
      }
      case 'DeletePromptVersionTag': {
        const keys = requireVersion(state, command.version);
        if (!keys.has(command.key))
          throw new CairnError(
            'NOT_FOUND',
            `Version ${command.version} of "${state.name}" has no tag "${command.key}"`,
            { key: command.key },
          );
        return [
          newEvent(ctx, 'PromptVersionTagDeleted', {
            ...ref,
            version: command.version,
            key: command.key,
          }),
        ];
      }
      case 'SetPromptAlias': {
        const alias = validatePromptAlias(command.alias);
        requireVersion(state, command.version);
        const previous = state.aliases.get(alias) ?? null;
        if (previous === command.version) return [];
        return [
          newEvent(ctx, 'PromptAliasSet', {
            ...ref,
            alias,
            version: command.version,
            previousVersion: previous,
          }),
        ];
      }
      case 'DeletePromptAlias': {
        const version = state.aliases.get(command.alias);
        if (version === undefined)
          throw new CairnError(
            'NOT_FOUND',
            `Prompt "${state.name}" has no alias "${command.alias}"`,
            { alias: command.alias },
          );
        return [newEvent(ctx, 'PromptAliasDeleted', { ...ref, alias: command.alias, version })];
      }
      case 'ArchivePrompt':
        return state.archived ? [] : [newEvent(ctx, 'PromptArchived', ref)];
      case 'UnarchivePrompt':
        return state.archived ? [newEvent(ctx, 'PromptUnarchived', ref)] : [];
      case 'DeletePrompt':
        return [newEvent(ctx, 'PromptDeleted', ref)];
      default:
        return assertNever(command);
    }
  },
};
