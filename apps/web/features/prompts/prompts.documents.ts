/**
 * GraphQL operations of the prompt registry pages (docs/prompts.md, packages/schema/schema.graphql),
 * with hand-written result types. Strings only: no backend package is imported.
 */
import type { KeyValue, PageInfo } from '../../lib/graphql/documents.ts';

export type PromptTemplateType = 'TEXT' | 'CHAT';
export type PromptAliasChangeKind = 'SET' | 'DELETED';
export type PromptDiffOp = 'EQUAL' | 'ADDED' | 'REMOVED';
export type PromptValueChangeOp = 'ADDED' | 'REMOVED' | 'CHANGED';

export interface PromptMessage {
  role: string;
  content: string;
}

export interface PromptVersion {
  id: string;
  name: string;
  version: number;
  uri: string;
  templateType: PromptTemplateType;
  template: string | null;
  messages: PromptMessage[] | null;
  variables: string[];
  responseFormat: unknown;
  modelConfig: unknown;
  commitMessage: string | null;
  author: string | null;
  createdAt: number;
  tags: KeyValue[];
  aliases: string[];
}

export interface PromptAlias {
  alias: string;
  version: number;
  updatedAt: number;
  updatedBy: string | null;
}

export interface PromptAliasChange {
  alias: string;
  kind: PromptAliasChangeKind;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string | null;
  at: number;
}

/** A prompt as the prompts list shows it. */
export interface PromptSummary {
  id: string;
  name: string;
  description: string | null;
  tags: KeyValue[];
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  latestVersion: {
    version: number;
    templateType: PromptTemplateType;
    commitMessage: string | null;
  } | null;
  aliases: { alias: string; version: number }[];
}

export interface Connection<T> {
  totalCount: number;
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

export interface PromptDetail extends Omit<PromptSummary, 'aliases'> {
  aliases: PromptAlias[];
  versions: Connection<PromptVersion>;
  aliasHistory: Connection<PromptAliasChange>;
}

export interface PromptTrace {
  id: string;
  name: string;
  status: 'UNSET' | 'OK' | 'ERROR';
  startTime: number;
  durationMs: number | null;
}

const SUMMARY_FIELDS = `id name description tags { key value } archived createdAt updatedAt
  latestVersion { version templateType commitMessage } aliases { alias version }`;
const VERSION_FIELDS = `id name version uri templateType template messages { role content } variables
  responseFormat modelConfig commitMessage author createdAt tags { key value } aliases`;
const CHANGE_FIELDS = `alias kind fromVersion toVersion actor at`;

export const PROMPTS_QUERY = `
  query Prompts($filter: String, $orderBy: [String!], $includeArchived: Boolean, $first: Int, $after: String) {
    prompts(filter: $filter, orderBy: $orderBy, includeArchived: $includeArchived, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${SUMMARY_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface PromptsResult {
  prompts: Connection<PromptSummary>;
}

/** One list row kept live: the prompt re-read on each projected change, null once deleted. */
export const PROMPT_ROW_CHANGED = `
  subscription PromptRowChanged($name: String!) {
    promptChanged(name: $name) { ${SUMMARY_FIELDS} }
  }`;
export interface PromptRowChangedResult {
  promptChanged: PromptSummary | null;
}

/** The prompt page's push: only that something changed (the page re-reads its own pages). */
export const PROMPT_CHANGED = `
  subscription PromptChanged($name: String!) {
    promptChanged(name: $name) { id updatedAt }
  }`;
export interface PromptChangedResult {
  promptChanged: { id: string; updatedAt: number } | null;
}

/** Versions per page on the prompt page, and alias changes per page of history. */
export const VERSIONS_PAGE = 50;
export const HISTORY_PAGE = 50;

export const PROMPT_QUERY = `
  query Prompt($name: String!, $versionsFirst: Int, $historyFirst: Int, $asOf: DateTime) {
    prompt(name: $name, asOf: $asOf) {
      id name description tags { key value } archived createdAt updatedAt
      latestVersion { version templateType commitMessage }
      aliases { alias version updatedAt updatedBy }
      versions(first: $versionsFirst) {
        totalCount
        edges { cursor node { ${VERSION_FIELDS} } }
        pageInfo { endCursor hasNextPage }
      }
      aliasHistory(first: $historyFirst) {
        totalCount
        edges { cursor node { ${CHANGE_FIELDS} } }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
export interface PromptResult {
  prompt: PromptDetail | null;
}

export const PROMPT_VERSIONS_PAGE = `
  query PromptVersionsPage($name: String!, $first: Int, $after: String, $asOf: DateTime) {
    prompt(name: $name, asOf: $asOf) {
      id
      versions(first: $first, after: $after) {
        totalCount
        edges { cursor node { ${VERSION_FIELDS} } }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
export interface PromptVersionsPageResult {
  prompt: { id: string; versions: Connection<PromptVersion> } | null;
}

export const PROMPT_HISTORY_PAGE = `
  query PromptAliasHistoryPage($name: String!, $first: Int, $after: String, $asOf: DateTime) {
    prompt(name: $name, asOf: $asOf) {
      id
      aliasHistory(first: $first, after: $after) {
        totalCount
        edges { cursor node { ${CHANGE_FIELDS} } }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
export interface PromptHistoryPageResult {
  prompt: { id: string; aliasHistory: Connection<PromptAliasChange> } | null;
}

/**
 * The time slider's range and snap points (issue 17): the prompt's creation, its versions' and
 * alias changes' times, as they are now.
 */
export const PROMPT_TIMELINE = `
  query PromptTimeline($name: String!) {
    prompt(name: $name) {
      id createdAt
      versions(first: 200) { edges { node { createdAt } } }
      aliasHistory(first: 200) { edges { node { at } } }
    }
  }`;
export interface PromptTimelineResult {
  prompt: {
    id: string;
    createdAt: number;
    versions: { edges: { node: { createdAt: number } }[] };
    aliasHistory: { edges: { node: { at: number } }[] };
  } | null;
}

/** One version in full: for the editor's starting point and a version's details. */
export const PROMPT_VERSION_QUERY = `
  query PromptVersion($name: String!, $version: Int!) {
    promptVersion(name: $name, version: $version) { ${VERSION_FIELDS} }
  }`;
export interface PromptVersionResult {
  promptVersion: PromptVersion | null;
}

export const TRACES_PAGE = 20;

export const PROMPT_VERSION_TRACES = `
  query PromptVersionTraces($name: String!, $version: Int!, $first: Int, $after: String) {
    promptVersion(name: $name, version: $version) {
      id
      traces(first: $first, after: $after) {
        totalCount
        edges { cursor node { id name status startTime durationMs } }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
export interface PromptVersionTracesResult {
  promptVersion: { id: string; traces: Connection<PromptTrace> } | null;
}

/** Trace pushes, reduced to what tells whether a pushed trace links to a prompt version. */
export const TRACES_LINKS_CHANGED = `
  subscription PromptTraceLinks {
    tracesChanged { id promptVersions }
  }`;
export interface TracesLinksChangedResult {
  tracesChanged: { id: string; promptVersions: string[] }[];
}

export interface PromptDiffLine {
  op: PromptDiffOp;
  text: string;
  fromLine: number | null;
  toLine: number | null;
}
export interface PromptValueChange {
  path: string;
  op: PromptValueChangeOp;
  from: unknown;
  to: unknown;
}
export interface PromptVersionDiff {
  name: string;
  from: { version: number; templateType: PromptTemplateType; commitMessage: string | null };
  to: { version: number; templateType: PromptTemplateType; commitMessage: string | null };
  templateTypeChanged: boolean;
  template: PromptDiffLine[];
  variablesAdded: string[];
  variablesRemoved: string[];
  modelConfig: PromptValueChange[];
  responseFormat: PromptValueChange[];
  commitMessage: string | null;
}

export const PROMPT_VERSION_DIFF = `
  query PromptVersionDiff($name: String!, $from: Int!, $to: Int!) {
    promptVersionDiff(name: $name, from: $from, to: $to) {
      name
      from { version templateType commitMessage }
      to { version templateType commitMessage }
      templateTypeChanged
      template { op text fromLine toLine }
      variablesAdded variablesRemoved
      modelConfig { path op from to }
      responseFormat { path op from to }
      commitMessage
    }
  }`;
export interface PromptVersionDiffResult {
  promptVersionDiff: PromptVersionDiff;
}

export const CREATE_PROMPT = `
  mutation CreatePrompt($name: String!, $description: String) {
    createPrompt(name: $name, description: $description) { id name }
  }`;

export const CREATE_PROMPT_VERSION = `
  mutation CreatePromptVersion($name: String!, $template: String, $messages: [PromptMessageInput!],
      $responseFormat: JSON, $modelConfig: JSON, $commitMessage: String) {
    createPromptVersion(name: $name, template: $template, messages: $messages,
        responseFormat: $responseFormat, modelConfig: $modelConfig, commitMessage: $commitMessage) {
      id version
    }
  }`;
export interface CreatePromptVersionResult {
  createPromptVersion: { id: string; version: number };
}

export const SET_PROMPT_ALIAS = `
  mutation SetPromptAlias($name: String!, $alias: String!, $version: Int!) {
    setPromptAlias(name: $name, alias: $alias, version: $version) { id version aliases }
  }`;
export const DELETE_PROMPT_ALIAS = `
  mutation DeletePromptAlias($name: String!, $alias: String!) {
    deletePromptAlias(name: $name, alias: $alias) { id }
  }`;
