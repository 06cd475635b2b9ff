import DataLoader from 'dataloader';
import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type {
  DB,
  PromptAliasesTable,
  PromptAliasHistoryTable,
  PromptsTable,
  PromptVersionsTable,
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
import { compileRegistrySearch, type MODEL_SEARCH } from '../registry/registry-search.ts';
import { getTracesByIds, type TraceRow } from '../tracing/traces.queries.ts';

export type PromptRow = Selectable<PromptsTable>;
export type PromptVersionRow = Selectable<PromptVersionsTable>;
export type PromptAliasRow = Selectable<PromptAliasesTable>;
export type PromptAliasChangeRow = Selectable<PromptAliasHistoryTable>;

/** Key of one version in loaders: `<promptId>/<version>`. */
export const promptVersionKey = (promptId: string, version: number) => `${promptId}/${version}`;

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

const epochMs = (column: string) =>
  sql`(floor(extract(epoch from ${sql.ref(column)}) * 1000))::int8`;
const epochUs = (column: string) =>
  sql`(floor(extract(epoch from ${sql.ref(column)}) * 1000000))::int8`;
const text = (ref: string, nullable = false) => ({
  filter: sql.ref(ref),
  sort: sql.ref(ref),
  sortType: 'text' as const,
  nullable,
});
const time = (ref: string) => ({
  filter: epochMs(ref),
  sort: epochUs(ref),
  sortType: 'int8' as const,
  nullable: false,
});

/** The search vocabulary of `prompts(filter, orderBy)` (docs/prompts.md). */
export const PROMPT_SEARCH: typeof MODEL_SEARCH = {
  vocabulary: {
    fields: {
      name: { type: 'string', nullable: false },
      description: { type: 'string', nullable: true },
      created_at: { type: 'number', nullable: false },
      updated_at: { type: 'number', nullable: false },
    },
    prefixes: ['tag'],
    hint: 'name, description, created_at, updated_at or tags.<key>',
  },
  columns: {
    name: text('p.name'),
    description: text('p.description', true),
    created_at: time('p.created_at'),
    updated_at: time('p.updated_at'),
  },
  tagExists: (workspaceId, key, cond) =>
    sql<SqlBool>`EXISTS (SELECT 1 FROM prompt_tags e WHERE e.workspace_id = ${workspaceId} AND e.prompt_id = p.prompt_id AND e.key = ${key}${cond ? sql` AND ${cond}` : sql``})`,
  tieBreakers: [
    { expr: sql.ref('p.name'), direction: 'asc', nullable: false, type: 'text' },
    { expr: sql.ref('p.prompt_id'), direction: 'asc', nullable: false, type: 'text' },
  ],
};

export interface SearchPage<T> {
  rows: { node: T; cursor: string }[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}

export async function searchPrompts(
  db: Kysely<DB>,
  workspaceId: string,
  args: {
    filter: string | null | undefined;
    orderBy: readonly string[] | null | undefined;
    includeArchived: boolean;
    first: number;
    after: string | null | undefined;
  },
): Promise<SearchPage<PromptRow>> {
  const compiled = compileRegistrySearch(PROMPT_SEARCH, workspaceId, args.filter, args.orderBy);
  const after = decodeRunCursor(args.after, compiled.terms, compiled.columns);
  const conditions = [sql`p.workspace_id = ${workspaceId}`];
  if (!args.includeArchived) conditions.push(sql`NOT p.archived`);
  if (compiled.where) conditions.push(compiled.where);
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql` AND ${keysetCondition(compiled.columns, after)}` : sql``;
  const { rows } = await sql<Record<string, unknown>>`
    SELECT p.*, ${sortKeySelections(compiled.columns)} FROM prompts p
    WHERE ${where}${keyset}
    ORDER BY ${orderByClause(compiled.columns)}
    LIMIT ${args.first + 1}`.execute(db);
  const page = rows.slice(0, args.first).map((row) => {
    const values = compiled.columns.map((c, i) => toSortValue(c.type, row[sortKeyAlias(i)]));
    const node = Object.fromEntries(
      Object.entries(row).filter(([k]) => !/^_k\d+$/u.test(k)),
    ) as PromptRow;
    return { node, cursor: encodeRunCursor(compiled.terms, values) };
  });
  const totalCount = async () => {
    const counted = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM prompts p WHERE ${where}`.execute(db);
    return counted.rows[0]?.n ?? 0;
  };
  return { rows: page, hasNextPage: rows.length > args.first, totalCount };
}

export interface VersionPage {
  rows: PromptVersionRow[];
  hasNextPage: boolean;
  totalCount: number;
}

/** One page of versions (newest first) of each prompt below `before` (exclusive), one query. */
async function getVersionPages(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
  first: number,
  before: number | null,
): Promise<Map<string, VersionPage>> {
  const { rows } = await sql<PromptVersionRow & { total: number }>`
    SELECT * FROM (
      SELECT v.*, count(*) OVER (PARTITION BY v.prompt_id)::int AS total
      FROM prompt_versions v
      WHERE v.workspace_id = ${workspaceId} AND v.prompt_id IN (${sql.join([...ids])})
    ) x
    WHERE ${before === null ? sql`true` : sql`x.version < ${before}`}
    ORDER BY x.prompt_id, x.version DESC`.execute(db);
  const pages = new Map<string, VersionPage>();
  for (const id of ids) pages.set(id, { rows: [], hasNextPage: false, totalCount: 0 });
  for (const { total, ...row } of rows) {
    const page = pages.get(row.prompt_id)!;
    page.totalCount = total;
    if (page.rows.length < first) page.rows.push(row);
    else page.hasNextPage = true;
  }
  // A page past the last version still knows the total.
  if (before !== null) {
    const missing = [...pages].filter(([, p]) => p.rows.length === 0).map(([id]) => id);
    if (missing.length > 0) {
      const counted = await db
        .selectFrom('prompt_versions')
        .select(['prompt_id', sql<number>`count(*)::int`.as('n')])
        .where('workspace_id', '=', workspaceId)
        .where('prompt_id', 'in', missing)
        .groupBy('prompt_id')
        .execute();
      for (const c of counted) pages.get(c.prompt_id)!.totalCount = c.n;
    }
  }
  return pages;
}

export interface AliasHistoryPage {
  rows: PromptAliasChangeRow[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Alias changes of one prompt, newest first, below stream position `before` (exclusive). */
export async function getAliasHistoryPage(
  db: Kysely<DB>,
  workspaceId: string,
  promptId: string,
  alias: string | null,
  first: number,
  before: number | null,
): Promise<AliasHistoryPage> {
  let q = db
    .selectFrom('prompt_alias_history')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('prompt_id', '=', promptId);
  if (alias !== null) q = q.where('alias', '=', alias);
  const counted = await q
    .clearSelect()
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirst();
  if (before !== null) q = q.where('stream_position', '<', before);
  const rows = await q
    .orderBy('stream_position', 'desc')
    .limit(first + 1)
    .execute();
  return {
    rows: rows.slice(0, first),
    hasNextPage: rows.length > first,
    totalCount: counted?.n ?? 0,
  };
}

export interface TracePage {
  rows: { node: TraceRow; cursor: { t: number; id: string } }[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}

/**
 * Visible traces whose prompt version links (`traces.prompt_versions`, from the span attribute
 * `cairn.trace.prompt_versions`) contain `uri`, newest first (start time, then trace id).
 */
export async function tracesOfPromptVersion(
  db: Kysely<DB>,
  workspaceId: string,
  uri: string,
  first: number,
  after: { t: number; id: string } | null,
): Promise<TracePage> {
  const contains = sql<SqlBool>`t.workspace_id = ${workspaceId} AND NOT t.deleted AND t.prompt_versions @> ${JSON.stringify([uri])}::jsonb`;
  const t = sql`(floor(extract(epoch from t.start_time) * 1000000))::int8`;
  const keyset = after ? sql` AND (${t}, t.trace_id) < (${after.t}, ${after.id})` : sql``;
  const { rows: ids } = await sql<{ trace_id: string; us: string }>`
    SELECT t.trace_id, ${t}::text AS us FROM traces t
    WHERE ${contains}${keyset}
    ORDER BY ${t} DESC, t.trace_id DESC
    LIMIT ${first + 1}`.execute(db);
  const pageIds = ids.slice(0, first);
  const found = await getTracesByIds(
    db,
    workspaceId,
    pageIds.map((r) => r.trace_id),
  );
  const byId = new Map(found.map((r) => [r.trace_id, r]));
  const rows = pageIds.flatMap((r) => {
    const node = byId.get(r.trace_id);
    return node ? [{ node, cursor: { t: Number(r.us), id: r.trace_id } }] : [];
  });
  return {
    rows,
    hasNextPage: ids.length > first,
    totalCount: async () => {
      const { rows: n } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM traces t WHERE ${contains}`.execute(db);
      return n[0]?.n ?? 0;
    },
  };
}

/** Loaders keyed by a prompt id plus page arguments: one query per distinct argument set. */
function pagedLoader<V>(
  load: (ids: string[], args: string) => Promise<Map<string, V>>,
  fallback: V,
): DataLoader<string, V> {
  return new DataLoader<string, V>(async (keys) => {
    const byArgs = new Map<string, string[]>();
    for (const key of keys) {
      const i = key.indexOf('|');
      const [id, args] = [key.slice(0, i), key.slice(i + 1)];
      const list = byArgs.get(args);
      if (list) list.push(id);
      else byArgs.set(args, [id]);
    }
    const results = new Map<string, V>();
    for (const [args, ids] of byArgs) {
      const found = await load(ids, args);
      for (const id of ids) results.set(`${id}|${args}`, found.get(id) ?? fallback);
    }
    return keys.map((k) => results.get(k) ?? fallback);
  });
}

/** Per-request DataLoaders of the prompt registry: every prompt → list edge is one query. */
export function createPromptLoaders(db: Kysely<DB>, workspaceId: string) {
  return {
    prompt: new DataLoader<string, PromptRow | null>(async (ids) => {
      const rows = await db
        .selectFrom('prompts')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('prompt_id', 'in', [...ids])
        .execute();
      const found = new Map(rows.map((r) => [r.prompt_id, r]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    promptTags: new DataLoader<string, KV[]>(async (ids) => {
      const rows = await db
        .selectFrom('prompt_tags')
        .select(['prompt_id', 'key', 'value'])
        .where('workspace_id', '=', workspaceId)
        .where('prompt_id', 'in', [...ids])
        .orderBy('key')
        .execute();
      const grouped = group(rows, (r) => r.prompt_id);
      return ids.map((id) => (grouped.get(id) ?? []).map(({ key, value }) => ({ key, value })));
    }),
    aliases: new DataLoader<string, PromptAliasRow[]>(async (ids) => {
      const rows = await db
        .selectFrom('prompt_aliases')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('prompt_id', 'in', [...ids])
        .orderBy('alias')
        .execute();
      const grouped = group(rows, (r) => r.prompt_id);
      return ids.map((id) => grouped.get(id) ?? []);
    }),
    /** Key `<promptId>/<version>`. */
    version: new DataLoader<string, PromptVersionRow | null>(async (keys) => {
      const pairs = keys.map(splitVersionKey);
      const { rows } = await sql<PromptVersionRow>`
        SELECT v.* FROM prompt_versions v
        JOIN unnest(${pairs.map(([p]) => p)}::text[], ${pairs.map(([, n]) => n)}::int[]) AS k(prompt_id, version)
          ON v.prompt_id = k.prompt_id AND v.version = k.version
        WHERE v.workspace_id = ${workspaceId}`.execute(db);
      const found = new Map(rows.map((r) => [promptVersionKey(r.prompt_id, r.version), r]));
      return keys.map((k) => found.get(k) ?? null);
    }),
    /** Key `<promptId>/<version>`. */
    versionTags: new DataLoader<string, KV[]>(async (keys) => {
      const pairs = keys.map(splitVersionKey);
      const { rows } = await sql<{
        prompt_id: string;
        version: number;
        key: string;
        value: string;
      }>`
        SELECT t.prompt_id, t.version, t.key, t.value FROM prompt_version_tags t
        JOIN unnest(${pairs.map(([p]) => p)}::text[], ${pairs.map(([, n]) => n)}::int[]) AS k(prompt_id, version)
          ON t.prompt_id = k.prompt_id AND t.version = k.version
        WHERE t.workspace_id = ${workspaceId}
        ORDER BY t.key`.execute(db);
      const grouped = group(rows, (r) => promptVersionKey(r.prompt_id, r.version));
      return keys.map((k) => (grouped.get(k) ?? []).map(({ key, value }) => ({ key, value })));
    }),
    /** Key `<promptId>|<first>|<before version or "">`. */
    versionPage: pagedLoader<VersionPage>(
      (ids, args) => {
        const [first, before] = args.split('|');
        return getVersionPages(db, workspaceId, ids, Number(first), before ? Number(before) : null);
      },
      { rows: [], hasNextPage: false, totalCount: 0 },
    ),
  };
}

export type PromptLoaders = ReturnType<typeof createPromptLoaders>;
