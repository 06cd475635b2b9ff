import type { RunSummary } from '../../lib/graphql/documents.ts';
import { toNumber } from '../../lib/metric-values.ts';

/** A run prepared for the runs table: lookups by key instead of lists. */
export interface TableRun {
  id: string;
  parentId: string | null;
  summary: RunSummary;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Map<string, number>;
}

export function toTableRun(run: RunSummary): TableRun {
  return {
    id: run.id,
    parentId: run.parentRun?.id ?? null,
    summary: run,
    params: new Map(run.params.map((p) => [p.key, p.value])),
    tags: new Map(run.tags.map((t) => [t.key, t.value])),
    metrics: new Map(run.latestMetrics.map((m) => [m.key, toNumber(m.value)])),
  };
}

/** Tags the UI shows elsewhere (MLflow's system tags), left out of the column picker. */
export const HIDDEN_TAG_PREFIX = 'mlflow.';

export interface KeySets {
  params: string[];
  metrics: string[];
  tags: string[];
}

export function collectKeys(runs: readonly TableRun[]): KeySets {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    for (const k of run.params.keys()) params.add(k);
    for (const k of run.metrics.keys()) metrics.add(k);
    for (const k of run.tags.keys()) if (!k.startsWith(HIDDEN_TAG_PREFIX)) tags.add(k);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { params: sorted(params), metrics: sorted(metrics), tags: sorted(tags) };
}
