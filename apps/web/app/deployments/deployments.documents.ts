/**
 * GraphQL operations of the deployments pages (issue 16; packages/schema/schema.graphql,
 * contract in docs/deployment.md), with hand-written result types. Strings only: no backend
 * package is imported.
 */

export type DeploymentStatus = 'PENDING' | 'READY' | 'FAILED' | 'DELETED';
export type DeploymentTarget = 'local' | 'kubernetes';
export type DeploymentEventKind =
  | 'CREATED'
  | 'UPDATED'
  | 'VERSION_CHANGED'
  | 'TRAFFIC_CHANGED'
  | 'ROLLED_BACK'
  | 'STATUS_CHANGED'
  | 'DELETED';

/** Wire times: the API's time scalar (epoch milliseconds or an ISO string). */
export type WireTime = number | string;

export interface DeploymentVariant {
  name: string;
  modelUri: string;
  modelName: string;
  alias: string | null;
  servedVersion: string | null;
  weight: number;
}

export interface DeploymentSummary {
  id: string;
  name: string;
  target: string;
  modelUri: string;
  status: DeploymentStatus;
  endpoint: string | null;
  updatedAt: WireTime;
  variants: DeploymentVariant[];
}

export interface DeploymentEvent {
  at: WireTime;
  /** A DeploymentEventKind (kept open: a newer server may add kinds). */
  kind: string;
  variant: string | null;
  fromVersion: string | null;
  toVersion: string | null;
  actor: string;
  summary: string;
}

export interface DeploymentMetricPoint {
  at: WireTime;
  requests: number;
  errors: number;
  latencyMeanMs: number | null;
}

export interface DeploymentVariantMetrics {
  variant: string;
  version: string | null;
  requests: number;
  errors: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyMeanMs: number | null;
  series: DeploymentMetricPoint[];
}

export interface HistoryPage {
  edges: { node: DeploymentEvent; cursor: string }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

export interface DeploymentDetail extends DeploymentSummary {
  /** Why the status is what it is (a failed start, manifests not applied). */
  statusMessage: string | null;
  config: Record<string, unknown> | null;
  manifests: string | null;
  createdAt: WireTime;
  history: HistoryPage;
  metrics: DeploymentVariantMetrics[];
}

export interface DeploymentsResult {
  deployments: {
    edges: { node: DeploymentSummary; cursor: string }[];
    pageInfo: { endCursor: string | null; hasNextPage: boolean };
  };
}

export interface DeploymentResult {
  deployment: DeploymentDetail | null;
}

export interface DeploymentChangedSummary {
  deploymentChanged: DeploymentSummary;
}

export interface DeploymentChangedDetail {
  deploymentChanged: DeploymentDetail;
}

export interface DeploymentVariantInput {
  name: string;
  modelUri: string;
  weight: number;
}

/** Rows per page of the list and of the history table. */
export const DEPLOYMENTS_PAGE = 50;
export const HISTORY_PAGE = 25;

const VARIANT_FIELDS = `name modelUri modelName alias servedVersion weight`;
const SUMMARY_FIELDS = `id name target modelUri status endpoint updatedAt variants { ${VARIANT_FIELDS} }`;
const HISTORY_FIELDS = `edges { cursor node { at kind variant fromVersion toVersion actor summary } }
  pageInfo { endCursor hasNextPage }`;
const DETAIL_FIELDS = `${SUMMARY_FIELDS} statusMessage config manifests createdAt
  history(first: $historyFirst) { ${HISTORY_FIELDS} }
  metrics(sinceSeconds: $sinceSeconds) {
    variant version requests errors errorRate latencyP50Ms latencyP95Ms latencyMeanMs
    series { at requests errors latencyMeanMs }
  }`;

export const DEPLOYMENTS_QUERY = `query Deployments($first: Int, $after: String, $target: String) {
  deployments(first: $first, after: $after, target: $target) {
    edges { cursor node { ${SUMMARY_FIELDS} } }
    pageInfo { endCursor hasNextPage }
  }
}`;

/** Any change of any deployment in the workspace (the list updates the row from the payload). */
export const DEPLOYMENTS_CHANGED = `subscription DeploymentsChanged {
  deploymentChanged { ${SUMMARY_FIELDS} }
}`;

export const DEPLOYMENT_QUERY = `query Deployment($name: String!, $historyFirst: Int, $sinceSeconds: Int) {
  deployment(name: $name) { ${DETAIL_FIELDS} }
}`;

/** Every change of one deployment, metrics windows included: the payload is the whole page. */
export const DEPLOYMENT_CHANGED = `subscription DeploymentChanged($name: String, $historyFirst: Int, $sinceSeconds: Int) {
  deploymentChanged(name: $name) { ${DETAIL_FIELDS} }
}`;

export const DEPLOYMENT_HISTORY_QUERY = `query DeploymentHistory($name: String!, $first: Int, $after: String) {
  deployment(name: $name) { id history(first: $first, after: $after) { ${HISTORY_FIELDS} } }
}`;

export interface DeploymentHistoryResult {
  deployment: { id: string; history: HistoryPage } | null;
}

export const CREATE_DEPLOYMENT = `mutation CreateDeployment($input: CreateDeploymentInput!) {
  createDeployment(input: $input) { id name }
}`;

export const UPDATE_DEPLOYMENT = `mutation UpdateDeployment($input: UpdateDeploymentInput!) {
  updateDeployment(input: $input) { ${SUMMARY_FIELDS} }
}`;

export const DELETE_DEPLOYMENT = `mutation DeleteDeployment($name: String!) {
  deleteDeployment(name: $name)
}`;

export const ROLLBACK_DEPLOYMENT = `mutation RollbackDeployment($name: String!, $variant: String, $toVersion: String) {
  rollbackDeployment(name: $name, variant: $variant, toVersion: $toVersion) { ${SUMMARY_FIELDS} }
}`;
