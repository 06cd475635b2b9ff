import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import type { CairnEvent, EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = ['RunInputsLogged'] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

/**
 * `run_dataset_inputs`: the datasets a run used (MLflow's dataset inputs), one row per (run,
 * name, digest, context) in log order. The decider drops repeats, and a redelivered event hits
 * the primary key and changes nothing. The lineage graph's dataset → run edges.
 */
export const runInputsProjection: Projection = {
  name: 'run-inputs',
  version: 1,
  handles,
  tables: ['run_dataset_inputs'],
  async apply(trx: Transaction<DB>, events) {
    for (const event of events as readonly Handled[]) {
      const ws = event.workspaceId;
      const runId = event.data.runId;
      const next = sql<number>`(SELECT count(*)::int4 FROM run_dataset_inputs WHERE workspace_id = ${ws} AND run_id = ${runId})`;
      // One row at a time: each ordinal counts the rows before it.
      for (const d of event.data.datasets) {
        await trx
          .insertInto('run_dataset_inputs')
          .values({
            workspace_id: ws,
            run_id: runId,
            ordinal: next,
            name: d.name,
            digest: d.digest,
            context: d.context ?? '',
            source_type: d.sourceType,
            source: d.source,
            schema: d.schema,
            profile: d.profile,
            tags: JSON.stringify(d.tags),
            logged_at: new Date(event.recordedAt),
          })
          .onConflict((oc) =>
            oc.columns(['workspace_id', 'run_id', 'name', 'digest', 'context']).doNothing(),
          )
          .execute();
      }
    }
  },
};
