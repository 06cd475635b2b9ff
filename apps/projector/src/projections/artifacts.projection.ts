import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import type { CairnEvent, EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = ['RunArtifactLogged'] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

/**
 * `run_artifacts`: one row per artifact file of a run. Logging a path again replaces its row;
 * within a batch the newest event of a path wins (events arrive in stream order).
 */
export const artifactsProjection: Projection = {
  name: 'artifacts',
  version: 1,
  handles,
  tables: ['run_artifacts'],
  async apply(trx: Transaction<DB>, events) {
    const latest = new Map<string, Handled>();
    for (const event of events as readonly Handled[]) {
      latest.set(`${event.workspaceId}\u0000${event.data.runId}\u0000${event.data.path}`, event);
    }
    if (latest.size === 0) return;
    await trx
      .insertInto('run_artifacts')
      .values(
        [...latest.values()].map((e) => ({
          workspace_id: e.workspaceId,
          run_id: e.data.runId,
          path: e.data.path,
          size: e.data.size,
          sha256: e.data.sha256,
          content_type: e.data.contentType,
          logged_at: new Date(e.recordedAt),
        })),
      )
      .onConflict((oc) =>
        oc.columns(['workspace_id', 'run_id', 'path']).doUpdateSet((eb) => ({
          size: eb.ref('excluded.size'),
          sha256: eb.ref('excluded.sha256'),
          content_type: eb.ref('excluded.content_type'),
          logged_at: eb.ref('excluded.logged_at'),
        })),
      )
      .execute();
  },
};
