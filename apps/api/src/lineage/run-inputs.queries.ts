import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';

export interface RunDatasetInputRow {
  run_id: string;
  ordinal: number;
  name: string;
  digest: string;
  context: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
  tags: { key: string; value: string }[];
}

/** At most this many dataset inputs are shown per run (MLflow shows every input; runs log few). */
export const RUN_INPUTS_SHOWN = 1000;

/** The dataset inputs of runs in log order, keyed by run id (one query per batch of runs). */
export async function getRunDatasetInputs(
  db: Kysely<DB>,
  workspaceId: string,
  runIds: readonly string[],
): Promise<Map<string, RunDatasetInputRow[]>> {
  const out = new Map<string, RunDatasetInputRow[]>();
  if (runIds.length === 0) return out;
  const rows = await db
    .selectFrom('run_dataset_inputs')
    .select([
      'run_id',
      'ordinal',
      'name',
      'digest',
      'context',
      'source_type',
      'source',
      'schema',
      'profile',
      'tags',
    ])
    .where('workspace_id', '=', workspaceId)
    .where('run_id', 'in', runIds)
    .where('ordinal', '<', RUN_INPUTS_SHOWN)
    .orderBy('run_id')
    .orderBy('ordinal')
    .execute();
  for (const r of rows) {
    const list = out.get(r.run_id) ?? [];
    list.push(r);
    out.set(r.run_id, list);
  }
  return out;
}

export function createRunInputsLoader(db: Kysely<DB>, workspaceId: string) {
  return new DataLoader<string, RunDatasetInputRow[]>(async (ids) => {
    const found = await getRunDatasetInputs(db, workspaceId, ids);
    return ids.map((id) => found.get(id) ?? []);
  });
}
