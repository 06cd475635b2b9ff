import { z } from 'zod';
import {
  encodeMetricValue,
  entityId,
  keyValue,
  metricValue,
  type EncodedMetricValue,
} from '../common.ts';

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

/**
 * v2 stores the batch by column: `keys` holds each metric key of the batch once and
 * `keyIndex[i]` points into it; `value[i]`, `step[i]` and `timestamp[i]` are the rest of point i.
 * Same facts as v1 in about half the bytes, and none of v1's per-point JSON objects for
 * PostgreSQL (jsonb), the projector and Kafka to build and take apart. Points keep log order.
 */
export const runMetricsLoggedV2 = z
  .object({
    runId: entityId,
    keys: z.array(z.string()).min(1),
    keyIndex: z.array(z.number().int().nonnegative()).min(1),
    value: z.array(metricValue),
    step: z.array(z.number().int()),
    /** Unix milliseconds. */
    timestamp: z.array(z.number().int()),
  })
  .superRefine((d, ctx) => {
    const n = d.keyIndex.length;
    if (d.value.length !== n || d.step.length !== n || d.timestamp.length !== n) {
      ctx.addIssue({
        code: 'custom',
        message: `columns differ in length (keyIndex ${n}, value ${d.value.length}, step ${d.step.length}, timestamp ${d.timestamp.length})`,
      });
      return;
    }
    const keyCount = d.keys.length;
    for (let i = 0; i < n; i++) {
      if (d.keyIndex[i]! >= keyCount) {
        ctx.addIssue({
          code: 'custom',
          path: ['keyIndex', i],
          message: `keyIndex ${d.keyIndex[i]} is not an index of keys (${keyCount} keys)`,
        });
        return;
      }
    }
  });
export type RunMetricsLoggedV2 = z.infer<typeof runMetricsLoggedV2>;

/** The columns of a batch of points (v2 layout) from points in log order. */
export function metricColumns(
  runId: string,
  points: readonly {
    key: string;
    value: number | EncodedMetricValue;
    step: number;
    timestamp: number;
  }[],
): RunMetricsLoggedV2 {
  const keys: string[] = [];
  const indexOf = new Map<string, number>();
  const n = points.length;
  const keyIndex = new Array<number>(n);
  const value = new Array<EncodedMetricValue>(n);
  const step = new Array<number>(n);
  const timestamp = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    let k = indexOf.get(p.key);
    if (k === undefined) {
      k = keys.length;
      keys.push(p.key);
      indexOf.set(p.key, k);
    }
    keyIndex[i] = k;
    value[i] = typeof p.value === 'number' ? encodeMetricValue(p.value) : p.value;
    step[i] = p.step;
    timestamp[i] = p.timestamp;
  }
  return { runId, keys, keyIndex, value, step, timestamp };
}

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

/**
 * A dataset used by a run (MLflow's `log_inputs`): the facts that identify it (name and digest),
 * where it came from, and how the run used it (the `context` tag: "training", "eval", …).
 * Logging the same dataset (name and digest) with the same context again changes nothing.
 */
export const runDatasetInput = z.object({
  name: z.string().min(1).max(500),
  /** A content hash computed by the client (MLflow: 8+ hex characters of an md5/sha256). */
  digest: z.string().min(1).max(64),
  /** e.g. "local", "s3", "http", "code", "delta_table", "hugging_face". */
  sourceType: z.string().min(1).max(100),
  /** The location, as the client reported it (JSON in MLflow); never fetched by the server. */
  source: z.string().max(65535),
  /** The dataset's schema as JSON text (MLflow: `{"mlflow_colspec": …}`), when known. */
  schema: z.string().max(1048576).nullable(),
  /** The dataset's profile as JSON text (e.g. `{"num_rows": 100, "num_elements": 400}`). */
  profile: z.string().max(16384).nullable(),
  /** How the run used it: MLflow's `mlflow.data.context` input tag; null when not given. */
  context: z.string().max(500).nullable(),
  /** Other input tags (besides `mlflow.data.context`). */
  tags: z.array(keyValue),
});
export type RunDatasetInput = z.infer<typeof runDatasetInput>;

export const runInputsLoggedV1 = z.object({
  runId: entityId,
  datasets: z.array(runDatasetInput).min(1),
});
