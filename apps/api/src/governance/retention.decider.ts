import {
  assertNever,
  METRIC_PURGE_MAX_SERIES,
  TRACES_PURGED_MAX_IDS,
  type MetricPointsPurgedData,
  type NewEvent,
  type TracesPurgedData,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** Days of data a policy may keep (docs/governance.md, "Retention"). */
export const RETENTION_LIMITS = { minDays: 1, maxDays: 36_500 } as const;

export interface RetentionPolicyInput {
  /** Traces that started more than this many days ago are purged; null: kept forever. */
  traceDays: number | null;
  /** Metric points with a timestamp more than this many days ago are dropped; null: kept. */
  metricDays: number | null;
}

/** The workspace's `retention-policy` stream. */
export type RetentionPolicyCommand =
  { type: 'SetRetentionPolicy'; policy: RetentionPolicyInput } | { type: 'RemoveRetentionPolicy' };

export interface RetentionPolicyState {
  policy: RetentionPolicyInput | null;
}

function checkDays(field: 'traceDays' | 'metricDays', value: number | null): void {
  if (value === null) return;
  if (
    !Number.isInteger(value) ||
    value < RETENTION_LIMITS.minDays ||
    value > RETENTION_LIMITS.maxDays
  )
    throw invalidArgument(
      `${field} must be a whole number of days between ${RETENTION_LIMITS.minDays} and ${RETENTION_LIMITS.maxDays}, got ${value}`,
      { field },
    );
}

export const retentionPolicyDecider: Decider<RetentionPolicyCommand, RetentionPolicyState> = {
  initialState: () => ({ policy: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'RetentionPolicySet':
        return { policy: { traceDays: event.data.traceDays, metricDays: event.data.metricDays } };
      case 'RetentionPolicyRemoved':
        return { policy: null };
      default:
        return state;
    }
  },

  decide(command, state, ctx): NewEvent[] {
    switch (command.type) {
      case 'SetRetentionPolicy': {
        const { traceDays, metricDays } = command.policy;
        checkDays('traceDays', traceDays);
        checkDays('metricDays', metricDays);
        if (traceDays === null && metricDays === null)
          throw invalidArgument(
            'A retention policy needs traceDays or metricDays (to keep everything, remove the policy)',
            { field: 'traceDays' },
          );
        const p = state.policy;
        if (p && p.traceDays === traceDays && p.metricDays === metricDays) return [];
        return [newEvent(ctx, 'RetentionPolicySet', { traceDays, metricDays })];
      }
      case 'RemoveRetentionPolicy':
        if (!state.policy)
          throw new CairnError('NOT_FOUND', 'This workspace has no retention policy', {});
        return [newEvent(ctx, 'RetentionPolicyRemoved', {})];
      default:
        return assertNever(command);
    }
  },
};

/**
 * What the retention worker found to remove: recorded before the read models drop it (the
 * `retention-traces` / `retention-metrics` streams; no rule across events, appended with any
 * version).
 */
export type RetentionPurgeCommand =
  | { type: 'RecordTracesPurge'; purge: TracesPurgedData }
  | { type: 'RecordMetricPointsPurge'; purge: MetricPointsPurgedData };

export const retentionPurgeDecider: Decider<RetentionPurgeCommand, null> = {
  initialState: () => null,
  evolve: (state) => state,
  decide(command, _state, ctx): NewEvent[] {
    switch (command.type) {
      case 'RecordTracesPurge': {
        const ids = command.purge.traceIds;
        if (ids.length === 0) return [];
        if (ids.length > TRACES_PURGED_MAX_IDS)
          throw invalidArgument(`At most ${TRACES_PURGED_MAX_IDS} traces per purge event`, {});
        return [newEvent(ctx, 'TracesPurged', command.purge)];
      }
      case 'RecordMetricPointsPurge':
        if (command.purge.points === 0) return [];
        if (command.purge.series.length > METRIC_PURGE_MAX_SERIES)
          throw invalidArgument(`At most ${METRIC_PURGE_MAX_SERIES} series per purge event`, {});
        return [newEvent(ctx, 'MetricPointsPurged', command.purge)];
      default:
        return assertNever(command);
    }
  },
};
