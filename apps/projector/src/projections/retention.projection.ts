import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = [
  'RetentionPolicySet',
  'RetentionPolicyRemoved',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  switch (event.type) {
    case 'RetentionPolicySet':
      await trx
        .insertInto('retention_policies')
        .values({
          workspace_id: ws,
          trace_days: event.data.traceDays,
          metric_days: event.data.metricDays,
          updated_at: event.recordedAt,
          updated_by: event.actor,
        })
        .onConflict((oc) =>
          oc.column('workspace_id').doUpdateSet((eb) => ({
            trace_days: eb.ref('excluded.trace_days'),
            metric_days: eb.ref('excluded.metric_days'),
            updated_at: eb.ref('excluded.updated_at'),
            updated_by: eb.ref('excluded.updated_by'),
          })),
        )
        .execute();
      return;
    case 'RetentionPolicyRemoved':
      await trx.deleteFrom('retention_policies').where('workspace_id', '=', ws).execute();
      return;
    default:
      assertNever(event);
  }
}

/**
 * Each workspace's retention policy (docs/governance.md, "Retention"). The purges themselves are
 * applied by the projections that own the data: `traces` (TracesPurged) and `runs`
 * (MetricPointsPurged).
 */
export const retentionProjection: Projection = {
  name: 'retention',
  version: 1,
  handles,
  tables: ['retention_policies'],
  async apply(trx, events) {
    for (const event of events as readonly Handled[]) await applyOne(trx, event);
  },
};
