/**
 * GraphQL operations of the model registry pages (packages/schema/schema.graphql), with
 * hand-written result types. Strings only: no backend package is imported.
 */
import type { KeyValue, PageInfo } from './documents.ts';

export type ModelStage = 'NONE' | 'STAGING' | 'PRODUCTION' | 'ARCHIVED';
export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION';
export type ModelHistoryKind =
  | 'MODEL_CREATED'
  | 'MODEL_RENAMED'
  | 'VERSION_CREATED'
  | 'VERSION_DELETED'
  | 'STAGE_TRANSITIONED'
  | 'ALIAS_SET'
  | 'ALIAS_DELETED';

export const MODEL_STAGES: readonly ModelStage[] = ['NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED'];

export interface ModelVersion {
  id: string;
  modelName: string;
  version: number;
  source: string;
  runId: string | null;
  run: { id: string; name: string; experimentId: string } | null;
  description: string | null;
  tags: KeyValue[];
  stage: ModelStage;
  status: ModelVersionStatus;
  aliases: string[];
  createdAt: number;
  updatedAt: number;
}

export interface ModelAlias {
  alias: string;
  version: number;
}

export interface ModelHistoryEntry {
  at: number;
  actor: string | null;
  kind: ModelHistoryKind;
  version: number | null;
  fromStage: ModelStage | null;
  toStage: ModelStage | null;
  alias: string | null;
  previousVersion: number | null;
}

/** A model as the models list shows it. */
export interface RegisteredModelSummary {
  id: string;
  name: string;
  description: string | null;
  tags: KeyValue[];
  createdAt: number;
  updatedAt: number;
  aliases: ModelAlias[];
  latestVersions: { version: number; stage: ModelStage }[];
}

export interface RegisteredModelDetail extends RegisteredModelSummary {
  versions: { totalCount: number; edges: { node: ModelVersion }[]; pageInfo: PageInfo };
  history: ModelHistoryEntry[];
}

const SUMMARY_FIELDS = `id name description tags { key value } createdAt updatedAt
  aliases { alias version } latestVersions { version stage }`;
const VERSION_FIELDS = `id modelName version source runId run { id name experimentId } description
  tags { key value } stage status aliases createdAt updatedAt`;
const HISTORY_FIELDS = `at actor kind version fromStage toStage alias previousVersion`;

/** Ids suffice: the models page re-reads its loaded rows (order and filter stay the server's). */
export const REGISTERED_MODELS_CHANGED = `
  subscription RegisteredModelsChanged { registeredModelsChanged { ids } }`;

/** A tick per projected change of one model; the model page re-reads its own query. */
export const REGISTERED_MODEL_CHANGED = `
  subscription RegisteredModelChanged($name: String!) { registeredModelChanged(name: $name) { id } }`;

export const REGISTERED_MODELS_QUERY = `
  query RegisteredModels($filter: String, $orderBy: [String!], $first: Int, $after: String) {
    registeredModels(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${SUMMARY_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface RegisteredModelsResult {
  registeredModels: {
    totalCount: number;
    edges: { cursor: string; node: RegisteredModelSummary }[];
    pageInfo: PageInfo;
  };
}

/** Versions shown on a model page (newest first). */
export const VERSIONS_PAGE = 200;

export const REGISTERED_MODEL_QUERY = `
  query RegisteredModel($name: String!, $first: Int, $asOf: DateTime) {
    registeredModel(name: $name, asOf: $asOf) {
      ${SUMMARY_FIELDS}
      versions(first: $first) {
        totalCount
        edges { node { ${VERSION_FIELDS} } }
        pageInfo { endCursor hasNextPage }
      }
      history(first: 200) { ${HISTORY_FIELDS} }
    }
  }`;
export interface RegisteredModelResult {
  registeredModel: RegisteredModelDetail | null;
}

/** The time slider's range and snap points: the model's creation and its history's times (now). */
export const REGISTERED_MODEL_TIMELINE = `
  query RegisteredModelTimeline($name: String!) {
    registeredModel(name: $name) { id createdAt history(first: 200) { at } }
  }`;
export interface RegisteredModelTimelineResult {
  registeredModel: { id: string; createdAt: number; history: { at: number }[] } | null;
}

export const CREATE_REGISTERED_MODEL = `
  mutation CreateRegisteredModel($name: String!, $description: String) {
    createRegisteredModel(name: $name, description: $description) { ${SUMMARY_FIELDS} }
  }`;
export const UPDATE_REGISTERED_MODEL = `
  mutation UpdateRegisteredModel($name: String!, $description: String!) {
    updateRegisteredModel(name: $name, description: $description) { id }
  }`;
export const RENAME_REGISTERED_MODEL = `
  mutation RenameRegisteredModel($name: String!, $newName: String!) {
    renameRegisteredModel(name: $name, newName: $newName) { id name }
  }`;
export const SET_MODEL_TAG = `
  mutation SetRegisteredModelTag($name: String!, $key: String!, $value: String!) {
    setRegisteredModelTag(name: $name, key: $key, value: $value) { id }
  }`;
export const DELETE_MODEL_TAG = `
  mutation DeleteRegisteredModelTag($name: String!, $key: String!) {
    deleteRegisteredModelTag(name: $name, key: $key) { id }
  }`;
export const UPDATE_MODEL_VERSION = `
  mutation UpdateModelVersion($name: String!, $version: Int!, $description: String!) {
    updateModelVersion(name: $name, version: $version, description: $description) { id }
  }`;
export const SET_VERSION_TAG = `
  mutation SetModelVersionTag($name: String!, $version: Int!, $key: String!, $value: String!) {
    setModelVersionTag(name: $name, version: $version, key: $key, value: $value) { id }
  }`;
export const DELETE_VERSION_TAG = `
  mutation DeleteModelVersionTag($name: String!, $version: Int!, $key: String!) {
    deleteModelVersionTag(name: $name, version: $version, key: $key) { id }
  }`;
export const TRANSITION_STAGE = `
  mutation TransitionModelVersionStage($name: String!, $version: Int!, $stage: ModelStage!,
      $archive: Boolean) {
    transitionModelVersionStage(name: $name, version: $version, stage: $stage,
      archiveExistingVersions: $archive) { id stage }
  }`;
export const SET_MODEL_ALIAS = `
  mutation SetModelAlias($name: String!, $alias: String!, $version: Int!) {
    setModelAlias(name: $name, alias: $alias, version: $version) { id version aliases }
  }`;
export const DELETE_MODEL_ALIAS = `
  mutation DeleteModelAlias($name: String!, $alias: String!) {
    deleteModelAlias(name: $name, alias: $alias) { id }
  }`;

/** Registered versions made from one run's artifacts (the run page links them). */
export const RUN_MODEL_VERSIONS_QUERY = `
  query RunModelVersions($filter: String!) {
    modelVersions(filter: $filter, first: 50) {
      edges { node { id modelName version stage aliases } }
    }
  }`;
export interface RunModelVersionsResult {
  modelVersions: {
    edges: {
      node: Pick<ModelVersion, 'id' | 'modelName' | 'version' | 'stage' | 'aliases'>;
    }[];
  };
}
