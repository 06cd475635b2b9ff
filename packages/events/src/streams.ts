/** Stream naming: `<aggregate>-<entity id>`. The Kafka key is the stream id (invariant 4). */
export type StreamType =
  | 'experiment'
  | 'run'
  | 'registered-model'
  | 'webhook'
  | 'span-batch'
  | 'trace'
  | 'model-prices'
  | 'prompt'
  | 'assessment'
  | 'evaluation-dataset'
  | 'evaluation-run'
  | 'evaluation-rule'
  | 'annotation-queue'
  | 'user'
  | 'workspace'
  | 'api-key'
  | 'access-denied'
  | 'login-failures'
  | 'service-account'
  | 'deployment'
  | 'retention';

export function experimentStreamId(experimentId: string): string {
  return `experiment-${experimentId}`;
}

export function runStreamId(runId: string): string {
  return `run-${runId}`;
}

export function registeredModelStreamId(modelId: string): string {
  return `registered-model-${modelId}`;
}

export function webhookStreamId(webhookId: string): string {
  return `webhook-${webhookId}`;
}

/** One stream per ingest request: a `SpansIngested` event, appended with `no_stream`. */
export function spanBatchStreamId(batchId: string): string {
  return `span-batch-${batchId}`;
}

/** Changes people make to a trace (tags, metadata, deletion). */
export function traceStreamId(traceId: string): string {
  return `trace-${traceId}`;
}

export function promptStreamId(promptId: string): string {
  return `prompt-${promptId}`;
}

export function assessmentStreamId(assessmentId: string): string {
  return `assessment-${assessmentId}`;
}

export function evaluationDatasetStreamId(datasetId: string): string {
  return `evaluation-dataset-${datasetId}`;
}

export function evaluationRunStreamId(runId: string): string {
  return `evaluation-run-${runId}`;
}

export function evaluationRuleStreamId(ruleId: string): string {
  return `evaluation-rule-${ruleId}`;
}

export function annotationQueueStreamId(queueId: string): string {
  return `annotation-queue-${queueId}`;
}

/** A user account (`UserCreated`, `UserPasswordChanged`, `LoginSucceeded`). */
export function userStreamId(userId: string): string {
  return `user-${userId}`;
}

/** A workspace: its creation and custom roles (AUTH-CORE) and its members. */
export function workspaceStreamId(workspaceId: string): string {
  return `workspace-${workspaceId}`;
}

/** An API key (`ApiKeyCreated`, `ApiKeyRevoked`). */
export function apiKeyStreamId(keyId: string): string {
  return `api-key-${keyId}`;
}

/** A service account (`ServiceAccountCreated`, `ServiceAccountDeleted`). */
export function serviceAccountStreamId(serviceAccountId: string): string {
  return `service-account-${serviceAccountId}`;
}

/** A deployment (docs/deployment.md, "Deployments"). */
export function deploymentStreamId(deploymentId: string): string {
  return `deployment-${deploymentId}`;
}

/** Denied operations of a workspace (`AccessDenied`, appended without a version check). */
export const ACCESS_DENIED_STREAM_ID = 'access-denied';

/** Failed logins of an organisation (`LoginFailed`, appended without a version check). */
export const LOGIN_FAILURES_STREAM_ID = 'login-failures';

/** The workspace's retention policy (docs/governance.md, "Retention"). */
export const RETENTION_POLICY_STREAM_ID = 'retention-policy';

/** What the retention worker purged of the workspace's traces (`TracesPurged`). */
export const TRACE_RETENTION_STREAM_ID = 'retention-traces';

/** What the retention worker dropped of the workspace's metric points (`MetricPointsPurged`). */
export const METRIC_RETENTION_STREAM_ID = 'retention-metrics';

/** The workspace's model price table (stream ids are per workspace). */
export const MODEL_PRICES_STREAM_ID = 'model-prices';

import type { Domain } from './catalogue.ts';

/** The domain (and so the Kafka topic) of a stream, from its id; null for an unknown prefix. */
export function domainOfStream(streamId: string): Domain | null {
  if (streamId.startsWith('experiment-')) return 'experiments';
  if (streamId.startsWith('run-') || streamId === METRIC_RETENTION_STREAM_ID) return 'runs';
  if (streamId.startsWith('registered-model-')) return 'registry';
  if (streamId.startsWith('webhook-')) return 'webhooks';
  if (streamId.startsWith('prompt-')) return 'prompts';
  if (streamId.startsWith('deployment-')) return 'deployments';
  if (
    streamId.startsWith('assessment-') ||
    streamId.startsWith('evaluation-') ||
    streamId.startsWith('annotation-queue-')
  )
    return 'evaluation';
  if (
    streamId.startsWith('span-batch-') ||
    streamId.startsWith('trace-') ||
    streamId === MODEL_PRICES_STREAM_ID ||
    streamId === RETENTION_POLICY_STREAM_ID ||
    streamId === TRACE_RETENTION_STREAM_ID
  )
    return 'tracing';
  if (
    streamId.startsWith('user-') ||
    streamId.startsWith('workspace-') ||
    streamId.startsWith('organization-') ||
    streamId.startsWith('api-key-') ||
    streamId.startsWith('service-account-') ||
    streamId === LOGIN_FAILURES_STREAM_ID ||
    streamId === ACCESS_DENIED_STREAM_ID
  )
    return 'auth';
  return null;
}
