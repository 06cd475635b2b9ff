import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { CairnError } from '../errors.ts';
import { checkFilterInteger } from '../input-hygiene.ts';
import type {
  FilterExpr,
  OrderTerm,
  Predicate,
  SearchTarget,
} from '../runs/search/run-search.ast.ts';
import {
  parseSearchFilter,
  parseSearchOrderBy,
  type SearchVocabulary,
} from '../runs/search/run-search.parser.ts';
import type { SortColumn, SortValueType } from '../runs/search/run-search.sql.ts';

/**
 * Search over the model registry (docs/registry.md, "Search"): the run search grammar (AND, OR,
 * NOT, parentheses, =, !=, LIKE, ILIKE, IN, IS NULL, …) with the registry's own identifiers,
 * compiled here into parameterised SQL over `registered_models m` or `model_versions v`.
 * Column names come from the closed sets below; every user value is a bound parameter.
 */

type Bool = RawBuilder<SqlBool>;

/** Epoch milliseconds of a timestamptz column (what the API's Timestamp carries). */
const epochMs = (column: string) =>
  sql`(floor(extract(epoch from ${sql.ref(column)}) * 1000))::int8`;
/** Epoch microseconds: exact for keyset cursors (timestamptz has microsecond precision). */
const epochUs = (column: string) =>
  sql`(floor(extract(epoch from ${sql.ref(column)}) * 1000000))::int8`;

/** Stage names as the filter takes them (MLflow's spelling), matched case-insensitively. */
const STAGE_NAMES: Readonly<Record<string, string>> = {
  none: 'None',
  staging: 'Staging',
  production: 'Production',
  archived: 'Archived',
};
const STAGE_COLUMN = sql`(CASE v.stage WHEN 'NONE' THEN 'None' WHEN 'STAGING' THEN 'Staging' WHEN 'PRODUCTION' THEN 'Production' ELSE 'Archived' END)`;

interface Column {
  filter: RawBuilder<unknown>;
  sort: RawBuilder<unknown>;
  sortType: SortValueType;
  nullable: boolean;
}

interface Entity {
  vocabulary: SearchVocabulary;
  columns: Readonly<Record<string, Column>>;
  tagExists: (workspaceId: string, key: string, cond: Bool | null) => Bool;
  tieBreakers: SortColumn[];
}

const text = (ref: string, nullable = false): Column => ({
  filter: sql.ref(ref),
  sort: sql.ref(ref),
  sortType: 'text',
  nullable,
});
const time = (ref: string): Column => ({
  filter: epochMs(ref),
  sort: epochUs(ref),
  sortType: 'int8',
  nullable: false,
});

export const MODEL_SEARCH: Entity = {
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
    name: text('m.name'),
    description: text('m.description', true),
    created_at: time('m.created_at'),
    updated_at: time('m.updated_at'),
  },
  tagExists: (workspaceId, key, cond) =>
    sql<SqlBool>`EXISTS (SELECT 1 FROM registered_model_tags e WHERE e.workspace_id = ${workspaceId} AND e.model_id = m.model_id AND e.key = ${key}${cond ? sql` AND ${cond}` : sql``})`,
  tieBreakers: [
    { expr: sql.ref('m.name'), direction: 'asc', nullable: false, type: 'text' },
    { expr: sql.ref('m.model_id'), direction: 'asc', nullable: false, type: 'text' },
  ],
};

export const VERSION_SEARCH: Entity = {
  vocabulary: {
    fields: {
      name: { type: 'string', nullable: false },
      version: { type: 'number', nullable: false },
      run_id: { type: 'string', nullable: true },
      source: { type: 'string', nullable: false },
      stage: { type: 'string', nullable: false },
      description: { type: 'string', nullable: true },
      created_at: { type: 'number', nullable: false },
      updated_at: { type: 'number', nullable: false },
    },
    prefixes: ['tag'],
    hint: 'name, version, run_id, source, stage, description, created_at, updated_at or tags.<key>',
  },
  columns: {
    name: text('v.model_name'),
    version: {
      filter: sql.ref('v.version'),
      sort: sql.ref('v.version'),
      sortType: 'int4',
      nullable: false,
    },
    run_id: text('v.run_id', true),
    source: text('v.source'),
    stage: { filter: STAGE_COLUMN, sort: STAGE_COLUMN, sortType: 'text', nullable: false },
    description: text('v.description', true),
    created_at: time('v.created_at'),
    updated_at: time('v.updated_at'),
  },
  tagExists: (workspaceId, key, cond) =>
    sql<SqlBool>`EXISTS (SELECT 1 FROM model_version_tags e WHERE e.workspace_id = ${workspaceId} AND e.model_id = v.model_id AND e.version = v.version AND e.key = ${key}${cond ? sql` AND ${cond}` : sql``})`,
  tieBreakers: [
    { expr: epochUs('v.created_at'), direction: 'desc', nullable: false, type: 'int8' },
    { expr: sql.ref('v.model_id'), direction: 'asc', nullable: false, type: 'text' },
    { expr: sql.ref('v.version'), direction: 'desc', nullable: false, type: 'int4' },
  ],
};

function unsupported(p: Predicate, what: string): never {
  throw new CairnError('INVALID_ARGUMENT', `Invalid filter at position ${p.position}: ${what}`, {
    argument: 'filter',
    position: p.position,
  });
}

/** Stage values are matched case-insensitively: `stage = 'production'` is `Production`. */
function normalise(target: SearchTarget, p: Predicate, value: string): string {
  if (target.kind !== 'field' || target.name !== 'stage') return value;
  const stage = STAGE_NAMES[value.toLowerCase()];
  if (stage === undefined)
    unsupported(p, `unknown stage '${value}': use None, Staging, Production or Archived`);
  return stage;
}

function valueCondition(left: RawBuilder<unknown>, p: Exclude<Predicate, { type: 'null' }>): Bool {
  switch (p.type) {
    case 'compare': {
      const value = typeof p.value === 'string' ? normalise(p.target, p, p.value) : p.value;
      switch (p.op) {
        case '=':
          return sql<SqlBool>`${left} = ${value}`;
        case '!=':
          return sql<SqlBool>`${left} <> ${value}`;
        case '<':
          return sql<SqlBool>`${left} < ${value}`;
        case '<=':
          return sql<SqlBool>`${left} <= ${value}`;
        case '>':
          return sql<SqlBool>`${left} > ${value}`;
        case '>=':
          return sql<SqlBool>`${left} >= ${value}`;
      }
      break;
    }
    case 'like':
      return p.op === 'LIKE'
        ? sql<SqlBool>`${left} LIKE ${p.pattern}`
        : sql<SqlBool>`${left} ILIKE ${p.pattern}`;
    case 'in': {
      const list = sql.join(p.values.map((v) => sql`${normalise(p.target, p, v)}`));
      return p.negated
        ? sql<SqlBool>`${left} NOT IN (${list})`
        : sql<SqlBool>`${left} IN (${list})`;
    }
  }
}

function predicate(entity: Entity, p: Predicate, workspaceId: string): Bool {
  const { target } = p;
  switch (target.kind) {
    case 'field': {
      const column = entity.columns[target.name];
      if (column === undefined) return unsupported(p, `unknown identifier "${target.name}"`);
      if (p.type === 'null')
        return p.negated
          ? sql<SqlBool>`${column.filter} IS NOT NULL`
          : sql<SqlBool>`${column.filter} IS NULL`;
      if (p.type === 'compare' && (column.sortType === 'int4' || column.sortType === 'int8'))
        checkFilterInteger(p.value, column.sortType, target.name, p.position);
      const cond = valueCondition(column.filter, p);
      // Null-safe (false, not unknown), so that NOT (...) holds for rows without a value.
      return column.nullable ? sql<SqlBool>`(${column.filter} IS NOT NULL AND ${cond})` : cond;
    }
    case 'tag': {
      if (p.type === 'null') {
        const has = entity.tagExists(workspaceId, target.key, null);
        return p.negated ? has : sql<SqlBool>`NOT ${has}`;
      }
      return entity.tagExists(workspaceId, target.key, valueCondition(sql.ref('e.value'), p));
    }
    case 'metric':
    case 'param':
    case 'attribute':
      return unsupported(p, `${target.kind}s are not registry search identifiers`);
  }
}

function compile(entity: Entity, expr: FilterExpr, workspaceId: string): Bool {
  switch (expr.type) {
    case 'and':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compile(entity, e, workspaceId)),
        sql` AND `,
      )})`;
    case 'or':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compile(entity, e, workspaceId)),
        sql` OR `,
      )})`;
    case 'not':
      return sql<SqlBool>`(NOT ${compile(entity, expr.operand, workspaceId)})`;
    default:
      return sql<SqlBool>`(${predicate(entity, expr, workspaceId)})`;
  }
}

export interface CompiledRegistrySearch {
  where: Bool | null;
  terms: OrderTerm[];
  columns: SortColumn[];
}

/**
 * Parses and compiles a registry filter and orderBy (INVALID_ARGUMENT with the position on
 * error). Ordering on tags is not offered; ties are broken by the entity's default order.
 */
export function compileRegistrySearch(
  entity: Entity,
  workspaceId: string,
  filter: string | null | undefined,
  orderBy: readonly string[] | null | undefined,
): CompiledRegistrySearch {
  const expr = parseSearchFilter(filter, entity.vocabulary);
  const terms = parseSearchOrderBy(orderBy, entity.vocabulary);
  const columns: SortColumn[] = terms.map((term, index) => {
    const column = term.target.kind === 'field' ? entity.columns[term.target.name] : undefined;
    if (column === undefined)
      throw new CairnError(
        'INVALID_ARGUMENT',
        `Invalid orderBy[${index}] at position 0: sort by ${Object.keys(entity.columns).join(', ')}`,
        { argument: 'orderBy', index, position: 0 },
      );
    return {
      expr: column.sort,
      direction: term.direction,
      nullable: column.nullable,
      type: column.sortType,
    };
  });
  return {
    where: expr ? compile(entity, expr, workspaceId) : null,
    terms,
    columns: [...columns, ...entity.tieBreakers],
  };
}
