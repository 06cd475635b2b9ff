/**
 * The model registry: shapes, GraphQL documents and `models:/` URIs (docs/model-registry.md).
 * A version's source is an artifact directory of a run (`runs:/<runId>/<path>`) or another
 * registered version (`models:/…`); the server checks it.
 */
import { invalidArgument } from './errors.ts';
import { toRecord } from './tracking.ts';

export type ModelStage = 'None' | 'Staging' | 'Production' | 'Archived';

export interface ModelVersion {
  id: string;
  modelName: string;
  version: number;
  source: string;
  runId: string | null;
  description: string | null;
  tags: Record<string, string>;
  stage: string;
  status: string;
  aliases: string[];
  createdAt: number;
  updatedAt: number;
}

export interface RegisteredModel {
  id: string;
  name: string;
  description: string | null;
  tags: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  /** alias → version */
  aliases: Record<string, number>;
  latestVersions: ModelVersion[];
}

interface KeyValue {
  key: string;
  value: string;
}

export interface RawModelVersion extends Omit<ModelVersion, 'tags'> {
  tags: KeyValue[];
}

export interface RawRegisteredModel extends Omit<
  RegisteredModel,
  'tags' | 'aliases' | 'latestVersions'
> {
  tags: KeyValue[];
  aliases: { alias: string; version: number }[];
  latestVersions: RawModelVersion[];
}

export function toModelVersion(raw: RawModelVersion): ModelVersion {
  return { ...raw, tags: toRecord(raw.tags) };
}

export function toRegisteredModel(raw: RawRegisteredModel): RegisteredModel {
  const aliases: Record<string, number> = {};
  for (const a of raw.aliases) aliases[a.alias] = a.version;
  return {
    ...raw,
    tags: toRecord(raw.tags),
    aliases,
    latestVersions: raw.latestVersions.map(toModelVersion),
  };
}

export interface ParsedModelUri {
  name: string;
  version?: number;
  alias?: string;
}

const ALIAS = /^[A-Za-z0-9_-]{1,255}$/u;

/** `models:/<name>/<version>`, `models:/<name>@<alias>` (checked before any request). */
export function parseModelUri(uri: string): ParsedModelUri {
  const bad = (why: string) =>
    invalidArgument(
      `Bad model URI "${uri}": ${why} (models:/<name>/<version> or models:/<name>@<alias>)`,
      { argument: 'uri' },
    );
  if (typeof uri !== 'string' || !uri.startsWith('models:/')) throw bad('not a models:/ URI');
  const rest = uri.slice('models:/'.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (!name || name.includes('/')) throw bad('no model name');
    if (!ALIAS.test(alias)) throw bad(`bad alias "${alias}"`);
    return { name, alias };
  }
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) throw bad('no version or alias');
  const name = rest.slice(0, slash);
  const version = rest.slice(slash + 1);
  if (!/^\d+$/u.test(version) || Number(version) < 1) throw bad(`bad version "${version}"`);
  return { name, version: Number(version) };
}

const MODEL_VERSION_FIELDS = `id modelName version source runId description tags { key value } stage status
  aliases createdAt updatedAt`;

const REGISTERED_MODEL_FIELDS = `id name description tags { key value } createdAt updatedAt
  aliases { alias version } latestVersions { ${MODEL_VERSION_FIELDS} }`;

export const CREATE_REGISTERED_MODEL = `mutation CairnCreateRegisteredModel($name: String!, $description: String,
    $tags: [KeyValueInput!]) {
  createRegisteredModel(name: $name, description: $description, tags: $tags) { ${REGISTERED_MODEL_FIELDS} } }`;

export const REGISTERED_MODEL = `query CairnRegisteredModel($name: String!) {
  registeredModel(name: $name) { ${REGISTERED_MODEL_FIELDS} } }`;

export const CREATE_MODEL_VERSION = `mutation CairnCreateModelVersion($name: String!, $source: String!, $runId: String,
    $description: String, $tags: [KeyValueInput!], $createModelIfMissing: Boolean) {
  createModelVersion(name: $name, source: $source, runId: $runId, description: $description, tags: $tags,
    createModelIfMissing: $createModelIfMissing) { ${MODEL_VERSION_FIELDS} } }`;

export const MODEL_VERSION = `query CairnModelVersion($name: String!, $version: Int!) {
  modelVersion(name: $name, version: $version) { ${MODEL_VERSION_FIELDS} } }`;

export const SET_MODEL_ALIAS = `mutation CairnSetModelAlias($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(name: $name, alias: $alias, version: $version) { ${MODEL_VERSION_FIELDS} } }`;

export const DELETE_MODEL_ALIAS = `mutation CairnDeleteModelAlias($name: String!, $alias: String!) {
  deleteModelAlias(name: $name, alias: $alias) { id } }`;

export const RESOLVE_MODEL_URI = `query CairnResolveModelUri($uri: String!) {
  resolveModelUri(uri: $uri) { ${MODEL_VERSION_FIELDS} } }`;
