import {
  GraphQLError,
  defaultFieldResolver,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { CairnError } from '../errors.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { authorize, type Rule } from './authorize.ts';
import { guardSubscription, REVOKED } from './subscription-guard.ts';
import { unauthenticated } from './principal.ts';

type RootType = 'Query' | 'Mutation' | 'Subscription';

/**
 * One rule per root field of the served schema (docs/auth.md). Building the served schema throws
 * when a root field has no rule here or a rule names no field (checkGraphQLRules): a new
 * operation cannot forget its authorisation. Reads need `<resource>:read`, writes
 * `<resource>:write`; workspaces, members, keys and roles need `workspace:admin`.
 */
export const GRAPHQL_RULES: Readonly<Record<RootType, Readonly<Record<string, Rule>>>> = {
  Query: {
    me: { public: true },
    workspaces: { authenticated: true },
    apiKeys: { scope: 'workspace:admin' },
    serviceAccounts: { scope: 'workspace:admin' },
    customRoles: { scope: 'tracking:read' },
    deployment: { scope: 'deployments:read' },
    deployments: { scope: 'deployments:read' },
    annotationQueue: { scope: 'evaluation:read' },
    annotationQueues: { scope: 'evaluation:read' },
    assessments: { scope: 'evaluation:read' },
    auditLog: { scope: 'workspace:admin' },
    retentionPolicy: { scope: 'tracking:read' },
    compareEvaluationRuns: { scope: 'evaluation:read' },
    evaluationDataset: { scope: 'evaluation:read' },
    evaluationDatasets: { scope: 'evaluation:read' },
    evaluationRule: { scope: 'evaluation:read' },
    evaluationRules: { scope: 'evaluation:read' },
    evaluationRun: { scope: 'evaluation:read' },
    evaluationRuns: { scope: 'evaluation:read' },
    experiment: { scope: 'tracking:read' },
    experimentByName: { scope: 'tracking:read' },
    experiments: { scope: 'tracking:read' },
    members: { scope: 'tracking:read' },
    metricHistories: { scope: 'tracking:read' },
    modelPrices: { scope: 'tracing:read' },
    modelVersion: { scope: 'registry:read' },
    modelVersions: { scope: 'registry:read' },
    prompt: { scope: 'prompts:read' },
    promptVersion: { scope: 'prompts:read' },
    promptVersionDiff: { scope: 'prompts:read' },
    prompts: { scope: 'prompts:read' },
    registeredModel: { scope: 'registry:read' },
    registeredModels: { scope: 'registry:read' },
    resolveModelUri: { scope: 'registry:read' },
    resolvePromptUri: { scope: 'prompts:read' },
    run: { scope: 'tracking:read' },
    runs: { scope: 'tracking:read' },
    lineage: { scope: 'tracking:read' },
    session: { scope: 'tracing:read' },
    sessions: { scope: 'tracing:read' },
    trace: { scope: 'tracing:read' },
    traceStats: { scope: 'tracing:read' },
    traces: { scope: 'tracing:read' },
    webhook: { scope: 'webhooks:read' },
    webhooks: { scope: 'webhooks:read' },
  },
  Mutation: {
    createWorkspace: { scope: 'workspace:admin' },
    createApiKey: { scope: 'workspace:admin' },
    setRetentionPolicy: { scope: 'workspace:admin' },
    removeRetentionPolicy: { scope: 'workspace:admin' },
    applyRetention: { scope: 'workspace:admin' },
    revokeApiKey: { scope: 'workspace:admin' },
    createServiceAccount: { scope: 'workspace:admin' },
    deleteServiceAccount: { scope: 'workspace:admin' },
    defineCustomRole: { scope: 'workspace:admin' },
    deleteCustomRole: { scope: 'workspace:admin' },
    addTracesToAnnotationQueue: { scope: 'tracing:write' },
    appendDatasetRecords: { scope: 'evaluation:write' },
    appendDatasetRecordsFromTraces: { scope: 'evaluation:write' },
    archivePrompt: { scope: 'prompts:write' },
    assignAnnotationQueueItem: { scope: 'evaluation:write' },
    completeAnnotationQueueItem: { scope: 'evaluation:write' },
    createAnnotationQueue: { scope: 'evaluation:write' },
    createEvaluationDataset: { scope: 'evaluation:write' },
    createEvaluationRule: { scope: 'evaluation:write' },
    createDeployment: { scope: 'deployments:write' },
    createExperiment: { scope: 'tracking:write' },
    createModelVersion: { scope: 'registry:write' },
    createPrompt: { scope: 'prompts:write' },
    createPromptVersion: { scope: 'prompts:write' },
    createRegisteredModel: { scope: 'registry:write' },
    createRun: { scope: 'tracking:write' },
    createWebhook: { scope: 'webhooks:write' },
    deleteAnnotationQueue: { scope: 'evaluation:write' },
    deleteAssessment: { scope: 'evaluation:write' },
    deleteEvaluationRule: { scope: 'evaluation:write' },
    deleteDeployment: { scope: 'deployments:write' },
    deleteExperiment: { scope: 'tracking:write' },
    explainDeployment: { scope: 'deployments:write' },
    deleteExperimentTag: { scope: 'tracking:write' },
    deleteModelAlias: { scope: 'registry:write' },
    deleteModelPrice: { scope: 'tracing:write' },
    deleteModelVersion: { scope: 'registry:write' },
    deleteModelVersionTag: { scope: 'registry:write' },
    deletePrompt: { scope: 'prompts:write' },
    deletePromptAlias: { scope: 'prompts:write' },
    deletePromptTag: { scope: 'prompts:write' },
    deletePromptVersionTag: { scope: 'prompts:write' },
    deleteRegisteredModel: { scope: 'registry:write' },
    deleteRegisteredModelTag: { scope: 'registry:write' },
    deleteRun: { scope: 'tracking:write' },
    deleteTag: { scope: 'tracking:write' },
    deleteTraceMetadata: { scope: 'tracing:write' },
    deleteTraceTag: { scope: 'tracing:write' },
    deleteTraces: { scope: 'tracing:write' },
    deleteWebhook: { scope: 'webhooks:write' },
    eraseUser: { scope: 'workspace:admin' },
    inviteMember: { scope: 'workspace:admin' },
    logBatch: { scope: 'tracking:write' },
    logRunInputs: { scope: 'tracking:write' },
    logExpectation: { scope: 'evaluation:write' },
    logFeedback: { scope: 'evaluation:write' },
    logMetric: { scope: 'tracking:write' },
    logParam: { scope: 'tracking:write' },
    nextAnnotationQueueItem: { scope: 'evaluation:write' },
    predictDeployment: { scope: 'deployments:write' },
    recordDeploymentMetrics: { scope: 'deployments:write' },
    recordEvaluationRows: { scope: 'evaluation:write' },
    redeliverWebhookDelivery: { scope: 'webhooks:write' },
    registerEvaluationRun: { scope: 'evaluation:write' },
    removeMember: { scope: 'workspace:admin' },
    renameExperiment: { scope: 'tracking:write' },
    renameRegisteredModel: { scope: 'registry:write' },
    restoreExperiment: { scope: 'tracking:write' },
    restoreRun: { scope: 'tracking:write' },
    rotateWebhookSecret: { scope: 'webhooks:write' },
    setExperimentTag: { scope: 'tracking:write' },
    setMemberRole: { scope: 'workspace:admin' },
    setModelAlias: { scope: 'registry:write' },
    setModelPrice: { scope: 'tracing:write' },
    setModelVersionTag: { scope: 'registry:write' },
    setPromptAlias: { scope: 'prompts:write' },
    setPromptTag: { scope: 'prompts:write' },
    setPromptVersionTag: { scope: 'prompts:write' },
    setRegisteredModelTag: { scope: 'registry:write' },
    setTag: { scope: 'tracking:write' },
    setTraceMetadata: { scope: 'tracing:write' },
    setTraceTag: { scope: 'tracing:write' },
    skipAnnotationQueueItem: { scope: 'evaluation:write' },
    transitionModelVersionStage: { scope: 'registry:write' },
    unarchivePrompt: { scope: 'prompts:write' },
    rollbackDeployment: { scope: 'deployments:write' },
    updateAnnotationQueue: { scope: 'evaluation:write' },
    updateAssessment: { scope: 'evaluation:write' },
    updateDeployment: { scope: 'deployments:write' },
    updateEvaluationRule: { scope: 'evaluation:write' },
    updateModelVersion: { scope: 'registry:write' },
    updateRegisteredModel: { scope: 'registry:write' },
    updateRun: { scope: 'tracking:write' },
    updateWebhook: { scope: 'webhooks:write' },
  },
  Subscription: {
    accessChanged: { scope: 'tracking:read' },
    annotationQueueChanged: { scope: 'evaluation:read' },
    auditLogAppended: { scope: 'workspace:admin' },
    assessmentsChanged: { scope: 'evaluation:read' },
    deploymentChanged: { scope: 'deployments:read' },
    evaluationRunChanged: { scope: 'evaluation:read' },
    experimentsChanged: { scope: 'tracking:read' },
    metricsLogged: { scope: 'tracking:read' },
    modelPricesChanged: { scope: 'tracing:read' },
    promptChanged: { scope: 'prompts:read' },
    registeredModelChanged: { scope: 'registry:read' },
    registeredModelsChanged: { scope: 'registry:read' },
    runArtifactsChanged: { scope: 'artifacts:read' },
    runChanged: { scope: 'tracking:read' },
    runsChanged: { scope: 'tracking:read' },
    tracesChanged: { scope: 'tracing:read' },
    tracesLeft: { scope: 'tracing:read' },
  },
};

/** The names of root fields without a rule, and of rules without a field (both must be empty). */
export function ruleCoverage(
  schema: GraphQLSchema,
  rules: typeof GRAPHQL_RULES = GRAPHQL_RULES,
): { missing: string[]; stray: string[] } {
  const missing: string[] = [];
  const stray: string[] = [];
  const roots: [RootType, GraphQLObjectType | null | undefined][] = [
    ['Query', schema.getQueryType()],
    ['Mutation', schema.getMutationType()],
    ['Subscription', schema.getSubscriptionType()],
  ];
  for (const [name, type] of roots) {
    const fields = type ? Object.keys(type.getFields()) : [];
    const ruled = rules[name];
    for (const f of fields) if (!Object.hasOwn(ruled, f)) missing.push(`${name}.${f}`);
    for (const f of Object.keys(ruled)) if (!fields.includes(f)) stray.push(`${name}.${f}`);
  }
  return { missing, stray };
}

/** Throws naming every root field without a rule and every rule without a field. */
export function checkGraphQLRules(
  schema: GraphQLSchema,
  rules: typeof GRAPHQL_RULES = GRAPHQL_RULES,
): void {
  const { missing, stray } = ruleCoverage(schema, rules);
  if (missing.length === 0 && stray.length === 0) return;
  const parts = [];
  if (missing.length > 0) parts.push(`root fields without a rule: ${missing.join(', ')}`);
  if (stray.length > 0) parts.push(`rules naming no field: ${stray.join(', ')}`);
  throw new Error(
    `apps/api/src/auth/graphql-rules.ts does not match the schema (${parts.join('; ')})`,
  );
}

const guarded = new WeakSet<GraphQLSchema>();

/** graphql-ws does not run the HTTP error mapper: the code travels in the error itself. */
function wsError(error: unknown): unknown {
  if (!(error instanceof CairnError)) return error;
  return new GraphQLError(error.message, {
    extensions: { code: error.code, ...error.details },
  });
}

/**
 * Checks the rules against the schema, then wraps every root field once, in place, so that its
 * resolver (and a subscription's subscribe) first calls `authorize` — before argument checks and
 * before any lookup. Subscriptions re-check the principal before every push and end with
 * UNAUTHENTICATED when the credential is revoked or expires (subscription-guard.ts).
 */
export function withGraphQLRules(
  schema: GraphQLSchema,
  rules: typeof GRAPHQL_RULES = GRAPHQL_RULES,
): GraphQLSchema {
  if (guarded.has(schema)) return schema;
  checkGraphQLRules(schema, rules);
  guarded.add(schema);
  const roots: [RootType, GraphQLObjectType | null | undefined][] = [
    ['Query', schema.getQueryType()],
    ['Mutation', schema.getMutationType()],
    ['Subscription', schema.getSubscriptionType()],
  ];
  for (const [rootName, type] of roots) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const rule = rules[rootName][field.name]!;
      const operation = `${rootName}.${field.name}`;
      const check = (ctx: GraphQLContext) => {
        try {
          authorize(ctx.principal, ctx.workspaceId, rule);
        } catch (error) {
          if (rootName === 'Mutation') ctx.auth.denied(ctx, operation, error);
          throw error;
        }
      };
      const inner: GraphQLFieldResolver<unknown, GraphQLContext> =
        (field.resolve as GraphQLFieldResolver<unknown, GraphQLContext> | undefined) ??
        defaultFieldResolver;
      if (rootName === 'Subscription') {
        field.resolve = (source: unknown, args, ctx: GraphQLContext, info) => {
          if (source === REVOKED)
            throw wsError(unauthenticated('The credential was revoked or expired'));
          return inner(source, args, ctx, info);
        };
        const subscribe = field.subscribe as GraphQLFieldConfig<
          unknown,
          GraphQLContext
        >['subscribe'];
        if (subscribe) {
          field.subscribe = async (source: unknown, args, ctx: GraphQLContext, info) => {
            try {
              check(ctx);
            } catch (error) {
              throw wsError(error);
            }
            const result: unknown = await subscribe(source, args, ctx, info);
            if (result && typeof result === 'object' && Symbol.asyncIterator in result)
              return guardSubscription(ctx, result as AsyncIterable<unknown>);
            return result;
          };
        }
      } else {
        field.resolve = (source: unknown, args, ctx: GraphQLContext, info) => {
          check(ctx);
          return inner(source, args, ctx, info);
        };
      }
    }
  }
  return schema;
}
