import { ArtifactPathError, validateArtifactDir } from '@cairn/artifacts';
import { assertNever, type KeyValue, type ModelStage } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { validateKey, validateValue } from '../limits.ts';
import { newEvent, type DecideContext, type Decider } from '../write/decider.ts';

/** Registry limits (docs/registry.md, "Limits"). */
export const REGISTRY_LIMITS = {
  modelName: 256,
  description: 10_000,
  source: 2048,
  alias: 255,
  /** Tags on one model, and tags on one version. */
  tags: 100,
} as const;

// Names end up in URIs (`models:/<name>/<version>`, `models:/<name>@<alias>`): no "/" or "@".
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\- ]*$/u;
const ALIAS = /^[A-Za-z0-9_-]+$/u;
const SOURCE_SCHEMES = ['runs:/', 'models:/', 's3://', 'file:'] as const;

export function validateModelName(raw: string, field = 'name'): string {
  const name = raw.trim();
  if (name.length === 0) throw invalidArgument('Model name must not be empty', { field });
  if (name.length > REGISTRY_LIMITS.modelName)
    throw invalidArgument(`Model name is longer than ${REGISTRY_LIMITS.modelName} characters`, {
      field,
    });
  if (!MODEL_NAME.test(name))
    throw invalidArgument(
      `Invalid model name "${name}": use letters, digits, "_", "-", "." and spaces, starting with a letter or digit`,
      { field },
    );
  return name;
}

export function validateAlias(alias: string): string {
  if (alias.length === 0) throw invalidArgument('Alias must not be empty', { field: 'alias' });
  if (alias.length > REGISTRY_LIMITS.alias)
    throw invalidArgument(`Alias is longer than ${REGISTRY_LIMITS.alias} characters`, {
      field: 'alias',
    });
  if (!ALIAS.test(alias))
    throw invalidArgument(`Invalid alias "${alias}": use letters, digits, "_" and "-"`, {
      field: 'alias',
    });
  if (alias.toLowerCase() === 'latest')
    throw invalidArgument('"latest" is reserved (models:/<name>/latest) and cannot be an alias', {
      field: 'alias',
    });
  if (/^v\d+$/iu.test(alias))
    throw invalidArgument(`Alias "${alias}" looks like a version reference (v<number>)`, {
      field: 'alias',
    });
  return alias;
}

function validateDescription(description: string): string {
  if (description.length > REGISTRY_LIMITS.description)
    throw invalidArgument(`Description is longer than ${REGISTRY_LIMITS.description} characters`, {
      field: 'description',
    });
  return description;
}

function validateTag(key: string, value: string): void {
  validateKey('tag', key);
  validateValue('tag', key, value);
}

/** Tags of one create call: valid, at most REGISTRY_LIMITS.tags distinct keys, last value wins. */
function validateTags(tags: readonly KeyValue[]): KeyValue[] {
  const byKey = new Map<string, string>();
  for (const tag of tags) {
    validateTag(tag.key, tag.value);
    byKey.set(tag.key, tag.value);
  }
  if (byKey.size > REGISTRY_LIMITS.tags)
    throw invalidArgument(`At most ${REGISTRY_LIMITS.tags} tags`, { field: 'tags' });
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** The run id a `runs:/<runId>/<path>` source names, or null for other schemes. */
export function runIdOfSource(source: string): string | null {
  const m = /^runs:\/([^/]+)(?:\/|$)/u.exec(source);
  return m ? m[1]! : null;
}

export function validateSource(source: string): string {
  if (source.length === 0) throw invalidArgument('source must not be empty', { field: 'source' });
  if (source.length > REGISTRY_LIMITS.source)
    throw invalidArgument(`source is longer than ${REGISTRY_LIMITS.source} characters`, {
      field: 'source',
    });
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f]/u.test(source))
    throw invalidArgument('source must not contain control characters', { field: 'source' });
  if (!SOURCE_SCHEMES.some((scheme) => source.startsWith(scheme)))
    throw invalidArgument(
      `Unsupported source "${source.slice(0, 80)}": use runs:/<runId>/<path>, models:/, s3:// or file:`,
      { field: 'source' },
    );
  if (source.startsWith('runs:/') && !/^runs:\/[0-9a-f]{32}(\/|$)/u.test(source))
    throw invalidArgument('A runs:/ source must look like runs:/<runId>/<artifact path>', {
      field: 'source',
    });
  if (source.startsWith('runs:/')) {
    // The artifact path is held to the artifact routes' rules: no "..", no backslash, no
    // absolute path, no percent escapes (SECURITY.md, "Model sources that point anywhere").
    try {
      validateArtifactDir(source.slice('runs:/'.length + 32 + 1));
    } catch (error) {
      if (error instanceof ArtifactPathError)
        throw invalidArgument(`Invalid source: ${error.message}`, { field: 'source' });
      throw error;
    }
  }
  return source;
}

export type RegisteredModelCommand =
  | {
      type: 'CreateRegisteredModel';
      modelId: string;
      name: string;
      description: string | null;
      tags: KeyValue[];
    }
  /** `name` in every other command is the name the caller addressed the model by. */
  | { type: 'RenameRegisteredModel'; name: string; newName: string }
  | { type: 'SetRegisteredModelDescription'; name: string; description: string }
  | { type: 'SetRegisteredModelTag'; name: string; key: string; value: string }
  | { type: 'DeleteRegisteredModelTag'; name: string; key: string }
  | { type: 'DeleteRegisteredModel'; name: string }
  | {
      type: 'CreateModelVersion';
      name: string;
      source: string;
      runId: string | null;
      /** Whether `runId` names a run of the caller's workspace (looked up by the service). */
      runExists: boolean;
      description: string | null;
      tags: KeyValue[];
      /** Create the model in the same append when the stream is empty (createModelIfMissing). */
      createModelId: string | null;
    }
  | { type: 'SetModelVersionDescription'; name: string; version: number; description: string }
  | { type: 'SetModelVersionTag'; name: string; version: number; key: string; value: string }
  | { type: 'DeleteModelVersionTag'; name: string; version: number; key: string }
  | { type: 'DeleteModelVersion'; name: string; version: number }
  | {
      type: 'TransitionModelVersionStage';
      name: string;
      version: number;
      stage: ModelStage;
      archiveExistingVersions: boolean;
    }
  | { type: 'SetModelAlias'; name: string; alias: string; version: number }
  | { type: 'DeleteModelAlias'; name: string; alias: string };

export interface VersionState {
  stage: ModelStage;
  tagKeys: ReadonlySet<string>;
}

export interface RegisteredModelState {
  modelId: string | null;
  name: string;
  deleted: boolean;
  /** Highest version number ever allocated (deleted numbers are never reused). */
  maxVersion: number;
  /** Live versions by number. */
  versions: ReadonlyMap<number, VersionState>;
  aliases: ReadonlyMap<string, number>;
  tagKeys: ReadonlySet<string>;
}

function withVersion(
  state: RegisteredModelState,
  version: number,
  change: (v: VersionState) => VersionState,
): RegisteredModelState {
  const current = state.versions.get(version);
  if (!current) return state;
  const versions = new Map(state.versions);
  versions.set(version, change(current));
  return { ...state, versions };
}

function addKey(keys: ReadonlySet<string>, key: string): Set<string> {
  return new Set(keys).add(key);
}

function removeKey(keys: ReadonlySet<string>, key: string): Set<string> {
  const next = new Set(keys);
  next.delete(key);
  return next;
}

function requireVersion(state: RegisteredModelState, version: number): VersionState {
  const v = state.versions.get(version);
  if (!v)
    throw new CairnError('NOT_FOUND', `Model "${state.name}" has no version ${version}`, {
      name: state.name,
      version,
    });
  return v;
}

function versionEvent(
  ctx: DecideContext,
  command: Extract<RegisteredModelCommand, { type: 'CreateModelVersion' }>,
  state: RegisteredModelState,
  modelId: string,
) {
  const source = validateSource(command.source);
  const sourceRunId = runIdOfSource(source);
  const runId = command.runId ?? sourceRunId;
  if (command.runId !== null && sourceRunId !== null && command.runId !== sourceRunId)
    throw invalidArgument(`runId ${command.runId} differs from the run of the source`, {
      field: 'runId',
    });
  if (runId !== null && !command.runExists)
    throw new CairnError('NOT_FOUND', `Run ${runId} not found`, { field: 'runId', id: runId });
  return newEvent(ctx, 'ModelVersionCreated', {
    modelId,
    name: state.name,
    version: state.maxVersion + 1,
    source,
    runId,
    description: command.description === null ? null : validateDescription(command.description),
    tags: validateTags(command.tags),
    status: 'READY',
  });
}

export const registeredModelDecider: Decider<RegisteredModelCommand, RegisteredModelState> = {
  initialState: () => ({
    modelId: null,
    name: '',
    deleted: false,
    maxVersion: 0,
    versions: new Map(),
    aliases: new Map(),
    tagKeys: new Set(),
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'RegisteredModelCreated':
        return {
          ...state,
          modelId: event.data.modelId,
          name: event.data.name,
          tagKeys: new Set(event.data.tags.map((t) => t.key)),
        };
      case 'RegisteredModelRenamed':
        return { ...state, name: event.data.name };
      case 'RegisteredModelTagSet':
        return { ...state, tagKeys: addKey(state.tagKeys, event.data.key) };
      case 'RegisteredModelTagDeleted':
        return { ...state, tagKeys: removeKey(state.tagKeys, event.data.key) };
      case 'RegisteredModelDeleted':
        return { ...state, deleted: true };
      case 'ModelVersionCreated': {
        const versions = new Map(state.versions);
        versions.set(event.data.version, {
          stage: 'NONE',
          tagKeys: new Set(event.data.tags.map((t) => t.key)),
        });
        return { ...state, versions, maxVersion: Math.max(state.maxVersion, event.data.version) };
      }
      case 'ModelVersionTagSet':
        return withVersion(state, event.data.version, (v) => ({
          ...v,
          tagKeys: addKey(v.tagKeys, event.data.key),
        }));
      case 'ModelVersionTagDeleted':
        return withVersion(state, event.data.version, (v) => ({
          ...v,
          tagKeys: removeKey(v.tagKeys, event.data.key),
        }));
      case 'ModelVersionDeleted': {
        const versions = new Map(state.versions);
        versions.delete(event.data.version);
        return { ...state, versions };
      }
      case 'ModelVersionStageTransitioned': {
        const versions = new Map(state.versions);
        for (const n of event.data.archivedVersions) {
          const v = versions.get(n);
          if (v) versions.set(n, { ...v, stage: 'ARCHIVED' });
        }
        const v = versions.get(event.data.version);
        if (v) versions.set(event.data.version, { ...v, stage: event.data.toStage });
        return { ...state, versions };
      }
      case 'ModelAliasSet': {
        const aliases = new Map(state.aliases);
        aliases.set(event.data.alias, event.data.version);
        return { ...state, aliases };
      }
      case 'ModelAliasDeleted': {
        const aliases = new Map(state.aliases);
        aliases.delete(event.data.alias);
        return { ...state, aliases };
      }
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreateRegisteredModel') {
      if (state.modelId !== null)
        throw new CairnError(
          'ALREADY_EXISTS',
          `Registered model ${command.modelId} already exists`,
        );
      return [
        newEvent(ctx, 'RegisteredModelCreated', {
          modelId: command.modelId,
          name: validateModelName(command.name),
          description:
            command.description === null ? null : validateDescription(command.description),
          tags: validateTags(command.tags),
        }),
      ];
    }
    if (
      command.type === 'CreateModelVersion' &&
      state.modelId === null &&
      command.createModelId !== null
    ) {
      const created = newEvent(ctx, 'RegisteredModelCreated', {
        modelId: command.createModelId,
        name: validateModelName(command.name),
        description: null,
        tags: [],
      });
      const fresh = registeredModelDecider.initialState();
      const named = { ...fresh, name: created.data.name };
      return [created, versionEvent(ctx, command, named, command.createModelId)];
    }
    // The service found the stream by the addressed name; a concurrent rename or delete makes
    // that name point nowhere, which is the same answer as for a name never registered.
    if (state.modelId === null || state.deleted || state.name !== command.name.trim()) {
      throw new CairnError('NOT_FOUND', `Registered model "${command.name}" not found`, {
        name: command.name,
      });
    }
    const ref = { modelId: state.modelId, name: state.name };
    switch (command.type) {
      case 'RenameRegisteredModel': {
        const newName = validateModelName(command.newName, 'newName');
        if (newName === state.name) return [];
        return [
          newEvent(ctx, 'RegisteredModelRenamed', {
            modelId: state.modelId,
            name: newName,
            previousName: state.name,
          }),
        ];
      }
      case 'SetRegisteredModelDescription':
        return [
          newEvent(ctx, 'RegisteredModelDescriptionSet', {
            ...ref,
            description: validateDescription(command.description),
          }),
        ];
      case 'SetRegisteredModelTag':
        validateTag(command.key, command.value);
        if (!state.tagKeys.has(command.key) && state.tagKeys.size >= REGISTRY_LIMITS.tags)
          throw invalidArgument(`A model has at most ${REGISTRY_LIMITS.tags} tags`, {
            field: 'key',
          });
        return [
          newEvent(ctx, 'RegisteredModelTagSet', {
            ...ref,
            key: command.key,
            value: command.value,
          }),
        ];
      case 'DeleteRegisteredModelTag':
        if (!state.tagKeys.has(command.key))
          throw new CairnError('NOT_FOUND', `Model "${state.name}" has no tag "${command.key}"`, {
            key: command.key,
          });
        return [newEvent(ctx, 'RegisteredModelTagDeleted', { ...ref, key: command.key })];
      case 'DeleteRegisteredModel':
        return [newEvent(ctx, 'RegisteredModelDeleted', ref)];
      case 'CreateModelVersion':
        return [versionEvent(ctx, command, state, state.modelId)];
      case 'SetModelVersionDescription':
        requireVersion(state, command.version);
        return [
          newEvent(ctx, 'ModelVersionDescriptionSet', {
            ...ref,
            version: command.version,
            description: validateDescription(command.description),
          }),
        ];
      case 'SetModelVersionTag': {
        const v = requireVersion(state, command.version);
        validateTag(command.key, command.value);
        if (!v.tagKeys.has(command.key) && v.tagKeys.size >= REGISTRY_LIMITS.tags)
          throw invalidArgument(`A model version has at most ${REGISTRY_LIMITS.tags} tags`, {
            field: 'key',
          });
        return [
          newEvent(ctx, 'ModelVersionTagSet', {
            ...ref,
            version: command.version,
            key: command.key,
            value: command.value,
          }),
        ];
      }
      case 'DeleteModelVersionTag': {
        const v = requireVersion(state, command.version);
        if (!v.tagKeys.has(command.key))
          throw new CairnError(
            'NOT_FOUND',
            `Version ${command.version} of "${state.name}" has no tag "${command.key}"`,
            { key: command.key },
          );
        return [
          newEvent(ctx, 'ModelVersionTagDeleted', {
            ...ref,
            version: command.version,
            key: command.key,
          }),
        ];
      }
      case 'DeleteModelVersion': {
        requireVersion(state, command.version);
        const aliases = [...state.aliases]
          .filter(([, version]) => version === command.version)
          .map(([alias]) => alias)
          .sort();
        return [
          ...aliases.map((alias) =>
            newEvent(ctx, 'ModelAliasDeleted', { ...ref, alias, version: command.version }),
          ),
          newEvent(ctx, 'ModelVersionDeleted', { ...ref, version: command.version }),
        ];
      }
      case 'TransitionModelVersionStage': {
        const v = requireVersion(state, command.version);
        const archive =
          command.archiveExistingVersions &&
          (command.stage === 'STAGING' || command.stage === 'PRODUCTION');
        if (command.archiveExistingVersions && !archive)
          throw invalidArgument(
            'archiveExistingVersions applies only to transitions to STAGING or PRODUCTION',
            { field: 'archiveExistingVersions' },
          );
        const archivedVersions = archive
          ? [...state.versions]
              .filter(([n, other]) => n !== command.version && other.stage === command.stage)
              .map(([n]) => n)
              .sort((a, b) => a - b)
          : [];
        if (v.stage === command.stage && archivedVersions.length === 0) return [];
        return [
          newEvent(ctx, 'ModelVersionStageTransitioned', {
            ...ref,
            version: command.version,
            fromStage: v.stage,
            toStage: command.stage,
            archivedVersions,
          }),
        ];
      }
      case 'SetModelAlias': {
        const alias = validateAlias(command.alias);
        requireVersion(state, command.version);
        const previous = state.aliases.get(alias) ?? null;
        if (previous === command.version) return [];
        return [
          newEvent(ctx, 'ModelAliasSet', {
            ...ref,
            alias,
            version: command.version,
            previousVersion: previous,
          }),
        ];
      }
      case 'DeleteModelAlias': {
        const version = state.aliases.get(command.alias);
        if (version === undefined)
          throw new CairnError(
            'NOT_FOUND',
            `Model "${state.name}" has no alias "${command.alias}"`,
            { alias: command.alias },
          );
        return [newEvent(ctx, 'ModelAliasDeleted', { ...ref, alias: command.alias, version })];
      }
      default:
        return assertNever(command);
    }
  },
};
