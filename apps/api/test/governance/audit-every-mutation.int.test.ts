/**
 * Issue 17 acceptance: "every mutation of the GraphQL schema produces an audit entry with actor
 * and time (a test walks the schema)". The Mutation fields of the printed schema
 * (packages/schema/schema.graphql) are walked; each one is either called here, successfully, by
 * an owner API key (actor `key:<id>`), after which `auditLog` must show a new entry of one of the
 * expected event types with that actor and a time inside the call's window; or it is listed in
 * NO_EVENT with the reason it appends nothing. A mutation with neither, a call that fails, or a
 * call that leaves no entry fails the test with the mutation's name. One server, one database.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildSchema } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { createUser, DEFAULT_ORGANIZATION_ID } from '../../src/index.ts';
import { startApiHarness, type ApiHarness, type GqlResponse } from '../helpers/api-harness.ts';

const printed = buildSchema(
  readFileSync(
    path.resolve(import.meta.dirname, '../../../../packages/schema/schema.graphql'),
    'utf8',
  ),
);

/** Mutations that legitimately append no event, each with its reason. Keep this tiny. */
const NO_EVENT: Record<string, string> = {
  predictDeployment: 'scores input through the target: a read that changes nothing',
  explainDeployment: 'explains input through the target: a read that changes nothing',
};

type Vars = Record<string, unknown>;
type Data = Record<string, unknown>;

/** The value at a dotted path of an answer (`createRun.id`), as a string. */
function pick(data: unknown, at: string): string {
  let v: unknown = data;
  for (const part of at.split('.')) v = (v as Record<string, unknown> | null | undefined)?.[part];
  if (typeof v !== 'string') throw new Error(`no string at ${at} in ${JSON.stringify(data)}`);
  return v;
}

interface Step {
  /** The Mutation field this step covers (its first root field). */
  field: string;
  query: string;
  vars?: () => Vars;
  /** At least one new entry of one of these types must appear. */
  types: string[];
  /** Keep what later steps need: s[name] = the answer's value at a dotted path. */
  keep?: [name: string, at: string];
  /** Set-up calls before it (not checked). */
  before?: () => Promise<void>;
  /** Where to look instead of the caller's auditLog (createWorkspace writes another workspace). */
  workspace?: () => string;
}

let api: ApiHarness;
let dropDb: () => Promise<void>;
const W = randomWorkspaceId();
let auth: Record<string, string>;
let actor: string;
const hex = (n: number) => randomBytes(n / 2).toString('hex');
const traces = [hex(32), hex(32), hex(32), hex(32)];
/** Ids the steps hand to one another. */
const s: Record<string, string> = {};

async function call(query: string, vars: Vars = {}): Promise<GqlResponse<Data>> {
  return api.gql<Data>(query, vars, auth);
}

async function must(query: string, vars: Vars = {}): Promise<Data> {
  const res = await call(query, vars);
  if (res.errors?.length) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
  return res.data!;
}

async function ingestTraces(ids: string[]): Promise<void> {
  const res = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: { name: 'audit-every-mutation' },
              spans: ids.map((traceId) => ({
                traceId,
                spanId: hex(16),
                name: 'root',
                kind: 1,
                startTimeUnixNano: `${Date.now() - 1000}000000`,
                endTimeUnixNano: `${Date.now()}000000`,
                attributes: [{ key: 'input', value: { stringValue: 'hello' } }],
              })),
            },
          ],
        },
      ],
    }),
  });
  if (res.status !== 200) throw new Error(`OTLP ingest: ${res.status} ${await res.text()}`);
  for (let i = 0; i < 200; i++) {
    const t = await call(`{ trace(id: "${ids.at(-1)!}") { id } }`);
    if (t.data?.trace) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('traces not projected');
}

const STEPS: Step[] = [
  // experiments
  {
    field: 'createExperiment',
    query: 'mutation { createExperiment(name: "audit-exp") { id } }',
    types: ['ExperimentCreated'],
    keep: ['exp', 'createExperiment.id'],
  },
  {
    field: 'renameExperiment',
    query: 'mutation($id: String!) { renameExperiment(id: $id, name: "audit-exp-2") { id } }',
    vars: () => ({ id: s.exp }),
    types: ['ExperimentRenamed'],
  },
  {
    field: 'setExperimentTag',
    query: 'mutation($id: String!) { setExperimentTag(id: $id, key: "k", value: "v") { id } }',
    vars: () => ({ id: s.exp }),
    types: ['ExperimentTagSet'],
  },
  {
    field: 'deleteExperimentTag',
    query: 'mutation($id: String!) { deleteExperimentTag(id: $id, key: "k") { id } }',
    vars: () => ({ id: s.exp }),
    types: ['ExperimentTagDeleted'],
  },
  // runs
  {
    field: 'createRun',
    query: 'mutation($e: String!) { createRun(experimentId: $e, name: "r") { id } }',
    vars: () => ({ e: s.exp }),
    types: ['RunStarted'],
    keep: ['run', 'createRun.id'],
  },
  {
    field: 'logMetric',
    query: 'mutation($r: String!) { logMetric(runId: $r, key: "loss", value: 0.5) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunMetricsLogged'],
  },
  {
    field: 'logParam',
    query: 'mutation($r: String!) { logParam(runId: $r, key: "lr", value: "0.1") { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunParamsLogged'],
  },
  {
    field: 'logBatch',
    query:
      'mutation($r: String!) { logBatch(runId: $r, metrics: [{ key: "acc", value: 0.9 }], params: [{ key: "bs", value: "8" }]) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunMetricsLogged', 'RunParamsLogged'],
  },
  {
    field: 'logRunInputs',
    query:
      'mutation($r: String!) { logRunInputs(runId: $r, datasets: [{ name: "ds", digest: "d1", source: "s3://b/ds", sourceType: "s3" }]) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunInputsLogged'],
  },
  {
    field: 'setTag',
    query: 'mutation($r: String!) { setTag(runId: $r, key: "t", value: "v") { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunTagsSet'],
  },
  {
    field: 'deleteTag',
    query: 'mutation($r: String!) { deleteTag(runId: $r, key: "t") { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunTagDeleted'],
  },
  {
    field: 'updateRun',
    query: 'mutation($r: String!) { updateRun(runId: $r, name: "r2", status: FINISHED) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunRenamed', 'RunStatusChanged'],
  },
  {
    field: 'deleteRun',
    query: 'mutation($r: String!) { deleteRun(runId: $r) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunDeleted'],
  },
  {
    field: 'restoreRun',
    query: 'mutation($r: String!) { restoreRun(runId: $r) { id } }',
    vars: () => ({ r: s.run }),
    types: ['RunRestored'],
  },
  {
    field: 'deleteExperiment',
    query: 'mutation($id: String!) { deleteExperiment(id: $id) { id } }',
    vars: () => ({ id: s.exp }),
    types: ['ExperimentDeleted'],
  },
  {
    field: 'restoreExperiment',
    query: 'mutation($id: String!) { restoreExperiment(id: $id) { id } }',
    vars: () => ({ id: s.exp }),
    types: ['ExperimentRestored'],
  },
  // registry
  {
    field: 'createRegisteredModel',
    query: 'mutation { createRegisteredModel(name: "audit-model") { name } }',
    types: ['RegisteredModelCreated'],
  },
  {
    field: 'updateRegisteredModel',
    query: 'mutation { updateRegisteredModel(name: "audit-model", description: "d") { name } }',
    types: ['RegisteredModelDescriptionSet'],
  },
  {
    field: 'setRegisteredModelTag',
    query: 'mutation { setRegisteredModelTag(name: "audit-model", key: "k", value: "v") { name } }',
    types: ['RegisteredModelTagSet'],
  },
  {
    field: 'deleteRegisteredModelTag',
    query: 'mutation { deleteRegisteredModelTag(name: "audit-model", key: "k") { name } }',
    types: ['RegisteredModelTagDeleted'],
  },
  {
    field: 'createModelVersion',
    query:
      'mutation($s: String!, $r: String!) { createModelVersion(name: "audit-model", source: $s, runId: $r) { version } }',
    vars: () => ({ s: `runs:/${s.run}/model`, r: s.run }),
    types: ['ModelVersionCreated'],
  },
  {
    field: 'updateModelVersion',
    query:
      'mutation { updateModelVersion(name: "audit-model", version: 1, description: "d") { version } }',
    types: ['ModelVersionDescriptionSet'],
  },
  {
    field: 'setModelVersionTag',
    query:
      'mutation { setModelVersionTag(name: "audit-model", version: 1, key: "k", value: "v") { version } }',
    types: ['ModelVersionTagSet'],
  },
  {
    field: 'deleteModelVersionTag',
    query:
      'mutation { deleteModelVersionTag(name: "audit-model", version: 1, key: "k") { version } }',
    types: ['ModelVersionTagDeleted'],
  },
  {
    field: 'transitionModelVersionStage',
    query:
      'mutation { transitionModelVersionStage(name: "audit-model", version: 1, stage: STAGING) { version } }',
    types: ['ModelVersionStageTransitioned'],
  },
  {
    field: 'setModelAlias',
    query:
      'mutation { setModelAlias(name: "audit-model", alias: "champion", version: 1) { version } }',
    types: ['ModelAliasSet'],
  },
  {
    field: 'deleteModelAlias',
    before: async () => {
      await must(
        'mutation { setModelAlias(name: "audit-model", alias: "tmp", version: 1) { version } }',
      );
    },
    query: 'mutation { deleteModelAlias(name: "audit-model", alias: "tmp") { name } }',
    types: ['ModelAliasDeleted'],
  },
  // deployments
  {
    field: 'createDeployment',
    query:
      'mutation { createDeployment(input: { name: "audit-dep", target: "kubernetes", modelUri: "models:/audit-model@champion", config: { image: "img" } }) { id } }',
    types: ['DeploymentCreated'],
  },
  {
    field: 'updateDeployment',
    query:
      'mutation { updateDeployment(input: { name: "audit-dep", config: { image: "img2" } }) { id } }',
    types: ['DeploymentUpdated'],
  },
  {
    field: 'rollbackDeployment',
    before: async () => {
      await must(
        'mutation($s: String!) { createModelVersion(name: "audit-model", source: $s) { version } }',
        { s: `runs:/${s.run}/model2` },
      );
      await must(
        'mutation { setModelAlias(name: "audit-model", alias: "champion", version: 2) { version } }',
      );
      // The deployment's history has the alias move once the deployments projection saw it.
      for (let i = 0; i < 100; i++) {
        const d = await must('{ deployment(name: "audit-dep") { variants { servedVersion } } }');
        if (JSON.stringify(d).includes('"servedVersion":"2"')) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    query: 'mutation { rollbackDeployment(name: "audit-dep") { id } }',
    types: ['DeploymentRolledBack', 'ModelAliasSet'],
  },
  {
    field: 'recordDeploymentMetrics',
    query: 'mutation($i: RecordDeploymentMetricsInput!) { recordDeploymentMetrics(input: $i) }',
    vars: () => ({
      i: {
        name: 'audit-dep',
        windowStart: new Date(Date.now() - 10_000).toISOString(),
        windowEnd: new Date().toISOString(),
        variants: [{ variant: 'primary', requests: 3, errors: 0, latencyMsSum: 12 }],
      },
    }),
    types: ['DeploymentMetricsRecorded'],
  },
  {
    field: 'deleteDeployment',
    query: 'mutation { deleteDeployment(name: "audit-dep") }',
    types: ['DeploymentDeleted'],
  },
  {
    field: 'renameRegisteredModel',
    query:
      'mutation { renameRegisteredModel(name: "audit-model", newName: "audit-model-2") { name } }',
    types: ['RegisteredModelRenamed'],
  },
  {
    field: 'deleteModelVersion',
    query: 'mutation { deleteModelVersion(name: "audit-model-2", version: 2) }',
    types: ['ModelVersionDeleted'],
  },
  {
    field: 'deleteRegisteredModel',
    query: 'mutation { deleteRegisteredModel(name: "audit-model-2") }',
    types: ['RegisteredModelDeleted'],
  },
  // prompts
  {
    field: 'createPrompt',
    query: 'mutation { createPrompt(name: "audit-prompt") { name } }',
    types: ['PromptCreated'],
  },
  {
    field: 'createPromptVersion',
    query:
      'mutation { createPromptVersion(name: "audit-prompt", template: "Hi {{q}}") { version } }',
    types: ['PromptVersionCreated'],
  },
  {
    field: 'setPromptTag',
    query: 'mutation { setPromptTag(name: "audit-prompt", key: "k", value: "v") { name } }',
    types: ['PromptTagSet'],
  },
  {
    field: 'deletePromptTag',
    query: 'mutation { deletePromptTag(name: "audit-prompt", key: "k") { name } }',
    types: ['PromptTagDeleted'],
  },
  {
    field: 'setPromptVersionTag',
    query:
      'mutation { setPromptVersionTag(name: "audit-prompt", version: 1, key: "k", value: "v") { version } }',
    types: ['PromptVersionTagSet'],
  },
  {
    field: 'deletePromptVersionTag',
    query:
      'mutation { deletePromptVersionTag(name: "audit-prompt", version: 1, key: "k") { version } }',
    types: ['PromptVersionTagDeleted'],
  },
  {
    field: 'setPromptAlias',
    query:
      'mutation { setPromptAlias(name: "audit-prompt", alias: "prod", version: 1) { version } }',
    types: ['PromptAliasSet'],
  },
  {
    field: 'deletePromptAlias',
    query: 'mutation { deletePromptAlias(name: "audit-prompt", alias: "prod") { name } }',
    types: ['PromptAliasDeleted'],
  },
  {
    field: 'archivePrompt',
    query: 'mutation { archivePrompt(name: "audit-prompt") { name } }',
    types: ['PromptArchived'],
  },
  {
    field: 'unarchivePrompt',
    query: 'mutation { unarchivePrompt(name: "audit-prompt") { name } }',
    types: ['PromptUnarchived'],
  },
  {
    field: 'deletePrompt',
    query: 'mutation { deletePrompt(name: "audit-prompt") }',
    types: ['PromptDeleted'],
  },
  // webhooks
  {
    field: 'createWebhook',
    query:
      'mutation { createWebhook(url: "https://hooks.example.com/a", events: [MODEL_VERSION_CREATED]) { webhook { id } } }',
    types: ['WebhookCreated'],
    keep: ['hook', 'createWebhook.webhook.id'],
  },
  {
    field: 'updateWebhook',
    query:
      'mutation($id: String!) { updateWebhook(id: $id, url: "https://hooks.example.com/b") { id } }',
    vars: () => ({ id: s.hook }),
    types: ['WebhookUrlChanged'],
  },
  {
    field: 'rotateWebhookSecret',
    query: 'mutation($id: String!) { rotateWebhookSecret(id: $id) { secret } }',
    vars: () => ({ id: s.hook }),
    types: ['WebhookSecretRotated'],
  },
  {
    field: 'redeliverWebhookDelivery',
    query: 'mutation($id: String!) { redeliverWebhookDelivery(id: $id) { id } }',
    // a finished delivery of this webhook (the outbox row the delivery worker writes)
    before: async () => {
      s.delivery = `dlv-${hex(8)}`;
      await api.db
        .insertInto('webhook_deliveries')
        .values({
          workspace_id: W,
          delivery_id: s.delivery,
          webhook_id: s.hook!,
          event_id: `evt-${hex(8)}`,
          event: 'MODEL_VERSION_CREATED',
          status: 'FAILED',
          attempts: 5,
          payload: '{}',
        })
        .execute();
    },
    vars: () => ({ id: s.delivery }),
    types: ['WebhookDeliveryRequeued'],
  },
  {
    field: 'deleteWebhook',
    query: 'mutation($id: String!) { deleteWebhook(id: $id) }',
    vars: () => ({ id: s.hook }),
    types: ['WebhookDeleted'],
  },
  // tracing
  {
    field: 'setTraceTag',
    before: () => ingestTraces(traces),
    query: 'mutation($t: ID!) { setTraceTag(traceId: $t, key: "k", value: "v") { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['TraceTagSet'],
  },
  {
    field: 'deleteTraceTag',
    query: 'mutation($t: ID!) { deleteTraceTag(traceId: $t, key: "k") { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['TraceTagDeleted'],
  },
  {
    field: 'setTraceMetadata',
    query: 'mutation($t: ID!) { setTraceMetadata(traceId: $t, key: "k", value: "v") { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['TraceMetadataSet'],
  },
  {
    field: 'deleteTraceMetadata',
    query: 'mutation($t: ID!) { deleteTraceMetadata(traceId: $t, key: "k") { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['TraceMetadataDeleted'],
  },
  {
    field: 'deleteTraces',
    query: 'mutation($t: ID!) { deleteTraces(traceIds: [$t]) }',
    vars: () => ({ t: traces[3] }),
    types: ['TraceDeleted'],
  },
  {
    field: 'setModelPrice',
    query:
      'mutation { setModelPrice(input: { modelPattern: "audit-llm", inputPerMillion: 1, outputPerMillion: 2 }) { id } }',
    types: ['ModelPriceSet'],
    keep: ['price', 'setModelPrice.id'],
  },
  {
    field: 'deleteModelPrice',
    query: 'mutation($id: ID!) { deleteModelPrice(id: $id) }',
    vars: () => ({ id: s.price }),
    types: ['ModelPriceDeleted'],
  },
  // retention (docs/governance.md, "Retention")
  {
    field: 'setRetentionPolicy',
    query: 'mutation { setRetentionPolicy(input: { metricDays: 1 }) { metricDays } }',
    types: ['RetentionPolicySet'],
  },
  {
    field: 'applyRetention',
    query: 'mutation { applyRetention { metricPointsPurged } }',
    // A point of 1970 on the run: the pass has something to drop.
    before: async () => {
      await must(
        'mutation($r: String!) { logMetric(runId: $r, key: "audit-old", value: 1, timestamp: 1000) { id } }',
        { r: s.run },
      );
    },
    types: ['MetricPointsPurged'],
  },
  {
    field: 'removeRetentionPolicy',
    query: 'mutation { removeRetentionPolicy }',
    types: ['RetentionPolicyRemoved'],
  },
  // evaluation
  {
    field: 'logFeedback',
    query:
      'mutation($t: String!) { logFeedback(input: { traceId: $t, name: "good", value: true }) { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['AssessmentCreated'],
    keep: ['feedback', 'logFeedback.id'],
  },
  {
    field: 'logExpectation',
    query:
      'mutation($t: String!) { logExpectation(input: { traceId: $t, name: "answer", value: "42" }) { id } }',
    vars: () => ({ t: traces[0] }),
    types: ['AssessmentCreated'],
  },
  {
    field: 'updateAssessment',
    query:
      'mutation($id: ID!) { updateAssessment(input: { assessmentId: $id, value: false }) { id } }',
    vars: () => ({ id: s.feedback }),
    types: ['AssessmentUpdated'],
  },
  {
    field: 'deleteAssessment',
    query: 'mutation($id: ID!) { deleteAssessment(assessmentId: $id) }',
    vars: () => ({ id: s.feedback }),
    types: ['AssessmentDeleted'],
  },
  {
    field: 'createEvaluationDataset',
    query: 'mutation { createEvaluationDataset(input: { name: "audit-ds" }) { id } }',
    types: ['EvaluationDatasetCreated'],
    keep: ['ds', 'createEvaluationDataset.id'],
  },
  {
    field: 'appendDatasetRecords',
    query:
      'mutation($d: ID!) { appendDatasetRecords(input: { datasetId: $d, records: [{ inputs: { q: 1 } }] }) { id } }',
    vars: () => ({ d: s.ds }),
    types: ['EvaluationDatasetRecordsAppended'],
  },
  {
    field: 'appendDatasetRecordsFromTraces',
    query:
      'mutation($d: ID!, $t: String!) { appendDatasetRecordsFromTraces(input: { datasetId: $d, traceIds: [$t] }) { id } }',
    vars: () => ({ d: s.ds, t: traces[1] }),
    types: ['EvaluationDatasetRecordsAppended'],
  },
  {
    field: 'registerEvaluationRun',
    query:
      'mutation($r: ID!) { registerEvaluationRun(input: { runId: $r, scorers: ["len"] }) { runId } }',
    vars: () => ({ r: s.run }),
    types: ['EvaluationRunRegistered'],
  },
  {
    field: 'recordEvaluationRows',
    query: 'mutation($i: RecordEvaluationRowsInput!) { recordEvaluationRows(input: $i) }',
    vars: () => ({
      i: {
        runId: s.run,
        rows: [
          {
            rowKey: 'r1',
            traceId: traces[1],
            inputs: { q: 1 },
            scores: [{ name: 'len', value: 1, source: { type: 'CODE', id: 'len' } }],
          },
        ],
      },
    }),
    types: ['EvaluationRowsRecorded'],
  },
  {
    field: 'createEvaluationRule',
    query:
      'mutation { createEvaluationRule(input: { name: "audit-rule", samplingRate: 0.5, scorers: [{ name: "ok", type: "regex", config: { pattern: "^ok" } }] }) { id } }',
    types: ['EvaluationRuleCreated'],
    keep: ['rule', 'createEvaluationRule.id'],
  },
  {
    field: 'updateEvaluationRule',
    query:
      'mutation($id: ID!) { updateEvaluationRule(input: { ruleId: $id, samplingRate: 0.2 }) { id } }',
    vars: () => ({ id: s.rule }),
    types: ['EvaluationRuleUpdated'],
  },
  {
    field: 'deleteEvaluationRule',
    query: 'mutation($id: ID!) { deleteEvaluationRule(ruleId: $id) }',
    vars: () => ({ id: s.rule }),
    types: ['EvaluationRuleDeleted'],
  },
  {
    field: 'createAnnotationQueue',
    query:
      'mutation { createAnnotationQueue(input: { name: "audit-queue", labelSchema: [{ name: "good", kind: BOOL }] }) { id } }',
    types: ['AnnotationQueueCreated'],
    keep: ['queue', 'createAnnotationQueue.id'],
  },
  {
    field: 'updateAnnotationQueue',
    query:
      'mutation($q: ID!) { updateAnnotationQueue(input: { queueId: $q, description: "d" }) { id } }',
    vars: () => ({ q: s.queue }),
    types: ['AnnotationQueueUpdated'],
  },
  {
    field: 'addTracesToAnnotationQueue',
    query:
      'mutation($q: ID!, $t: [String!]) { addTracesToAnnotationQueue(input: { queueId: $q, traceIds: $t }) { added } }',
    vars: () => ({ q: s.queue, t: traces.slice(0, 3) }),
    types: ['AnnotationQueueItemsAdded'],
  },
  {
    field: 'nextAnnotationQueueItem',
    query: 'mutation($q: ID!) { nextAnnotationQueueItem(queueId: $q) { traceId } }',
    vars: () => ({ q: s.queue }),
    types: ['AnnotationQueueItemAssigned'],
    keep: ['item', 'nextAnnotationQueueItem.traceId'],
  },
  {
    field: 'completeAnnotationQueueItem',
    query:
      'mutation($q: ID!, $t: String!) { completeAnnotationQueueItem(queueId: $q, traceId: $t) { status } }',
    vars: () => ({ q: s.queue, t: s.item }),
    types: ['AnnotationQueueItemCompleted'],
  },
  {
    field: 'assignAnnotationQueueItem',
    query:
      'mutation($q: ID!, $t: String!) { assignAnnotationQueueItem(queueId: $q, traceId: $t, assignee: "someone") { status } }',
    vars: () => ({ q: s.queue, t: traces.slice(0, 3).find((t) => t !== s.item) }),
    types: ['AnnotationQueueItemAssigned'],
  },
  {
    field: 'skipAnnotationQueueItem',
    query:
      'mutation($q: ID!, $t: String!) { skipAnnotationQueueItem(queueId: $q, traceId: $t) { status } }',
    vars: () => ({ q: s.queue, t: traces.slice(0, 3).find((t) => t !== s.item) }),
    types: ['AnnotationQueueItemSkipped'],
  },
  {
    field: 'deleteAnnotationQueue',
    query: 'mutation($q: ID!) { deleteAnnotationQueue(queueId: $q) }',
    vars: () => ({ q: s.queue }),
    types: ['AnnotationQueueDeleted'],
  },
  // access
  {
    field: 'createApiKey',
    query:
      'mutation { createApiKey(input: { name: "audit-viewer", role: "viewer" }) { apiKey { id } } }',
    types: ['ApiKeyCreated'],
    keep: ['key', 'createApiKey.apiKey.id'],
  },
  {
    field: 'revokeApiKey',
    query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
    vars: () => ({ id: s.key }),
    types: ['ApiKeyRevoked'],
  },
  {
    field: 'defineCustomRole',
    query:
      'mutation { defineCustomRole(input: { name: "auditor", scopes: ["tracking:read"] }) { name } }',
    types: ['CustomRoleDefined'],
  },
  {
    field: 'deleteCustomRole',
    query: 'mutation { deleteCustomRole(name: "auditor") }',
    types: ['CustomRoleDeleted'],
  },
  {
    field: 'createServiceAccount',
    query: 'mutation { createServiceAccount(name: "audit-sa", role: "viewer") { id } }',
    types: ['ServiceAccountCreated'],
    keep: ['sa', 'createServiceAccount.id'],
  },
  {
    field: 'deleteServiceAccount',
    query: 'mutation($id: ID!) { deleteServiceAccount(id: $id) }',
    vars: () => ({ id: s.sa }),
    types: ['ServiceAccountDeleted'],
  },
  {
    field: 'inviteMember',
    query: 'mutation($e: String!) { inviteMember(input: { email: $e, role: "viewer" }) { role } }',
    vars: () => ({ e: s.email }),
    types: ['MemberInvited', 'MemberRoleSet'],
  },
  {
    field: 'setMemberRole',
    query: 'mutation($u: ID!) { setMemberRole(input: { userId: $u, role: "admin" }) { role } }',
    vars: () => ({ u: s.user }),
    types: ['MemberRoleSet'],
  },
  {
    field: 'removeMember',
    query: 'mutation($u: ID!) { removeMember(userId: $u) }',
    vars: () => ({ u: s.user }),
    types: ['MemberRemoved'],
  },
  {
    field: 'eraseUser',
    before: async () => {
      await must(
        'mutation($e: String!) { inviteMember(input: { email: $e, role: "viewer" }) { role } }',
        {
          e: s.email2,
        },
      );
    },
    query: 'mutation($u: ID!) { eraseUser(userId: $u) }',
    vars: () => ({ u: s.user2 }),
    types: ['SubjectErased'],
    // A user's stream belongs to the organisation, not to one workspace.
    workspace: () => DEFAULT_ORGANIZATION_ID,
  },
  {
    field: 'createWorkspace',
    query: 'mutation($n: String!) { createWorkspace(input: { name: $n }) { id } }',
    vars: () => ({ n: s.newWorkspace }),
    types: ['WorkspaceCreated'],
    workspace: () => s.newWorkspace!,
  },
];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  const metadata = { actor: 'test', correlationId: 'c', causationId: null };
  const key = await createApiKey(
    api.deps,
    { workspaceId: W, metadata },
    { name: 'auditor', role: 'owner' },
    null,
  );
  auth = { authorization: `Bearer ${key.secret}` };
  actor = `key:${key.keyId}`;
  s.email = `audit-${hex(8)}@example.com`;
  s.user = (
    await createUser(
      api.deps,
      { workspaceId: W, metadata },
      {
        email: s.email,
        password: 'a-long-enough-password',
        displayName: 'Audited',
      },
    )
  ).userId;
  s.email2 = `erased-${hex(8)}@example.com`;
  s.user2 = (
    await createUser(
      api.deps,
      { workspaceId: W, metadata },
      { email: s.email2, password: 'a-long-enough-password', displayName: 'Erased' },
    )
  ).userId;
  s.newWorkspace = randomWorkspaceId();
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

interface Entry {
  position: string;
  type: string;
  actor: string;
  recordedAt: number;
  occurredAt: number;
}

/** The events of `workspace` after global position `after`, newest first, read as an auditor would. */
async function entriesAfter(workspace: string, after: number): Promise<Entry[]> {
  if (workspace !== W) {
    // createWorkspace appends to the new workspace, eraseUser to the organisation's log: the
    // caller's key cannot read those through auditLog.
    const rows = await api.db
      .selectFrom('events')
      .select(['global_position', 'type', 'actor', 'recorded_at', 'occurred_at'])
      .where('workspace_id', '=', workspace)
      .where('global_position', '>', after)
      .execute();
    return rows.map((r) => ({
      position: String(r.global_position),
      type: r.type,
      actor: r.actor,
      recordedAt: r.recorded_at.getTime(),
      occurredAt: r.occurred_at.getTime(),
    }));
  }
  const d = await must(
    '{ auditLog(first: 100) { nodes { position type actor recordedAt occurredAt } } }',
  );
  return (d as { auditLog: { nodes: Entry[] } }).auditLog.nodes.filter(
    (e) => Number(e.position) > after,
  );
}

async function lastPosition(): Promise<number> {
  const row = await api.db
    .selectFrom('events')
    .select((eb) => eb.fn.max('global_position').as('p'))
    .executeTakeFirst();
  return Number(row?.p ?? 0);
}

describe('every mutation is audited', () => {
  it('each Mutation field of the schema, called successfully, leaves an audit entry with its actor and time', async () => {
    const fields = Object.keys(printed.getMutationType()!.getFields()).sort();
    const covered = new Set(STEPS.map((step) => step.field));
    const problems: string[] = [];
    for (const f of fields)
      if (!covered.has(f) && !(f in NO_EVENT)) problems.push(`${f}: no call in this test`);
    for (const f of [...covered, ...Object.keys(NO_EVENT)])
      if (!fields.includes(f)) problems.push(`${f}: not a mutation of the schema`);

    // The live feed the /audit page follows sees the same entries.
    const live = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { ...auth },
      retryAttempts: 0,
    });
    const pushed = new Set<string>();
    const expected = new Set<string>();
    live.subscribe<{ auditLogAppended: { entries: { position: string; actor: string }[] } }>(
      {
        query: `subscription { auditLogAppended(filter: { actor: "${actor}" }) { entries { position actor } } }`,
      },
      {
        next: (m) => {
          for (const e of m.data?.auditLogAppended.entries ?? [])
            pushed.add(`${e.position} ${e.actor}`);
        },
        error: (e) => problems.push(`auditLogAppended: ${JSON.stringify(e)}`),
        complete: () => undefined,
      },
    );
    await new Promise((r) => setTimeout(r, 300));

    for (const step of STEPS) {
      await step.before?.();
      const after = await lastPosition();
      const t0 = Date.now();
      const res = await call(step.query, step.vars?.() ?? {});
      const t1 = Date.now();
      if (res.errors?.length || !res.data) {
        problems.push(`${step.field}: the call failed: ${JSON.stringify(res.errors)}`);
        continue;
      }
      if (step.keep) s[step.keep[0]] = pick(res.data, step.keep[1]);
      const entries = await entriesAfter(step.workspace?.() ?? W, after);
      const mine = entries.filter((e) => step.types.includes(e.type));
      if (mine.length === 0) {
        problems.push(
          `${step.field}: no audit entry of ${step.types.join('|')} (new: ${entries.map((e) => e.type).join(', ') || 'none'})`,
        );
        continue;
      }
      for (const e of mine) {
        if (!step.workspace) expected.add(`${e.position} ${e.actor}`);
        if (e.actor !== actor) problems.push(`${step.field}: ${e.type} has actor ${e.actor}`);
        // 1 s of slack for the clocks of Postgres (recorded_at) and of this process.
        if (e.recordedAt < t0 - 1000 || e.recordedAt > t1 + 1000)
          problems.push(
            `${step.field}: ${e.type} recorded at ${e.recordedAt}, not in [${t0}, ${t1}]`,
          );
        if (e.occurredAt < t0 - 1000 || e.occurredAt > t1 + 1000)
          problems.push(
            `${step.field}: ${e.type} occurred at ${e.occurredAt}, not in [${t0}, ${t1}]`,
          );
      }
    }
    for (let i = 0; i < 100 && [...expected].some((e) => !pushed.has(e)); i++)
      await new Promise((r) => setTimeout(r, 50));
    await live.dispose();
    for (const e of expected) if (!pushed.has(e)) problems.push(`auditLogAppended missed ${e}`);
    expect(expected.size).toBeGreaterThan(80);
    expect(problems).toEqual([]);
  }, 120_000);

  it('the walk can fail: a mutation the list does not know is named', () => {
    const fields = [...Object.keys(printed.getMutationType()!.getFields()), 'sneakyDrop'];
    const covered = new Set([...STEPS.map((step) => step.field), ...Object.keys(NO_EVENT)]);
    expect(fields.filter((f) => !covered.has(f))).toEqual(['sneakyDrop']);
  });
});
