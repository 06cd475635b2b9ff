import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';

export interface ArtifactRow {
  path: string;
  size: number;
  sha256: string;
  content_type: string;
  logged_at: Date;
}

export interface ArtifactChild {
  name: string;
  isDir: boolean;
  size: number | null;
  sha256: string | null;
  loggedAt: Date | null;
}

/** `[lower, upper)` bounds of a directory's subtree under byte-wise ("C") ordering. */
function subtree(dir: string): { lower: string; upper: string } | null {
  return dir === '' ? null : { lower: `${dir}/`, upper: `${dir}0` }; // '0' sorts right after '/'
}

/** Bytes of every artifact file recorded in a workspace (the storage quota's usage). */
export async function workspaceArtifactBytes(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('run_artifacts')
    .select(sql<string>`coalesce(sum(size), 0)`.as('bytes'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return Number(row?.bytes ?? 0);
}

export async function getArtifact(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  path: string,
): Promise<ArtifactRow | null> {
  const row = await db
    .selectFrom('run_artifacts')
    .select(['path', 'size', 'sha256', 'content_type', 'logged_at'])
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId)
    .where('path', '=', path)
    .executeTakeFirst();
  return row ? { ...row, logged_at: new Date(row.logged_at) } : null;
}

/** Whether any artifact lies under `dir/`. */
export async function hasArtifactsUnder(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  dir: string,
): Promise<boolean> {
  const bounds = subtree(dir);
  let query = db
    .selectFrom('run_artifacts')
    .select('path')
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId);
  if (bounds) query = query.where('path', '>=', bounds.lower).where('path', '<', bounds.upper);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/**
 * A logged file that a new file at `path` would clash with: one of its ancestors logged as a
 * file, or files under `path/` (it is a directory). Null when there is none.
 */
export async function findPathClash(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  path: string,
): Promise<string | null> {
  const segments = path.split('/');
  const ancestors = segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
  if (ancestors.length > 0) {
    const row = await db
      .selectFrom('run_artifacts')
      .select('path')
      .where('workspace_id', '=', workspaceId)
      .where('run_id', '=', runId)
      .where('path', 'in', ancestors)
      .executeTakeFirst();
    if (row) return `"${row.path}" is a file, so "${path}" cannot be created under it`;
  }
  if (await hasArtifactsUnder(db, workspaceId, runId, path))
    return `"${path}" is a directory of this run's artifacts`;
  return null;
}

/**
 * Direct children of `dir` in each of `runIds` (one query): directories first, then files, each
 * by name (byte order). Runs without artifacts there get [].
 */
export async function listArtifactChildren(
  db: Kysely<DB>,
  workspaceId: string,
  runIds: readonly string[],
  dir: string,
): Promise<Map<string, ArtifactChild[]>> {
  const result = new Map<string, ArtifactChild[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return result;
  const bounds = subtree(dir);
  const prefix = bounds ? bounds.lower : '';
  const { rows } = await sql<{
    run_id: string;
    name: string;
    is_dir: boolean;
    size: number | null;
    sha256: string | null;
    logged_at: Date | null;
  }>`
    WITH under AS (
      SELECT run_id, substr(path, char_length(${prefix}::text) + 1) AS rest, size, sha256, logged_at
      FROM run_artifacts
      WHERE workspace_id = ${workspaceId} AND run_id = ANY(${[...runIds]}::text[])
        ${bounds ? sql`AND path >= ${bounds.lower} AND path < ${bounds.upper}` : sql``}
    ), entries AS (
      SELECT run_id, split_part(rest, '/', 1) AS name, strpos(rest, '/') > 0 AS is_dir,
             size, sha256, logged_at
      FROM under
    )
    SELECT run_id, name, is_dir,
           CASE WHEN is_dir THEN NULL ELSE max(size) END AS size,
           CASE WHEN is_dir THEN NULL ELSE max(sha256) END AS sha256,
           CASE WHEN is_dir THEN NULL ELSE max(logged_at) END AS logged_at
    FROM entries
    GROUP BY run_id, name, is_dir
    ORDER BY run_id, is_dir DESC, name COLLATE "C"`.execute(db);
  for (const r of rows) {
    result.get(r.run_id)?.push({
      name: r.name,
      isDir: r.is_dir,
      size: r.size === null ? null : Number(r.size),
      sha256: r.sha256,
      loggedAt: r.logged_at === null ? null : new Date(r.logged_at),
    });
  }
  return result;
}

/** Every file under `dir` ("" = the whole run), by path, read in pages of `pageSize`. */
export async function* artifactsUnder(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  dir: string,
  pageSize = 1000,
): AsyncGenerator<ArtifactRow> {
  const bounds = subtree(dir);
  let after: string | null = null;
  for (;;) {
    let query = db
      .selectFrom('run_artifacts')
      .select(['path', 'size', 'sha256', 'content_type', 'logged_at'])
      .where('workspace_id', '=', workspaceId)
      .where('run_id', '=', runId);
    if (bounds) query = query.where('path', '>=', bounds.lower).where('path', '<', bounds.upper);
    if (after !== null) query = query.where('path', '>', after);
    const rows = await query.orderBy('path').limit(pageSize).execute();
    for (const row of rows) yield { ...row, logged_at: new Date(row.logged_at) };
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.path;
  }
}
