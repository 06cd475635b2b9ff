import type { Kysely, Selectable } from 'kysely';
import type { DB, ExperimentsTable } from '@cairn/db';

export type ExperimentRow = Selectable<ExperimentsTable>;

export function getExperimentsByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<ExperimentRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('experiments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('experiment_id', 'in', [...ids])
    .execute();
}

export function getExperimentByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<ExperimentRow | undefined> {
  return db
    .selectFrom('experiments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export async function getExperimentTags(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, { key: string; value: string }[]>> {
  const rows =
    ids.length === 0
      ? []
      : await db
          .selectFrom('experiment_tags')
          .select(['experiment_id', 'key', 'value'])
          .where('workspace_id', '=', workspaceId)
          .where('experiment_id', 'in', [...ids])
          .orderBy('key')
          .execute();
  const byId = new Map<string, { key: string; value: string }[]>();
  for (const r of rows) {
    const list = byId.get(r.experiment_id) ?? [];
    list.push({ key: r.key, value: r.value });
    byId.set(r.experiment_id, list);
  }
  return byId;
}

export interface ExperimentPageArgs {
  first: number;
  /** created_at ISO + id of the last row seen */
  after: { createdAt: string; id: string } | null;
  lifecycleStage: 'active' | 'deleted' | null;
  nameContains: string | null;
}

/** Newest first; keyset pagination on (created_at, experiment_id) so pages stay stable. */
export async function listExperiments(
  db: Kysely<DB>,
  workspaceId: string,
  args: ExperimentPageArgs,
): Promise<{ rows: ExperimentRow[]; totalCount: number }> {
  let base = db.selectFrom('experiments').where('workspace_id', '=', workspaceId);
  if (args.lifecycleStage) base = base.where('lifecycle_stage', '=', args.lifecycleStage);
  if (args.nameContains)
    base = base.where(
      'name',
      'ilike',
      `%${args.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
    );
  let page = base.selectAll();
  if (args.after) {
    const { createdAt, id } = args.after;
    page = page.where((eb) =>
      eb.or([
        eb('created_at', '<', new Date(createdAt)),
        eb.and([eb('created_at', '=', new Date(createdAt)), eb('experiment_id', '<', id)]),
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    page
      .orderBy('created_at', 'desc')
      .orderBy('experiment_id', 'desc')
      .limit(args.first + 1)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, totalCount: Number(count.n) };
}
