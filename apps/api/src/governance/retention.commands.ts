import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import {
  METRIC_PURGE_MAX_SERIES,
  METRIC_RETENTION_STREAM_ID,
  RETENTION_POLICY_STREAM_ID,
  TRACE_RETENTION_STREAM_ID,
  TRACES_PURGED_MAX_IDS,
  type StoredEventEnvelope,
} from '@cairn/events';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  retentionPolicyDecider,
  retentionPurgeDecider,
  type RetentionPolicyInput,
  type RetentionPurgeCommand,
} from './retention.decider.ts';

export interface RetentionPolicy extends RetentionPolicyInput {
  updatedAt: Date;
  updatedBy: string;
}

/** What one retention pass appended (nothing to remove: zeros, no event). */
export interface RetentionResult {
  tracesPurged: number;
  metricPointsPurged: number;
  events: number;
}

const DAY_MS = 86_400_000;

/** TracesPurged events one pass appends at most (500 traces each); the next pass goes on. */
const MAX_TRACE_EVENTS_PER_PASS = 40;

export async function getRetentionPolicy(
  db: Kysely<DB>,
  workspaceId: string,
): Promise<RetentionPolicy | null> {
  const row = await db
    .selectFrom('retention_policies')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    traceDays: row.trace_days,
    metricDays: row.metric_days,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

async function waitApplied(
  deps: ServiceDeps,
  caller: Caller,
  events: readonly StoredEventEnvelope[],
  projection: string,
): Promise<void> {
  const last = events.at(-1);
  if (!last) return;
  await deps.changes.waitFor(
    caller.workspaceId,
    last.streamId,
    last.streamPosition,
    [projection],
    deps.readYourWritesTimeoutMs,
  );
}

export async function setRetentionPolicy(
  deps: ServiceDeps,
  caller: Caller,
  policy: RetentionPolicyInput,
): Promise<RetentionPolicy> {
  const result = await handleCommand(deps, caller, {
    decider: retentionPolicyDecider,
    streamId: RETENTION_POLICY_STREAM_ID,
    streamType: 'retention',
    command: { type: 'SetRetentionPolicy', policy },
  });
  await waitApplied(deps, caller, result.events, 'retention');
  const stored = await getRetentionPolicy(deps.db, caller.workspaceId);
  return stored ?? { ...policy, updatedAt: new Date(), updatedBy: caller.metadata.actor };
}

export async function removeRetentionPolicy(deps: ServiceDeps, caller: Caller): Promise<boolean> {
  const result = await handleCommand(deps, caller, {
    decider: retentionPolicyDecider,
    streamId: RETENTION_POLICY_STREAM_ID,
    streamType: 'retention',
    command: { type: 'RemoveRetentionPolicy' },
  });
  await waitApplied(deps, caller, result.events, 'retention');
  return true;
}

async function recordPurge(
  deps: ServiceDeps,
  caller: Caller,
  command: RetentionPurgeCommand,
): Promise<StoredEventEnvelope[]> {
  const traces = command.type === 'RecordTracesPurge';
  const result = await handleCommand(deps, caller, {
    decider: retentionPurgeDecider,
    streamId: traces ? TRACE_RETENTION_STREAM_ID : METRIC_RETENTION_STREAM_ID,
    streamType: 'retention',
    command,
    ignoredEvents: ['TracesPurged', 'MetricPointsPurged'],
    appendAnyVersion: () => true,
  });
  // The next pass must not see the same data again: wait until the owner has dropped it.
  await waitApplied(deps, caller, result.events, traces ? 'traces' : 'runs');
  return result.events;
}

/**
 * One retention pass over the caller's workspace (docs/governance.md, "Retention"): with a
 * policy, the traces that started before `now - traceDays` are purged (TracesPurged, up to 500
 * ids an event) and the metric points with a timestamp before `now - metricDays` dropped (one
 * MetricPointsPurged with the counts per series). The events are appended before the read models
 * change (the projections apply them); nothing old left, nothing is appended.
 */
export async function applyRetention(
  deps: ServiceDeps,
  caller: Caller,
  now: Date = deps.decideContext.now(),
): Promise<RetentionResult> {
  const out: RetentionResult = { tracesPurged: 0, metricPointsPurged: 0, events: 0 };
  const policy = await getRetentionPolicy(deps.db, caller.workspaceId);
  if (!policy) return out;
  const w = caller.workspaceId;
  if (policy.traceDays !== null) {
    const days = policy.traceDays;
    const before = new Date(now.getTime() - days * DAY_MS).toISOString();
    for (let round = 0; round < MAX_TRACE_EVENTS_PER_PASS; round++) {
      const rows = await deps.db
        .selectFrom('traces')
        .select('trace_id')
        .where('workspace_id', '=', w)
        .where('deleted', '=', false)
        .where('start_time', '<', new Date(before))
        .orderBy('trace_id')
        .limit(TRACES_PURGED_MAX_IDS)
        .execute();
      if (rows.length === 0) break;
      const traceIds = rows.map((r) => r.trace_id);
      const events = await recordPurge(deps, caller, {
        type: 'RecordTracesPurge',
        purge: { before, days, traceIds },
      });
      out.tracesPurged += traceIds.length;
      out.events += events.length;
      if (rows.length < TRACES_PURGED_MAX_IDS) break;
    }
  }
  if (policy.metricDays !== null) {
    const days = policy.metricDays;
    const before = new Date(now.getTime() - days * DAY_MS).toISOString();
    const cut = Date.parse(before);
    const { rows } = await sql<{ run_id: string; key: string; points: number }>`
      SELECT c.run_id, k.key, count(*)::int8 AS points
      FROM metric_point_chunks c
      JOIN metric_keys k ON k.workspace_id = c.workspace_id AND k.key_id = c.key_id
      CROSS JOIN LATERAL unnest(c.timestamps) AS t(ts)
      WHERE c.workspace_id = ${w} AND t.ts < ${cut}
      GROUP BY c.run_id, k.key
      ORDER BY c.run_id, k.key`.execute(deps.db);
    const points = rows.reduce((n, r) => n + Number(r.points), 0);
    if (points > 0) {
      const events = await recordPurge(deps, caller, {
        type: 'RecordMetricPointsPurge',
        purge: {
          before,
          days,
          points,
          seriesCount: rows.length,
          series: rows
            .slice(0, METRIC_PURGE_MAX_SERIES)
            .map((r) => ({ runId: r.run_id, key: r.key, points: Number(r.points) })),
        },
      });
      out.metricPointsPurged += points;
      out.events += events.length;
    }
  }
  return out;
}
