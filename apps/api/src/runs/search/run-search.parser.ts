import { CairnError } from '../../errors.ts';
import {
  ATTRIBUTE_ALIASES,
  RUN_ATTRIBUTES,
  targetLabel,
  type AttributeName,
  type CompareOp,
  type FieldSpec,
  type FilterExpr,
  type OrderTerm,
  type Predicate,
  type SearchTarget,
} from './run-search.ast.ts';

/**
 * Parser of the run search language (docs/search.md). Pure: text in, AST out, or a CairnError
 * INVALID_ARGUMENT naming the 0-based character position of the problem (`details.position`).
 * Types are checked here too (a metric takes numbers, a param takes quoted strings, …), so the
 * SQL compiler only ever sees well-typed predicates.
 */

export const SEARCH_LIMITS = {
  /** Characters in a filter. */
  filterLength: 10_000,
  /** Nesting of parentheses and NOT. */
  depth: 32,
  /** Comparisons in a filter (each is one EXISTS or column test). */
  predicates: 100,
  /** Values in one IN list. */
  inValues: 1000,
  /** orderBy entries. */
  orderBy: 10,
} as const;

type Comparator = CompareOp | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

const NUMERIC_OPS: readonly Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const NULL_OPS: readonly Comparator[] = ['IS NULL', 'IS NOT NULL'];

/** Which comparators each kind of identifier takes (MLflow's, plus IN and IS NULL for params/tags). */
function allowedComparators(target: SearchTarget): readonly Comparator[] {
  switch (target.kind) {
    case 'metric':
      return [...NUMERIC_OPS, ...NULL_OPS];
    case 'param':
    case 'tag':
      return [...STRING_OPS, ...NULL_OPS];
    case 'attribute':
    case 'field': {
      const attr = target.kind === 'field' ? target : RUN_ATTRIBUTES[target.name];
      const ops = attr.type === 'number' ? NUMERIC_OPS : STRING_OPS;
      return attr.nullable ? [...ops, ...NULL_OPS] : ops;
    }
  }
}

/**
 * The vocabulary of another entity's search (the model registry): bare column names instead of
 * `attributes.<name>`, and only the listed prefixed kinds (e.g. `tags.<key>`).
 */
export interface SearchVocabulary {
  fields: Readonly<Record<string, FieldSpec>>;
  prefixes: readonly Exclude<SearchTarget['kind'], 'attribute' | 'field'>[];
  /** Names the valid identifiers in messages, e.g. "name, stage or tags.<key>". */
  hint: string;
}

const ENTITY_PREFIXES: Readonly<Record<string, Exclude<SearchTarget['kind'], 'field'>>> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

const ATTRIBUTE_LIST =
  'run_id, run_name ("run name"), status, experiment_id, start_time (created), end_time';
const IDENTIFIER_HINT =
  'an identifier like metrics.<key>, params.<key>, tags.<key> or attributes.<name>';

type Fail = (position: number, message: string) => never;

const filterError: Fail = (position, message) => {
  throw new CairnError('INVALID_ARGUMENT', `Invalid filter at position ${position}: ${message}`, {
    argument: 'filter',
    position,
  });
};

const orderByError =
  (index: number): Fail =>
  (position, message) => {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid orderBy[${index}] at position ${position}: ${message}`,
      {
        argument: 'orderBy',
        index,
        position,
      },
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
    private readonly vocabulary: SearchVocabulary | null = null,
  ) {}

  // ---- scanning -------------------------------------------------------------------------------

  skipWs(): void {
    while (this.pos < this.src.length && /\s/u.test(this.src[this.pos]!)) this.pos++;
  }

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  /** What is at the current position, for messages. */
  found(): string {
    if (this.atEnd()) return 'the end';
    const rest = this.src.slice(this.pos);
    const token = /^(?:[A-Za-z0-9_.-]+|\S)/u.exec(rest)?.[0] ?? rest[0]!;
    return `"${token}"`;
  }

  /** Consumes a case-insensitive keyword that is not the start of a longer word. */
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

  /** A quoted text starting at the current quote character; the quote doubled inside stands for itself. */
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

  // ---- identifiers ----------------------------------------------------------------------------

  target(): SearchTarget {
    if (this.vocabulary) return this.vocabularyTarget(this.vocabulary);
    const start = this.pos;
    const prefix = this.sticky(WORD);
    if (prefix === null) this.fail(start, `expected ${IDENTIFIER_HINT}, found ${this.found()}`);
    const kind = ENTITY_PREFIXES[prefix.toLowerCase()];
    if (this.src[this.pos] !== '.') {
      this.pos = start;
      this.fail(start, `expected ${IDENTIFIER_HINT}, found ${this.found()}`);
    }
    if (kind === undefined) {
      this.fail(
        start,
        `unknown identifier type "${prefix}": use metrics., params., tags. or attributes.`,
      );
    }
    this.pos++; // the dot
    const keyStart = this.pos;
    const key = this.key(prefix);
    if (kind !== 'attribute') return { kind, key };
    const lower = key.toLowerCase();
    const name: AttributeName | undefined =
      lower in RUN_ATTRIBUTES ? (lower as AttributeName) : ATTRIBUTE_ALIASES[lower];
    if (name === undefined)
      this.fail(keyStart, `unknown attribute "${key}": use ${ATTRIBUTE_LIST}`);
    return { kind: 'attribute', name };
  }

  /** An identifier of another entity's search: a bare field or an allowed `<prefix>.<key>`. */
  vocabularyTarget(vocabulary: SearchVocabulary): SearchTarget {
    const start = this.pos;
    const word = this.sticky(WORD);
    const expected = `expected ${vocabulary.hint}`;
    if (word === null) this.fail(start, `${expected}, found ${this.found()}`);
    if (this.src[this.pos] !== '.') {
      const name = word.toLowerCase();
      const field = Object.hasOwn(vocabulary.fields, name) ? vocabulary.fields[name] : undefined;
      if (field === undefined) {
        this.pos = start;
        this.fail(start, `unknown identifier ${this.found()}: ${expected}`);
      }
      return { kind: 'field', name, ...field };
    }
    const kind = ENTITY_PREFIXES[word.toLowerCase()];
    if (kind === undefined || kind === 'attribute' || !vocabulary.prefixes.includes(kind)) {
      this.pos = start;
      this.fail(start, `unknown identifier ${this.found()}: ${expected}`);
    }
    this.pos++; // the dot
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
    if (key === null) {
      this.fail(
        this.pos,
        `expected a name after "${prefix}." (quote names with spaces or other characters in \`backquotes\`), found ${this.found()}`,
      );
    }
    return key;
  }

  // ---- filter ---------------------------------------------------------------------------------

  or(depth: number): FilterExpr {
    const operands = [this.and(depth)];
    for (;;) {
      this.skipWs();
      if (!this.keyword('OR')) break;
      operands.push(this.and(depth));
    }
    return operands.length === 1 ? operands[0]! : { type: 'or', operands };
  }

  and(depth: number): FilterExpr {
    const operands = [this.unary(depth)];
    for (;;) {
      this.skipWs();
      if (!this.keyword('AND')) break;
      operands.push(this.unary(depth));
    }
    return operands.length === 1 ? operands[0]! : { type: 'and', operands };
  }

  unary(depth: number): FilterExpr {
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

  predicate(): Predicate {
    const position = this.pos;
    if (++this.predicates > SEARCH_LIMITS.predicates) {
      this.fail(position, `more than ${SEARCH_LIMITS.predicates} comparisons`);
    }
    const target = this.target();
    const label = this.src.slice(position, this.pos);
    this.skipWs();
    const opPos = this.pos;
    const op = this.comparator();
    if (op === null)
      this.fail(opPos, `expected a comparator after "${label}", found ${this.found()}`);
    if (!allowedComparators(target).includes(op)) {
      const allowed = allowedComparators(target).join(', ');
      this.fail(
        opPos,
        `${op} does not apply to ${targetLabel(target)} (${describeKind(target)}); use ${allowed}`,
      );
    }
    if (op === 'IS NULL' || op === 'IS NOT NULL')
      return { type: 'null', target, negated: op === 'IS NOT NULL', position };
    this.skipWs();
    const value = this.value();
    const where = targetLabel(target);
    if (op === 'IN' || op === 'NOT IN') {
      if (value.kind !== 'list')
        this.fail(
          value.position,
          `${op} takes a parenthesised list of quoted strings, e.g. ('a', 'b')`,
        );
      return { type: 'in', target, negated: op === 'NOT IN', values: value.values, position };
    }
    if (value.kind === 'list') this.fail(value.position, `a list needs IN or NOT IN, not ${op}`);
    if (op === 'LIKE' || op === 'ILIKE') {
      if (value.kind !== 'string')
        this.fail(value.position, `${op} takes a quoted pattern, e.g. '%adam%'`);
      return { type: 'like', target, op, pattern: value.value, position };
    }
    if (isNumeric(target)) {
      if (value.kind !== 'number')
        this.fail(value.position, `${where} is numeric: expected a number, found a string`);
      if (target.kind === 'attribute' && !Number.isSafeInteger(value.value)) {
        this.fail(value.position, `${where} is in epoch milliseconds: expected an integer`);
      }
      if (target.kind === 'field' && !Number.isSafeInteger(value.value)) {
        this.fail(value.position, `${where} is an integer`);
      }
    } else if (value.kind !== 'string') {
      this.fail(
        value.position,
        `${where} is a string: quote the value, e.g. '${this.src.slice(value.position, this.pos)}'`,
      );
    }
    return { type: 'compare', target, op, value: value.value, position };
  }

  comparator(): Comparator | null {
    for (const op of ['!=', '<=', '>=', '=', '<', '>'] as const) if (this.symbol(op)) return op;
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
      this.fail(
        this.pos,
        `expected ${not ? 'NULL' : 'NULL or NOT NULL'} after "IS${not ? ' NOT' : ''}", found ${this.found()}`,
      );
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

function isNumeric(target: SearchTarget): boolean {
  return (
    target.kind === 'metric' ||
    (target.kind === 'attribute' && RUN_ATTRIBUTES[target.name].type === 'number') ||
    (target.kind === 'field' && target.type === 'number')
  );
}

function describeKind(target: SearchTarget): string {
  switch (target.kind) {
    case 'metric':
      return 'a number';
    case 'param':
    case 'tag':
      return 'a string';
    case 'attribute':
    case 'field': {
      const attr = target.kind === 'field' ? target : RUN_ATTRIBUTES[target.name];
      return `${attr.type === 'number' ? 'a number' : 'a string'}${attr.nullable ? ' or null' : ', never null'}`;
    }
  }
}

/** Parses a filter; null for an absent or blank filter (every run matches). */
export function parseRunFilter(filter: string | null | undefined): FilterExpr | null {
  return parseSearchFilter(filter, null);
}

/** Parses a filter in the run grammar, or in another entity's vocabulary when one is given. */
export function parseSearchFilter(
  filter: string | null | undefined,
  vocabulary: SearchVocabulary | null,
): FilterExpr | null {
  if (filter === null || filter === undefined || filter.trim() === '') return null;
  if (filter.length > SEARCH_LIMITS.filterLength) {
    filterError(SEARCH_LIMITS.filterLength, `longer than ${SEARCH_LIMITS.filterLength} characters`);
  }
  const nul = filter.indexOf('\u0000');
  if (nul >= 0) filterError(nul, 'NUL characters are not allowed');
  const p = new Parser(filter, filterError, vocabulary);
  const expr = p.or(0);
  p.skipWs();
  if (!p.atEnd()) {
    const unmatched = filter[p.pos] === ')';
    filterError(
      p.pos,
      unmatched
        ? 'unbalanced ")"'
        : `expected AND, OR or the end of the filter, found ${p.found()}`,
    );
  }
  return expr;
}

/**
 * Parses orderBy entries like `metrics.loss ASC`, `attributes.start_time DESC`, `params.lr`
 * (ascending by default). Sorting on the same identifier twice is an error.
 */
export function parseRunOrderBy(orderBy: readonly string[] | null | undefined): OrderTerm[] {
  return parseSearchOrderBy(orderBy, null);
}

/** Parses orderBy entries in the run grammar, or in another entity's vocabulary. */
export function parseSearchOrderBy(
  orderBy: readonly string[] | null | undefined,
  vocabulary: SearchVocabulary | null,
): OrderTerm[] {
  if (!orderBy) return [];
  if (orderBy.length > SEARCH_LIMITS.orderBy) {
    orderByError(SEARCH_LIMITS.orderBy)(0, `at most ${SEARCH_LIMITS.orderBy} entries`);
  }
  const seen = new Set<string>();
  return orderBy.map((text, index) => {
    const fail = orderByError(index);
    if (text.length > 1000) fail(1000, 'longer than 1000 characters');
    const nul = text.indexOf('\u0000');
    if (nul >= 0) fail(nul, 'NUL characters are not allowed');
    const p = new Parser(text, fail, vocabulary);
    p.skipWs();
    const start = p.pos;
    const target = p.target();
    p.skipWs();
    let direction: OrderTerm['direction'] = 'asc';
    if (p.keyword('DESC')) direction = 'desc';
    else if (p.keyword('ASC')) direction = 'asc';
    p.skipWs();
    if (!p.atEnd()) fail(p.pos, `expected ASC, DESC or the end, found ${p.found()}`);
    const label = targetLabel(target);
    if (seen.has(label)) fail(start, `${label} is already sorted on`);
    seen.add(label);
    return { target, direction };
  });
}
