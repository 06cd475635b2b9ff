import { z } from 'zod';
import { entityId, isoTimestamp } from '../common.ts';
import { traceId } from '../tracing/trace.events.ts';

/**
 * Retention (docs/governance.md, "Retention"). A workspace's policy lives on its
 * `retention-policy` stream; what the retention worker removed is recorded on
 * `retention-traces` (TracesPurged) and `retention-metrics` (MetricPointsPurged). The log keeps
 * the removed spans and points (it is immutable); the read models drop them when they apply the
 * purge event, from the cut-off and ids recorded in it (never from "now"), so a rebuild removes
 * exactly what the live projection removed.
 */

/** Days of data kept: at least one, at most about 100 years. */
export const retentionDays = z.number().int().min(1).max(36_500);

export const retentionPolicySetV1 = z.object({
  /** Traces whose start time is older than this many days are purged; null: kept forever. */
  traceDays: retentionDays.nullable(),
  /** Metric points whose own timestamp is older than this many days are dropped; null: kept. */
  metricDays: retentionDays.nullable(),
});
export type RetentionPolicySetData = z.infer<typeof retentionPolicySetV1>;

export const retentionPolicyRemovedV1 = z.object({});

/** Trace ids per TracesPurged event (the worker appends as many events as it needs). */
export const TRACES_PURGED_MAX_IDS = 500;

export const tracesPurgedV1 = z.object({
  /** The cut-off: the listed traces started before it. */
  before: isoTimestamp,
  /** The policy's `traceDays` the cut-off came from. */
  days: retentionDays,
  traceIds: z.array(traceId).min(1).max(TRACES_PURGED_MAX_IDS),
});
export type TracesPurgedData = z.infer<typeof tracesPurgedV1>;

/** Series listed per MetricPointsPurged event (`seriesCount` has them all). */
export const METRIC_PURGE_MAX_SERIES = 1000;

export const metricPointsPurgedV1 = z.object({
  /** The cut-off: every point of the workspace with a timestamp before it is dropped. */
  before: isoTimestamp,
  days: retentionDays,
  /** Points below the cut-off when the worker looked. */
  points: z.number().int().nonnegative(),
  seriesCount: z.number().int().nonnegative(),
  /** Which series lost how many points (the first METRIC_PURGE_MAX_SERIES, by run and key). */
  series: z
    .array(z.object({ runId: entityId, key: z.string(), points: z.number().int().positive() }))
    .max(METRIC_PURGE_MAX_SERIES),
});
export type MetricPointsPurgedData = z.infer<typeof metricPointsPurgedV1>;
