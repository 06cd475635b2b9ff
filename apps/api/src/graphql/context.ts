import DataLoader from 'dataloader';
import {
  getExperimentsByIds,
  getExperimentTags,
  type ExperimentRow,
} from '../experiments/experiments.queries.ts';
import {
  getChildRunIds,
  getLatestMetrics,
  getKeyValues,
  getRunsByIds,
  type KV,
  type LatestMetric,
  type RunRow,
} from '../runs/runs.queries.ts';
import { createRegistryLoaders } from '../registry/registry.loaders.ts';
import { createTracingLoaders } from '../tracing/tracing.loaders.ts';
import type { AuthRuntime } from '../auth/auth-runtime.ts';
import type { AuthMode, Principal } from '../auth/principal.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';

function byKey<V>(keys: readonly string[], found: Map<string, V>, fallback: V): V[] {
  return keys.map((k) => found.get(k) ?? fallback);
}

/** Per-request DataLoaders: every list → entity edge is batched into one query. */
export function createLoaders(deps: ServiceDeps, workspaceId: string) {
  const { db } = deps;
  return {
    experiment: new DataLoader<string, ExperimentRow | null>(async (ids) => {
      const rows = await getExperimentsByIds(db, workspaceId, ids);
      return byKey(ids, new Map(rows.map((r) => [r.experiment_id, r])), null);
    }),
    experimentTags: new DataLoader<string, KV[]>(async (ids) =>
      byKey(ids, await getExperimentTags(db, workspaceId, ids), []),
    ),
    run: new DataLoader<string, RunRow | null>(async (ids) => {
      const rows = await getRunsByIds(db, workspaceId, ids);
      return byKey(ids, new Map(rows.map((r) => [r.run_id, r])), null);
    }),
    params: new DataLoader<string, KV[]>(async (ids) =>
      byKey(ids, await getKeyValues(db, 'run_params', workspaceId, ids), []),
    ),
    tags: new DataLoader<string, KV[]>(async (ids) =>
      byKey(ids, await getKeyValues(db, 'run_tags', workspaceId, ids), []),
    ),
    latestMetrics: new DataLoader<string, LatestMetric[]>(async (ids) =>
      byKey(ids, await getLatestMetrics(db, workspaceId, ids), []),
    ),
    childRunIds: new DataLoader<string, string[]>(async (ids) =>
      byKey(ids, await getChildRunIds(db, workspaceId, ids), []),
    ),
    registry: createRegistryLoaders(db, workspaceId),
    tracing: createTracingLoaders(db, workspaceId),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface GraphQLContext {
  workspaceId: string;
  caller: Caller;
  deps: ServiceDeps;
  loaders: Loaders;
  correlationId: string;
  /** Who is calling (apps/api/src/auth/principal.ts); anonymous when no credential came. */
  principal: Principal;
  authMode: AuthMode;
  /** The process's auth runtime: re-checks for subscriptions, denied-access events. */
  auth: AuthRuntime;
}
