import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { SPAN_TYPES } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { SEARCH_LIMITS } from '../runs/search/run-search.parser.ts';

/**
 * Trace search (docs/tracing.md, "Trace search grammar"): the run search grammar (MLflow's
 * syntax plus OR, NOT and parentheses; the same quoting, comparators and limits) with the trace
 * vocabulary, compiled into parameterised SQL over `traces t`. The run parser's vocabulary hook
 * only knows bare fields and the metrics./params./tags. prefixes; the trace vocabulary needs
 * `metadata.`, `attributes.` (strings and numbers) and `span.`, so the grammar is parsed here.
 * Identifiers come from the closed sets below; every user value is a bound parameter.
 */

type Bool = RawBuilder<SqlBool>;

export const TRACE_FIELDS = {
  name: { type: 'string', nullable: false, column: 't.name' },
  status: { type: 'string', nullable: false, column: 't.status' },
  session: { type: 'string', nullable: true, column: 't.session_id' },
  user: { type: 'string', nullable: true, column: 't.user_id' },
  environment: { type: 'string', nullable: true, column: 't.environment' },
  trace_id: { type: 'string', nullable: false, column: 't.trace_id' },
  run_id: { type: 'string', nullable: true, column: 't.run_id' },
  duration_ms: { type: 'float', nullable: true, column: 't.duration_ms' },
  span_count: { type: 'int4', nullable: false, column: 't.span_count' },
  input_tokens: { type: 'int8', nullable: false, column: 't.input_tokens' },
  output_tokens: { type: 'int8', nullable: false, column: 't.output_tokens' },
  total_tokens: { type: 'int8', nullable: false, column: 't.total_tokens' },
  cost: { type: 'float', nullable: true, column: 't.cost_usd' },
  timestamp_ms: { type: 'time', nullable: false, column: 't.start_time' },
  end_time_ms: { type: 'time', nullable: true, column: 't.end_time' },
} as const satisfies Record<
  string,
  { type: 'string' | 'float' | 'int4' | 'int8' | 'time'; nullable: boolean; column: string }
>;
export type TraceField = keyof typeof TRACE_FIELDS;

const SPAN_FIELDS = {
  name: { column: 's.name', nullable: false },
  type: { column: 's.span_type', nullable: false },
  model: { column: 's.model', nullable: true },
} as const;
export type SpanField = keyof typeof SPAN_FIELDS;

export type TraceTarget =
  | { kind: 'field'; name: TraceField }
  | { kind: 'tag'; key: string }
  | { kind: 'metadata'; key: string }
  | { kind: 'attribute'; key: string }
  | { kind: 'span'; name: SpanField };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type TracePredicate =
  | {
      type: 'compare';
      target: TraceTarget;
      op: CompareOp;
      value: string | number;
      position: number;
    }
  | { type: 'like'; target: TraceTarget; op: 'LIKE' | 'ILIKE'; pattern: string; position: number }
  | { type: 'in'; target: TraceTarget; negated: boolean; values: string[]; position: number }
  | { type: 'null'; target: TraceTarget; negated: boolean; position: number };

export type TraceFilter =
  | TracePredicate
  | { type: 'and'; operands: TraceFilter[] }
  | { type: 'or'; operands: TraceFilter[] }
  | { type: 'not'; operand: TraceFilter };

type Comparator = CompareOp | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';
const NUMERIC_OPS: readonly Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const NULL_OPS: readonly Comparator[] = ['IS NULL', 'IS NOT NULL'];

const INT4_MAX = 2 ** 31 - 1;
const TRACE_STATUSES = ['UNSET', 'OK', 'ERROR'];
const HINT =
  'a trace field (name, status, session, user, environment, trace_id, run_id, duration_ms, span_count, input_tokens, output_tokens, total_tokens, cost, timestamp_ms, end_time_ms), tags.<key>, metadata.<key>, attributes.<key> or span.name/span.type/span.model';

export function targetLabel(t: TraceTarget): string {
  const q = (key: string) => (/^[\w.\-/:]+$/u.test(key) ? key : `\`${key.replaceAll('`', '``')}\``);
  switch (t.kind) {
    case 'field':
      return t.name;
    case 'tag':
      return `tags.${q(t.key)}`;
    case 'metadata':
      return `metadata.${q(t.key)}`;
    case 'attribute':
      return `attributes.${q(t.key)}`;
    case 'span':
      return `span.${t.name}`;
  }
}

function isNumericField(t: TraceTarget): boolean {
  return t.kind === 'field' && TRACE_FIELDS[t.name].type !== 'string';
}

function allowed(t: TraceTarget): readonly Comparator[] {
  switch (t.kind) {
    case 'field': {
      const f = TRACE_FIELDS[t.name];
      const ops = f.type === 'string' ? STRING_OPS : NUMERIC_OPS;
      return f.nullable ? [...ops, ...NULL_OPS] : ops;
    }
    case 'tag':
    case 'metadata':
      return [...STRING_OPS, ...NULL_OPS];
    case 'attribute':
      return [...NUMERIC_OPS, 'LIKE', 'ILIKE', 'IN', 'NOT IN', ...NULL_OPS];
    case 'span':
      return SPAN_FIELDS[t.name].nullable ? [...STRING_OPS, ...NULL_OPS] : STRING_OPS;
  }
}

type Fail = (position: number, message: string) => never;
const filterFail: Fail = (position, message) => {
  throw new CairnError('INVALID_ARGUMENT', `Invalid filter at position ${position}: ${message}`, {
    argument: 'filter',
    position,
  });
};
const orderFail =
  (index: number): Fail =>
  (position, message) => {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid orderBy[${index}] at position ${position}: ${message}`,
      { argument: 'orderBy', index, position },
    );
  };

const WORD_CHAR = /[A-Za-z0-9_]/u;
const BARE_KEY = /[\w.\-/:]+/uy;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/uy;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/uy;

type Value =
  | { kind: 'string'; value: string; position: number }
  | { kind: 'number'; value: number; position: number }
  | { kind: 'list'; values: string[]; position: number };

class Parser {
  pos = 0;
  private predicates = 0;
  constructor(
    private readonly src: string,
    private readonly fail: Fail,
  ) {}

  skipWs(): void {
    while (this.pos < this.src.length && /\s/u.test(this.src[this.pos]!)) this.pos++;
  }
  atEnd(): boolean {
    return this.pos >= this.src.length;
  }
  found(): string {
    if (this.atEnd()) return 'the end';
    const rest = this.src.slice(this.pos);
    return `"${/^(?:[A-Za-z0-9_.-]+|\S)/u.exec(rest)?.[0] ?? rest[0]!}"`;
  }
  keyword(word: string): boolean {
    const end = this.pos + word.length;
    if (this.src.slice(this.pos, end).toUpperCase() !== word) return false;
    const next = this.src[end];
    if (next !== undefined && (WORD_CHAR.test(next) || next === '.')) return false;
    this.pos = end;
    return true;
  }
  symbol(text: string): boolean {
    if (!this.src.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }
  sticky(re: RegExp): string | null {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m) return null;
    this.pos += m[0].length;
    return m[0];
  }
  quoted(what: string): string {
    const start = this.pos;
    const quote = this.src[start]!;
    let out = '';
    let i = start + 1;
    for (;;) {
      const next = this.src.indexOf(quote, i);
      if (next < 0) this.fail(start, `unterminated ${what} (missing closing ${quote})`);
      out += this.src.slice(i, next);
      if (this.src[next + 1] === quote) {
        out += quote;
        i = next + 2;
        continue;
      }
      this.pos = next + 1;
      return out;
    }
  }

  target(): TraceTarget {
    const start = this.pos;
    const word = this.sticky(WORD);
    if (word === null) this.fail(start, `expected ${HINT}, found ${this.found()}`);
    const lower = word.toLowerCase();
    if (this.src[this.pos] !== '.') {
      if (!Object.hasOwn(TRACE_FIELDS, lower)) {
        this.pos = start;
        this.fail(start, `unknown identifier ${this.found()}: expected ${HINT}`);
      }
      return { kind: 'field', name: lower as TraceField };
    }
    this.pos++;
    if (lower === 'span') {
      const at = this.pos;
      const name = this.sticky(WORD)?.toLowerCase();
      if (name === undefined || !Object.hasOwn(SPAN_FIELDS, name))
        this.fail(at, 'expected span.name, span.type or span.model');
      return { kind: 'span', name: name as SpanField };
    }
    const kind =
      lower === 'tag' || lower === 'tags'
        ? 'tag'
        : lower === 'metadata'
          ? 'metadata'
          : lower === 'attribute' || lower === 'attributes' || lower === 'attr'
            ? 'attribute'
            : null;
    if (kind === null) {
      this.pos = start;
      this.fail(start, `unknown identifier ${this.found()}: expected ${HINT}`);
    }
    return { kind, key: this.key(word) };
  }

  key(prefix: string): string {
    const c = this.src[this.pos];
    if (c === '`' || c === '"' || c === "'") {
      const start = this.pos;
      const key = this.quoted('quoted name');
      if (key.length === 0) this.fail(start, `empty name after "${prefix}."`);
      return key;
    }
    const key = this.sticky(BARE_KEY);
    if (key === null)
      this.fail(
        this.pos,
        `expected a name after "${prefix}." (quote names with other characters in \`backquotes\`), found ${this.found()}`,
      );
    return key;
  }

  or(depth: number): TraceFilter {
    const operands = [this.and(depth)];
    for (;;) {
      this.skipWs();
      if (!this.keyword('OR')) break;
      operands.push(this.and(depth));
    }
    return operands.length === 1 ? operands[0]! : { type: 'or', operands };
  }
  and(depth: number): TraceFilter {
    const operands = [this.unary(depth)];
    for (;;) {
      this.skipWs();
      if (!this.keyword('AND')) break;
      operands.push(this.unary(depth));
    }
    return operands.length === 1 ? operands[0]! : { type: 'and', operands };
  }
  unary(depth: number): TraceFilter {
    this.skipWs();
    const start = this.pos;
    if (depth >= SEARCH_LIMITS.depth)
      this.fail(start, `nested deeper than ${SEARCH_LIMITS.depth} levels`);
    if (this.keyword('NOT')) return { type: 'not', operand: this.unary(depth + 1) };
    if (this.symbol('(')) {
      const inner = this.or(depth + 1);
      this.skipWs();
      if (!this.symbol(')'))
        this.fail(
          this.pos,
          `expected AND, OR or ")" to close the "(" at position ${start}, found ${this.found()}`,
        );
      return inner;
    }
    return this.predicate();
  }

  predicate(): TracePredicate {
    const position = this.pos;
    if (++this.predicates > SEARCH_LIMITS.predicates)
      this.fail(position, `more than ${SEARCH_LIMITS.predicates} comparisons`);
    const target = this.target();
    const label = targetLabel(target);
    this.skipWs();
    const opPos = this.pos;
    const op = this.comparator();
    if (op === null)
      this.fail(opPos, `expected a comparator after "${label}", found ${this.found()}`);
    if (!allowed(target).includes(op))
      this.fail(opPos, `${op} does not apply to ${label}; use ${allowed(target).join(', ')}`);
    if (op === 'IS NULL' || op === 'IS NOT NULL')
      return { type: 'null', target, negated: op === 'IS NOT NULL', position };
    this.skipWs();
    const value = this.value();
    if (op === 'IN' || op === 'NOT IN') {
      if (value.kind !== 'list')
        this.fail(
          value.position,
          `${op} takes a parenthesised list of quoted strings, e.g. ('a', 'b')`,
        );
      return {
        type: 'in',
        target,
        negated: op === 'NOT IN',
        values: value.values.map((v) => normalise(target, v, value.position, this.fail)),
        position,
      };
    }
    if (value.kind === 'list') this.fail(value.position, `a list needs IN or NOT IN, not ${op}`);
    if (op === 'LIKE' || op === 'ILIKE') {
      if (value.kind !== 'string')
        this.fail(value.position, `${op} takes a quoted pattern, e.g. '%chat%'`);
      return { type: 'like', target, op, pattern: value.value, position };
    }
    if (isNumericField(target)) {
      if (value.kind !== 'number')
        this.fail(value.position, `${label} is numeric: expected a number, found a string`);
      checkRange(target, value.value, value.position, this.fail);
    } else if (target.kind === 'attribute') {
      if (value.kind === 'number') checkRange(target, value.value, value.position, this.fail);
      else if (op !== '=' && op !== '!=')
        this.fail(opPos, `${op} compares numbers: ${label} ${op} takes a number, not a string`);
    } else if (value.kind !== 'string') {
      this.fail(value.position, `${label} is a string: quote the value, e.g. '${value.value}'`);
    }
    const v =
      typeof value.value === 'string'
        ? normalise(target, value.value, value.position, this.fail)
        : value.value;
    return { type: 'compare', target, op, value: v, position };
  }

  comparator(): Comparator | null {
    for (const op of ['!=', '<=', '>=', '=', '<', '>'] as const) if (this.symbol(op)) return op;
    if (this.symbol('<>')) return '!=';
    if (this.keyword('LIKE')) return 'LIKE';
    if (this.keyword('ILIKE')) return 'ILIKE';
    if (this.keyword('IN')) return 'IN';
    const start = this.pos;
    if (this.keyword('NOT')) {
      this.skipWs();
      if (this.keyword('IN')) return 'NOT IN';
      this.pos = start;
      return null;
    }
    if (this.keyword('IS')) {
      this.skipWs();
      const not = this.keyword('NOT');
      if (not) this.skipWs();
      if (this.keyword('NULL')) return not ? 'IS NOT NULL' : 'IS NULL';
      this.fail(this.pos, `expected NULL after "IS${not ? ' NOT' : ''}", found ${this.found()}`);
    }
    return null;
  }

  value(): Value {
    const position = this.pos;
    const c = this.src[position];
    if (c === "'" || c === '"') return { kind: 'string', value: this.quoted('string'), position };
    if (c === '(') {
      this.pos++;
      const values: string[] = [];
      for (;;) {
        this.skipWs();
        const at = this.pos;
        const q = this.src[at];
        if (q !== "'" && q !== '"')
          this.fail(at, `expected a quoted string in the list, found ${this.found()}`);
        values.push(this.quoted('string'));
        if (values.length > SEARCH_LIMITS.inValues)
          this.fail(at, `more than ${SEARCH_LIMITS.inValues} values in one list`);
        this.skipWs();
        if (this.symbol(')')) return { kind: 'list', values, position };
        if (!this.symbol(','))
          this.fail(this.pos, `expected "," or ")" in the list, found ${this.found()}`);
      }
    }
    const number = this.sticky(NUMBER);
    if (number !== null) {
      const next = this.src[this.pos];
      if (next !== undefined && (WORD_CHAR.test(next) || next === '.')) {
        this.pos = position;
        this.fail(position, `invalid number ${this.found()}`);
      }
      return { kind: 'number', value: Number(number), position };
    }
    this.fail(
      position,
      `expected a value (a number, a 'quoted string' or a list), found ${this.found()}`,
    );
  }
}

/** Numbers must fit their column: integers for counts and times, finite everywhere. */
function checkRange(target: TraceTarget, value: number, position: number, fail: Fail): void {
  const label = targetLabel(target);
  if (!Number.isFinite(value)) fail(position, `${label}: ${value} is out of range`);
  if (target.kind !== 'field') return;
  const type = TRACE_FIELDS[target.name].type;
  if ((type === 'int4' || type === 'int8' || type === 'time') && !Number.isSafeInteger(value))
    fail(
      position,
      `${label} takes an integer within ±(2^53-1)${type === 'time' ? ' (epoch milliseconds)' : ''}`,
    );
  if (type === 'int4' && Math.abs(value) > INT4_MAX)
    fail(position, `${label} takes an integer within ±${INT4_MAX}`);
  if (type === 'time' && Math.abs(value) > 8.64e15)
    fail(position, `${label}: ${value} is not a representable time`);
}

/** `status` and `span.type` take their enum values in any case; an unknown one is an error. */
function normalise(target: TraceTarget, value: string, position: number, fail: Fail): string {
  if (target.kind === 'field' && target.name === 'status') {
    const upper = value.toUpperCase();
    if (!TRACE_STATUSES.includes(upper))
      fail(position, `unknown status '${value}': use UNSET, OK or ERROR`);
    return upper;
  }
  if (target.kind === 'span' && target.name === 'type') {
    const upper = value.toUpperCase();
    if (!(SPAN_TYPES as readonly string[]).includes(upper))
      fail(position, `unknown span type '${value}': use ${SPAN_TYPES.join(', ')}`);
    return upper;
  }
  return value;
}

export function parseTraceFilter(filter: string | null | undefined): TraceFilter | null {
  if (filter === null || filter === undefined || filter.trim() === '') return null;
  if (filter.length > SEARCH_LIMITS.filterLength)
    filterFail(SEARCH_LIMITS.filterLength, `longer than ${SEARCH_LIMITS.filterLength} characters`);
  const nul = filter.indexOf('\u0000');
  if (nul >= 0) filterFail(nul, 'NUL characters are not allowed');
  const p = new Parser(filter, filterFail);
  const expr = p.or(0);
  p.skipWs();
  if (!p.atEnd())
    filterFail(
      p.pos,
      filter[p.pos] === ')'
        ? 'unbalanced ")"'
        : `expected AND, OR or the end of the filter, found ${p.found()}`,
    );
  return expr;
}

// ---- SQL ---------------------------------------------------------------------------------------

/** A timestamptz at an exact epoch-millisecond (µs) offset: stable, so indexes on the column serve it. */
const atMs = (ms: number) =>
  sql`(timestamptz 'epoch' + CAST(${ms} AS bigint) * interval '1 millisecond')`;
const atUs = (us: number) =>
  sql`(timestamptz 'epoch' + CAST(${us} AS bigint) * interval '1 microsecond')`;

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

/** A time column against epoch ms: the column counts as its millisecond (floor), compared as a range. */
function timeCompare(col: RawBuilder<unknown>, op: CompareOp, ms: number): Bool {
  switch (op) {
    case '=':
      return sql<SqlBool>`(${col} >= ${atMs(ms)} AND ${col} < ${atMs(ms + 1)})`;
    case '!=':
      return sql<SqlBool>`(${col} < ${atMs(ms)} OR ${col} >= ${atMs(ms + 1)})`;
    case '<':
      return sql<SqlBool>`${col} < ${atMs(ms)}`;
    case '<=':
      return sql<SqlBool>`${col} < ${atMs(ms + 1)}`;
    case '>':
      return sql<SqlBool>`${col} >= ${atMs(ms + 1)}`;
    case '>=':
      return sql<SqlBool>`${col} >= ${atMs(ms)}`;
  }
}

const list = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`));

function stringCondition(
  col: RawBuilder<unknown>,
  p: Exclude<TracePredicate, { type: 'null' }>,
): Bool {
  switch (p.type) {
    case 'compare':
      return compare(col, p.op, p.value);
    case 'like':
      return p.op === 'LIKE'
        ? sql<SqlBool>`${col} LIKE ${p.pattern}`
        : sql<SqlBool>`${col} ILIKE ${p.pattern}`;
    case 'in':
      return p.negated
        ? sql<SqlBool>`${col} NOT IN (${list(p.values)})`
        : sql<SqlBool>`${col} IN (${list(p.values)})`;
  }
}

function fieldCondition(name: TraceField, p: TracePredicate): Bool {
  const f = TRACE_FIELDS[name];
  const col = sql.ref(f.column);
  if (p.type === 'null')
    return p.negated ? sql<SqlBool>`${col} IS NOT NULL` : sql<SqlBool>`${col} IS NULL`;
  let cond: Bool;
  if (f.type === 'time' && p.type === 'compare') cond = timeCompare(col, p.op, p.value as number);
  else if (f.type === 'string') cond = stringCondition(col, p);
  else if (p.type === 'compare') cond = compare(col, p.op, p.value);
  else throw new Error(`unexpected ${p.type} on ${name}`);
  // Null-safe (false, not unknown), so that NOT (…) holds for traces without a value.
  return f.nullable ? sql<SqlBool>`(${col} IS NOT NULL AND ${cond})` : cond;
}

function keyValueCondition(
  view: 'trace_tags_effective' | 'trace_metadata_effective',
  key: string,
  p: TracePredicate,
  workspaceId: string,
): Bool {
  const exists = (cond: Bool | null) =>
    sql<SqlBool>`EXISTS (SELECT 1 FROM ${sql.table(view)} e WHERE e.workspace_id = ${workspaceId} AND e.trace_id = t.trace_id AND e.key = ${key}${cond ? sql` AND ${cond}` : sql``})`;
  if (p.type === 'null') return p.negated ? exists(null) : sql<SqlBool>`NOT ${exists(null)}`;
  return exists(stringCondition(sql.ref('e.value'), p));
}

function spanExists(workspaceId: string, cond: Bool): Bool {
  return sql<SqlBool>`EXISTS (SELECT 1 FROM trace_spans s WHERE s.workspace_id = ${workspaceId} AND s.trace_id = t.trace_id AND ${cond})`;
}

/**
 * The traces with a span matching an indexed containment test, as an uncorrelated array (an
 * InitPlan: one bitmap scan of the GIN index on `trace_spans.attributes`, then the traces by
 * primary key). The correlated `EXISTS` form let the planner walk `traces_recent` newest first
 * and test every span of every trace until it had a page: at 1M spans stored and 1 trace in 100
 * matching, 5 s a page (docs/benchmarks.md, B5).
 */
function tracesWithSpan(workspaceId: string, cond: Bool): Bool {
  return sql<SqlBool>`t.trace_id = ANY (ARRAY(SELECT DISTINCT s.trace_id FROM trace_spans s WHERE s.workspace_id = ${workspaceId} AND ${cond}))`;
}

function attributeCondition(key: string, p: TracePredicate, workspaceId: string): Bool {
  const value = sql`(s.attributes -> ${key})`;
  const asString = sql`(CASE WHEN jsonb_typeof(s.attributes -> ${key}) = 'string' THEN s.attributes ->> ${key} END)`;
  // numeric, not float8: an attribute may hold a number beyond float8's range.
  const asNumber = sql`(CASE WHEN jsonb_typeof(s.attributes -> ${key}) = 'number' THEN (s.attributes ->> ${key})::numeric END)`;
  const contains = (v: string | number) =>
    sql<SqlBool>`s.attributes @> CAST(${JSON.stringify({ [key]: v })} AS jsonb)`;
  switch (p.type) {
    case 'null': {
      const has = spanExists(workspaceId, sql<SqlBool>`${value} IS NOT NULL`);
      return p.negated ? has : sql<SqlBool>`NOT ${has}`;
    }
    case 'compare':
      // `=` is a containment test, which the GIN index (jsonb_path_ops) on attributes serves.
      if (p.op === '=') return tracesWithSpan(workspaceId, contains(p.value));
      if (typeof p.value === 'number')
        return spanExists(
          workspaceId,
          compare(asNumber, p.op, sql`CAST(${String(p.value)} AS numeric)`),
        );
      return spanExists(workspaceId, compare(asString, p.op, p.value));
    case 'like':
      return spanExists(workspaceId, stringCondition(asString, p));
    case 'in':
      if (p.negated) return spanExists(workspaceId, stringCondition(asString, p));
      return tracesWithSpan(
        workspaceId,
        sql<SqlBool>`(${sql.join(p.values.map(contains), sql` OR `)})`,
      );
  }
}

function spanFieldCondition(name: SpanField, p: TracePredicate, workspaceId: string): Bool {
  const col = sql.ref(SPAN_FIELDS[name].column);
  if (p.type === 'null') {
    const has = spanExists(workspaceId, sql<SqlBool>`${col} IS NOT NULL`);
    return p.negated ? has : sql<SqlBool>`NOT ${has}`;
  }
  return spanExists(workspaceId, stringCondition(col, p));
}

/** The filter as a boolean SQL expression over `traces t` (parenthesised). */
export function compileTraceFilter(expr: TraceFilter, workspaceId: string): Bool {
  switch (expr.type) {
    case 'and':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compileTraceFilter(e, workspaceId)),
        sql` AND `,
      )})`;
    case 'or':
      return sql<SqlBool>`(${sql.join(
        expr.operands.map((e) => compileTraceFilter(e, workspaceId)),
        sql` OR `,
      )})`;
    case 'not':
      return sql<SqlBool>`(NOT ${compileTraceFilter(expr.operand, workspaceId)})`;
    default: {
      const t = expr.target;
      switch (t.kind) {
        case 'field':
          return sql<SqlBool>`(${fieldCondition(t.name, expr)})`;
        case 'tag':
          return sql<SqlBool>`(${keyValueCondition('trace_tags_effective', t.key, expr, workspaceId)})`;
        case 'metadata':
          return sql<SqlBool>`(${keyValueCondition('trace_metadata_effective', t.key, expr, workspaceId)})`;
        case 'attribute':
          return sql<SqlBool>`(${attributeCondition(t.key, expr, workspaceId)})`;
        case 'span':
          return sql<SqlBool>`(${spanFieldCondition(t.name, expr, workspaceId)})`;
      }
    }
  }
}

// ---- ordering and keyset cursors ---------------------------------------------------------------

const SORTABLE = ['timestamp_ms', 'duration_ms', 'total_tokens', 'cost', 'name'] as const;
type Sortable = (typeof SORTABLE)[number];

interface SortColumn {
  /** What the rows are ordered by. */
  expr: RawBuilder<unknown>;
  /** What the cursor carries (epoch µs for times, float text for floats). */
  key: RawBuilder<unknown>;
  direction: 'asc' | 'desc';
  nullable: boolean;
  type: 'time' | 'float' | 'int8' | 'text';
}

const epochUs = (col: string) => sql`(floor(extract(epoch from ${sql.ref(col)}) * 1000000))::int8`;

const SORT_COLUMNS: Record<Sortable, Omit<SortColumn, 'direction'>> = {
  timestamp_ms: {
    expr: sql.ref('t.start_time'),
    key: epochUs('t.start_time'),
    nullable: false,
    type: 'time',
  },
  duration_ms: {
    expr: sql.ref('t.duration_ms'),
    key: sql`t.duration_ms::text`,
    nullable: true,
    type: 'float',
  },
  total_tokens: {
    expr: sql.ref('t.total_tokens'),
    key: sql.ref('t.total_tokens'),
    nullable: false,
    type: 'int8',
  },
  cost: { expr: sql.ref('t.cost_usd'), key: sql`t.cost_usd::text`, nullable: true, type: 'float' },
  name: { expr: sql.ref('t.name'), key: sql.ref('t.name'), nullable: false, type: 'text' },
};

export interface TraceOrder {
  /** e.g. "duration_ms desc" (cursors are checked against it). */
  signature: string;
  columns: SortColumn[];
}

/** Ties (and the default order) by start time, newest first, then trace id: the traces_recent index. */
const TIE_BREAKERS: SortColumn[] = [
  { ...SORT_COLUMNS.timestamp_ms, direction: 'desc' },
  {
    expr: sql.ref('t.trace_id'),
    key: sql.ref('t.trace_id'),
    direction: 'desc',
    nullable: false,
    type: 'text',
  },
];

export function parseTraceOrderBy(orderBy: readonly string[] | null | undefined): TraceOrder {
  const terms: { name: Sortable; direction: 'asc' | 'desc' }[] = [];
  if (orderBy && orderBy.length > SEARCH_LIMITS.orderBy)
    orderFail(SEARCH_LIMITS.orderBy)(0, `at most ${SEARCH_LIMITS.orderBy} entries`);
  (orderBy ?? []).forEach((text, index) => {
    const fail: Fail = orderFail(index);
    const m = /^\s*([A-Za-z_]+)(?:\s+(ASC|DESC))?\s*$/iu.exec(text);
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !(SORTABLE as readonly string[]).includes(name))
      fail(0, `sort by ${SORTABLE.join(', ')}, each optionally followed by ASC or DESC`);
    if (terms.some((t) => t.name === name)) fail(0, `${name} is already sorted on`);
    terms.push({
      name: name as Sortable,
      direction: m[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc',
    });
  });
  const columns = terms.map((t) => ({ ...SORT_COLUMNS[t.name], direction: t.direction }));
  return {
    signature: terms.map((t) => `${t.name} ${t.direction}`).join(', '),
    columns: [...columns, ...TIE_BREAKERS],
  };
}

export type SortValue = string | number | null;

export function orderByClause(columns: readonly SortColumn[]): RawBuilder<unknown> {
  return sql.join(
    columns.map((c) => {
      const dir = c.direction === 'asc' ? sql`ASC` : sql`DESC`;
      return c.nullable ? sql`${c.expr} ${dir} NULLS LAST` : sql`${c.expr} ${dir}`;
    }),
  );
}

export function sortKeySelections(columns: readonly SortColumn[]): RawBuilder<unknown> {
  return sql.join(columns.map((c, i) => sql`${c.key} AS ${sql.id(`_k${i}`)}`));
}

function bound(c: SortColumn, v: string | number): RawBuilder<unknown> {
  switch (c.type) {
    case 'time':
      return atUs(v as number);
    case 'float':
      return sql`CAST(${v} AS double precision)`;
    case 'int8':
      return sql`CAST(${v} AS bigint)`;
    case 'text':
      return sql`CAST(${v} AS text)`;
  }
}

/** Rows strictly after the cursor (nulls last in both directions), plus a seek bound on the first column. */
export function keysetCondition(
  columns: readonly SortColumn[],
  values: readonly SortValue[],
): Bool {
  const after = (i: number): Bool | null => {
    const c = columns[i];
    if (c === undefined) return null;
    const rest = after(i + 1);
    const value = values[i] ?? null;
    if (value === null)
      return rest ? sql<SqlBool>`(${c.expr} IS NULL AND ${rest})` : sql<SqlBool>`false`;
    const v = bound(c, value);
    const strictly =
      c.direction === 'asc' ? sql<SqlBool>`${c.expr} > ${v}` : sql<SqlBool>`${c.expr} < ${v}`;
    const nulls = c.nullable ? sql`${c.expr} IS NULL OR ` : sql``;
    return rest
      ? sql<SqlBool>`(${nulls}${strictly} OR (${c.expr} = ${v} AND ${rest}))`
      : sql<SqlBool>`(${nulls}${strictly})`;
  };
  const full = after(0) ?? sql<SqlBool>`true`;
  const first = columns[0];
  const v0 = values[0] ?? null;
  if (first && !first.nullable && v0 !== null) {
    const v = bound(first, v0);
    const seek =
      first.direction === 'asc'
        ? sql<SqlBool>`${first.expr} >= ${v}`
        : sql<SqlBool>`${first.expr} <= ${v}`;
    return sql<SqlBool>`(${seek} AND ${full})`;
  }
  return full;
}

export function toSortValue(c: SortColumn, raw: unknown): SortValue {
  if (raw === null || raw === undefined) return null;
  return raw as string | number;
}

function validSortValue(c: SortColumn, v: unknown): v is SortValue {
  if (v === null) return c.nullable;
  switch (c.type) {
    case 'time':
    case 'int8':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'float':
      return typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v));
    case 'text':
      return typeof v === 'string';
  }
}

const invalidCursor = (why: string) =>
  new CairnError('INVALID_ARGUMENT', `Invalid cursor "after": ${why}`, { argument: 'after' });

export function encodeTraceCursor(order: TraceOrder, values: readonly SortValue[]): string {
  return Buffer.from(JSON.stringify({ o: order.signature, k: values })).toString('base64url');
}

export function decodeTraceCursor(
  cursor: string | null | undefined,
  order: TraceOrder,
): SortValue[] | null {
  if (cursor === null || cursor === undefined) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not a cursor of this query');
  }
  if (typeof payload !== 'object' || payload === null)
    throw invalidCursor('not a cursor of this query');
  const { o, k } = payload as { o?: unknown; k?: unknown };
  if (o !== order.signature) throw invalidCursor('it was issued for a different orderBy');
  if (!Array.isArray(k) || k.length !== order.columns.length)
    throw invalidCursor('not a cursor of this query');
  order.columns.forEach((c, i) => {
    if (!validSortValue(c, k[i])) throw invalidCursor('not a cursor of this query');
  });
  return k as SortValue[];
}
