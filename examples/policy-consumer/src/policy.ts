/**
 * An example governance consumer (docs/events.md, "Example: a policy consumer"). It reads the
 * registry's events with @cairn/consumer and, when a model version reaches Production or the
 * `production` alias moves to a version, checks over GraphQL (an API key, read scopes suffice)
 * that the version has a passing evaluation; if it has none, it POSTs an alert to a webhook.
 *
 * Passing evaluation: an evaluation run registered with `modelId: "models:/<model>/<version>"`
 * (registerEvaluationRun) whose every registered scorer has a mean of at least `threshold`
 * (default 0.8; true / "yes" count 1, false / "no" 0, see docs/evaluation.md) and no errored
 * scores. Any one such run is enough.
 *
 * Only @cairn/consumer and fetch: nothing else of the platform.
 */
import { subscribe, type ConsumedEvent, type ConsumerSource } from '@cairn/consumer';

export const POLICY_TYPES = ['ModelVersionStageTransitioned', 'ModelAliasSet'] as const;
type PolicyEvent = ConsumedEvent<(typeof POLICY_TYPES)[number]>;

export interface PolicyConfig {
  /** The event stream: `{ postgres: url }` (local mode) or `{ kafka: { brokers } }` (scale). */
  source: ConsumerSource;
  /** The workspace to watch; the API key must belong to it. */
  workspaceId: string;
  /** The Cairn server, e.g. http://127.0.0.1:4680 (GraphQL at /graphql). */
  cairnUrl: string;
  /** An API key of the workspace (a viewer key is enough); null when auth is off. */
  apiKey: string | null;
  /** Where alerts are POSTed as JSON. */
  webhookUrl: string;
  /** Minimum mean per scorer, default 0.8. */
  threshold?: number;
  /** Consumer name (checkpoint / consumer group), default `policy.production-evaluation`. */
  name?: string;
  /** Where a first start begins, default 'end' (no alerts about history). */
  startAt?: 'beginning' | 'end';
  onError?: (error: unknown) => void;
  /** Poll interval on Postgres (ms). */
  idleMs?: number;
}

export interface PolicyAlert {
  kind: 'production_without_passing_evaluation';
  trigger: 'ModelVersionStageTransitioned' | 'ModelAliasSet';
  workspaceId: string;
  model: string;
  modelId: string;
  version: number;
  alias: string | null;
  stage: string | null;
  /** Why no evaluation passed. */
  reason: string;
  threshold: number;
  eventId: string;
  actor: string;
  occurredAt: string;
}

interface ScorerSummary {
  name: string;
  count: number;
  errorCount: number;
  mean: number | null;
}

interface EvaluationRunNode {
  runId: string;
  modelId: string | null;
  scorers: string[];
  summary: ScorerSummary[];
}

const RUNS_QUERY = `query($after: String) {
  evaluationRuns(first: 200, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { runId modelId scorers summary { name count errorCount mean } }
  }
}`;

export function modelUri(model: string, version: number): string {
  return `models:/${model}/${version}`;
}

/** Why a run does not pass, or null when it does. */
export function failingReason(run: EvaluationRunNode, threshold: number): string | null {
  if (run.scorers.length === 0) return `evaluation run ${run.runId} has no scorers`;
  for (const scorer of run.scorers) {
    const summary = run.summary.find((s) => s.name === scorer);
    if (!summary || summary.count === 0)
      return `scorer ${scorer} of run ${run.runId} has no scores`;
    if (summary.errorCount > 0)
      return `scorer ${scorer} of run ${run.runId} has ${summary.errorCount} errored scores`;
    if (summary.mean === null || summary.mean < threshold)
      return `scorer ${scorer} of run ${run.runId} has mean ${summary.mean ?? 'none'} < ${threshold}`;
  }
  return null;
}

async function graphql<T>(config: PolicyConfig, query: string, variables: unknown): Promise<T> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-cairn-workspace': config.workspaceId,
  };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const response = await fetch(new URL('/graphql', config.cairnUrl), {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (!response.ok || body.errors?.length || !body.data) {
    throw new Error(
      `GraphQL ${response.status}: ${body.errors?.map((e) => e.message).join('; ') ?? 'no data'}`,
    );
  }
  return body.data;
}

/** Null when the version has a passing evaluation, else why not. */
export async function missingEvaluation(
  config: PolicyConfig,
  model: string,
  version: number,
): Promise<string | null> {
  const threshold = config.threshold ?? 0.8;
  const uri = modelUri(model, version);
  const reasons: string[] = [];
  let after: string | null = null;
  do {
    const page: {
      evaluationRuns: {
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        nodes: EvaluationRunNode[];
      };
    } = await graphql(config, RUNS_QUERY, { after });
    for (const run of page.evaluationRuns.nodes) {
      if (run.modelId !== uri) continue;
      const reason = failingReason(run, threshold);
      if (reason === null) return null;
      reasons.push(reason);
    }
    after = page.evaluationRuns.pageInfo.hasNextPage
      ? page.evaluationRuns.pageInfo.endCursor
      : null;
  } while (after);
  return reasons.length > 0 ? reasons.join('; ') : `no evaluation run for ${uri}`;
}

/** The alert an event calls for, or null (not a move to production, or the version passed). */
export async function checkEvent(
  config: PolicyConfig,
  event: PolicyEvent,
): Promise<PolicyAlert | null> {
  let alias: string | null = null;
  let stage: string | null = null;
  if (event.type === 'ModelAliasSet') {
    if (event.data.alias !== 'production') return null;
    alias = event.data.alias;
  } else {
    if (event.data.toStage !== 'PRODUCTION') return null;
    stage = event.data.toStage;
  }
  const reason = await missingEvaluation(config, event.data.name, event.data.version);
  if (reason === null) return null;
  return {
    kind: 'production_without_passing_evaluation',
    trigger: event.type,
    workspaceId: event.workspaceId,
    model: event.data.name,
    modelId: event.data.modelId,
    version: event.data.version,
    alias,
    stage,
    reason,
    threshold: config.threshold ?? 0.8,
    eventId: event.id,
    actor: event.actor,
    occurredAt: event.occurredAt,
  };
}

async function postAlert(config: PolicyConfig, alert: PolicyAlert): Promise<void> {
  const response = await fetch(config.webhookUrl, {
    method: 'POST',
    // The event id lets the receiver drop a repeat (delivery is at least once).
    headers: { 'content-type': 'application/json', 'x-cairn-event-id': alert.eventId },
    body: JSON.stringify(alert),
    redirect: 'error',
    signal: AbortSignal.timeout(10_000),
  });
  // A failed POST fails the batch: it is retried, never dropped.
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}

export interface RunningPolicy {
  stop(): Promise<void>;
}

export async function startPolicyConsumer(config: PolicyConfig): Promise<RunningPolicy> {
  const alerted = new Set<string>();
  const subscription = subscribe(config.source, {
    name: config.name ?? 'policy.production-evaluation',
    types: POLICY_TYPES,
    workspaceId: config.workspaceId,
    startAt: config.startAt ?? 'end',
    ...(config.idleMs !== undefined ? { idleMs: config.idleMs } : {}),
    ...(config.onError ? { onError: config.onError } : {}),
  });
  await subscription.start(async (event) => {
    // Redelivered after a crash or a failed batch: alert once per event in this process.
    if (alerted.has(event.id)) return;
    const alert = await checkEvent(config, event);
    if (alert) await postAlert(config, alert);
    alerted.add(event.id);
    if (alerted.size > 10_000) alerted.delete(alerted.values().next().value!);
  });
  return { stop: () => subscription.stop() };
}
