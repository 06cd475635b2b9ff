import { z } from 'zod';
import { entityId, keyValue, metricValue } from '../common.ts';

export const runStatus = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
export type RunStatus = z.infer<typeof runStatus>;

export const runSource = z.object({
  gitCommit: z.string().nullable(),
  entryPoint: z.string().nullable(),
  sourceType: z.string().nullable(),
});
export type RunSource = z.infer<typeof runSource>;

export const runStartedV1 = z.object({
  runId: entityId,
  experimentId: entityId,
  name: z.string(),
  status: runStatus,
  /** Unix milliseconds, as given by the client (MLflow semantics). */
  startTime: z.number().int(),
  parentRunId: entityId.nullable(),
  tags: z.array(keyValue),
  source: runSource,
});

export const runParamsLoggedV1 = z.object({ runId: entityId, params: z.array(keyValue).min(1) });

export const metricPoint = z.object({
  key: z.string(),
  value: metricValue,
  step: z.number().int(),
  /** Unix milliseconds. */
  timestamp: z.number().int(),
});
export type MetricPoint = z.infer<typeof metricPoint>;

/** One event per batch of points (invariant 9): never one event per point. */
export const runMetricsLoggedV1 = z.object({
  runId: entityId,
  metrics: z.array(metricPoint).min(1),
});

export const runTagsSetV1 = z.object({ runId: entityId, tags: z.array(keyValue).min(1) });
export const runTagDeletedV1 = z.object({ runId: entityId, key: z.string() });
export const runStatusChangedV1 = z.object({
  runId: entityId,
  status: runStatus,
  endTime: z.number().int().nullable(),
});
export const runRenamedV1 = z.object({ runId: entityId, name: z.string() });
export const runDeletedV1 = z.object({ runId: entityId });
export const runRestoredV1 = z.object({ runId: entityId });

/**
 * A file stored under the run's artifacts (bytes in the artifact store, facts here). Logging the
 * same path again replaces it: the newest event wins.
 */
export const runArtifactLoggedV1 = z.object({
  runId: entityId,
  /** Relative POSIX path, validated by the API (no "..", no leading "/", ≤ 1024 bytes). */
  path: z.string().min(1).max(1024),
  size: z.number().int().nonnegative(),
  /** Lower-case hex sha256 of the bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string(),
});
