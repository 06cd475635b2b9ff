import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type {
  AttributeName,
  CompareOp,
  FilterExpr,
  OrderTerm,
  Predicate,
  SearchTarget,
  SortDirection,
} from './run-search.ast.ts';
import { RUN_ATTRIBUTES } from './run-search.ast.ts';
import { checkFilterInteger } from '../../input-hygiene.ts';

/**
 * Compiles the run search AST into SQL fragments for a query over `runs r`. Parameterised only:
 * every user value (keys, strings, numbers, patterns) is a bound parameter; table and column names
 * come from the closed sets below, never from the input.
 *
 * Semantics (MLflow's): a metric is its latest value (run_latest_metrics); a comparison on a
 * metric, param or tag holds only for runs that have the key (`!=` too); IS NULL holds for runs
 * without it. NaN metric values satisfy only `!=`. In ordering, runs without the key sort last in
 * both directions (and NaN metrics just before them); ties are broken by start_time DESC, run_id ASC.
 */

/**
 * Length of the value prefix that run_params/run_tags store as `value_prefix` and index
 * (migrations 2026-11-26T0003, 0009); must match it.
 */
const INDEXED_VALUE_PREFIX = 200;
/** Inlined (not bound) so that the expression matches the index's. */
const PREFIX = sql.lit(INDEXED_VALUE_PREFIX);

type Bool = RawBuilder<SqlBool>;

/**
 * Whether a value is shorter than the indexed prefix: then `left(e.value, 200) = left(v, 200)`
 * implies `e.value = v` (a prefix shorter than 200 characters is the whole value). JS length
 * counts UTF-16 units, never fewer than Postgres' characters, so the test is conservative.
 */
function isShort(value: string): boolean {
  return value.length < INDEXED_VALUE_PREFIX;
}

/** `alias.experiment_id IN (…)` when the search names its experiments (the side tables' indexes lead with it). */
function experimentCondition(
  alias: string,
  experimentIds: readonly string[] | undefined,
): RawBuilder<unknown> {
  return experimentIds && experimentIds.length > 0
    ? sql` AND ${sql.ref(`${alias}.experiment_id`)} IN (${valueList(experimentIds)})`
    : sql``;
}

const ATTRIBUTE_COLUMNS = {
  run_id: sql.ref('r.run_id'),
  run_name: sql.ref('r.name'),
  status: sql.ref('r.status'),
  experiment_id: sql.ref('r.experiment_id'),
  start_time: sql.ref('r.start_time'),
  end_time: sql.ref('r.end_time'),
} satisfies Record<AttributeName, RawBuilder<unknown>>;

type EntityKind = Exclude<SearchTarget['kind'], 'attribute' | 'field'>;

function entityTable(kind: EntityKind): RawBuilder<unknown> {
  switch (kind) {
    case 'metric':
      return sql.table('run_latest_metrics');
    case 'param':
      return sql.table('run_params');
    case 'tag':
      return sql.table('run_tags');
  }
}

function compare(left: RawBuilder<unknown>, op: CompareOp, right: unknown): Bool {
  switch (op) {
    case '=':
      return sql<SqlBool>`${left} = ${right}`;
    case '!=':
      return sql<SqlBool>`${left} <> ${right}`;
    case '<':
      return sql<SqlBool>`${left} < ${right}`;
    case '<=':
      return sql<SqlBool>`${left} <= ${right}`;
    case '>':
      return sql<SqlBool>`${left} > ${right}`;
    case '>=':
      return sql<SqlBool>`${left} >= ${right}`;
  }
}

function valueList(values: readonly string[]): RawBuilder<unknown> {
  return sql.join(values.map((v) => sql`${v}`));
}

/** The condition on `e.value` (the metric/param/tag row) that a predicate puts inside its EXISTS. */
function entityValueCondition(kind: EntityKind, p: Exclude<Predicate, { type: 'null' }>): Bool {
  const value = sql.ref('e.value');
  switch (p.type) {
    case 'compare':
      if (kind === 'metric') {
        // NaN compares greater than every number in Postgres; under IEEE it satisfies only `!=`.
        const cond = compare(value, p.op, p.value);
        return p.op === '>' || p.op === '>='
          ? sql<SqlBool>`${cond} AND e.value <> 'NaN'::float8`
          : cond;
      }
      if (p.op === '=') {
        // The prefix test lets the (…, key, value_prefix) index find the rows; a value shorter
        // than the prefix is its own prefix, so the prefix test alone decides (index-only scan).
        const prefixed = sql<SqlBool>`e.value_prefix = left(${p.value}, ${PREFIX})`;
        return typeof p.value === 'string' && isShort(p.value)
          ? prefixed
          : sql<SqlBool>`${prefixed} AND e.value = ${p.value}`;
      }
      return compare(value, p.op, p.value);
    case 'like':
      return p.op === 'LIKE'
        ? sql<SqlBool>`e.value LIKE ${p.pattern}`
        : sql<SqlBool>`e.value ILIKE ${p.pattern}`;
    case 'in':
      if (p.negated) return sql<SqlBool>`e.value NOT IN (${valueList(p.values)})`;
      {
        const prefixed = sql<SqlBool>`e.value_prefix IN (${sql.join(p.values.map((v) => sql`left(${v}, ${PREFIX})`))})`;
        return p.values.every(isShort)
          ? prefixed
          : sql<SqlBool>`${prefixed} AND e.value IN (${valueList(p.values)})`;
      }
  }
}

function exists(
  kind: EntityKind,
  workspaceId: string,
  experimentIds: readonly string[] | undefined,
  key: string,
  cond: Bool | null,
): Bool {
  const extra = cond ? sql` AND ${cond}` : sql``;
  return sql<SqlBool>`EXISTS (SELECT 1 FROM ${entityTable(kind)} e WHERE e.workspace_id = ${workspaceId}${experimentCondition('e', experimentIds)} AND e.run_id = r.run_id AND e.key = ${key}${extra})`;
}

function attributeCondition(name: AttributeName, p: Predicate): Bool {
  const col = ATTRIBUTE_COLUMNS[name];
  switch (p.type) {
    case 'compare': {
      if (RUN_ATTRIBUTES[name].type === 'number')
        checkFilterInteger(p.value, 'int8', name, p.position);
      const cond = compare(col, p.op, p.value);
      // Null-safe (false, not unknown), so that NOT (end_time < x) holds for runs without an end.
      return RUN_ATTRIBUTES[name].nullable ? sql<SqlBool>`(${col} IS NOT NULL AND ${cond})` : cond;
    }
    case 'like':
      return p.op === 'LIKE'
        ? sql<SqlBool>`${col} LIKE ${p.pattern}`
        : sql<SqlBool>`${col} ILIKE ${p.pattern}`;
    case 'in':
      return p.negated
        ? sql<SqlBool>`${col} NOT IN (${valueList(p.values)})`
        : sql<SqlBool>`${col} IN (${valueList(p.values)})`;
    case 'null':
      return p.negated ? sql<SqlBool>`${col} IS NOT NULL` : sql<SqlBool>`${col} IS NULL`;
  }
}

function predicateCondition(
  p: Predicate,
  workspaceId: string,
  experimentIds: readonly string[] | undefined,
): Bool {
  const { target } = p;
  if (target.kind === 'attribute') return attributeCondition(target.name, p);
  if (target.kind === 'field') throw new Error(`${target.name} is not a run search target`);
  if (p.type === 'null') {
    const has = exists(target.kind, workspaceId, experimentIds, target.key, null);
    return p.negated ? has : sql<SqlBool>`NOT ${has}`;
  }
  return exists(
    target.kind,
    workspaceId,
    experimentIds,
    target.key,
    entityValueCondition(target.kind, p),
  );
}

/**
 * The filter as a boolean SQL expression over `runs r` (always parenthesised). With
 * `experimentIds` (those the query restricts `r` to), each side-table lookup is restricted to them
 * too, so that it can use the (workspace_id, experiment_id, key, value) indexes.
 */
export function compileFilter(
  expr: FilterExpr,
  workspaceId: string,
  experimentIds?: readonly string[],
): Bool {
  switch (expr.type) {
    case 'and':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compileFilter(e, workspaceId, experimentIds)),
        sql` AND `,
      )})`;
    case 'or':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compileFilter(e, workspaceId, experimentIds)),
        sql` OR `,
      )})`;
    case 'not':
      return sql<SqlBool>`(NOT ${compileFilter(expr.operand, workspaceId, experimentIds)})`;
    default:
      return sql<SqlBool>`(${predicateCondition(expr, workspaceId, experimentIds)})`;
  }
}

// ---- ordering and keyset pagination ----------------------------------------------------------

export type SortValueType = 'float8' | 'int8' | 'int4' | 'text';
/** A sort column's value as carried in a cursor: float8 as its decimal text (±Infinity survive JSON). */
export type SortValue = string | number | null;

export interface SortColumn {
  expr: RawBuilder<unknown>;
  direction: SortDirection;
  /** Nulls sort last in both directions. */
  nullable: boolean;
  type: SortValueType;
}

export interface CompiledOrder {
  joins: RawBuilder<unknown>[];
  columns: SortColumn[];
}

/** The deterministic tie-breakers after the requested terms: newest first, then run id. */
const TIE_BREAKERS: SortColumn[] = [
  { expr: sql.ref('r.start_time'), direction: 'desc', nullable: false, type: 'int8' },
  { expr: sql.ref('r.run_id'), direction: 'asc', nullable: false, type: 'text' },
];

export function compileOrder(
  terms: readonly OrderTerm[],
  workspaceId: string,
  experimentIds?: readonly string[],
): CompiledOrder {
  const joins: RawBuilder<unknown>[] = [];
  const columns: SortColumn[] = [];
  terms.forEach(({ target, direction }, i) => {
    if (target.kind === 'attribute') {
      const attr = RUN_ATTRIBUTES[target.name];
      const type = attr.type === 'number' ? 'int8' : 'text';
      columns.push({
        expr: ATTRIBUTE_COLUMNS[target.name],
        direction,
        nullable: attr.nullable,
        type,
      });
      return;
    }
    if (target.kind === 'field') throw new Error(`${target.name} is not a run sort target`);
    const alias = `o${i}`;
    joins.push(
      sql`LEFT JOIN ${entityTable(target.kind)} AS ${sql.id(alias)} ON ${sql.ref(`${alias}.workspace_id`)} = ${workspaceId}${experimentCondition(alias, experimentIds)} AND ${sql.ref(`${alias}.run_id`)} = r.run_id AND ${sql.ref(`${alias}.key`)} = ${target.key}`,
    );
    const value = sql.ref(`${alias}.value`);
    if (target.kind === 'metric') {
      // MLflow's order: numbers, then NaN, then runs without the metric — in both directions.
      columns.push({
        expr: sql`(CASE WHEN ${value} IS NULL THEN 2 WHEN ${value} = 'NaN'::float8 THEN 1 ELSE 0 END)`,
        direction: 'asc',
        nullable: false,
        type: 'int4',
      });
      columns.push({
        expr: sql`(CASE WHEN ${value} <> 'NaN'::float8 THEN ${value} END)`,
        direction,
        nullable: true,
        type: 'float8',
      });
    } else {
      columns.push({ expr: value, direction, nullable: true, type: 'text' });
    }
  });
  return { joins, columns: [...columns, ...TIE_BREAKERS] };
}

/**
 * ORDER BY with nulls last. Columns that are never null get no NULLS clause, so that the order
 * matches plain indexes (`start_time DESC` is NULLS FIRST in an index; the planner does not know
 * that a NOT NULL column makes the difference moot).
 */
export function orderByClause(columns: readonly SortColumn[]): RawBuilder<unknown> {
  return sql.join(
    columns.map((c) => {
      if (!c.nullable) return c.direction === 'asc' ? sql`${c.expr} ASC` : sql`${c.expr} DESC`;
      return c.direction === 'asc' ? sql`${c.expr} ASC NULLS LAST` : sql`${c.expr} DESC NULLS LAST`;
    }),
  );
}

/** Select-list entries `_k0, _k1, …` carrying each row's sort values (for its cursor). */
export function sortKeySelections(columns: readonly SortColumn[]): RawBuilder<unknown> {
  return sql.join(columns.map((c, i) => sql`${c.expr} AS ${sql.id(sortKeyAlias(i))}`));
}

export function sortKeyAlias(i: number): string {
  return `_k${i}`;
}

function bound(type: SortValueType, value: string | number): RawBuilder<unknown> {
  switch (type) {
    case 'float8':
      return sql`CAST(${value} AS double precision)`;
    case 'int8':
      return sql`CAST(${value} AS bigint)`;
    case 'int4':
      return sql`CAST(${value} AS integer)`;
    case 'text':
      return sql`CAST(${value} AS text)`;
  }
}

/**
 * Rows strictly after the cursor in the order of `columns` (nulls last in every direction):
 * the lexicographic expansion `c0 after v0 OR (c0 = v0 AND (c1 after v1 OR (…)))`, where a null
 * cursor value is followed only by nulls. The first column also gets a redundant range bound so
 * that an index on it (the default order's runs_experiment_start) can seek instead of filter.
 */
export function keysetCondition(
  columns: readonly SortColumn[],
  values: readonly SortValue[],
): Bool {
  const after = (i: number): Bool | null => {
    const column = columns[i];
    if (column === undefined) return null;
    const rest = after(i + 1);
    const value = values[i] ?? null;
    const x = column.expr;
    if (value === null)
      return rest ? sql<SqlBool>`(${x} IS NULL AND ${rest})` : sql<SqlBool>`false`;
    const v = bound(column.type, value);
    const strictly =
      column.direction === 'asc' ? sql<SqlBool>`${x} > ${v}` : sql<SqlBool>`${x} < ${v}`;
    const nulls = column.nullable ? sql`${x} IS NULL OR ` : sql``;
    return rest
      ? sql<SqlBool>`(${nulls}${strictly} OR (${x} = ${v} AND ${rest}))`
      : sql<SqlBool>`(${nulls}${strictly})`;
  };
  const full = after(0) ?? sql<SqlBool>`true`;
  const first = columns[0];
  const firstValue = values[0] ?? null;
  if (first && !first.nullable && firstValue !== null) {
    const v = bound(first.type, firstValue);
    const seek =
      first.direction === 'asc'
        ? sql<SqlBool>`${first.expr} >= ${v}`
        : sql<SqlBool>`${first.expr} <= ${v}`;
    return sql<SqlBool>`(${seek} AND ${full})`;
  }
  return full;
}

/** A row's value of a sort column, as the cursor carries it. */
export function toSortValue(type: SortValueType, raw: unknown): SortValue {
  if (raw === null || raw === undefined) return null;
  if (type === 'float8' && typeof raw === 'number') return String(raw);
  return raw as string | number;
}

/** Whether a value from a (client-supplied) cursor fits a sort column. */
export function isValidSortValue(column: SortColumn, value: unknown): value is SortValue {
  if (value === null) return column.nullable;
  switch (column.type) {
    case 'float8':
      return typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value));
    case 'int8':
    case 'int4':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'text':
      return typeof value === 'string';
  }
}

// ---- the whole search --------------------------------------------------------------------------

export interface RunSearchSpec {
  /** Non-empty. */
  experimentIds: readonly string[];
  lifecycleStage: 'active' | 'deleted' | null;
  filter: FilterExpr | null;
  order: CompiledOrder;
  /** Rows to fetch (a page plus one, to learn whether another page follows). */
  limit: number;
  /** Sort values of the last row of the previous page (decoded cursor). */
  after: readonly SortValue[] | null;
}

/**
 * The page query (runs plus their sort values `_k0…`, see sortKeySelections) and the count query
 * of a search. Filters are EXISTS subqueries keyed by (workspace_id, run_id, key); sort keys are
 * LEFT JOINs on the same keys (one row per run at most: those are primary keys).
 */
export function buildRunSearch(
  workspaceId: string,
  spec: RunSearchSpec,
): { page: RawBuilder<Record<string, unknown>>; count: RawBuilder<{ n: number }> } {
  const conditions: RawBuilder<unknown>[] = [
    sql`r.workspace_id = ${workspaceId}`,
    sql`r.experiment_id IN (${valueList(spec.experimentIds)})`,
  ];
  if (spec.lifecycleStage) conditions.push(sql`r.lifecycle_stage = ${spec.lifecycleStage}`);
  if (spec.filter) conditions.push(compileFilter(spec.filter, workspaceId, spec.experimentIds));
  const where = sql.join(conditions, sql` AND `);
  const { joins, columns } = spec.order;
  const joined = joins.length > 0 ? sql.join(joins, sql` `) : sql``;
  const keyset = spec.after ? sql` AND ${keysetCondition(columns, spec.after)}` : sql``;
  return {
    page: sql<
      Record<string, unknown>
    >`SELECT r.*, ${sortKeySelections(columns)} FROM runs r ${joined} WHERE ${where}${keyset} ORDER BY ${orderByClause(columns)} LIMIT ${spec.limit}`,
    count: sql<{ n: number }>`SELECT count(*)::int AS n FROM runs r WHERE ${where}`,
  };
}
