import { sql, type Kysely, type SqlBool } from 'kysely';
import type { DB } from '@cairn/db';
import type { ExperimentRow } from '../experiments/experiments.queries.ts';
import { compileRegistrySearch } from '../registry/registry-search.ts';
import { MlflowError } from './mlflow.errors.ts';
import { optionalString, stringList, type Message } from './mlflow-input.ts';
import { decodePageToken, encodePageToken, maxResults, viewType } from './mlflow-paging.ts';

type SearchEntity = Parameters<typeof compileRegistrySearch>[0];

const epochMs = (column: string) =>
  sql`(floor(extract(epoch from ${sql.ref(column)}) * 1000))::int8`;

/**
 * `experiments/search` over the experiments read model: MLflow's experiment filter (`name`,
 * `creation_time`, `last_update_time`, `tags.<key>`, with =, !=, LIKE, ILIKE, <, >, …, plus
 * Cairn's OR and parentheses), MLflow's order_by names, offset page tokens (as MLflow's own).
 */
const EXPERIMENT_SEARCH: SearchEntity = {
  vocabulary: {
    fields: {
      name: { type: 'string', nullable: false },
      experiment_id: { type: 'string', nullable: false },
      creation_time: { type: 'number', nullable: false },
      last_update_time: { type: 'number', nullable: false },
    },
    prefixes: ['tag'],
    hint: 'name, experiment_id, creation_time, last_update_time or tags.<key>',
  },
  columns: {
    name: { filter: sql.ref('x.name'), sort: sql.ref('x.name'), sortType: 'text', nullable: false },
    experiment_id: {
      filter: sql.ref('x.experiment_id'),
      sort: sql.ref('x.experiment_id'),
      sortType: 'text',
      nullable: false,
    },
    creation_time: {
      filter: epochMs('x.created_at'),
      sort: epochMs('x.created_at'),
      sortType: 'int8',
      nullable: false,
    },
    last_update_time: {
      filter: epochMs('x.updated_at'),
      sort: epochMs('x.updated_at'),
      sortType: 'int8',
      nullable: false,
    },
  },
  tagExists: (workspaceId, key, cond) =>
    sql<SqlBool>`EXISTS (SELECT 1 FROM experiment_tags e WHERE e.workspace_id = ${workspaceId} AND e.experiment_id = x.experiment_id AND e.key = ${key}${cond ? sql` AND ${cond}` : sql``})`,
  // MLflow's default order: newest first, then by id.
  tieBreakers: [
    { expr: sql.ref('x.created_at'), direction: 'desc', nullable: false, type: 'text' },
    { expr: sql.ref('x.experiment_id'), direction: 'asc', nullable: false, type: 'text' },
  ],
};

/** MLflow writes `attribute.name` / `attributes.creation_time`; the vocabulary takes bare names. */
function stripAttributePrefix(text: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      out += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
      continue;
    }
    const m = /^(?:attributes?|attr)\./iu.exec(text.slice(i));
    if (m && (i === 0 || !/[\w.]/u.test(text[i - 1]!))) {
      i += m[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

export async function searchExperiments(
  db: Kysely<DB>,
  workspaceId: string,
  msg: Message,
): Promise<{ rows: ExperimentRow[]; nextPageToken: string | null }> {
  const limit = maxResults(msg);
  const stage = viewType(msg);
  const filter = optionalString(msg, 'filter');
  const orderBy = stringList(msg, 'order_by');
  const offsetRaw = decodePageToken(msg, 'experiments');
  const offset = offsetRaw === null ? 0 : Number(offsetRaw);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new MlflowError('INVALID_PARAMETER_VALUE', 'Invalid page token');
  const compiled = compileRegistrySearch(
    EXPERIMENT_SEARCH,
    workspaceId,
    filter === null ? null : stripAttributePrefix(filter),
    orderBy.map(stripAttributePrefix),
  );
  const conditions = [sql<SqlBool>`x.workspace_id = ${workspaceId}`];
  if (stage) conditions.push(sql<SqlBool>`x.lifecycle_stage = ${stage}`);
  if (compiled.where) conditions.push(compiled.where);
  const order = sql.join(
    compiled.columns.map((c) =>
      c.direction === 'desc' ? sql`${c.expr} DESC NULLS LAST` : sql`${c.expr} ASC NULLS LAST`,
    ),
  );
  const result =
    await sql<ExperimentRow>`SELECT x.* FROM experiments x WHERE ${sql.join(conditions, sql` AND `)} ORDER BY ${order} LIMIT ${limit + 1} OFFSET ${offset}`.execute(
      db,
    );
  const rows = result.rows.slice(0, limit);
  return {
    rows,
    nextPageToken:
      result.rows.length > limit ? encodePageToken('experiments', offset + limit) : null,
  };
}
