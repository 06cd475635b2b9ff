import type { z } from 'zod';
import {
  experimentCreatedV1,
  experimentCreatedV2,
  experimentDeletedV1,
  experimentRenamedV1,
  experimentRestoredV1,
  experimentTagDeletedV1,
  experimentTagSetV1,
} from './experiments/experiment.events.ts';
import {
  runArtifactLoggedV1,
  runDeletedV1,
  runInputsLoggedV1,
  runMetricsLoggedV1,
  runMetricsLoggedV2,
  metricColumns,
  runParamsLoggedV1,
  runRenamedV1,
  runRestoredV1,
  runStartedV1,
  runStatusChangedV1,
  runTagDeletedV1,
  runTagsSetV1,
} from './runs/run.events.ts';
import {
  modelAliasDeletedV1,
  modelAliasSetV1,
  modelVersionCreatedV1,
  modelVersionDeletedV1,
  modelVersionDescriptionSetV1,
  modelVersionStageTransitionedV1,
  modelVersionTagDeletedV1,
  modelVersionTagSetV1,
  registeredModelCreatedV1,
  registeredModelDeletedV1,
  registeredModelDescriptionSetV1,
  registeredModelRenamedV1,
  registeredModelTagDeletedV1,
  registeredModelTagSetV1,
} from './registry/registry.events.ts';
import {
  webhookActivatedV1,
  webhookCreatedV1,
  webhookCreatedV2,
  webhookDeactivatedV1,
  webhookDeletedV1,
  webhookEventsChangedV1,
  webhookEventsChangedV2,
  webhookSecretRotatedV1,
  webhookDeliveryRequeuedV1,
  webhookUrlChangedV1,
} from './webhooks/webhook.events.ts';
import {
  modelPriceDeletedV1,
  modelPriceSetV1,
  spansIngestedV1,
  traceDeletedV1,
  traceMetadataSetV1,
  traceMetadataDeletedV1,
  traceTagDeletedV1,
  traceTagSetV1,
} from './tracing/trace.events.ts';
import {
  promptAliasDeletedV1,
  promptAliasSetV1,
  promptArchivedV1,
  promptCreatedV1,
  promptDeletedV1,
  promptTagDeletedV1,
  promptTagSetV1,
  promptUnarchivedV1,
  promptVersionCreatedV1,
  promptVersionTagDeletedV1,
  promptVersionTagSetV1,
} from './prompts/prompt.events.ts';
import {
  assessmentCreatedV1,
  assessmentDeletedV1,
  assessmentUpdatedV1,
  evaluationDatasetCreatedV1,
  evaluationDatasetRecordsAppendedV1,
  evaluationRowsRecordedV1,
  evaluationRunRegisteredV1,
} from './evaluation/evaluation.events.ts';
import {
  evaluationRuleCreatedV1,
  evaluationRuleDeletedV1,
  evaluationRuleUpdatedV1,
} from './evaluation/rule.events.ts';
import {
  annotationQueueCreatedV1,
  annotationQueueDeletedV1,
  annotationQueueItemAssignedV1,
  annotationQueueItemCompletedV1,
  annotationQueueItemSkippedV1,
  annotationQueueItemsAddedV1,
  annotationQueueUpdatedV1,
} from './evaluation/annotation.events.ts';
import {
  loginFailedV1,
  loginSucceededV1,
  memberInvitedV1,
  memberRemovedV1,
  memberRoleSetV1,
  subjectErasedV1,
  userCreatedV1,
  userIdentityLinkedV1,
  userPasswordChangedV1,
} from './auth/user.events.ts';
import {
  accessDeniedV1,
  apiKeyCreatedV1,
  apiKeyCreatedV2,
  apiKeyRevokedV1,
  customRoleDefinedV1,
  customRoleDeletedV1,
  serviceAccountCreatedV1,
  serviceAccountDeletedV1,
  workspaceCreatedV1,
} from './auth/auth.events.ts';
import {
  deploymentCreatedV1,
  deploymentDeletedV1,
  deploymentMetricsRecordedV1,
  deploymentRolledBackV1,
  deploymentStatusChangedV1,
  deploymentUpdatedV1,
} from './deployments/deployment.events.ts';
import {
  metricPointsPurgedV1,
  retentionPolicyRemovedV1,
  retentionPolicySetV1,
  tracesPurgedV1,
} from './governance/retention.events.ts';

/** Domains name Kafka topics (`<domain>.events.v1`), tables and GraphQL folders alike. */
export type Domain =
  | 'experiments'
  | 'runs'
  | 'registry'
  | 'webhooks'
  | 'tracing'
  | 'prompts'
  | 'evaluation'
  | 'auth'
  | 'deployments';

/**
 * The current schema of every event type. Adding a type without a schema is a compile error
 * (the `satisfies` below); changing a published schema means a new version plus an upcaster.
 */
export const currentSchemas = {
  ExperimentCreated: { version: 2, domain: 'experiments', schema: experimentCreatedV2 },
  ExperimentRenamed: { version: 1, domain: 'experiments', schema: experimentRenamedV1 },
  ExperimentDeleted: { version: 1, domain: 'experiments', schema: experimentDeletedV1 },
  ExperimentRestored: { version: 1, domain: 'experiments', schema: experimentRestoredV1 },
  ExperimentTagSet: { version: 1, domain: 'experiments', schema: experimentTagSetV1 },
  ExperimentTagDeleted: { version: 1, domain: 'experiments', schema: experimentTagDeletedV1 },
  RunStarted: { version: 1, domain: 'runs', schema: runStartedV1 },
  RunParamsLogged: { version: 1, domain: 'runs', schema: runParamsLoggedV1 },
  RunMetricsLogged: { version: 2, domain: 'runs', schema: runMetricsLoggedV2 },
  RunTagsSet: { version: 1, domain: 'runs', schema: runTagsSetV1 },
  RunTagDeleted: { version: 1, domain: 'runs', schema: runTagDeletedV1 },
  RunStatusChanged: { version: 1, domain: 'runs', schema: runStatusChangedV1 },
  RunRenamed: { version: 1, domain: 'runs', schema: runRenamedV1 },
  RunDeleted: { version: 1, domain: 'runs', schema: runDeletedV1 },
  RunRestored: { version: 1, domain: 'runs', schema: runRestoredV1 },
  RunArtifactLogged: { version: 1, domain: 'runs', schema: runArtifactLoggedV1 },
  RunInputsLogged: { version: 1, domain: 'runs', schema: runInputsLoggedV1 },
  RegisteredModelCreated: { version: 1, domain: 'registry', schema: registeredModelCreatedV1 },
  RegisteredModelRenamed: { version: 1, domain: 'registry', schema: registeredModelRenamedV1 },
  RegisteredModelDescriptionSet: {
    version: 1,
    domain: 'registry',
    schema: registeredModelDescriptionSetV1,
  },
  RegisteredModelTagSet: { version: 1, domain: 'registry', schema: registeredModelTagSetV1 },
  RegisteredModelTagDeleted: {
    version: 1,
    domain: 'registry',
    schema: registeredModelTagDeletedV1,
  },
  RegisteredModelDeleted: { version: 1, domain: 'registry', schema: registeredModelDeletedV1 },
  ModelVersionCreated: { version: 1, domain: 'registry', schema: modelVersionCreatedV1 },
  ModelVersionDescriptionSet: {
    version: 1,
    domain: 'registry',
    schema: modelVersionDescriptionSetV1,
  },
  ModelVersionTagSet: { version: 1, domain: 'registry', schema: modelVersionTagSetV1 },
  ModelVersionTagDeleted: { version: 1, domain: 'registry', schema: modelVersionTagDeletedV1 },
  ModelVersionDeleted: { version: 1, domain: 'registry', schema: modelVersionDeletedV1 },
  ModelVersionStageTransitioned: {
    version: 1,
    domain: 'registry',
    schema: modelVersionStageTransitionedV1,
  },
  ModelAliasSet: { version: 1, domain: 'registry', schema: modelAliasSetV1 },
  ModelAliasDeleted: { version: 1, domain: 'registry', schema: modelAliasDeletedV1 },
  WebhookCreated: { version: 2, domain: 'webhooks', schema: webhookCreatedV2 },
  WebhookUrlChanged: { version: 1, domain: 'webhooks', schema: webhookUrlChangedV1 },
  WebhookEventsChanged: { version: 2, domain: 'webhooks', schema: webhookEventsChangedV2 },
  WebhookActivated: { version: 1, domain: 'webhooks', schema: webhookActivatedV1 },
  WebhookDeactivated: { version: 1, domain: 'webhooks', schema: webhookDeactivatedV1 },
  WebhookSecretRotated: { version: 1, domain: 'webhooks', schema: webhookSecretRotatedV1 },
  WebhookDeleted: { version: 1, domain: 'webhooks', schema: webhookDeletedV1 },
  WebhookDeliveryRequeued: { version: 1, domain: 'webhooks', schema: webhookDeliveryRequeuedV1 },
  SpansIngested: { version: 1, domain: 'tracing', schema: spansIngestedV1 },
  TraceTagSet: { version: 1, domain: 'tracing', schema: traceTagSetV1 },
  TraceTagDeleted: { version: 1, domain: 'tracing', schema: traceTagDeletedV1 },
  TraceMetadataSet: { version: 1, domain: 'tracing', schema: traceMetadataSetV1 },
  TraceMetadataDeleted: { version: 1, domain: 'tracing', schema: traceMetadataDeletedV1 },
  TraceDeleted: { version: 1, domain: 'tracing', schema: traceDeletedV1 },
  ModelPriceSet: { version: 1, domain: 'tracing', schema: modelPriceSetV1 },
  ModelPriceDeleted: { version: 1, domain: 'tracing', schema: modelPriceDeletedV1 },
  PromptCreated: { version: 1, domain: 'prompts', schema: promptCreatedV1 },
  PromptTagSet: { version: 1, domain: 'prompts', schema: promptTagSetV1 },
  PromptTagDeleted: { version: 1, domain: 'prompts', schema: promptTagDeletedV1 },
  PromptArchived: { version: 1, domain: 'prompts', schema: promptArchivedV1 },
  PromptUnarchived: { version: 1, domain: 'prompts', schema: promptUnarchivedV1 },
  PromptDeleted: { version: 1, domain: 'prompts', schema: promptDeletedV1 },
  PromptVersionCreated: { version: 1, domain: 'prompts', schema: promptVersionCreatedV1 },
  PromptVersionTagSet: { version: 1, domain: 'prompts', schema: promptVersionTagSetV1 },
  PromptVersionTagDeleted: { version: 1, domain: 'prompts', schema: promptVersionTagDeletedV1 },
  PromptAliasSet: { version: 1, domain: 'prompts', schema: promptAliasSetV1 },
  PromptAliasDeleted: { version: 1, domain: 'prompts', schema: promptAliasDeletedV1 },
  AssessmentCreated: { version: 1, domain: 'evaluation', schema: assessmentCreatedV1 },
  AssessmentUpdated: { version: 1, domain: 'evaluation', schema: assessmentUpdatedV1 },
  AssessmentDeleted: { version: 1, domain: 'evaluation', schema: assessmentDeletedV1 },
  EvaluationDatasetCreated: {
    version: 1,
    domain: 'evaluation',
    schema: evaluationDatasetCreatedV1,
  },
  EvaluationDatasetRecordsAppended: {
    version: 1,
    domain: 'evaluation',
    schema: evaluationDatasetRecordsAppendedV1,
  },
  EvaluationRunRegistered: { version: 1, domain: 'evaluation', schema: evaluationRunRegisteredV1 },
  EvaluationRowsRecorded: { version: 1, domain: 'evaluation', schema: evaluationRowsRecordedV1 },
  EvaluationRuleCreated: { version: 1, domain: 'evaluation', schema: evaluationRuleCreatedV1 },
  EvaluationRuleUpdated: { version: 1, domain: 'evaluation', schema: evaluationRuleUpdatedV1 },
  EvaluationRuleDeleted: { version: 1, domain: 'evaluation', schema: evaluationRuleDeletedV1 },
  AnnotationQueueCreated: { version: 1, domain: 'evaluation', schema: annotationQueueCreatedV1 },
  AnnotationQueueUpdated: { version: 1, domain: 'evaluation', schema: annotationQueueUpdatedV1 },
  AnnotationQueueItemsAdded: {
    version: 1,
    domain: 'evaluation',
    schema: annotationQueueItemsAddedV1,
  },
  AnnotationQueueItemAssigned: {
    version: 1,
    domain: 'evaluation',
    schema: annotationQueueItemAssignedV1,
  },
  AnnotationQueueItemCompleted: {
    version: 1,
    domain: 'evaluation',
    schema: annotationQueueItemCompletedV1,
  },
  AnnotationQueueItemSkipped: {
    version: 1,
    domain: 'evaluation',
    schema: annotationQueueItemSkippedV1,
  },
  AnnotationQueueDeleted: { version: 1, domain: 'evaluation', schema: annotationQueueDeletedV1 },
  UserCreated: { version: 1, domain: 'auth', schema: userCreatedV1 },
  UserPasswordChanged: { version: 1, domain: 'auth', schema: userPasswordChangedV1 },
  UserIdentityLinked: { version: 1, domain: 'auth', schema: userIdentityLinkedV1 },
  MemberInvited: { version: 1, domain: 'auth', schema: memberInvitedV1 },
  MemberRoleSet: { version: 1, domain: 'auth', schema: memberRoleSetV1 },
  MemberRemoved: { version: 1, domain: 'auth', schema: memberRemovedV1 },
  LoginSucceeded: { version: 1, domain: 'auth', schema: loginSucceededV1 },
  LoginFailed: { version: 1, domain: 'auth', schema: loginFailedV1 },
  SubjectErased: { version: 1, domain: 'auth', schema: subjectErasedV1 },
  WorkspaceCreated: { version: 1, domain: 'auth', schema: workspaceCreatedV1 },
  CustomRoleDefined: { version: 1, domain: 'auth', schema: customRoleDefinedV1 },
  CustomRoleDeleted: { version: 1, domain: 'auth', schema: customRoleDeletedV1 },
  ApiKeyCreated: { version: 2, domain: 'auth', schema: apiKeyCreatedV2 },
  ApiKeyRevoked: { version: 1, domain: 'auth', schema: apiKeyRevokedV1 },
  AccessDenied: { version: 1, domain: 'auth', schema: accessDeniedV1 },
  ServiceAccountCreated: { version: 1, domain: 'auth', schema: serviceAccountCreatedV1 },
  ServiceAccountDeleted: { version: 1, domain: 'auth', schema: serviceAccountDeletedV1 },
  DeploymentCreated: { version: 1, domain: 'deployments', schema: deploymentCreatedV1 },
  DeploymentUpdated: { version: 1, domain: 'deployments', schema: deploymentUpdatedV1 },
  DeploymentRolledBack: { version: 1, domain: 'deployments', schema: deploymentRolledBackV1 },
  DeploymentStatusChanged: {
    version: 1,
    domain: 'deployments',
    schema: deploymentStatusChangedV1,
  },
  DeploymentDeleted: { version: 1, domain: 'deployments', schema: deploymentDeletedV1 },
  DeploymentMetricsRecorded: {
    version: 1,
    domain: 'deployments',
    schema: deploymentMetricsRecordedV1,
  },
  RetentionPolicySet: { version: 1, domain: 'tracing', schema: retentionPolicySetV1 },
  RetentionPolicyRemoved: { version: 1, domain: 'tracing', schema: retentionPolicyRemovedV1 },
  TracesPurged: { version: 1, domain: 'tracing', schema: tracesPurgedV1 },
  MetricPointsPurged: { version: 1, domain: 'runs', schema: metricPointsPurgedV1 },
} as const satisfies Record<string, { version: number; domain: Domain; schema: z.ZodType }>;

export type EventType = keyof typeof currentSchemas;
export type EventData<T extends EventType> = z.infer<(typeof currentSchemas)[T]['schema']>;

/**
 * An upcaster lifts the data of one stored version to the next one. Keyed by type, then by the
 * version it reads. Each has a test on a stored fixture (test/fixtures).
 */
export interface Upcaster {
  from: z.ZodType;
  to: (data: never) => unknown;
}

export const upcasters: Partial<Record<EventType, Record<number, Upcaster>>> = {
  ExperimentCreated: {
    1: {
      from: experimentCreatedV1,
      to: (data: z.infer<typeof experimentCreatedV1>): z.infer<typeof experimentCreatedV2> => ({
        experimentId: data.experimentId,
        name: data.name,
        artifactLocation: data.artifactLocation ?? null,
        tags: [],
      }),
    },
  },
  // v2 widened the enum of webhook event kinds (prompt kinds); v1 data is valid v2 data.
  WebhookCreated: {
    1: {
      from: webhookCreatedV1,
      to: (data: z.infer<typeof webhookCreatedV1>): z.infer<typeof webhookCreatedV2> => data,
    },
  },
  ApiKeyCreated: {
    1: {
      from: apiKeyCreatedV1,
      to: (data: z.infer<typeof apiKeyCreatedV1>): z.infer<typeof apiKeyCreatedV2> => ({
        ...data,
        serviceAccountId: null,
      }),
    },
  },
  WebhookEventsChanged: {
    1: {
      from: webhookEventsChangedV1,
      to: (data: z.infer<typeof webhookEventsChangedV1>): z.infer<typeof webhookEventsChangedV2> =>
        data,
    },
  },
  RunMetricsLogged: {
    1: {
      from: runMetricsLoggedV1,
      to: (data: z.infer<typeof runMetricsLoggedV1>): z.infer<typeof runMetricsLoggedV2> =>
        metricColumns(data.runId, data.metrics),
    },
  },
};

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(currentSchemas, type);
}

export function domainOf(type: EventType): Domain {
  return currentSchemas[type].domain;
}

export const ALL_EVENT_TYPES = Object.keys(currentSchemas) as EventType[];
