import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';
import { experimentRowFromCreated } from './initial-rows.ts';

const handles = [
  'ExperimentCreated',
  'ExperimentRenamed',
  'ExperimentDeleted',
  'ExperimentRestored',
  'ExperimentTagSet',
  'ExperimentTagDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  const touch = (experimentId: string) =>
    trx
      .updateTable('experiments')
      .where('workspace_id', '=', ws)
      .where('experiment_id', '=', experimentId);
  switch (event.type) {
    case 'ExperimentCreated': {
      const d = event.data;
      await trx.insertInto('experiments').values(experimentRowFromCreated(event)).execute();
      // The last value of a key within one event wins, as if the tags were set one by one.
      const tags = new Map(d.tags.map((t) => [t.key, t.value]));
      if (tags.size > 0) {
        await trx
          .insertInto('experiment_tags')
          .values(
            [...tags].map(([key, value]) => ({
              workspace_id: ws,
              experiment_id: d.experimentId,
              key,
              value,
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'experiment_id', 'key'])
              .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
          )
          .execute();
      }
      return;
    }
    case 'ExperimentRenamed':
      await touch(event.data.experimentId).set({ name: event.data.name, updated_at: at }).execute();
      return;
    case 'ExperimentDeleted':
      await touch(event.data.experimentId)
        .set({ lifecycle_stage: 'deleted', updated_at: at })
        .execute();
      return;
    case 'ExperimentRestored':
      await touch(event.data.experimentId)
        .set({ lifecycle_stage: 'active', updated_at: at })
        .execute();
      return;
    case 'ExperimentTagSet': {
      const d = event.data;
      await trx
        .insertInto('experiment_tags')
        .values({ workspace_id: ws, experiment_id: d.experimentId, key: d.key, value: d.value })
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'experiment_id', 'key']).doUpdateSet({ value: d.value }),
        )
        .execute();
      await touch(d.experimentId).set({ updated_at: at }).execute();
      return;
    }
    case 'ExperimentTagDeleted': {
      const d = event.data;
      await trx
        .deleteFrom('experiment_tags')
        .where('workspace_id', '=', ws)
        .where('experiment_id', '=', d.experimentId)
        .where('key', '=', d.key)
        .execute();
      await touch(d.experimentId).set({ updated_at: at }).execute();
      return;
    }
    default:
      assertNever(event);
  }
}

export const experimentsProjection: Projection = {
  name: 'experiments',
  version: 1,
  handles,
  tables: ['experiments', 'experiment_tags'],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
