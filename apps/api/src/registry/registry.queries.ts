import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type {
  DB,
  ModelAliasesTable,
  ModelHistoryTable,
  ModelVersionsTable,
  RegisteredModelsTable,
} from '@cairn/db';
import type { KV } from '../runs/runs.queries.ts';
import { decodeRunCursor, encodeRunCursor } from '../runs/search/run-search.cursor.ts';
import {
  keysetCondition,
  orderByClause,
  sortKeyAlias,
  sortKeySelections,
  toSortValue,
} from '../runs/search/run-search.sql.ts';
import { compileRegistrySearch, MODEL_SEARCH, VERSION_SEARCH } from './registry-search.ts';

export type ModelRow = Selectable<RegisteredModelsTable>;
export type VersionRow = Selectable<ModelVersionsTable>;
export type AliasRow = Selectable<ModelAliasesTable>;
export type HistoryRow = Selectable<ModelHistoryTable>;

/** Key of one version in loaders: `<modelId>/<version>`. */
export const versionKey = (modelId: string, version: number) => `${modelId}/${version}`;

function splitVersionKey(key: string): [string, number] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

function group<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

export async function getModelsByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<ModelRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('registered_models')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('model_id', 'in', [...ids])
    .execute();
}

export async function getModelTags(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, KV[]>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('registered_model_tags')
    .select(['model_id', 'key', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('model_id', 'in', [...ids])
    .orderBy('key')
    .execute();
  const grouped = group(rows, (r) => r.model_id);
  return new Map(
    [...grouped].map(([id, list]) => [id, list.map(({ key, value }) => ({ key, value }))]),
  );
}

export async function getAliases(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, AliasRow[]>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('model_aliases')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('model_id', 'in', [...ids])
    .orderBy('alias')
    .execute();
  return group(rows, (r) => r.model_id);
}

/** The newest version in each stage, per model. */
export async function getLatestVersions(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, VersionRow[]>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<VersionRow>`
    SELECT DISTINCT ON (model_id, stage) * FROM model_versions
    WHERE workspace_id = ${workspaceId} AND model_id IN (${sql.join([...ids])})
    ORDER BY model_id, stage, version DESC`.execute(db);
  const grouped = group(rows, (r) => r.model_id);
  for (const list of grouped.values()) list.sort((a, b) => b.version - a.version);
  return grouped;
}

export async function getVersionsByKeys(
  db: Kysely<DB>,
  workspaceId: string,
  keys: readonly string[],
): Promise<Map<string, VersionRow>> {
  if (keys.length === 0) return new Map();
  const pairs = keys.map(splitVersionKey);
  const { rows } = await sql<VersionRow>`
    SELECT v.* FROM model_versions v
    JOIN unnest(${pairs.map(([m]) => m)}::text[], ${pairs.map(([, n]) => n)}::int[]) AS k(model_id, version)
      ON v.model_id = k.model_id AND v.version = k.version
    WHERE v.workspace_id = ${workspaceId}`.execute(db);
  return new Map(rows.map((r) => [versionKey(r.model_id, r.version), r]));
}

export async function getVersionTags(
  db: Kysely<DB>,
  workspaceId: string,
  keys: readonly string[],
): Promise<Map<string, KV[]>> {
  if (keys.length === 0) return new Map();
  const pairs = keys.map(splitVersionKey);
  const { rows } = await sql<{ model_id: string; version: number; key: string; value: string }>`
    SELECT t.model_id, t.version, t.key, t.value FROM model_version_tags t
    JOIN unnest(${pairs.map(([m]) => m)}::text[], ${pairs.map(([, n]) => n)}::int[]) AS k(model_id, version)
      ON t.model_id = k.model_id AND t.version = k.version
    WHERE t.workspace_id = ${workspaceId}
    ORDER BY t.key`.execute(db);
  const grouped = group(rows, (r) => versionKey(r.model_id, r.version));
  return new Map(
    [...grouped].map(([k, list]) => [k, list.map(({ key, value }) => ({ key, value }))]),
  );
}

export interface VersionPage {
  rows: VersionRow[];
  hasNextPage: boolean;
  totalCount: number;
}

/**
 * One page of versions (newest first) for each model, in one query: `first` rows below the
 * `before` version number (exclusive; null from the newest), plus each model's total.
 */
export async function getVersionPages(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
  first: number,
  before: number | null,
): Promise<Map<string, VersionPage>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<VersionRow & { rn: number; total: number }>`
    SELECT * FROM (
      SELECT v.*,
        row_number() OVER (PARTITION BY v.model_id ORDER BY v.version DESC)::int AS rn,
        count(*) OVER (PARTITION BY v.model_id)::int AS total
      FROM model_versions v
      WHERE v.workspace_id = ${workspaceId} AND v.model_id IN (${sql.join([...ids])})
    ) x
    WHERE ${before === null ? sql`true` : sql`x.version < ${before}`}
    ORDER BY x.model_id, x.version DESC`.execute(db);
  const pages = new Map<string, VersionPage>();
  for (const id of ids) pages.set(id, { rows: [], hasNextPage: false, totalCount: 0 });
  for (const { rn: _rn, total, ...row } of rows) {
    const page = pages.get(row.model_id)!;
    page.totalCount = total;
    if (page.rows.length < first) page.rows.push(row);
    else page.hasNextPage = true;
  }
  return pages;
}

/** The newest `first` history entries of each model. */
export async function getHistories(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
  first: number,
): Promise<Map<string, HistoryRow[]>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<HistoryRow>`
    SELECT workspace_id, model_id, stream_position, event_id, kind, at, actor, version,
           from_stage, to_stage, alias, previous_version
    FROM (
      SELECT h.*, row_number() OVER (PARTITION BY h.model_id ORDER BY h.stream_position DESC) AS rn
      FROM model_history h
      WHERE h.workspace_id = ${workspaceId} AND h.model_id IN (${sql.join([...ids])})
    ) x
    WHERE x.rn <= ${first}
    ORDER BY x.model_id, x.stream_position DESC`.execute(db);
  return group(rows, (r) => r.model_id);
}

export interface SearchPage<T> {
  rows: { node: T; cursor: string }[];
  hasNextPage: boolean;
  /** Runs the count query; called only when totalCount is asked for. */
  totalCount: () => Promise<number>;
}

async function search<T extends Record<string, unknown>>(
  db: Kysely<DB>,
  entity: typeof MODEL_SEARCH,
  from: RawBuilder<unknown>,
  workspaceCondition: RawBuilder<unknown>,
  workspaceId: string,
  args: {
    filter: string | null | undefined;
    orderBy: readonly string[] | null | undefined;
    first: number;
    after: string | null | undefined;
  },
): Promise<SearchPage<T>> {
  const compiled = compileRegistrySearch(entity, workspaceId, args.filter, args.orderBy);
  const after = decodeRunCursor(args.after, compiled.terms, compiled.columns);
  const conditions = [workspaceCondition];
  if (compiled.where) conditions.push(compiled.where);
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql` AND ${keysetCondition(compiled.columns, after)}` : sql``;
  const { rows } = await sql<Record<string, unknown>>`
    SELECT *, ${sortKeySelections(compiled.columns)} FROM ${from}
    WHERE ${where}${keyset}
    ORDER BY ${orderByClause(compiled.columns)}
    LIMIT ${args.first + 1}`.execute(db);
  const page = rows.slice(0, args.first).map((row) => {
    const values = compiled.columns.map((c, i) => toSortValue(c.type, row[sortKeyAlias(i)]));
    const node = Object.fromEntries(Object.entries(row).filter(([k]) => !/^_k\d+$/u.test(k))) as T;
    return { node, cursor: encodeRunCursor(compiled.terms, values) };
  });
  const totalCount = async () => {
    const counted = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${from} WHERE ${where}`.execute(db);
    return counted.rows[0]?.n ?? 0;
  };
  return { rows: page, hasNextPage: rows.length > args.first, totalCount };
}

export interface SearchArgs {
  filter: string | null | undefined;
  orderBy: readonly string[] | null | undefined;
  first: number;
  after: string | null | undefined;
}

export function searchModels(
  db: Kysely<DB>,
  workspaceId: string,
  args: SearchArgs,
): Promise<SearchPage<ModelRow>> {
  return search<ModelRow>(
    db,
    MODEL_SEARCH,
    sql`registered_models m`,
    sql`m.workspace_id = ${workspaceId}`,
    workspaceId,
    args,
  );
}

export function searchVersions(
  db: Kysely<DB>,
  workspaceId: string,
  args: SearchArgs,
): Promise<SearchPage<VersionRow>> {
  return search<VersionRow>(
    db,
    VERSION_SEARCH,
    sql`model_versions v`,
    sql`v.workspace_id = ${workspaceId}`,
    workspaceId,
    args,
  );
}
